#include "ingest.h"

#include "timefmt.h"

/* Clock skew we accept between a source and this host before a timestamp
 * counts as "in the future" and is dead-lettered. */
#define FUTURE_TOLERANCE_MS (5 * 60 * 1000)

static int sink_begin(void *ctx, struct connector *conn, struct error *err)
{
    struct ingest *ing = ctx;
    (void)conn;
    ing->policy.now_ms = timefmt_now_ms();
    return store_begin(ing->store, err);
}

static int sink_change(void *ctx, struct connector *conn, const struct change *c,
                       enum apply_result *res, struct error *err)
{
    struct ingest *ing = ctx;
    (void)conn;
    if (store_apply(ing->store, c, &ing->policy, res, err) != 0)
        return -1;
    ing->results[*res]++;
    return 0;
}

static int sink_reject(void *ctx, struct connector *conn, const struct dead_letter_in *dl,
                       struct error *err)
{
    struct ingest *ing = ctx;
    (void)conn;
    if (store_dead_letter_add(ing->store, dl, err) != 0)
        return -1;
    ing->rejected_records++;
    return 0;
}

static int sink_commit(void *ctx, struct connector *conn, const char *watermark,
                       struct error *err)
{
    struct ingest *ing = ctx;
    if (watermark != NULL && store_set_watermark(ing->store, conn->name, watermark, err) != 0) {
        store_rollback(ing->store);
        ing->page_failures++;
        return -1;
    }
    if (store_commit(ing->store, err) != 0) {
        ing->page_failures++;
        return -1;
    }
    ing->pages++;
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
    return store_ingest_file_begin(ing->store, conn->name, name, id, err);
}

static int sink_file_finish(void *ctx, struct connector *conn, int64_t id,
                            const struct ingest_stats *stats, const char *status,
                            struct error *err)
{
    struct ingest *ing = ctx;
    (void)conn;
    return store_ingest_file_finish(ing->store, id, stats, status, err);
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
    };
}
