/* The HubSpot push side (docs/hubspot.md "Push"): one job per batch.
 *
 *   contacts       batch upsert by id_property, one input per member with
 *                  all its properties; a whole-batch 400/409 is pinned on
 *                  its inputs from the error body (those rejected, the rest
 *                  sent again at once), else the batch is halved until the
 *                  culprit is alone (bounded: every resend is smaller)
 *   subscriptions  statuses batch write (EMAIL), subscriber = the member's
 *                  email from the local state
 *   list:<seg>     create the MANUAL list once (its id kept in the identity
 *                  map as "segment:<seg>"), upsert members whose record id
 *                  is unknown, then add-and-remove by record id
 *   erase          resolve record ids (batch read by id_property), archive
 *
 * Every record gets exactly one result; batch->done runs from the defer
 * timer, never from push(). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "change_json.h"
#include "hubspot.h"
#include "log.h"

enum job_class { JOB_CONTACTS, JOB_SUBS, JOB_LIST, JOB_ERASE };

/* Upsert ranges (bisection of a batch HubSpot refused as a whole). */
#define MAX_RANGES 64
#define MAX_JOB_REQUESTS 24

struct hs_job {
    struct hubspot *hs;
    struct push_batch *pb;
    enum job_class cls;
    unsigned char *set; /* per record: result given */
    struct hs_plan plan;
    size_t *order;
    size_t ranges[MAX_RANGES][2];
    size_t nranges, lo, hi;
    int requests;
    json_t *inputs;   /* statuses write */
    size_t *in_rec;   /* input -> record */
    char (*ids)[64];  /* per group: learnt record id */
    char list_id[64];
    char segment[64];
    int reading; /* resolve_ids: 1 once the batch read was sent */
    struct hs_job *next;
    /* A list job creating its segment's list is on hs->creating (linked by
     * next_creating); list jobs of the same segment that start meanwhile
     * wait on its waiters instead of creating the list a second time
     * (HubSpot refuses a duplicate name, which would reject their batch). */
    struct hs_job *next_creating;
    struct hs_job *waiters;
};


/* --- job results --- */

void hs_flush_done(struct hubspot *hs)
{
    while (hs->done_q != NULL) {
        struct hs_job *job = hs->done_q;
        struct push_batch *pb = job->pb;
        hs->done_q = job->next;
        hs_plan_free(&job->plan);
        json_decref(job->inputs);
        free(job->set);
        free(job->order);
        free(job->in_rec);
        free(job->ids);
        free(job);
        pb->done(pb);
    }
}

static void defer_cb(uv_timer_t *t)
{
    hs_flush_done(t->data);
}

static void set_result(struct hs_job *job, size_t i, enum push_outcome o, const char *reason,
                       long retry_after_ms, int not_record_fault, const char *remote_id)
{
    struct push_result *r = &job->pb->results[i];

    if (job->set[i])
        return;
    job->set[i] = 1;
    r->outcome = o;
    r->retry_after_ms = retry_after_ms;
    r->not_record_fault = not_record_fault;
    snprintf(r->reason, sizeof(r->reason), "%s", reason ? reason : "");
    if (remote_id != NULL)
        snprintf(r->remote_id, sizeof(r->remote_id), "%s", remote_id);
}

/* Every record without a result yet gets this failure. */
static void fail_rest(struct hs_job *job, enum push_outcome o, const char *reason,
                      long retry_after_ms, int not_record_fault)
{
    for (size_t i = 0; i < job->pb->n; i++)
        set_result(job, i, o, reason, retry_after_ms, not_record_fault, NULL);
}

/* HubSpot keeps EMAIL subscription statuses by address, not by contact: a
 * contact whose email changed has none of its member's email consents under
 * the new address (an opt-out would not hold for it). Each one is offered
 * again: observing a value that the local state does not project to makes
 * the engine write the local value back (a drift repair), which goes to the
 * member's current address. Only for a contact that existed before: a new
 * one had no other address. The mark names the change, so a later change
 * of the address is offered again too. */
static void email_moved(struct hs_job *job)
{
    struct connector *conn = job->hs->conn;
    struct pull_sink *sink = conn->sink;

    if (sink == NULL || sink->observe == NULL)
        return;
    for (size_t i = 0; i < job->pb->n; i++) {
        const struct push_record *rec = &job->pb->records[i];
        char mark[64];

        if (job->pb->results[i].outcome != PUSH_OK || rec->remote_id == NULL ||
            strcmp(rec->field, "profile/email") != 0)
            continue;
        snprintf(mark, sizeof(mark), "(email changed, seq %" PRId64 ")", rec->seq);
        for (size_t s = 0; s < job->hs->map.nsubs; s++) {
            char field[160];
            struct error err = {""};
            snprintf(field, sizeof(field), "consent/%s/email", job->hs->map.subs[s].key);
            if (sink->observe(sink->ctx, conn, rec->member_key, CHANGE_CONSENT, field, mark,
                              &err) != 0)
                log_warn("hubspot", conn->name, "seq %" PRId64 ": cannot offer %s again: %s",
                         rec->seq, field, err.msg);
        }
    }
}

static void job_done(struct hs_job *job)
{
    struct hubspot *hs = job->hs;
    struct hs_job **tail = &hs->done_q;

    /* A record nobody answered is retried, counting as an attempt. */
    fail_rest(job, PUSH_RETRY, "no result from HubSpot for this record", -1, 0);
    if (job->cls == JOB_CONTACTS)
        email_moved(job);
    while (*tail != NULL)
        tail = &(*tail)->next;
    *tail = job;
    if (hs->closing)
        hs_flush_done(hs);
    else
        uv_timer_start(&hs->defer, defer_cb, 0, 0);
}

/* A failed request: transient and auth failures keep every record (not
 * their fault); a permanent one rejects them with the vendor's message. */
static void fail_from_result(struct hs_job *job, const struct http_result *res)
{
    char msg[200], reason[256];

    hs_error_message(res->body, msg, sizeof(msg));
    if (res->status != 0)
        snprintf(reason, sizeof(reason), "HTTP %ld: %s", res->status, msg[0] ? msg : res->error);
    else
        snprintf(reason, sizeof(reason), "%s", res->error);
    if (res->cls == HTTP_CLASS_PERMANENT) {
        log_warn("hubspot", job->hs->conn->name, "%s rejected: %s", job->pb->class_key, reason);
        fail_rest(job, PUSH_REJECT, reason, -1, 0);
    } else {
        log_info("hubspot", job->hs->conn->name, "%s: %s (%s); will retry", job->pb->class_key,
                 http_class_name(res->cls), reason);
        fail_rest(job, PUSH_RETRY, reason, res->retry_after_ms, 1);
    }
}

/* The records of group g. */
static void group_result(struct hs_job *job, size_t g, enum push_outcome o, const char *reason,
                         int nrf, const char *id)
{
    for (size_t i = 0; i < job->pb->n; i++) {
        if (job->plan.rec_group[i] == g)
            set_result(job, i, o, reason, o == PUSH_RETRY ? 0 : -1, nrf, id);
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
        fail_rest(job, PUSH_RETRY, "out of memory", -1, 1);
        goto out;
    }
    for (size_t k = 0; k < n; k++) {
        props[k] = job->plan.g[job->order[job->lo + k]].props;
        rids[k] = job->plan.g[job->order[job->lo + k]].remote_id;
    }
    blamed = hs_attribute_error(res->body, job->hs->map.id_property, props, rids, n, blame,
                                reason, sizeof(reason));
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
                 "contacts batch refused (HTTP %ld); %zu record group(s) rejected: %s",
                 res->status, blamed, reason);
        push_range(job, job->lo, keep);
    } else if (n == 1) {
        group_result(job, job->order[job->lo], PUSH_REJECT, reason, 0, NULL);
    } else {
        /* Cannot tell which input: halve until it is alone. Each resend is
         * smaller, so this ends (at most ~2n requests, capped). */
        size_t mid = job->lo + n / 2;
        log_info("hubspot", job->hs->conn->name,
                 "contacts batch of %zu refused (HTTP %ld: %s); splitting", n, res->status,
                 reason);
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
            fail_rest(job, PUSH_RETRY, "out of memory", -1, 1);
        } else {
            for (size_t k = 0; k < n; k++)
                keys[k] = job->plan.g[job->order[job->lo + k]].member;
            if (hs_parse_batch_result(res->body, job->hs->map.id_property, keys, n, out) != 0)
                log_warn("hubspot", job->hs->conn->name, "unreadable batch upsert answer");
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
        fail_from_result(job, res);
        job->nranges = 0;
    }
    contacts_next(job);
}

static void contacts_next(struct hs_job *job)
{
    char *body;

    if (job->nranges == 0) {
        job_done(job);
        return;
    }
    job->nranges--;
    job->lo = job->ranges[job->nranges][0];
    job->hi = job->ranges[job->nranges][1];
    body = hs_upsert_body(&job->hs->map, &job->plan, job->order + job->lo, job->hi - job->lo);
    job->requests++;
    if (body == NULL ||
        hs_request(job->hs, HTTP_POST, hs_path(job->hs, HS_V_OBJECTS, "/batch/upsert"), body,
                   contacts_answer, job) != 0) {
        fail_rest(job, PUSH_RETRY, "cannot send the request", -1, 1);
        job_done(job);
    }
    free(body);
}

static int plan_job(struct hs_job *job, int with_props)
{
    size_t norder = 0;

    if (hs_plan_contacts(&job->hs->map, job->pb->records, job->pb->n, job->pb->results,
                         with_props, &job->plan) != 0)
        return -1;
    for (size_t i = 0; i < job->pb->n; i++) {
        if (job->plan.rec_group[i] == SIZE_MAX)
            job->set[i] = 1; /* rejected by the mapping, result already set */
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

static void start_contacts(struct hs_job *job)
{
    int n = plan_job(job, 1);

    if (n < 0) {
        fail_rest(job, PUSH_RETRY, "out of memory", -1, 1);
        job_done(job);
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
                    set_result(job, job->in_rec[k], PUSH_OK, NULL, -1, 0, NULL);
                else if (out[k].state == HS_REJECT)
                    set_result(job, job->in_rec[k], PUSH_REJECT, out[k].reason, -1, 0, NULL);
            }
        }
        free(out);
    } else {
        fail_from_result(job, res);
    }
    job_done(job);
}

static void subs_write(struct hs_job *job)
{
    json_t *body;
    char *text;

    if (json_array_size(job->inputs) == 0) {
        job_done(job);
        return;
    }
    body = json_pack("{s:O}", "inputs", job->inputs);
    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text == NULL ||
        hs_request(job->hs, HTTP_POST, hs_path(job->hs, HS_V_PREFS, "/statuses/batch/write"),
                   text, subs_answer, job) != 0) {
        fail_rest(job, PUSH_RETRY, "cannot send the request", -1, 1);
        job_done(job);
    }
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

    return conn->sink != NULL && conn->sink->sent_here != NULL &&
           conn->sink->sent_here(conn->sink->ctx, conn, rec->member_key, rec->field, projection) ==
               1;
}

static void subs_checked(struct http_result *res, void *arg)
{
    struct hs_job *job = arg;
    json_t *statuses, *kept;
    size_t k;
    json_t *in;

    if (res->cls != HTTP_CLASS_OK) {
        fail_from_result(job, res);
        job_done(job);
        return;
    }
    statuses = hs_parse_statuses(res->body);
    kept = json_array();
    json_array_foreach(job->inputs, k, in)
    {
        size_t i = job->in_rec[k];
        struct consent_value cv;
        json_t *holder = NULL;
        int skip = 0;

        if (strcmp(json_string_value(json_object_get(in, "statusState")), "SUBSCRIBED") == 0 &&
            consent_value_from_json(job->pb->records[i].value_json, &cv, &holder) == 0)
            skip = hs_newer_withdrawal(
                statuses, json_string_value(json_object_get(in, "subscriberIdString")),
                json_integer_value(json_object_get(in, "subscriptionId")), cv.collected_at);
        json_decref(holder);
        if (skip && sink_sent_here(job, i, "NOT_SUBSCRIBED"))
            skip = 0;
        if (skip) {
            log_info("hubspot", job->hs->conn->name,
                     "seq %" PRId64 " %s: HubSpot holds a newer unsubscription; grant not written",
                     job->pb->records[i].seq, job->pb->records[i].field);
            set_result(job, i, PUSH_OK, NULL, -1, 0, NULL);
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
    json_t *emails = json_array(), *body;
    size_t k;
    json_t *in;
    char path[256], *text;

    json_array_foreach(job->inputs, k, in)
    {
        if (strcmp(json_string_value(json_object_get(in, "statusState")), "SUBSCRIBED") == 0)
            json_array_append(emails, json_object_get(in, "subscriberIdString"));
    }
    if (json_array_size(emails) == 0) {
        json_decref(emails);
        subs_write(job);
        return;
    }
    body = json_pack("{s:o}", "inputs", emails);
    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    snprintf(path, sizeof(path), "%s", hs_path(job->hs, HS_V_PREFS, "/statuses/batch/read?channel=EMAIL"));
    if (text == NULL || hs_request(job->hs, HTTP_POST, path, text, subs_checked, job) != 0) {
        fail_rest(job, PUSH_RETRY, "cannot send the request", -1, 1);
        job_done(job);
    }
    free(text);
}

static void start_subs(struct hs_job *job)
{
    struct connector *conn = job->hs->conn;
    struct pull_sink *sink = conn->sink;

    job->inputs = json_array();
    job->in_rec = calloc(job->pb->n ? job->pb->n : 1, sizeof(*job->in_rec));
    if (job->inputs == NULL || job->in_rec == NULL) {
        fail_rest(job, PUSH_RETRY, "out of memory", -1, 1);
        job_done(job);
        return;
    }
    for (size_t i = 0; i < job->pb->n; i++) {
        const struct push_record *rec = &job->pb->records[i];
        char *cur = sink != NULL && sink->current != NULL
                        ? sink->current(sink->ctx, conn, rec->member_key, "profile/email")
                        : NULL;
        char *email = hs_email_of(cur);
        char reason[256];
        json_t *in = NULL;

        free(cur);
        if (email == NULL) {
            set_result(job, i, PUSH_REJECT, "member has no email address", -1, 0, NULL);
            continue;
        }
        if (hs_status_input(&job->hs->map, rec, email, &in, reason, sizeof(reason)) != 0) {
            set_result(job, i, PUSH_REJECT, reason, -1, 0, NULL);
        } else {
            job->in_rec[json_array_size(job->inputs)] = i;
            json_array_append_new(job->inputs, in);
        }
        free(email);
    }
    subs_check(job);
}

/* --- record ids for lists and erasure: minimal upsert or batch read --- */

static void after_ids(struct hs_job *job);
static void resolve_ids(struct hs_job *job);

static void ids_answer(struct http_result *res, void *arg)
{
    struct hs_job *job = arg;
    size_t n = job->plan.ng;

    if (res->cls == HTTP_CLASS_OK) {
        const char **keys = calloc(n ? n : 1, sizeof(*keys));
        struct hs_outcome *out = calloc(n ? n : 1, sizeof(*out));
        if (keys != NULL && out != NULL) {
            for (size_t g = 0; g < n; g++)
                keys[g] = job->ids[g][0] ? NULL : job->plan.g[g].member;
            hs_parse_batch_result(res->body, job->hs->map.id_property, keys, n, out);
            for (size_t g = 0; g < n; g++) {
                if (keys[g] != NULL && out[g].state == HS_OK)
                    snprintf(job->ids[g], sizeof(job->ids[g]), "%s", out[g].id);
            }
        }
        free(keys);
        free(out);
        /* An upsert answer that does not echo the id property (the
         * simulator's) leaves ids unknown: read them by id property. */
        if (!job->reading) {
            job->reading = 1;
            resolve_ids(job);
        } else {
            after_ids(job);
        }
        return;
    }
    fail_from_result(job, res);
    job_done(job);
}

/* Learns the record ids the batch lacks: lists upsert a minimal contact
 * (the member must exist to be listed), erasure only reads. */
static void resolve_ids(struct hs_job *job)
{
    json_t *inputs = json_array(), *body;
    char *text;
    int rc;

    for (size_t g = 0; g < job->plan.ng; g++) {
        const struct hs_group *grp = &job->plan.g[g];
        if (grp->member == NULL)
            continue;
        if (grp->remote_id != NULL && job->ids[g][0] == '\0')
            snprintf(job->ids[g], sizeof(job->ids[g]), "%s", grp->remote_id);
        if (job->ids[g][0] != '\0')
            continue;
        if (!job->reading)
            json_array_append_new(inputs, json_pack("{s:s, s:s, s:{}}", "idProperty",
                                                    job->hs->map.id_property, "id", grp->member,
                                                    "properties"));
        else
            json_array_append_new(inputs, json_pack("{s:s}", "id", grp->member));
    }
    if (json_array_size(inputs) == 0) {
        json_decref(inputs);
        after_ids(job);
        return;
    }
    if (!job->reading)
        body = json_pack("{s:o}", "inputs", inputs);
    else
        body = json_pack("{s:s, s:[s], s:o}", "idProperty", job->hs->map.id_property,
                         "properties", job->hs->map.id_property, "inputs", inputs);
    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    rc = text == NULL ? -1
                      : hs_request(job->hs, HTTP_POST,
                                   hs_path(job->hs, HS_V_OBJECTS,
                                           job->reading ? "/batch/read" : "/batch/upsert"),
                                   text, ids_answer, job);
    free(text);
    if (rc != 0) {
        fail_rest(job, PUSH_RETRY, "cannot send the request", -1, 1);
        job_done(job);
    }
}

/* --- lists --- */

static void members_answer(struct http_result *res, void *arg)
{
    struct hs_job *job = arg;

    if (res->cls == HTTP_CLASS_OK) {
        json_t *missing = hs_parse_missing(res->body);
        for (size_t i = 0; i < job->pb->n; i++) {
            size_t g = job->plan.rec_group[i];
            int gone = 0;
            size_t k;
            json_t *v;

            if (g == SIZE_MAX)
                continue;
            json_array_foreach(missing, k, v)
            {
                gone |= json_is_string(v) && strcmp(json_string_value(v), job->ids[g]) == 0;
            }
            if (gone && strstr(job->pb->records[i].value_json, "\"in\"") != NULL)
                set_result(job, i, PUSH_REJECT,
                           "HubSpot has no contact with the member's record id (merged or "
                           "deleted?)",
                           -1, 0, NULL);
            else
                set_result(job, i, PUSH_OK, NULL, -1, 0, job->ids[g]);
        }
        json_decref(missing);
    } else {
        fail_from_result(job, res);
    }
    job_done(job);
}

static void send_memberships(struct hs_job *job)
{
    size_t n = job->pb->n;
    const char **add = calloc(n ? n : 1, sizeof(*add));
    const char **rem = calloc(n ? n : 1, sizeof(*rem));
    size_t nadd = 0, nrem = 0;
    char tail[128], *body = NULL;

    for (size_t i = 0; add != NULL && rem != NULL && i < n; i++) {
        size_t g = job->plan.rec_group[i];
        char proj[16];

        if (g == SIZE_MAX || job->set[i])
            continue;
        if (job->ids[g][0] == '\0') {
            set_result(job, i, PUSH_RETRY, "HubSpot record id of the member not learnt", -1, 0,
                       NULL);
            continue;
        }
        if (hs_project(CHANGE_SEGMENT, job->pb->records[i].field, job->pb->records[i].value_json,
                       proj, sizeof(proj)) != 0) {
            set_result(job, i, PUSH_REJECT, "unreadable segment value", -1, 0, NULL);
            continue;
        }
        if (strcmp(proj, "in") == 0)
            add[nadd++] = job->ids[g];
        else
            rem[nrem++] = job->ids[g];
    }
    if (nadd + nrem > 0)
        body = hs_memberships_body(add, nadd, rem, nrem);
    free(add);
    free(rem);
    if (nadd + nrem == 0) {
        job_done(job);
        return;
    }
    snprintf(tail, sizeof(tail), "/%s/memberships/add-and-remove", job->list_id);
    if (body == NULL ||
        hs_request(job->hs, HTTP_PUT, hs_path(job->hs, HS_V_LISTS, tail), body,
                   members_answer, job) != 0) {
        fail_rest(job, PUSH_RETRY, "cannot send the request", -1, 1);
        job_done(job);
    }
    free(body);
}

/* The list create of job ended: take job off hs->creating and hand the
 * outcome to the jobs waiting on it. A failure is not their records' fault:
 * they retry, and then find the list in the identity map or create it. */
static void release_waiters(struct hs_job *job, int ok)
{
    struct hs_job **p = &job->hs->creating;
    struct hs_job *w = job->waiters;

    while (*p != NULL && *p != job)
        p = &(*p)->next_creating;
    if (*p == job)
        *p = job->next_creating;
    job->waiters = NULL;
    while (w != NULL) {
        struct hs_job *next = w->next_creating;
        w->next_creating = NULL;
        if (ok) {
            snprintf(w->list_id, sizeof(w->list_id), "%s", job->list_id);
            resolve_ids(w);
        } else {
            fail_rest(w, PUSH_RETRY, "creating the segment's list failed; will retry", 1000, 1);
            job_done(w);
        }
        w = next;
    }
}

/* job->list_id holds the segment's list: remember it, hand it to the jobs
 * waiting on it, and go on with the memberships. */
static void list_known(struct hs_job *job, const char *how)
{
    struct connector *conn = job->hs->conn;
    char key[96], kept[80];

    snprintf(key, sizeof(key), "segment:%s", job->segment);
    /* Stored as "list:<id>": the identity map holds contact record ids of
     * the same system, unique per system, and list 1 is not contact 1. */
    snprintf(kept, sizeof(kept), "list:%s", job->list_id);
    if (conn->sink != NULL && conn->sink->learn_identity != NULL)
        conn->sink->learn_identity(conn->sink->ctx, conn, key, kept);
    log_info("hubspot", conn->name, "%s list \"crmsyncd %s\" (id %s)", how, job->segment,
             job->list_id);
    release_waiters(job, 1);
    resolve_ids(job);
}

static void list_failed(struct hs_job *job, struct http_result *res, const char *unreadable)
{
    release_waiters(job, 0);
    if (res->cls == HTTP_CLASS_OK)
        fail_rest(job, PUSH_RETRY, unreadable, -1, 0);
    else
        fail_from_result(job, res);
    job_done(job);
}

static void list_found(struct http_result *res, void *arg)
{
    struct hs_job *job = arg;

    if (res->cls == HTTP_CLASS_OK &&
        hs_parse_list_id(res->body, job->list_id, sizeof(job->list_id)) == 0) {
        list_known(job, "found");
        return;
    }
    if (res->status == 404) {
        /* Gone since (deleted in HubSpot): the retry creates it again. */
        release_waiters(job, 0);
        fail_rest(job, PUSH_RETRY, "the segment's list was not found by name; will retry", 1000, 1);
        job_done(job);
        return;
    }
    list_failed(job, res, "unreadable list answer");
}

/* Percent-encodes s for one path segment (RFC 3986 unreserved kept). */
static void path_segment(const char *s, char *out, size_t outsize)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (; *s != '\0' && o + 4 < outsize; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

/* The create was refused because the list exists: our earlier create went
 * through and its answer was lost (a timeout, a cut body), so the list is
 * there under our name. Fetch it by name (HubSpot: not case sensitive)
 * rather than fail the segment's memberships. */
static void find_list(struct hs_job *job)
{
    char name[300], seg[900], tail[1000];

    snprintf(name, sizeof(name), "crmsyncd %s", job->segment);
    path_segment(name, seg, sizeof(seg));
    snprintf(tail, sizeof(tail), "/object-type-id/0-1/name/%s", seg);
    if (hs_request(job->hs, HTTP_GET, hs_path(job->hs, HS_V_LISTS, tail), NULL, list_found,
                   job) != 0) {
        release_waiters(job, 0);
        fail_rest(job, PUSH_RETRY, "cannot send the request", -1, 1);
        job_done(job);
    }
}

static void list_created(struct http_result *res, void *arg)
{
    struct hs_job *job = arg;

    if (res->cls == HTTP_CLASS_OK && hs_parse_list_id(res->body, job->list_id,
                                                      sizeof(job->list_id)) == 0) {
        list_known(job, "created");
        return;
    }
    if (res->status == 400 && res->body != NULL && strstr(res->body, "already exists") != NULL) {
        find_list(job);
        return;
    }
    list_failed(job, res, "unreadable list create answer");
}

static void start_list(struct hs_job *job)
{
    struct connector *conn = job->hs->conn;
    char key[96];
    int found = 0;

    snprintf(job->segment, sizeof(job->segment), "%s", job->pb->class_key + 5);
    if (plan_job(job, 0) < 0) {
        fail_rest(job, PUSH_RETRY, "out of memory", -1, 1);
        job_done(job);
        return;
    }
    snprintf(key, sizeof(key), "segment:%s", job->segment);
    if (conn->sink != NULL && conn->sink->remote_id != NULL)
        found = conn->sink->remote_id(conn->sink->ctx, conn, key, job->list_id,
                                      sizeof(job->list_id)) == 1 &&
                strncmp(job->list_id, "list:", 5) == 0;
    if (found)
        memmove(job->list_id, job->list_id + 5, strlen(job->list_id + 5) + 1);
    if (found) {
        resolve_ids(job);
        return;
    }
    for (struct hs_job *c = job->hs->creating; c != NULL; c = c->next_creating) {
        if (strcmp(c->segment, job->segment) == 0) {
            job->next_creating = c->waiters;
            c->waiters = job;
            return;
        }
    }
    {
        char *body = hs_list_create_body(job->segment);

        /* On hs->creating before the request goes, so its answer always
         * finds it there. */
        job->next_creating = job->hs->creating;
        job->hs->creating = job;
        if (body == NULL || hs_request(job->hs, HTTP_POST, hs_path(job->hs, HS_V_LISTS, ""),
                                       body, list_created, job) != 0) {
            release_waiters(job, 0);
            fail_rest(job, PUSH_RETRY, "cannot send the request", -1, 1);
            job_done(job);
        }
        free(body);
    }
}

/* --- erasure: archive by record id --- */

static void archived(struct http_result *res, void *arg)
{
    struct hs_job *job = arg;

    if (res->cls == HTTP_CLASS_OK) {
        for (size_t i = 0; i < job->pb->n; i++)
            set_result(job, i, PUSH_OK, NULL, -1, 0, NULL);
    } else {
        fail_from_result(job, res);
    }
    job_done(job);
}

static void send_archive(struct hs_job *job)
{
    json_t *inputs = json_array(), *body;
    char *text;

    for (size_t g = 0; g < job->plan.ng; g++) {
        if (job->ids[g][0] != '\0')
            json_array_append_new(inputs, json_pack("{s:s}", "id", job->ids[g]));
    }
    if (json_array_size(inputs) == 0) {
        /* Nobody to delete: HubSpot never had these members. */
        json_decref(inputs);
        for (size_t i = 0; i < job->pb->n; i++)
            set_result(job, i, PUSH_OK, NULL, -1, 0, NULL);
        job_done(job);
        return;
    }
    body = json_pack("{s:o}", "inputs", inputs);
    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text == NULL ||
        hs_request(job->hs, HTTP_POST, hs_path(job->hs, HS_V_OBJECTS, "/batch/archive"),
                   text, archived, job) != 0) {
        fail_rest(job, PUSH_RETRY, "cannot send the request", -1, 1);
        job_done(job);
    }
    free(text);
}

static void after_ids(struct hs_job *job)
{
    if (job->cls == JOB_LIST)
        send_memberships(job);
    else
        send_archive(job);
}

static void start_erase(struct hs_job *job)
{
    job->reading = 1; /* never create a contact in order to delete it */
    if (plan_job(job, 0) < 0) {
        fail_rest(job, PUSH_RETRY, "out of memory", -1, 1);
        job_done(job);
        return;
    }
    resolve_ids(job);
}

/* --- ops: push side --- */

void hs_op_push(struct connector *conn, struct push_batch *pb)
{
    struct hubspot *hs = conn->priv;
    struct hs_job *job = calloc(1, sizeof(*job));

    if (job != NULL)
        job->set = calloc(pb->n ? pb->n : 1, 1);
    if (job == NULL || job->set == NULL) {
        /* Cannot even queue: answer from the loop all the same. */
        free(job);
        log_error("hubspot", conn->name, "out of memory");
        job = NULL;
    }
    if (job == NULL)
        return; /* the engine keeps the batch in flight; nothing better to do */
    job->hs = hs;
    job->pb = pb;
    if (!hs->ready || hs->closing) {
        fail_rest(job, PUSH_RETRY, "HubSpot connector not ready (setting up properties)", 1000, 1);
        job_done(job);
        return;
    }
    if (strcmp(pb->class_key, "subscriptions") == 0) {
        job->cls = JOB_SUBS;
        start_subs(job);
    } else if (strncmp(pb->class_key, "list:", 5) == 0) {
        job->cls = JOB_LIST;
        start_list(job);
    } else if (strcmp(pb->class_key, "erase") == 0) {
        job->cls = JOB_ERASE;
        start_erase(job);
    } else {
        job->cls = JOB_CONTACTS;
        start_contacts(job);
    }
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

    if (kind == CHANGE_POINTS && hs != NULL)
        return hs_project_balance(&hs->map, value_json, out, outsize);
    return hs_project(kind, field, value_json, out, outsize);
}

