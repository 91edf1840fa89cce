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
 *   consent               adobe_consent.c: one Subscribe (grant) or
 *                         Unsubscribe (withdrawal) per record, to the
 *                         service mapped for its (purpose, channel); a
 *                         grant to a recipient whose denylist flag
 *                         Campaign holds is answered STALE (the pull
 *                         brings the withdrawal in first), never written
 *                         over the flag.
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

#include "adobe_job.h"
#include "log.h"

static void write_next(struct acc_job *job);

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

/* The records of group g. */
static void group_result(struct acc_job *job, size_t g, enum push_outcome o, const char *reason,
                         long retry_ms, int nrf)
{
    for (size_t k = 0; k < job->ngroup[g]; k++)
        crm_job_result(&job->base, job->groups[g][k], o, reason, retry_ms, nrf, NULL);
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
        acc_job_fail_rest(job, r, res, &f);
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
        if (body == NULL || acc_job_call(job,
                                         job->hi - job->lo == 1 ? "xtk:session#Write"
                                                                : "xtk:session#WriteCollection",
                                         body, write_answer) != 0) {
            free(body);
            crm_job_fail_rest(&job->base, PUSH_RETRY, "cannot send to Campaign", -1, 1);
            break;
        }
        free(body);
        return;
    }
    acc_job_finish(job);
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
        acc_job_fail_rest(job, r, res, &f);
        return;
    }
    job->next_create++;
    create_next(job);
}

static void create_next(struct acc_job *job)
{
    while (job->next_create < job->to_create.n) {
        char *body = acc_compose_group("", job->to_create.v[job->next_create]);
        int rc = body ? acc_job_call(job, "xtk:session#Write", body, group_written) : -1;
        free(body);
        if (rc == 0)
            return;
        crm_job_fail_rest(&job->base, PUSH_RETRY, "cannot send to Campaign", -1, 1);
        acc_job_finish(job);
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

static void start_job(struct acc_job *job)
{
    if (plan(job) != 0) {
        crm_job_fail_rest(&job->base, PUSH_RETRY, "out of memory", -1, 1);
        acc_job_finish(job);
        return;
    }
    if (job->kind == JOB_CONSENT)
        acc_consent_start(job);
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
        acc_job_finish(job);
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
        acc_job_finish(job);
    }
}
