/* A HubSpot push job: one per batch the engine hands the connector
 * (connectors/hubspot_push.c), shared with the list and erasure paths
 * (connectors/hubspot_push_ids.c). Internal to the HubSpot connector. */
#ifndef CRMSYNC_HUBSPOT_JOB_H
#define CRMSYNC_HUBSPOT_JOB_H

#include <jansson.h>
#include <stddef.h>

#include "connector.h"
#include "crm_job.h"
#include "http_result.h"
#include "hubspot.h"

enum job_class { JOB_CONTACTS, JOB_SUBS, JOB_LIST, JOB_ERASE };

/* Upsert ranges (bisection of a batch HubSpot refused as a whole). */
#define MAX_RANGES 64
#define MAX_JOB_REQUESTS 24

struct hs_job {
    struct crm_job base; /* first: the shared job (results, deferred done) */
    struct hubspot *hs;
    struct push_batch *pb; /* base.pb */
    enum job_class cls;
    struct crm_plan plan;
    size_t *order;
    size_t ranges[MAX_RANGES][2];
    size_t nranges, lo, hi;
    int requests;
    json_t *inputs;  /* statuses write */
    size_t *in_rec;  /* input -> record */
    char (*ids)[64]; /* per group: learnt record id */
    char list_id[64];
    char segment[64];
    int reading; /* resolve_ids: 1 once the batch read was sent */
    /* A list job creating its segment's list is on hs->creating (linked by
     * next_creating); list jobs of the same segment that start meanwhile
     * wait on its waiters instead of creating the list a second time
     * (HubSpot refuses a duplicate name, which would reject their batch). */
    struct hs_job *next_creating;
    struct hs_job *waiters;
};

/* Results go through the shared job (crm_job_result, crm_job_fail_rest on
 * &job->base). The job is over: its batch is answered from the defer
 * timer (after the email-moved resends of a contacts job). */
/* hubspot_job.c */
/* crm_job_new's release: frees the job. */
void hs_job_release(struct crm_job *base);
void hs_job_done(struct hs_job *job);
/* A failed request: transient failures keep the records, a permanent one
 * rejects them with the vendor's message (crm_job_fail_from). */
void hs_job_fail_from(struct hs_job *job, const struct http_result *res);
/* Sends the job's request with body (JSON text; NULL: it could not be
 * made, and nothing is sent) to path (hs_path), its answer to done with
 * the job. 0, or -1: not sent, every record without a result yet is
 * retried (not its fault) and the job is over (hs_job_done). */
int hs_job_send(struct hs_job *job, enum http_method method, const char *path, const char *body,
                http_done_fn done);
/* Groups the batch by member (with_props: each member's properties);
 * returns the number of groups or -1. */
int hs_job_plan(struct hs_job *job, int with_props);

/* list:<segment> and erase batches (hubspot_push_ids.c). */
void hs_start_list(struct hs_job *job);
void hs_start_erase(struct hs_job *job);

#endif
