/* The Adobe Campaign connector's push jobs, shared by adobe_push.c (jobs,
 * the write classes), adobe_consent.c (consent jobs) and adobe_job.c (the
 * calls of a job). Internal. */
#ifndef CRMSYNC_ADOBE_JOB_H
#define CRMSYNC_ADOBE_JOB_H

#include "adobe_int.h"

#define MAX_RANGES 64
#define STOPPED_RETRY_MS 60000

enum job_kind { JOB_WRITE, JOB_CONSENT };

struct acc_job {
    struct crm_job base; /* first: crm_job * is acc_job * */
    struct adobe *acc;
    enum job_kind kind;
    const char *op;
    size_t n;
    /* Members: groups of record indexes, in batch order. */
    size_t ng;
    size_t **groups;
    size_t *ngroup;
    char **keys; /* taken keys, released when done */
    size_t nkeys;
    /* Ranges of groups still to send; the top is sent next. */
    size_t ranges[MAX_RANGES][2];
    size_t nranges;
    size_t lo, hi; /* in flight */
    /* Groups to create before the memberships. */
    struct crm_list to_create;
    size_t next_create;
    /* Consent: the records with a call in flight, how many, and whether
     * a failure answered the rest (nothing more is sent). */
    unsigned char *in_flight;
    size_t busy;
    int failed;
    int over; /* finished: answered once, whatever calls back later */
    struct acc_job *next_waiting;
    int calls; /* made so far: the engine's token covers the first */
};

/* adobe_job.c */
/* The job is over: its batch is answered (records without a result are
 * retried) from the defer timer. */
void acc_job_finish(struct acc_job *job);
/* Sends one call of the job, answered to done with arg: the first on the
 * engine's token for the batch, the others on a token of their own, in the
 * batch's lane. 0, or -1 (not sent, done not called). */
int acc_job_call_arg(struct acc_job *job, const char *action, const char *body, http_done_fn done,
                     void *arg);
/* The same, answered with the job as arg. */
int acc_job_call(struct acc_job *job, const char *action, const char *body, http_done_fn done);
/* A call failed in a way that is not the records' fault: every record
 * without a result is kept (RETRY, the destination backs off), and the job
 * is over. */
void acc_job_fail_rest(struct acc_job *job, enum acc_result r, const struct http_result *res,
                       const struct acc_fault *f);

/* adobe_consent.c: the grant guard, then one Subscribe or Unsubscribe per
 * record (withdrawal jobs up to ACC_URGENT_PARALLEL at once). */
void acc_consent_start(struct acc_job *job);

#endif
