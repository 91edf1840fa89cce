/* Push jobs of a CRM connector (issue 13 part 1): one job per batch the
 * engine hands over, a result per record (the first one given stands),
 * failures of a whole request spread over the records that have none yet,
 * and the batch answered later from a timer callback, never from push()
 * (the contract of connector_ops.push).
 *
 * A connector's own job struct holds a struct crm_job (usually first) and
 * gives a release function that frees it once its batch is answered. */
#ifndef CRMSYNC_CRM_JOB_H
#define CRMSYNC_CRM_JOB_H

#include <stddef.h>
#include <uv.h>

#include "connector.h"
#include "http_result.h"

struct crm_job;

/* A connector's answered jobs, waiting for the defer timer. */
struct crm_jobs {
    uv_timer_t defer; /* its data is the connector's (handle counting) */
    struct crm_job *done_q;
    /* Batches answered without a job (out of memory in push()): at most
     * max_inflight (<= 64) are out at once. */
    struct push_batch *orphans[64];
    size_t norphans;
    int closing;           /* answer at once: the loop may not run again */
    const char *subsystem; /* log subsystem: "hubspot", "adobe_campaign" */
    const char *conn_name;
};

/* Reads a vendor error body: its code (may stay "") and message. */
typedef void (*crm_error_parser)(const char *body, char *code, size_t code_len, char *msg,
                                 size_t msg_len);

struct crm_job {
    struct crm_jobs *jobs;
    struct push_batch *pb;
    unsigned char *set; /* per record: result given */
    void (*release)(struct crm_job *job);
    struct crm_job *next;
};

/* Initialises the queue and its timer on loop; handle_data becomes the
 * timer's data (the connector's close callback reads it). */
void crm_jobs_init(struct crm_jobs *q, uv_loop_t *loop, void *handle_data, const char *subsystem,
                   const char *conn_name);
/* Answers every queued batch now (closing, or from the timer). */
void crm_jobs_flush(struct crm_jobs *q);
/* Out of memory before a job exists: every record of pb is answered RETRY
 * ("out of memory", not the records' fault) from the defer timer, never
 * from push(). */
void crm_jobs_orphan(struct crm_jobs *q, struct push_batch *pb);
/* Closing: answers what is queued, then closes the timer with cb. */
void crm_jobs_close(struct crm_jobs *q, uv_close_cb cb);

/* Starts job for pb (allocates the per-record marks). release frees the
 * containing job when its batch has been answered; may be NULL. 0 or -1. */
int crm_job_init(struct crm_job *job, struct crm_jobs *q, struct push_batch *pb,
                 void (*release)(struct crm_job *job));
/* A connector's job of size bytes (its own struct, with struct crm_job
 * first), zeroed and started for pb. Out of memory: NULL, and the batch is
 * answered RETRY from the defer timer (crm_jobs_orphan); the caller does
 * nothing more with pb. */
struct crm_job *crm_job_new(struct crm_jobs *q, struct push_batch *pb, size_t size,
                            void (*release)(struct crm_job *job));
/* Record i's result; the first one given stands. remote_id may be NULL. */
void crm_job_result(struct crm_job *job, size_t i, enum push_outcome o, const char *reason,
                    long retry_after_ms, int not_record_fault, const char *remote_id);
/* 1 when record i has its result. */
int crm_job_has_result(const struct crm_job *job, size_t i);
/* Every record without a result yet gets this one. */
void crm_job_fail_rest(struct crm_job *job, enum push_outcome o, const char *reason,
                       long retry_after_ms, int not_record_fault);
/* A failed request: transient, quota and auth failures keep every record
 * (RETRY, not their fault, the vendor's Retry-After); a permanent one
 * rejects them with "HTTP <status> [<code>]: <message>" read from the body
 * by parse (NULL: the transport's error text). */
void crm_job_fail_from(struct crm_job *job, const struct http_result *res, crm_error_parser parse);
/* The job is over: records still without a result are retried with
 * no_result (counting as an attempt), and the batch is answered from the
 * defer timer. */
void crm_job_done(struct crm_job *job, const char *no_result);

#endif
