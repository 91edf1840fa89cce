/* The Adobe Campaign push side (docs/adobe_campaign.md "Push"): one job per
 * batch, on the shared job machinery (crm_job.h).
 *
 *   recipients, segments  WriteCollection insertOrUpdate keyed on the
 *                         member key, batch_size members a call; segments
 *                         as rcpGrpRel inside their recipient, after the
 *                         nms:group is written once (create_groups). On a
 *                         data fault the range is halved until the
 *                         failing member is alone (a single Write), which
 *                         alone is rejected, with the fault text.
 *   erase                 the same with _operation="delete"
 *   consent               one Subscribe (grant) or Unsubscribe
 *                         (withdrawal) per record, to the service mapped
 *                         for its (purpose, channel); a grant to a
 *                         recipient whose denylist flag Campaign holds is
 *                         answered STALE (the pull brings the withdrawal
 *                         in first), never written over the flag.
 *
 * Calls of one job go one after another, but for a withdrawal job's: up to
 * ACC_URGENT_PARALLEL at once, one per member. A member key is in at most one
 * job at a time: Campaign Enterprise (FFDA) does not enforce key
 * uniqueness, and two concurrent insertOrUpdate of a new key make twins. A
 * job with a member another job holds waits (acc->waiting) until that job
 * is answered. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adobe_int.h"
#include "change_json.h"
#include "log.h"
#include "ratelimit.h"

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

static void write_next(struct acc_job *job);
static void consent_next(struct acc_job *job);

static void job_release(struct crm_job *base)
{
    struct acc_job *job = (struct acc_job *)base;
    struct adobe *acc;

    for (size_t g = 0; g < job->ng; g++)
        free(job->groups[g]);
    free(job->groups);
    free(job->ngroup);
    free(job->in_flight);
    for (size_t k = 0; k < job->nkeys; k++) {
        acc_key_release(job->acc, job->keys[k]);
        free(job->keys[k]);
    }
    free(job->keys);
    crm_list_free(&job->to_create);
    acc = job->acc;
    free(job);
    acc_wake_waiting(acc);
}

static void finish(struct acc_job *job)
{
    crm_job_done(&job->base, "no result from Campaign for this record");
}

/* Sends one call of the job, answered to done with arg: the first on the
 * engine's token for the batch, the others on a token of their own, in the
 * batch's lane. */
static int job_call_arg(struct acc_job *job, const char *action, const char *body,
                        http_done_fn done, void *arg)
{
    int lane = job->base.pb->lane == 0 ? RATELIMIT_PRIORITY : RATELIMIT_BULK;

    if (job->calls++ == 0)
        return acc_call(job->acc, lane, action, body, done, arg);
    return acc_call_budget(job->acc, lane, action, body, done, arg);
}

static int job_call(struct acc_job *job, const char *action, const char *body, http_done_fn done)
{
    return job_call_arg(job, action, body, done, job);
}

/* The records of group g. */
static void group_result(struct acc_job *job, size_t g, enum push_outcome o, const char *reason,
                         long retry_ms, int nrf)
{
    for (size_t k = 0; k < job->ngroup[g]; k++)
        crm_job_result(&job->base, job->groups[g][k], o, reason, retry_ms, nrf, NULL);
}

/* A call failed in a way that is not the records' fault: every record
 * without a result is kept (RETRY, destination backs off). */
static void fail_rest(struct acc_job *job, enum acc_result r, const struct http_result *res,
                      const struct acc_fault *f)
{
    long after = r == ACC_STOP ? STOPPED_RETRY_MS : res ? res->retry_after_ms : -1;

    log_info("adobe_campaign", job->acc->conn->name, "%s: %s; will retry", job->base.pb->class_key,
             f->text[0] ? f->text : "call failed");
    crm_job_fail_rest(&job->base, PUSH_RETRY, f->text[0] ? f->text : "call failed", after, 1);
    finish(job);
}

/* 1 when another job holds the key of one of the batch's members. */
static int keys_busy(const struct acc_job *job)
{
    for (size_t i = 0; i < job->base.pb->n; i++) {
        if (acc_key_busy(job->acc, job->base.pb->records[i].member_key))
            return 1;
    }
    return 0;
}

/* Groups the batch by member and takes the members' keys (none may be
 * busy). 0 or -1 (out of memory). */
static int plan(struct acc_job *job)
{
    const struct push_batch *pb = job->base.pb;

    job->in_flight = calloc(pb->n ? pb->n : 1, sizeof(*job->in_flight));
    job->groups = calloc(pb->n ? pb->n : 1, sizeof(*job->groups));
    job->ngroup = calloc(pb->n ? pb->n : 1, sizeof(*job->ngroup));
    job->keys = calloc(pb->n ? pb->n : 1, sizeof(*job->keys));
    if (job->groups == NULL || job->ngroup == NULL || job->keys == NULL || job->in_flight == NULL)
        return -1;
    for (size_t i = 0; i < pb->n; i++) {
        const char *key = pb->records[i].member_key;
        size_t g;
        for (g = 0; g < job->ng; g++) {
            if (strcmp(pb->records[job->groups[g][0]].member_key, key) == 0)
                break;
        }
        if (g == job->ng) {
            int mine = 0;
            for (size_t k = 0; k < job->nkeys; k++)
                mine |= strcmp(job->keys[k], key) == 0;
            if (!mine) {
                job->keys[job->nkeys] = strdup(key);
                if (job->keys[job->nkeys] == NULL || acc_key_take(job->acc, key) != 0) {
                    free(job->keys[job->nkeys]);
                    job->keys[job->nkeys] = NULL;
                    return -1;
                }
                job->nkeys++;
            }
            job->groups[g] = calloc(pb->n, sizeof(size_t));
            if (job->groups[g] == NULL)
                return -1;
            job->ng++;
        }
        job->groups[g][job->ngroup[g]++] = i;
    }
    return 0;
}

/* --- recipients, segments, erase --- */

/* Ranges of batch_size members, pushed so the first is on top. */
static void plan_ranges(struct acc_job *job)
{
    size_t size = (size_t)job->acc->cfg->batch_size;
    size_t nr = (job->ng + size - 1) / size;

    for (size_t r = nr; r > 0 && job->nranges < MAX_RANGES; r--) {
        size_t lo = (r - 1) * size;
        size_t hi = lo + size < job->ng ? lo + size : job->ng;
        job->ranges[job->nranges][0] = lo;
        job->ranges[job->nranges][1] = hi;
        job->nranges++;
    }
}

static void write_answer(struct http_result *res, void *arg)
{
    struct acc_job *job = arg;
    struct acc_fault f;
    enum acc_result r = acc_result_of(job->acc, res, &f);

    if (r == ACC_OK) {
        for (size_t g = job->lo; g < job->hi; g++)
            group_result(job, g, PUSH_OK, NULL, -1, 0);
        write_next(job);
        return;
    }
    if (r != ACC_DATA) {
        fail_rest(job, r, res, &f);
        return;
    }
    if (job->hi - job->lo == 1) {
        /* The failing member, alone: only its records go to dead letters. */
        log_warn("adobe_campaign", job->acc->conn->name, "%s: member rejected: %s",
                 job->base.pb->class_key, f.text);
        group_result(job, job->lo, PUSH_REJECT, f.text, -1, 0);
    } else if (job->nranges + 2 <= MAX_RANGES) {
        size_t mid = job->lo + (job->hi - job->lo) / 2;
        job->ranges[job->nranges][0] = mid;
        job->ranges[job->nranges][1] = job->hi;
        job->ranges[job->nranges + 1][0] = job->lo;
        job->ranges[job->nranges + 1][1] = mid;
        job->nranges += 2;
    } else {
        for (size_t g = job->lo; g < job->hi; g++)
            group_result(job, g, PUSH_RETRY, "Campaign refused the batch; culprit not found yet",
                         -1, 0);
    }
    write_next(job);
}

static void write_next(struct acc_job *job)
{
    const struct push_batch *pb = job->base.pb;
    struct push_result *tmp;
    char *body;

    while (job->nranges > 0) {
        size_t sent = 0;
        job->nranges--;
        job->lo = job->ranges[job->nranges][0];
        job->hi = job->ranges[job->nranges][1];
        tmp = calloc(pb->n, sizeof(*tmp));
        if (tmp == NULL)
            break;
        body = acc_compose_write(&job->acc->map, "", job->op, pb->records, job->groups + job->lo,
                                 job->ngroup + job->lo, job->hi - job->lo, tmp);
        /* Records the mapping refused are rejected now, never sent. */
        for (size_t i = 0; i < pb->n; i++) {
            if (tmp[i].outcome == PUSH_REJECT)
                crm_job_result(&job->base, i, PUSH_REJECT, push_result_reason(&tmp[i]), -1, 0,
                               NULL);
        }
        push_results_clear(tmp, pb->n);
        free(tmp);
        for (size_t g = job->lo; g < job->hi; g++) {
            for (size_t k = 0; k < job->ngroup[g]; k++)
                sent += !crm_job_has_result(&job->base, job->groups[g][k]);
        }
        if (sent == 0) {
            free(body);
            continue;
        }
        if (body == NULL ||
            job_call(job,
                     job->hi - job->lo == 1 ? "xtk:session#Write" : "xtk:session#WriteCollection",
                     body, write_answer) != 0) {
            free(body);
            crm_job_fail_rest(&job->base, PUSH_RETRY, "cannot send to Campaign", -1, 1);
            break;
        }
        free(body);
        return;
    }
    finish(job);
}

static void create_next(struct acc_job *job);

static void group_written(struct http_result *res, void *arg)
{
    struct acc_job *job = arg;
    struct acc_fault f;
    enum acc_result r = acc_result_of(job->acc, res, &f);
    const char *name = job->to_create.v[job->next_create];

    if (r == ACC_OK) {
        /* Known from now on (out of memory: written again next time). */
        (void)crm_list_add(&job->acc->groups, name);
        log_info("adobe_campaign", job->acc->conn->name, "list (nms:group) %s ready", name);
    } else if (r == ACC_DATA) {
        /* The list cannot be written: its memberships cannot either. */
        for (size_t i = 0; i < job->base.pb->n; i++) {
            const struct push_record *rec = &job->base.pb->records[i];
            if (strcmp(rec->field + strlen("segment/"), name) == 0)
                crm_job_result(&job->base, i, PUSH_REJECT, f.text, -1, 0, NULL);
        }
    } else {
        fail_rest(job, r, res, &f);
        return;
    }
    job->next_create++;
    create_next(job);
}

static void create_next(struct acc_job *job)
{
    while (job->next_create < job->to_create.n) {
        char *body = acc_compose_group("", job->to_create.v[job->next_create]);
        int rc = body ? job_call(job, "xtk:session#Write", body, group_written) : -1;
        free(body);
        if (rc == 0)
            return;
        crm_job_fail_rest(&job->base, PUSH_RETRY, "cannot send to Campaign", -1, 1);
        finish(job);
        return;
    }
    plan_ranges(job);
    write_next(job);
}

static void start_write(struct acc_job *job)
{
    const struct push_batch *pb = job->base.pb;

    if (strcmp(pb->class_key, "segments") == 0 && job->acc->cfg->create_groups) {
        for (size_t i = 0; i < pb->n; i++) {
            const char *seg = pb->records[i].field + strlen("segment/");
            if (strncmp(pb->records[i].field, "segment/", 8) != 0 || seg[0] == '\0' ||
                crm_list_has(&job->acc->groups, seg))
                continue;
            if (crm_list_add(&job->to_create, seg) != 0)
                break;
        }
    }
    create_next(job);
}

/* --- consent --- */

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
        rc = job_call_arg(job, action, body, consent_answer, c);
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
        finish(job);
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
        fail_rest(job, r == ACC_DATA ? ACC_TRANSPORT : r, res, &f);
        return;
    }
    if (acc_parse_response(res->body, res->body_len, (size_t)job->acc->cfg->max_response, &doc, why,
                           sizeof(why)) != 0) {
        snprintf(f.text, sizeof(f.text), "denylist flags: %s", why);
        fail_rest(job, ACC_TRANSPORT, res, &f);
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

static void start_consent(struct acc_job *job)
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
    if (body == NULL || job_call(job, "xtk:queryDef#ExecuteQuery", body, flags_answer) != 0) {
        crm_job_fail_rest(&job->base, PUSH_RETRY, "cannot send to Campaign", -1, 1);
        finish(job);
    }
    free(body);
}

static void start_job(struct acc_job *job)
{
    if (plan(job) != 0) {
        crm_job_fail_rest(&job->base, PUSH_RETRY, "out of memory", -1, 1);
        finish(job);
        return;
    }
    if (job->kind == JOB_CONSENT)
        start_consent(job);
    else
        start_write(job);
}

/* A job for batch pb, of the kind its class says; NULL when out of memory
 * (crm_job_new has answered the batch then). */
static struct acc_job *job_new(struct adobe *acc, struct push_batch *pb)
{
    struct acc_job *job =
        (struct acc_job *)crm_job_new(&acc->jobs, pb, sizeof(struct acc_job), job_release);

    if (job != NULL) {
        job->acc = acc;
        job->kind = strcmp(pb->class_key, "consent") == 0 ? JOB_CONSENT : JOB_WRITE;
        job->op = strcmp(pb->class_key, "erase") == 0 ? "delete" : "insertOrUpdate";
    }
    return job;
}

void acc_op_push(struct connector *conn, struct push_batch *pb)
{
    struct adobe *acc = conn->priv;
    struct acc_job *job = job_new(acc, pb);

    if (job == NULL)
        return;
    if (acc->stopped) {
        crm_job_fail_rest(&job->base, PUSH_RETRY, acc->stop_reason, STOPPED_RETRY_MS, 1);
        finish(job);
        return;
    }
    if (keys_busy(job)) {
        /* Waits for the jobs that hold its members' keys. */
        struct acc_job **tail = &acc->waiting;
        while (*tail != NULL)
            tail = &(*tail)->next_waiting;
        *tail = job;
        return;
    }
    start_job(job);
}

void acc_wake_waiting(struct adobe *acc)
{
    struct acc_job **p = &acc->waiting;

    while (*p != NULL && !acc->closing) {
        struct acc_job *job = *p;
        if (keys_busy(job)) {
            p = &job->next_waiting;
            continue;
        }
        *p = job->next_waiting;
        start_job(job);
        p = &acc->waiting; /* keys changed: from the start */
    }
}

void acc_fail_waiting(struct adobe *acc)
{
    while (acc->waiting != NULL) {
        struct acc_job *job = acc->waiting;
        acc->waiting = job->next_waiting;
        crm_job_fail_rest(&job->base, PUSH_RETRY, "connector closing", -1, 1);
        finish(job);
    }
}
