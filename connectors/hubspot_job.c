/* The HubSpot push job's shared steps (struct hs_job, hubspot_job.h): its
 * release, its end (with the resends an email change asks for), a failed
 * request's results, and the contacts plan. Used by hubspot_push.c and
 * hubspot_push_ids.c; moved out of hubspot_push.c (issue 18) so that
 * neither calls back into the other. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubspot.h"
#include "hubspot_job.h"

void hs_job_release(struct crm_job *base)
{
    struct hs_job *job = (struct hs_job *)base;

    crm_plan_free(&job->plan);
    json_decref(job->inputs);
    free(job->order);
    free(job->in_rec);
    free(job->ids);
    free(job);
}

/* HubSpot keeps EMAIL subscription statuses by address, not by contact: a
 * contact whose email changed has none of its member's email consents under
 * the new address (an opt-out would not hold for it). Each one is offered
 * again as a resend, written whatever the shadow says (a write to the old
 * address answered meanwhile must not make it look done), to the member's
 * current address. Only for a contact that existed before: a new one had
 * no other address. The key names the change, so a later change of the
 * address is offered again too. */
static void email_moved(struct hs_job *job)
{
    struct connector *conn = job->hs->conn;
    const struct host_services *host = conn->host;

    if (host == NULL || host->resend == NULL)
        return;
    for (size_t i = 0; i < job->pb->n; i++) {
        const struct push_record *rec = &job->pb->records[i];
        char mark[64];

        if (job->pb->results[i].outcome != PUSH_OK || rec->remote_id == NULL ||
            strcmp(rec->field, "profile/email") != 0)
            continue;
        snprintf(mark, sizeof(mark), "email-seq-%" PRId64, rec->seq);
        for (size_t s = 0; s < job->hs->map.subs.n; s++) {
            char field[160];
            snprintf(field, sizeof(field), "consent/%s/email", job->hs->map.subs.p[s].key);
            host->resend(host->ctx, conn, rec->member_key, field, mark);
        }
    }
}

void hs_job_done(struct hs_job *job)
{
    static const char no_result[] = "no result from HubSpot for this record";

    /* A record nobody answered is retried, counting as an attempt (before
     * email_moved, which reads the outcomes). */
    crm_job_fail_rest(&job->base, PUSH_RETRY, no_result, -1, 0);
    if (job->cls == JOB_CONTACTS)
        email_moved(job);
    crm_job_done(&job->base, no_result);
}

static void error_parse(const char *body, char *code, size_t code_len, char *msg, size_t msg_len)
{
    (void)code;
    (void)code_len;
    hs_error_message(body, msg, msg_len);
}

/* A failed request: transient and auth failures keep every record (not
 * their fault); a permanent one rejects them with the vendor's message. */
void hs_job_fail_from(struct hs_job *job, const struct http_result *res)
{
    crm_job_fail_from(&job->base, res, error_parse);
}

int hs_job_send(struct hs_job *job, enum http_method method, const char *path, const char *body,
                http_done_fn done)
{
    if (body != NULL && hs_request(job->hs, method, path, body, done, job) == 0)
        return 0;
    crm_job_fail_rest(&job->base, PUSH_RETRY, "cannot send the request", -1, 1);
    hs_job_done(job);
    return -1;
}

int hs_job_plan(struct hs_job *job, int with_props)
{
    size_t norder = 0;

    if (hs_plan_contacts(&job->hs->map, job->pb->records, job->pb->n, job->pb->results, with_props,
                         &job->plan) != 0)
        return -1;
    for (size_t i = 0; i < job->pb->n; i++) {
        if (job->plan.rec_group[i] == SIZE_MAX)
            job->base.set[i] = 1; /* rejected by the mapping, result already set */
    }
    job->order = calloc(job->plan.ng ? job->plan.ng : 1, sizeof(*job->order));
    job->ids = calloc(job->plan.ng ? job->plan.ng : 1, sizeof(*job->ids));
    if (job->order == NULL || job->ids == NULL)
        return -1;
    for (size_t g = 0; g < job->plan.ng; g++) {
        if (job->plan.g[g].member != NULL)
            job->order[norder++] = g;
    }
    return (int)norder;
}
