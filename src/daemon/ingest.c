#include "ingest.h"

#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "hash.h"
#include "log.h"
#include "store_push.h"
#include "health.h"
#include "metrics.h"
#include "timefmt.h"

/* Clock skew we accept between a source and this host before a timestamp
 * counts as "in the future" and is dead-lettered. */
#define FUTURE_TOLERANCE_MS (5 * 60 * 1000)

/* --- metrics (issue 8) ---------------------------------------------------
 * Counted per page in plain arrays and published at commit, so the hot path
 * takes no lock and an aborted page counts nothing. One page is open at a
 * time (begin .. commit/abort inside one loop callback). */
static struct {
    uint64_t by_kind[CHANGE_ERASE + 1][APPLY_ERASED + 1];
    uint64_t invalid;
} page_counts;

static void page_metrics_publish(const struct connector *conn)
{
    for (int k = 0; k <= CHANGE_ERASE; k++) {
        uint64_t appended = 0;
        for (int r = 0; r <= APPLY_ERASED; r++) {
            uint64_t n = page_counts.by_kind[k][r];
            if (n == 0)
                continue;
            metrics_counter_add(METRIC_INGEST_RECORDS,
                                (const char *[]){conn->name, apply_result_name(r)}, n);
            if (r == APPLY_APPLIED || r == APPLY_UNCHANGED || r == APPLY_REJECTED)
                appended += n;
            if (r == APPLY_REJECTED)
                metrics_counter_add(METRIC_DEAD_LETTERS, (const char *[]){"ingest"}, n);
        }
        if (appended > 0)
            metrics_counter_add(METRIC_CHANGES_APPENDED,
                                (const char *[]){conn->name, change_kind_name(k)}, appended);
    }
    if (page_counts.invalid > 0) {
        metrics_counter_add(METRIC_INGEST_RECORDS, (const char *[]){conn->name, "invalid"},
                            page_counts.invalid);
        metrics_counter_add(METRIC_DEAD_LETTERS, (const char *[]){"ingest"}, page_counts.invalid);
    }
}
/* --- end metrics ---------------------------------------------------------- */

static int sink_begin(void *ctx, struct connector *conn, struct error *err)
{
    struct ingest *ing = ctx;
    (void)conn;
    ing->policy.now_ms = timefmt_now_ms();
    memset(&page_counts, 0, sizeof(page_counts));
    if (store_begin(ing->store, err) != 0) {
        health_raise(HEALTH_STATE_NOT_WRITABLE, NULL, "%s", err->msg);
        return -1;
    }
    return 0;
}

/* 1 when the local value of (member, field) projects, as conn writes it,
 * to projection (what the CRM holds). */
static int local_same(struct ingest *ing, struct connector *conn, const struct change *c,
                      const char *projection, struct error *err)
{
    char *cur = NULL, proj[1024];
    int same = 0;

    if (store_current_get(ing->store, c->member_key, c->field, &cur, err) != 0)
        return -1;
    if (cur != NULL && conn->ops->project == NULL)
        same = strcmp(cur, projection) == 0;
    else if (cur != NULL)
        same = conn->ops->project(conn, c->kind, c->field, cur, proj, sizeof(proj)) == 0 &&
               strcmp(proj, projection) == 0;
    free(cur);
    return same;
}

/* The echo rule, in one place for every connector (pull_sink.pulled): what
 * a CRM holds is only our own write read back, not news, when the local
 * value already projects to it (projection, when the connector gives one),
 * or when the pulled value projects to what this connector last confirmed
 * or sent there (the shadow). Applying it would date our old value "now"
 * and let it override newer local data. *echo: 1 local, 2 shadow. */
static int is_echo(struct ingest *ing, struct connector *conn, const struct change *c,
                   const char *projection, int *echo, struct error *err)
{
    char proj[1024], hash[65];
    const char *text = c->value_json;

    *echo = 0;
    if (projection != NULL) {
        int same = local_same(ing, conn, c, projection, err);
        if (same != 0) {
            *echo = same > 0;
            return same < 0 ? -1 : 0;
        }
    }
    if (conn->ops->push == NULL || c->kind == CHANGE_POINTS || c->kind == CHANGE_ERASE)
        return 0;
    if (conn->ops->project != NULL) {
        if (conn->ops->project(conn, c->kind, c->field, c->value_json, proj, sizeof(proj)) != 0)
            return 0;
        text = proj;
    }
    sha256_hex(text, strlen(text), hash);
    if (store_shadow_is_ours(ing->store, conn->name, c->member_key, c->field, hash, echo, err) != 0)
        return -1;
    *echo = *echo ? 2 : 0;
    return 0;
}

static int sink_change(void *ctx, struct connector *conn, const struct change *c,
                       enum apply_result *res, struct error *err)
{
    struct ingest *ing = ctx;
    (void)conn;

    if (store_apply(ing->store, c, &ing->policy, res, err) != 0)
        return -1;
    ing->results[*res]++;
    if ((unsigned)c->kind <= CHANGE_ERASE && (unsigned)*res <= APPLY_ERASED)
        page_counts.by_kind[c->kind][*res]++;
    return 0;
}

static int sink_pulled(void *ctx, struct connector *conn, const char *member, enum change_kind kind,
                       const char *field, const struct change *c, const char *projection,
                       enum apply_result *res, struct error *err)
{
    struct ingest *ing = ctx;
    int echo = 0;

    *res = APPLY_UNCHANGED;
    /* A profile attribute the CRM holds empty is not a clearing (the
     * connector gives no change for it: a record we created holds only
     * what we wrote) and not a drift to write back, but it is what the CRM
     * holds: a local value cleared here projects to it, and without the
     * shadow a resync would write that member again. */
    if (c == NULL && kind == CHANGE_PROFILE && projection[0] == '\0')
        return ingest_host_hold(ing, conn, member, field, projection, err);
    if (c != NULL) {
        if (is_echo(ing, conn, c, projection, &echo, err) != 0)
            return -1;
        if (echo == 2)
            ing->results[APPLY_UNCHANGED]++;
        else if (echo == 0 && sink_change(ctx, conn, c, res, err) != 0)
            return -1;
    }
    if (ing->host.observe == NULL)
        return 0;
    return ing->host.observe(ing, conn, member, kind, field, projection, err);
}

static int sink_reject(void *ctx, struct connector *conn, const struct dead_letter_in *dl,
                       struct error *err)
{
    struct ingest *ing = ctx;
    struct dead_letter_in masked = *dl;
    char reason[512];
    (void)conn;
    /* The reason may quote the record or a vendor (an address): masked. */
    if (dl->reason != NULL)
        masked.reason = log_mask_emails(dl->reason, reason, sizeof(reason));
    if (store_dead_letter_add(ing->store, &masked, err) != 0)
        return -1;
    ing->rejected_records++;
    page_counts.invalid++;
    return 0;
}

static int sink_commit(void *ctx, struct connector *conn, const char *watermark, struct error *err)
{
    struct ingest *ing = ctx;
    if (watermark != NULL && store_set_watermark(ing->store, conn->name, watermark, err) != 0) {
        store_rollback(ing->store);
        ing->page_failures++;
        return -1;
    }
    if (store_commit(ing->store, err) != 0) {
        ing->page_failures++;
        health_raise(HEALTH_STATE_NOT_WRITABLE, NULL, "%s", err->msg);
        return -1;
    }
    ing->pages++;
    page_metrics_publish(conn);
    if (ing->engine != NULL)
        engine_kick(ing->engine);
    health_clear(HEALTH_STATE_NOT_WRITABLE, NULL);
    return 0;
}

static void sink_abort(void *ctx, struct connector *conn)
{
    struct ingest *ing = ctx;
    (void)conn;
    store_rollback(ing->store);
    ing->page_failures++;
}

static int sink_file_begin(void *ctx, struct connector *conn, const char *name, int64_t *id,
                           struct error *err)
{
    struct ingest *ing = ctx;
    if (store_ingest_file_begin(ing->store, conn->name, name, id, err) != 0) {
        health_raise(HEALTH_STATE_NOT_WRITABLE, NULL, "%s", err->msg);
        return -1;
    }
    return 0;
}

static int sink_file_finish(void *ctx, struct connector *conn, int64_t id,
                            const struct ingest_stats *stats, const char *status, struct error *err)
{
    struct ingest *ing = ctx;
    int rc = store_ingest_file_finish(ing->store, id, stats, status, err);

    if (rc == 0)
        metrics_gauge_set(METRIC_LAST_SUCCESS, (const char *[]){conn->name, "pull"},
                          (double)timefmt_now_ms() / 1000.0);
    return rc;
}

void ingest_init(struct ingest *ing, struct store *store, const char *const *origin_priority,
                 size_t n_origin_priority)
{
    *ing = (struct ingest){0};
    ing->store = store;
    ing->policy.origin_priority = origin_priority;
    ing->policy.n_origin_priority = n_origin_priority;
    ing->policy.future_tolerance_ms = FUTURE_TOLERANCE_MS;
    ing->sink = (struct pull_sink){
        .ctx = ing,
        .begin = sink_begin,
        .change = sink_change,
        .reject = sink_reject,
        .commit = sink_commit,
        .abort = sink_abort,
        .file_begin = sink_file_begin,
        .file_finish = sink_file_finish,
        .pulled = sink_pulled,
    };
    ingest_host_init(ing);
}
