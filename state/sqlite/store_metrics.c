/* Backlog and dead-letter queries (see store_metrics.h).
 *
 * The backlog query walks the change-log by rowid from the destination's
 * push cursor, so its cost is the backlog itself, not the log's size. */
#include "store_metrics.h"

#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

struct store_metrics {
    struct store *st;
    sqlite3_stmt *backlog;
    sqlite3_stmt *dead;
};

int store_metrics_new(struct store *st, struct store_metrics **out, struct error *err)
{
    struct store_metrics *m = calloc(1, sizeof(*m));
    int rc = -1;

    *out = NULL;
    if (m == NULL) {
        error_set(err, "state: out of memory");
        goto out;
    }
    m->st = st;
    if (sqlite3_prepare_v3(st->db,
                           "SELECT COUNT(*), COALESCE(MIN(received_at), 0) FROM changes"
                           " WHERE seq > COALESCE((SELECT seq FROM push_cursors"
                           "  WHERE connector = ?1 AND lane = ?2), 0)"
                           " AND lane = ?2 AND effective = 1 AND origin <> ?1",
                           -1, SQLITE_PREPARE_PERSISTENT, &m->backlog, NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(st->db,
                           "SELECT destination, COUNT(*), COUNT(retry_requested_at)"
                           " FROM dead_letters GROUP BY destination ORDER BY destination",
                           -1, SQLITE_PREPARE_PERSISTENT, &m->dead, NULL) != SQLITE_OK) {
        store_sql_error(st, err, "prepare metrics queries");
        goto out;
    }
    *out = m;
    m = NULL;
    rc = 0;
out:
    store_metrics_free(m);
    return rc;
}

void store_metrics_free(struct store_metrics *m)
{
    if (m == NULL)
        return;
    sqlite3_finalize(m->backlog);
    sqlite3_finalize(m->dead);
    free(m);
}

const char *store_lane_name(int lane)
{
    static const char *const names[STORE_LANES] = {"urgent", "points", "bulk"};
    return lane >= 0 && lane < STORE_LANES ? names[lane] : "unknown";
}

int store_metrics_backlog(struct store_metrics *m, const char *destination,
                          struct store_backlog *out, struct error *err)
{
    sqlite3_stmt *q = m->backlog;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    for (int lane = 0; lane < STORE_LANES; lane++) {
        sqlite3_bind_text(q, 1, destination, -1, SQLITE_STATIC);
        sqlite3_bind_int(q, 2, lane);
        if (sqlite3_step(q) != SQLITE_ROW) {
            store_sql_error(m->st, err, "backlog");
            goto out;
        }
        out->pending[lane] = sqlite3_column_int64(q, 0);
        out->total += out->pending[lane];
        if (out->pending[lane] > 0) {
            int64_t oldest = sqlite3_column_int64(q, 1);
            out->oldest_lane[lane] = oldest;
            if (out->oldest_received_at == 0 || oldest < out->oldest_received_at)
                out->oldest_received_at = oldest;
        }
        sqlite3_reset(q);
    }
    rc = 0;
out:
    sqlite3_reset(q);
    return rc;
}

int store_metrics_dead_letters(struct store_metrics *m,
                               void (*fn)(void *ctx, const char *destination, int64_t count,
                                          int64_t retry_requested),
                               void *ctx, struct error *err)
{
    sqlite3_stmt *q = m->dead;
    int s;
    int rc = -1;

    for (s = sqlite3_step(q); s == SQLITE_ROW; s = sqlite3_step(q))
        fn(ctx, (const char *)sqlite3_column_text(q, 0), sqlite3_column_int64(q, 1),
           sqlite3_column_int64(q, 2));
    if (s != SQLITE_DONE) {
        store_sql_error(m->st, err, "dead letters");
        goto out;
    }
    rc = 0;
out:
    sqlite3_reset(q);
    return rc;
}
