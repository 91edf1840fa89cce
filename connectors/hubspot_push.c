/* The HubSpot push side (docs/hubspot.md "Push"): one job per batch
 * (struct hs_job, hubspot_job.h).
 *
 *   contacts       batch upsert by id_property, one input per member with
 *                  all its properties; a whole-batch 400/409 is pinned on
 *                  its inputs from the error body (those rejected, the rest
 *                  sent again at once), else the batch is halved until the
 *                  culprit is alone (bounded: every resend is smaller)
 *   subscriptions  statuses batch write (EMAIL), subscriber = the member's
 *                  email from the local state (a sibling the engine attaches)
 *   list:<seg>, erase  hubspot_push_ids.c
 *
 * Every record gets exactly one result; batch->done runs from the defer
 * timer, never from push(). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "change_json.h"
#include "hubspot.h"
#include "hubspot_job.h"
#include "log.h"

/* The records of group g. */
static void group_result(struct hs_job *job, size_t g, enum push_outcome o, const char *reason,
                         int nrf, const char *id)
{
    for (size_t i = 0; i < job->pb->n; i++) {
        if (job->plan.rec_group[i] == g)
            crm_job_result(&job->base, i, o, reason, o == PUSH_RETRY ? 0 : -1, nrf, id);
    }
}

/* --- contacts: batch upsert by id_property, bisection on whole-batch
 * refusals --- */

static void contacts_next(struct hs_job *job);

static void push_range(struct hs_job *job, size_t lo, size_t hi)
{
    if (lo >= hi)
        return;
    if (job->nranges == MAX_RANGES || job->requests >= MAX_JOB_REQUESTS) {
        for (size_t k = lo; k < hi; k++)
            group_result(job, job->order[k], PUSH_RETRY,
                         "HubSpot refused the batch; the offending record was not found yet", 0,
                         NULL);
        return;
    }
    job->ranges[job->nranges][0] = lo;
    job->ranges[job->nranges][1] = hi;
    job->nranges++;
}

static void contacts_refused(struct hs_job *job, const struct http_result *res)
{
    size_t n = job->hi - job->lo;
    json_t **props = calloc(n, sizeof(*props));
    const char **rids = calloc(n, sizeof(*rids));
    int *blame = calloc(n, sizeof(*blame));
    char reason[256];
    size_t blamed, keep = job->lo;

    if (props == NULL || rids == NULL || blame == NULL) {
        crm_job_fail_rest(&job->base, PUSH_RETRY, "out of memory", -1, 1);
        goto out;
    }
    for (size_t k = 0; k < n; k++) {
        props[k] = job->plan.g[job->order[job->lo + k]].fields;
        rids[k] = job->plan.g[job->order[job->lo + k]].remote_id;
    }
    blamed = hs_attribute_error(res->body, job->hs->map.id_property, props, rids, n, blame, reason,
                                sizeof(reason));
    if (blamed > 0) {
        /* Reject the culprits, send the others again now without them. */
        for (size_t k = 0; k < n; k++) {
            size_t g = job->order[job->lo + k];
            if (blame[k])
                group_result(job, g, PUSH_REJECT, reason, 0, NULL);
            else
                job->order[keep++] = g;
        }
        log_warn("hubspot", job->hs->conn->name,
                 "contacts batch refused (HTTP %ld); %zu record group(s) rejected: %s", res->status,
                 blamed, reason);
        push_range(job, job->lo, keep);
    } else if (n == 1) {
        group_result(job, job->order[job->lo], PUSH_REJECT, reason, 0, NULL);
    } else {
        /* Cannot tell which input: halve until it is alone. Each resend is
         * smaller, so this ends (at most ~2n requests, capped). */
        size_t mid = job->lo + n / 2;
        log_info("hubspot", job->hs->conn->name,
                 "contacts batch of %zu refused (HTTP %ld: %s); splitting", n, res->status, reason);
        push_range(job, mid, job->hi);
        push_range(job, job->lo, mid);
    }
out:
    free(props);
    free(rids);
    free(blame);
}

static void contacts_answer(struct http_result *res, void *arg)
{
    struct hs_job *job = arg;
    size_t n = job->hi - job->lo;

    if (res->cls == HTTP_CLASS_OK) {
        const char **keys = calloc(n ? n : 1, sizeof(*keys));
        struct hs_outcome *out = calloc(n ? n : 1, sizeof(*out));
        if (keys == NULL || out == NULL) {
            crm_job_fail_rest(&job->base, PUSH_RETRY, "out of memory", -1, 1);
        } else {
            for (size_t k = 0; k < n; k++)
                keys[k] = job->plan.g[job->order[job->lo + k]].member;
            if (hs_parse_batch_result(res->body, job->hs->map.id_property, keys, n, out) != 0) {
                /* A 200 that is not HubSpot's answer (a proxy's page) says
                 * nothing was applied: never a success, and the
                 * destination's fault, not the records' (issue 14 item 3). */
                log_warn("hubspot", job->hs->conn->name,
                         "unreadable batch upsert answer (HTTP %ld); will retry", res->status);
                crm_job_fail_rest(&job->base, PUSH_RETRY, "unreadable batch upsert answer", -1, 1);
                job->nranges = 0;
                n = 0;
            }
            for (size_t k = 0; k < n; k++) {
                size_t g = job->order[job->lo + k];
                if (out[k].state == HS_OK)
                    group_result(job, g, PUSH_OK, NULL, 0, out[k].id);
                else if (out[k].state == HS_REJECT)
                    group_result(job, g, PUSH_REJECT, out[k].reason, 0, NULL);
                else if (res->status == 200)
                    /* 200 means every input was applied; the answer just
                     * did not echo the id property, so no id is learnt
                     * here (the pull learns it). */
                    group_result(job, g, PUSH_OK, NULL, 0, job->plan.g[g].remote_id);
                /* else (207 without a word on it): retried by job_done */
            }
        }
        free(keys);
        free(out);
    } else if (res->cls == HTTP_CLASS_PERMANENT && (res->status == 400 || res->status == 409)) {
        contacts_refused(job, res);
    } else {
        hs_job_fail_from(job, res);
        job->nranges = 0;
    }
    contacts_next(job);
}

static void contacts_next(struct hs_job *job)
{
    char *body;

    if (job->nranges == 0) {
        hs_job_done(job);
        return;
    }
    job->nranges--;
    job->lo = job->ranges[job->nranges][0];
    job->hi = job->ranges[job->nranges][1];
    body = hs_upsert_body(&job->hs->map, &job->plan, job->order + job->lo, job->hi - job->lo);
    job->requests++;
    hs_job_send(job, HTTP_POST, hs_path(job->hs, HS_V_OBJECTS, "/batch/upsert"), body,
                contacts_answer);
    free(body);
}

static void start_contacts(struct hs_job *job)
{
    int n = hs_job_plan(job, 1);

    if (n < 0) {
        crm_job_fail_rest(&job->base, PUSH_RETRY, "out of memory", -1, 1);
        hs_job_done(job);
        return;
    }
    push_range(job, 0, (size_t)n);
    contacts_next(job);
}

/* --- subscriptions: statuses batch write (EMAIL) --- */

static void subs_answer(struct http_result *res, void *arg)
{
    struct hs_job *job = arg;
    size_t n = json_array_size(job->inputs);

    if (res->cls == HTTP_CLASS_OK) {
        struct hs_outcome *out = calloc(n ? n : 1, sizeof(*out));
        if (out != NULL && hs_parse_status_write(res->body, job->inputs, out) == 0) {
            for (size_t k = 0; k < n; k++) {
                if (out[k].state == HS_OK)
                    crm_job_result(&job->base, job->in_rec[k], PUSH_OK, NULL, -1, 0, NULL);
                else if (out[k].state == HS_REJECT)
                    crm_job_result(&job->base, job->in_rec[k], PUSH_REJECT, out[k].reason, -1, 0,
                                   NULL);
            }
        } else if (out != NULL) {
            crm_job_fail_rest(&job->base, PUSH_RETRY, "unreadable status write answer", -1, 1);
        }
        free(out);
    } else {
        hs_job_fail_from(job, res);
    }
    hs_job_done(job);
}

static void subs_write(struct hs_job *job)
{
    char *text;

    if (json_array_size(job->inputs) == 0) {
        hs_job_done(job);
        return;
    }
    text = hs_inputs_body(json_incref(job->inputs));
    hs_job_send(job, HTTP_POST, hs_path(job->hs, HS_V_PREFS, "/statuses/batch/write"), text,
                subs_answer);
    free(text);
}

/* A grant must not overwrite a withdrawal HubSpot recorded after it (the
 * customer unsubscribed there while our older grant was on its way): such
 * grants are answered OK without writing, and the next pull brings the
 * newer withdrawal in, where it wins by the merge rules. A withdrawal that
 * is our own write does not count: HubSpot dates a status when it is
 * written, so our denial looked newer than every later grant dated by its
 * event time, and the member could never be subscribed again. */
static int sink_sent_here(struct hs_job *job, size_t i, const char *projection)
{
    struct connector *conn = job->hs->conn;
    const struct push_record *rec = &job->pb->records[i];

    return conn->host != NULL && conn->host->sent_here != NULL &&
           conn->host->sent_here(conn->host->ctx, conn, rec->member_key, rec->field, projection) ==
               1;
}

static void subs_checked(struct http_result *res, void *arg)
{
    struct hs_job *job = arg;
    json_t *statuses, *kept;
    size_t k;
    json_t *in;

    if (res->cls != HTTP_CLASS_OK) {
        hs_job_fail_from(job, res);
        hs_job_done(job);
        return;
    }
    /* Only the withdrawals are kept (issue 17: the whole answer as jansson
     * values was 7.7 % of a bulk push's CPU), and a grant's value is read
     * only when its subscriber has one. */
    statuses = hs_parse_withdrawals(res->body);
    kept = json_array();
    json_array_foreach(job->inputs, k, in)
    {
        size_t i = job->in_rec[k];
        struct consent_value cv;
        json_t *holder = NULL;
        int skip = 0;

        if (json_object_size(statuses) > 0 &&
            strcmp(json_string_value(json_object_get(in, "statusState")), HS_STATUS_SUBSCRIBED) ==
                0 &&
            consent_value_from_json(job->pb->records[i].value_json, &cv, &holder) == 0)
            skip = hs_newer_withdrawal(
                statuses, json_string_value(json_object_get(in, "subscriberIdString")),
                json_integer_value(json_object_get(in, "subscriptionId")), cv.collected_at);
        json_decref(holder);
        if (skip && sink_sent_here(job, i, HS_STATUS_UNSUBSCRIBED))
            skip = 0;
        if (skip) {
            log_info("hubspot", job->hs->conn->name,
                     "seq %" PRId64 " %s: HubSpot holds a newer unsubscription; grant not written",
                     job->pb->records[i].seq, job->pb->records[i].field);
            crm_job_result(&job->base, i, PUSH_OK, NULL, -1, 0, NULL);
            continue;
        }
        job->in_rec[json_array_size(kept)] = i;
        json_array_append(kept, in);
    }
    json_decref(statuses);
    json_decref(job->inputs);
    job->inputs = kept;
    subs_write(job);
}

static void subs_check(struct hs_job *job)
{
    json_t *emails;
    char *text;

    /* One input per address: a member granting two purposes is read once
     * (BatchInputString, at most HS_BATCH_MAX inputs; the batch holds at
     * most that many records, hs_record_cost). */
    emails = hs_distinct_subscribers(job->inputs, HS_STATUS_SUBSCRIBED);
    if (json_array_size(emails) == 0) {
        json_decref(emails);
        subs_write(job);
        return;
    }
    text = hs_inputs_body(emails);
    hs_job_send(job, HTTP_POST, hs_path(job->hs, HS_V_PREFS, "/statuses/batch/read?channel=EMAIL"),
                text, subs_checked);
    free(text);
}

/* Each subscription is addressed to the member's email, which the engine
 * attached to the record (HS_PUSH_SIBLINGS). */
static void start_subs(struct hs_job *job)
{
    const struct connector *conn = job->hs->conn;

    job->inputs = json_array();
    job->in_rec = calloc(job->pb->n ? job->pb->n : 1, sizeof(*job->in_rec));
    if (job->inputs == NULL || job->in_rec == NULL) {
        crm_job_fail_rest(&job->base, PUSH_RETRY, "out of memory", -1, 1);
        hs_job_done(job);
        return;
    }
    for (size_t i = 0; i < job->pb->n; i++) {
        const struct push_record *rec = &job->pb->records[i];
        char *email = hs_email_of(push_record_sibling(conn, rec, "profile/email"));
        char reason[256];
        json_t *in = NULL;

        if (email == NULL) {
            crm_job_result(&job->base, i, PUSH_REJECT, "member has no email address", -1, 0, NULL);
            continue;
        }
        if (hs_status_input(&job->hs->map, rec, email, &in, reason, sizeof(reason)) != 0) {
            crm_job_result(&job->base, i, PUSH_REJECT, reason, -1, 0, NULL);
        } else {
            job->in_rec[json_array_size(job->inputs)] = i;
            json_array_append_new(job->inputs, in);
        }
        free(email);
    }
    subs_check(job);
}

/* --- ops: push side --- */

void hs_op_push(struct connector *conn, struct push_batch *pb)
{
    struct hubspot *hs = conn->priv;
    struct hs_job *job =
        (struct hs_job *)crm_job_new(&hs->jobs, pb, sizeof(struct hs_job), hs_job_release);

    if (job == NULL)
        return;
    job->hs = hs;
    job->pb = pb;
    if (!hs->ready || hs->closing) {
        crm_job_fail_rest(&job->base, PUSH_RETRY,
                          "HubSpot connector not ready (setting up properties)", 1000, 1);
        hs_job_done(job);
        return;
    }
    if (strcmp(pb->class_key, "subscriptions") == 0) {
        job->cls = JOB_SUBS;
        start_subs(job);
    } else if (strncmp(pb->class_key, "list:", 5) == 0) {
        job->cls = JOB_LIST;
        hs_start_list(job);
    } else if (strcmp(pb->class_key, "erase") == 0) {
        job->cls = JOB_ERASE;
        hs_start_erase(job);
    } else {
        job->cls = JOB_CONTACTS;
        start_contacts(job);
    }
}

size_t hs_op_record_cost(struct connector *conn, const struct push_record *rec, int member_new)
{
    (void)conn;
    return hs_record_cost(rec, member_new);
}

void hs_op_batch_class(struct connector *conn, const struct push_record *rec, char *out,
                       size_t outsize)
{
    (void)conn;
    hs_batch_class(rec, out, outsize);
}

int hs_op_project(struct connector *conn, enum change_kind kind, const char *field,
                  const char *value_json, char *out, size_t outsize)
{
    const struct hubspot *hs = conn->priv;

    int rc;

    if (kind == CHANGE_POINTS && hs != NULL)
        rc = hs_project_balance(&hs->map, value_json, out, outsize);
    else
        rc = hs_project(kind, field, value_json, out, outsize);
    if (rc != 0)
        out[0] = '\0'; /* no reason beyond the value itself (connector.h) */
    return rc;
}
