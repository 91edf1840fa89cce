/* The Salesforce push job's shared steps (struct sf_job,
 * salesforce_int.h): its release, its end, the results of a failed request
 * or of a collections answer, and the queries a job sends. Used by every
 * push file (salesforce_push.c dispatches, salesforce_contacts.c,
 * salesforce_bulk.c, salesforce_consent.c, salesforce_segment.c,
 * salesforce_erase.c, salesforce_loyalty.c); moved out of
 * salesforce_push.c (issue 18) so that none of them calls back into the
 * dispatcher. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "salesforce_int.h"

void sf_job_release(struct crm_job *base)
{
    struct sf_job *job = (struct sf_job *)base;

    crm_plan_free(&job->plan);
    /* Bulk (salesforce_bulk.c), consent, segment and collections resends: */
    free(job->grp_off);
    free(job->grp_recs);
    free(job->order);
    free(job->fix);
    free(job->csv);
    free(job->txns);
    free(job->link);
    free(job->adopt);
    free(job->in_fix);
    /* Erase (salesforce_erase.c): */
    free(job->rel);
    free(job->lpm);
    free(job->ids);
    free(job->cm_ids);
    free(job->sent);
    free(job);
}

void sf_job_done(struct sf_job *job)
{
    /* A record nobody answered is retried, counting as an attempt. */
    crm_job_done(&job->base, "no result from Salesforce for this record");
}

static void error_parse(const char *body, char *code, size_t code_len, char *msg, size_t msg_len)
{
    sf_error_of(body, code, code_len, msg, msg_len);
}

/* A failed request: transient, quota and auth failures keep every record
 * (not their fault); a permanent one rejects them with the vendor's code
 * and message. */
void sf_job_fail_from(struct sf_job *job, const struct http_result *res)
{
    crm_job_fail_from(&job->base, res, error_parse);
}

struct sf_outcome *sf_job_outcomes(struct sf_job *job, const struct http_result *res)
{
    return sf_job_outcomes_n(job, res, job->nsent);
}

struct sf_outcome *sf_job_outcomes_n(struct sf_job *job, const struct http_result *res, size_t n)
{
    struct sf_outcome *out;

    if (res->cls != HTTP_CLASS_OK) {
        sf_job_fail_from(job, res);
        sf_job_done(job);
        return NULL;
    }
    out = calloc(n ? n : 1, sizeof(*out));
    if (out == NULL || sf_parse_collection_results(res->body, n, out) < 0) {
        free(out);
        sf_job_fail_rest(job, PUSH_RETRY, "unreadable collections answer", -1, 1);
        sf_job_done(job);
        return NULL;
    }
    return out;
}

int sf_job_upserted(struct sf_job *job, const struct http_result *res, json_t **root,
                    const char **id)
{
    *root = NULL;
    *id = NULL;
    if (res->cls != HTTP_CLASS_OK) {
        sf_job_fail_from(job, res);
        sf_job_done(job);
        return -1;
    }
    *root = json_loads(res->body ? res->body : "", 0, NULL);
    *id = json_string_value(json_object_get(*root, "id"));
    return 0;
}

int sf_job_patch(struct sf_job *job, const char *tail, const char *body, http_done_fn done)
{
    if (tail == NULL || body == NULL)
        return -1;
    return sf_request(job->sf, HTTP_PATCH, sf_data_path(job->sf, tail), NULL, body, done, job);
}

int sf_job_query(struct sf_job *job, const char *soql, http_done_fn done)
{
    return sf_query(job->sf, "query", soql, done, job);
}

/* The records of a query answer (borrowed from *root), or NULL when the
 * request failed: the job has then been failed and is done. */
json_t *sf_job_query_records(struct sf_job *job, struct http_result *res, json_t **root)
{
    json_t *records = NULL;
    char next[256];

    *root = NULL;
    if (res->cls != HTTP_CLASS_OK ||
        sf_parse_query(res->body, root, &records, next, sizeof(next)) != 0) {
        json_decref(*root);
        *root = NULL;
        sf_job_fail_from(job, res);
        sf_job_done(job);
        return NULL;
    }
    return records;
}

int sf_job_query_each(struct sf_job *job, struct http_result *res,
                      int (*row)(struct sf_job *job, json_t *rec))
{
    json_t *root, *records = sf_job_query_records(job, res, &root), *r;
    size_t k;
    int rc = 0;

    if (records == NULL)
        return -1;
    json_array_foreach(records, k, r)
    {
        if (row(job, r) != 0) {
            rc = 1;
            break;
        }
    }
    json_decref(root);
    return rc;
}

int sf_job_take_outcomes(struct sf_job *job, struct http_result *res)
{
    struct sf_outcome *out = sf_job_outcomes(job, res);

    if (out == NULL)
        return -1;
    for (size_t k = 0; k < job->nsent; k++) {
        size_t i = job->sent[k];
        if (out[k].state == SF_REJECT)
            log_info("salesforce", job->sf->conn->name, "seq %" PRId64 " %s: %s",
                     job->pb->records[i].seq, job->pb->records[i].field, out[k].reason);
        sf_job_set(job, i, sf_outcome_push(out[k].state), out[k].reason, -1, 0, NULL);
    }
    free(out);
    return 0;
}

void sf_job_member_id(struct sf_job *job, const char *prefix, const char *member, const char *id)
{
    const struct host_services *host = job->sf->conn->host;
    char key[300], val[80];

    for (size_t i = 0; i < job->pb->n; i++) {
        if (strcmp(job->pb->records[i].member_key, member) == 0)
            snprintf(job->ids[i], sizeof(job->ids[i]), "%s", id);
    }
    snprintf(key, sizeof(key), "%s/%s", prefix, member);
    snprintf(val, sizeof(val), "%s:%s", prefix, id);
    if (host != NULL && host->learn_identity != NULL)
        host->learn_identity(host->ctx, job->sf->conn, key, val);
}

int sf_job_members_created(struct sf_job *job, const struct http_result *res,
                           const char *retry_code,
                           void (*made)(struct sf_job *job, const char *member, const char *id))
{
    struct sf_outcome *out = sf_job_outcomes(job, res);

    if (out == NULL)
        return -1;
    for (size_t k = 0; k < job->nsent; k++) {
        const struct sf_outcome *o = &out[k];
        const char *member = job->pb->records[job->sent[k]].member_key;
        int retry = o->state == SF_OK || (retry_code != NULL && o->state == SF_REJECT &&
                                          strcmp(o->code, retry_code) == 0);

        if (o->state == SF_OK && o->id[0] != '\0') {
            made(job, member, o->id);
            continue;
        }
        /* The member's records share its failure. */
        for (size_t j = 0; j < job->pb->n; j++) {
            if (strcmp(job->pb->records[j].member_key, member) == 0)
                sf_job_set(job, j, retry ? PUSH_RETRY : sf_outcome_push(o->state), o->reason, -1, 0,
                           NULL);
        }
    }
    free(out);
    return 0;
}

enum push_outcome sf_outcome_push(enum sf_state s)
{
    return s == SF_OK ? PUSH_OK : s == SF_RETRY ? PUSH_RETRY : PUSH_REJECT;
}
