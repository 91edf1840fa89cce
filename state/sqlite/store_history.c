/* See store_history.h. These tables are small next to the change-log, and
 * the step runs once a minute: the dead-letter probe reads dead_letters
 * whole (it has no index on time) and finds current, the change and the
 * cursor by their keys. */
#include "store_history.h"

#include <stddef.h>

#include "store_internal.h"

enum { H_ACTIONS, H_RESYNCS, H_DEAD_SCAN, H_DEAD_DELETE, H_COUNT };

static const char *const sql[H_COUNT] = {
    [H_ACTIONS] = "DELETE FROM operator_actions WHERE id IN (SELECT id FROM operator_actions"
                  " WHERE at < ?1 ORDER BY id LIMIT ?2)",
    [H_RESYNCS] = "DELETE FROM resync_requests WHERE id IN (SELECT id FROM resync_requests"
                  " WHERE finished_at IS NOT NULL AND finished_at < ?1 ORDER BY id LIMIT ?2)",
    [H_DEAD_SCAN] = "SELECT d.id FROM dead_letters d"
                    " JOIN current c ON c.member_key = d.member_key AND c.field = d.field"
                    " JOIN changes x ON x.seq = c.seq"
                    " JOIN push_cursors p ON p.connector = d.destination AND p.lane = x.lane"
                    " WHERE d.seq IS NOT NULL AND d.retry_requested_at IS NULL"
                    " AND d.last_failed_at < ?1 AND c.seq > d.seq AND p.seq >= c.seq"
                    " AND NOT EXISTS (SELECT 1 FROM dead_letters n WHERE"
                    " n.destination = d.destination AND n.seq = c.seq)"
                    " ORDER BY d.id LIMIT ?2",
    [H_DEAD_DELETE] = "DELETE FROM dead_letters WHERE id = ?1",
};

const char *store_history_statement(size_t i)
{
    return i < H_COUNT ? sql[i] : NULL;
}

static int prune(struct store *st, sqlite3_stmt *const q[H_COUNT], int64_t cutoff, int64_t *deleted,
                 int *more, struct error *err)
{
    int64_t ids[STORE_HISTORY_STEP];
    size_t n = 0;
    int s, c;

    for (int i = H_ACTIONS; i <= H_RESYNCS; i++) {
        sqlite3_bind_int64(q[i], 1, cutoff);
        sqlite3_bind_int(q[i], 2, STORE_HISTORY_STEP);
        s = sqlite3_step(q[i]);
        sqlite3_reset(q[i]);
        if (s != SQLITE_DONE)
            return store_sql_error(st, err, "history retention");
        c = sqlite3_changes(st->db);
        *deleted += c;
        if (c == STORE_HISTORY_STEP)
            *more = 1;
    }
    sqlite3_bind_int64(q[H_DEAD_SCAN], 1, cutoff);
    sqlite3_bind_int(q[H_DEAD_SCAN], 2, STORE_HISTORY_STEP);
    for (;;) {
        s = sqlite3_step(q[H_DEAD_SCAN]);
        if (s != SQLITE_ROW)
            break;
        ids[n++] = sqlite3_column_int64(q[H_DEAD_SCAN], 0);
    }
    sqlite3_reset(q[H_DEAD_SCAN]);
    if (s != SQLITE_DONE)
        return store_sql_error(st, err, "resolved dead letters");
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_int64(q[H_DEAD_DELETE], 1, ids[i]);
        s = sqlite3_step(q[H_DEAD_DELETE]);
        sqlite3_reset(q[H_DEAD_DELETE]);
        if (s != SQLITE_DONE)
            return store_sql_error(st, err, "delete resolved dead letter");
    }
    *deleted += (int64_t)n;
    if (n == STORE_HISTORY_STEP)
        *more = 1;
    return 0;
}

int store_history_prune_step(struct store *st, int64_t retention_ms, int64_t now_ms,
                             int64_t *deleted, int *more, struct error *err)
{
    sqlite3_stmt *q[H_COUNT] = {NULL};
    int rc = -1;

    *deleted = 0;
    *more = 0;
    if (retention_ms <= 0 || store_in_txn(st) || st->readonly)
        return 0;
    for (int i = 0; i < H_COUNT; i++) {
        if (sqlite3_prepare_v2(st->db, sql[i], -1, &q[i], NULL) != SQLITE_OK) {
            store_sql_error(st, err, "prepare history retention");
            goto out;
        }
    }
    if (store_begin_relaxed(st, err) != 0)
        goto out;
    if (prune(st, q, now_ms - retention_ms, deleted, more, err) != 0) {
        store_rollback(st);
        *deleted = 0;
        *more = 0;
        goto out;
    }
    if (store_commit_deferring_checkpoint(st, err) != 0) {
        *deleted = 0;
        *more = 0;
        goto out;
    }
    rc = 0;
out:
    for (int i = 0; i < H_COUNT; i++)
        sqlite3_finalize(q[i]);
    return rc;
}
