/* The Adobe Campaign consent jobs (docs/adobe_campaign.md "Push"): the
 * grant guard (one query of the denylist flags of the members with
 * grants), then one Subscribe (grant) or Unsubscribe (withdrawal) per
 * record, to the service mapped for its (purpose, channel), and the
 * channel's denylist flag after a withdrawal when denylist_write. A
 * member's records go in batch order, one call at a time; a withdrawal
 * job (the priority lane) has up to ACC_URGENT_PARALLEL calls in flight,
 * one per member. Moved out of adobe_push.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adobe_job.h"
#include "change_json.h"
#include "log.h"

/* One Subscribe, Unsubscribe or denylist flag write in flight: the record
 * it is for and its step (0: the subscription call, 1: the channel's
 * denylist flag after a withdrawal, with denylist_write). */
struct consent_call {
    struct acc_job *job;
    size_t i;
    int step;
};

/* Calls a consent job may have in flight: withdrawals (the priority lane)
 * go at once, one per member; grants one after another, so that the bulk
 * jobs (max_inflight less the priority slot) and a withdrawal job stay
 * within the HTTP client's connections to Campaign (8). */
static size_t consent_parallel(const struct acc_job *job)
{
    return job->base.pb->lane == 0 ? ACC_URGENT_PARALLEL : 1;
}

/* 1 when record i's member has a call in flight, or an earlier record
 * still to send (a member's records go in batch order, one at a time:
 * one write in flight per member key). */
static int member_waits(const struct acc_job *job, size_t i)
{
    const struct push_record *recs = job->base.pb->records;

    for (size_t k = 0; k < i; k++) {
        if (strcmp(recs[k].member_key, recs[i].member_key) == 0 &&
            (job->in_flight[k] || !crm_job_has_result(&job->base, k)))
            return 1;
    }
    return 0;
}

static void consent_answer(struct http_result *res, void *arg);
static void consent_next(struct acc_job *job);

/* Starts the call of step for record i. 0, or -1 (not sent). */
static int consent_send(struct acc_job *job, size_t i, int step, const char *svc, int grant)
{
    const struct push_batch *pb = job->base.pb;
    const struct push_record *rec = &pb->records[i];
    struct consent_call *c = calloc(1, sizeof(*c));
    const char *action;
    char *body = NULL;
    int rc = -1;

    if (c == NULL)
        return -1;
    c->job = job;
    c->i = i;
    c->step = step;
    if (step == 1) {
        size_t idx[1] = {i};
        size_t *groups[1] = {idx};
        size_t ng[1] = {1};
        struct push_result *all = calloc(pb->n, sizeof(*all));
        body =
            all ? acc_compose_write(&job->acc->map, "", "update", pb->records, groups, ng, 1, all)
                : NULL;
        if (all != NULL)
            push_results_clear(all, pb->n);
        free(all);
        action = "xtk:session#Write";
    } else {
        body = acc_compose_subscription(&job->acc->map, "", grant, svc, rec->member_key);
        action = grant ? "nms:subscription#Subscribe" : "nms:subscription#Unsubscribe";
    }
    /* Counted before the call: session mode may answer it from inside. */
    job->in_flight[i] = 1;
    job->busy++;
    if (body != NULL)
        rc = acc_job_call_arg(job, action, body, consent_answer, c);
    free(body);
    if (rc != 0) {
        job->in_flight[i] = 0;
        job->busy--;
        free(c);
        return -1;
    }
    return 0;
}

/* The job is over once nothing is in flight and nothing is left to send
 * (or a failure answered the rest). */
static void consent_maybe_finish(struct acc_job *job)
{
    if (job->busy == 0 && !job->over) {
        job->over = 1;
        acc_job_finish(job);
    }
}

static void consent_answer(struct http_result *res, void *arg)
{
    struct consent_call *c = arg;
    struct acc_job *job = c->job;
    size_t i = c->i;
    int step = c->step;
    struct acc_fault f;
    enum acc_result r = acc_result_of(job->acc, res, &f);
    const char *svc = NULL;
    int grant = 0;
    char why[200];

    free(c);
    job->in_flight[i] = 0;
    job->busy--;
    if (r != ACC_OK && r != ACC_DATA) {
        /* Not the records' fault: every record without a result is kept
         * (one still in flight gets its own answer ignored: the first
         * result stands, and a call made twice is idempotent). No new
         * call goes; the job ends with the last one in flight. */
        if (!job->failed) {
            log_info("adobe_campaign", job->acc->conn->name, "%s: %s; will retry",
                     job->base.pb->class_key, f.text[0] ? f.text : "call failed");
            crm_job_fail_rest(&job->base, PUSH_RETRY, f.text[0] ? f.text : "call failed",
                              r == ACC_STOP ? STOPPED_RETRY_MS : res->retry_after_ms, 1);
            job->failed = 1;
        }
        consent_maybe_finish(job);
        return;
    }
    if (r == ACC_DATA) {
        crm_job_result(&job->base, i, PUSH_REJECT, f.text, -1, 0, NULL);
    } else if (step == 0 && !job->failed && job->acc->map.denylist_write &&
               acc_consent_target(&job->acc->map, &job->base.pb->records[i], &svc, &grant, why,
                                  sizeof(why)) == 0 &&
               !grant) {
        /* Then the channel's flag, the member still held. */
        if (consent_send(job, i, 1, svc, grant) == 0)
            return;
        crm_job_result(&job->base, i, PUSH_RETRY, "cannot send to Campaign", -1, 1, NULL);
    } else {
        crm_job_result(&job->base, i, PUSH_OK, NULL, -1, 0, NULL);
    }
    consent_next(job);
}

/* Sends what may go now: records in batch order, one call per member, up
 * to consent_parallel() at once. */
static void consent_next(struct acc_job *job)
{
    const struct push_batch *pb = job->base.pb;

    for (size_t i = 0; i < pb->n && !job->failed && job->busy < consent_parallel(job); i++) {
        const struct push_record *rec = &pb->records[i];
        const char *svc = NULL;
        int grant = 0;
        char why[200];

        if (crm_job_has_result(&job->base, i) || job->in_flight[i] || member_waits(job, i))
            continue;
        if (acc_consent_target(&job->acc->map, rec, &svc, &grant, why, sizeof(why)) != 0) {
            crm_job_result(&job->base, i, PUSH_REJECT, why, -1, 0, NULL);
            continue;
        }
        if (consent_send(job, i, 0, svc, grant) != 0) {
            crm_job_fail_rest(&job->base, PUSH_RETRY, "cannot send to Campaign", -1, 1);
            job->failed = 1;
        }
    }
    consent_maybe_finish(job);
}

/* When the customer gave the consent (collected_at), 0 when unknown. */
static int64_t grant_time(const struct push_record *rec)
{
    struct consent_value cv;
    json_t *holder = NULL;
    int64_t t = consent_value_from_json(rec->value_json, &cv, &holder) == 0 ? cv.collected_at : 0;

    json_decref(holder);
    return t;
}

/* The grant guard's answer: grants on a channel Campaign suppresses are
 * STALE. */
static void flags_answer(struct http_result *res, void *arg)
{
    struct acc_job *job = arg;
    const struct push_batch *pb = job->base.pb;
    struct acc_fault f;
    enum acc_result r = acc_result_of(job->acc, res, &f);
    xmlDocPtr doc = NULL;
    char why[128];

    if (r != ACC_OK) {
        acc_job_fail_rest(job, r == ACC_DATA ? ACC_TRANSPORT : r, res, &f);
        return;
    }
    if (acc_parse_response(res->body, res->body_len, (size_t)job->acc->cfg->max_response, &doc, why,
                           sizeof(why)) != 0) {
        snprintf(f.text, sizeof(f.text), "denylist flags: %s", why);
        acc_job_fail_rest(job, ACC_TRANSPORT, res, &f);
        return;
    }
    for (xmlNodePtr row = acc_query_rows(doc); row != NULL; row = acc_next(row, NULL)) {
        char key[256];
        char *mod = acc_attr(row, "lastModified");
        int64_t modified = 0;
        if (mod == NULL || acc_parse_datetime(mod, &modified) != 0)
            modified = INT64_MAX; /* unknown: the flag may be newer */
        xmlFree(mod);
        if (acc_row_key(&job->acc->map, row, key, sizeof(key)) != 0)
            continue;
        for (size_t i = 0; i < pb->n; i++) {
            const struct push_record *rec = &pb->records[i];
            const char *svc, *channel = strrchr(rec->field, '/');
            int grant = 0;
            if (crm_job_has_result(&job->base, i) || strcmp(rec->member_key, key) != 0 ||
                channel == NULL ||
                acc_consent_target(&job->acc->map, rec, &svc, &grant, why, sizeof(why)) != 0 ||
                !grant || !acc_row_suppressed(&job->acc->map, row, channel + 1))
                continue;
            if (grant_time(rec) > modified) {
                /* Our grant is newer than anything Campaign holds of the
                 * recipient: subscribed, but the flag set there stays. */
                continue;
            }
            crm_job_result(&job->base, i, PUSH_STALE,
                           "Campaign holds a denylist flag for this channel", -1, 0, NULL);
        }
    }
    xmlFreeDoc(doc);
    consent_next(job);
}

void acc_consent_start(struct acc_job *job)
{
    const struct push_batch *pb = job->base.pb;
    const char **keys = calloc(pb->n ? pb->n : 1, sizeof(*keys));
    size_t nk = 0;
    char *body = NULL;

    for (size_t i = 0; keys != NULL && i < pb->n; i++) {
        const char *svc;
        int grant = 0, seen = 0;
        char why[200];
        if (crm_job_has_result(&job->base, i) ||
            acc_consent_target(&job->acc->map, &pb->records[i], &svc, &grant, why, sizeof(why)) !=
                0 ||
            !grant)
            continue;
        for (size_t k = 0; k < nk; k++)
            seen |= strcmp(keys[k], pb->records[i].member_key) == 0;
        if (!seen)
            keys[nk++] = pb->records[i].member_key;
    }
    if (nk > 0)
        body = acc_compose_flags_query(&job->acc->map, "", keys, nk);
    free(keys);
    if (nk == 0) {
        consent_next(job);
        return;
    }
    if (body == NULL || acc_job_call(job, "xtk:queryDef#ExecuteQuery", body, flags_answer) != 0) {
        crm_job_fail_rest(&job->base, PUSH_RETRY, "cannot send to Campaign", -1, 1);
        acc_job_finish(job);
    }
    free(body);
}
