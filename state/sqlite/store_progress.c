/* Resync progress and CRM quota (see store_progress.h).
 *
 * Progress is counted, not kept: the engine already persists its push
 * cursors as they move, so the share of a resync's changes behind them is
 * a query away, and the engine only writes here when a phase changes. The
 * count walks the partial index changes_push per lane up to the resync's
 * scope, so it costs what the change-log holds, once per status call. */
#include "store_progress.h"

#include <sqlite3.h>

#include "store_internal.h"
#include "timefmt.h"

#define LANES 3

static int exec_bound(struct store *st, sqlite3_stmt *q, const char *what, struct error *err)
{
    int rc = 0;

    if (sqlite3_step(q) != SQLITE_DONE)
        rc = store_sql_error(st, err, what);
    sqlite3_finalize(q);
    return rc;
}

static int prepare(struct store *st, const char *sql, sqlite3_stmt **q, struct error *err)
{
    *q = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, q, NULL) != SQLITE_OK)
        return store_sql_error(st, err, "prepare progress statement");
    return 0;
}

int store_resync_progress_start(struct store *st, const char *dest, int64_t now_ms, int pulls,
                                struct error *err)
{
    sqlite3_stmt *q = NULL;

    if (prepare(st,
                "INSERT OR REPLACE INTO resync_progress(connector, started_at, scope_seq,"
                " pull_done_at, interrupted)"
                " VALUES (?1, ?2, (SELECT COALESCE(MAX(seq), 0) FROM changes),"
                " CASE WHEN ?3 THEN NULL ELSE ?2 END, 0)",
                &q, err) != 0)
        return -1;
    sqlite3_bind_text(q, 1, dest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, now_ms);
    sqlite3_bind_int(q, 3, pulls != 0);
    return exec_bound(st, q, "record resync start", err);
}

int store_resync_progress_pushing(struct store *st, const char *dest, int64_t now_ms,
                                  struct error *err)
{
    sqlite3_stmt *q = NULL;

    if (prepare(st,
                "UPDATE resync_progress SET pull_done_at = ?2"
                " WHERE connector = ?1 AND pull_done_at IS NULL",
                &q, err) != 0)
        return -1;
    sqlite3_bind_text(q, 1, dest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, now_ms);
    return exec_bound(st, q, "record resync re-push", err);
}

int store_resync_progress_restart(struct store *st, const char *dest, int64_t now_ms,
                                  struct error *err)
{
    sqlite3_stmt *q = NULL;

    if (prepare(st,
                "UPDATE resync_progress SET pull_done_at = ?2, interrupted = 1"
                " WHERE connector = ?1 AND pull_done_at IS NULL",
                &q, err) != 0)
        return -1;
    sqlite3_bind_text(q, 1, dest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, now_ms);
    return exec_bound(st, q, "record interrupted resync", err);
}

int store_quota_save(struct store *st, const struct store_quota *rows, size_t n, struct error *err)
{
    sqlite3_stmt *q = NULL;
    int rc = -1;

    if (n == 0)
        return 0;
    if (store_begin_relaxed(st, err) != 0)
        return -1;
    if (prepare(st,
                "INSERT OR REPLACE INTO connector_quota(connector, kind, remaining, quota_limit,"
                " observed_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                &q, err) != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_text(q, 1, rows[i].connector, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, rows[i].kind, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, rows[i].remaining);
        sqlite3_bind_int64(q, 4, rows[i].limit);
        sqlite3_bind_int64(q, 5, rows[i].observed_ms);
        if (sqlite3_step(q) != SQLITE_DONE) {
            store_sql_error(st, err, "save quota");
            goto out;
        }
        sqlite3_reset(q);
    }
    sqlite3_finalize(q);
    q = NULL;
    if (store_commit(st, err) != 0)
        goto out;
    rc = 0;
out:
    sqlite3_finalize(q);
    if (rc != 0 && st->in_txn)
        store_rollback(st);
    return rc;
}

static json_t *time_json(int64_t ms)
{
    char buf[40];
    return ms > 0 ? json_string(timefmt_format_rfc3339(ms, buf, sizeof(buf))) : json_null();
}

/* done / total of a destination's resync: per lane, the effective changes
 * up to scope not from dest, and those at or below the lane's cursor. */
static int count_progress(struct store *st, const char *dest, int64_t scope, int64_t *done,
                          int64_t *total, struct error *err)
{
    sqlite3_stmt *cur = NULL, *cnt = NULL;
    int64_t cursor[LANES] = {0};
    int s;
    int rc = -1;

    *done = *total = 0;
    if (prepare(st, "SELECT lane, seq FROM push_cursors WHERE connector = ?1", &cur, err) != 0 ||
        prepare(st,
                "SELECT COUNT(*), COALESCE(SUM(seq <= ?3), 0) FROM changes"
                " WHERE lane = ?2 AND seq <= ?4 AND effective = 1 AND origin <> ?1",
                &cnt, err) != 0)
        goto out;
    sqlite3_bind_text(cur, 1, dest, -1, SQLITE_STATIC);
    for (;;) {
        s = sqlite3_step(cur);
        if (s != SQLITE_ROW)
            break;
        int lane = sqlite3_column_int(cur, 0);
        if (lane >= 0 && lane < LANES)
            cursor[lane] = sqlite3_column_int64(cur, 1);
    }
    if (s != SQLITE_DONE) {
        store_sql_error(st, err, "read push cursors");
        goto out;
    }
    for (int lane = 0; lane < LANES; lane++) {
        sqlite3_bind_text(cnt, 1, dest, -1, SQLITE_STATIC);
        sqlite3_bind_int(cnt, 2, lane);
        sqlite3_bind_int64(cnt, 3, cursor[lane]);
        sqlite3_bind_int64(cnt, 4, scope);
        if (sqlite3_step(cnt) != SQLITE_ROW) {
            store_sql_error(st, err, "count resync progress");
            goto out;
        }
        *total += sqlite3_column_int64(cnt, 0);
        *done += sqlite3_column_int64(cnt, 1);
        sqlite3_reset(cnt);
    }
    rc = 0;
out:
    sqlite3_finalize(cur);
    sqlite3_finalize(cnt);
    return rc;
}

static int report_resync(struct store *st, const char *connector, int destination, int64_t now_ms,
                         json_t **out, struct error *err)
{
    sqlite3_stmt *q = NULL;
    json_t *o = NULL;
    int64_t started, scope, pushing_since = 0, done = 0, total = 0;
    int pull_done, s;
    const char *state;
    int rc = -1;

    *out = NULL;
    if (prepare(st,
                "SELECT started_at, scope_seq, pull_done_at, interrupted FROM resync_progress"
                " WHERE connector = ?1",
                &q, err) != 0)
        return -1;
    sqlite3_bind_text(q, 1, connector, -1, SQLITE_STATIC);
    s = sqlite3_step(q);
    if (s == SQLITE_DONE) {
        *out = json_null();
        rc = 0;
        goto out;
    }
    if (s != SQLITE_ROW) {
        store_sql_error(st, err, "read resync progress");
        goto out;
    }
    started = sqlite3_column_int64(q, 0);
    scope = sqlite3_column_int64(q, 1);
    pull_done = sqlite3_column_type(q, 2) != SQLITE_NULL;
    if (pull_done)
        pushing_since = sqlite3_column_int64(q, 2);
    o = json_pack("{s:o,s:o,s:b}", "started_at", time_json(started), "pull_done_at",
                  time_json(pushing_since), "interrupted", sqlite3_column_int(q, 3) != 0);
    if (destination && count_progress(st, connector, scope, &done, &total, err) != 0)
        goto out;
    if (!pull_done)
        state = "pulling";
    else if (destination && done < total)
        state = "pushing";
    else
        state = "complete";
    json_object_set_new(o, "state", json_string(state));
    if (destination) {
        double secs =
            pull_done && now_ms > pushing_since ? (double)(now_ms - pushing_since) / 1e3 : 0.0;
        int running = pull_done && done < total && done > 0 && secs > 0;
        double rate = running ? (double)done / secs : 0.0;

        json_object_set_new(o, "done", json_integer(done));
        json_object_set_new(o, "total", json_integer(total));
        json_object_set_new(o, "rate_per_s", running ? json_real(rate) : json_null());
        json_object_set_new(o, "eta_s",
                            running
                                ? json_integer((json_int_t)((double)(total - done) / rate + 0.5))
                                : json_null());
    }
    *out = o;
    o = NULL;
    rc = 0;
out:
    json_decref(o);
    sqlite3_finalize(q);
    return rc;
}

static int report_quota(struct store *st, const char *connector, json_t **out, struct error *err)
{
    sqlite3_stmt *q = NULL;
    int s;
    int rc = -1;

    *out = NULL;
    if (prepare(st,
                "SELECT kind, remaining, quota_limit, observed_at FROM connector_quota"
                " WHERE connector = ?1",
                &q, err) != 0)
        return -1;
    sqlite3_bind_text(q, 1, connector, -1, SQLITE_STATIC);
    s = sqlite3_step(q);
    if (s == SQLITE_ROW) {
        *out = json_pack("{s:s,s:I,s:I,s:o}", "kind", (const char *)sqlite3_column_text(q, 0),
                         "remaining", (json_int_t)sqlite3_column_int64(q, 1), "limit",
                         (json_int_t)sqlite3_column_int64(q, 2), "observed_at",
                         time_json(sqlite3_column_int64(q, 3)));
        rc = 0;
    } else if (s == SQLITE_DONE) {
        *out = json_null();
        rc = 0;
    } else {
        store_sql_error(st, err, "read quota");
    }
    sqlite3_finalize(q);
    return rc;
}

int store_progress_report(struct store *st, const char *connector, int destination, int64_t now_ms,
                          json_t **resync, json_t **quota, struct error *err)
{
    *resync = *quota = NULL;
    if (report_resync(st, connector, destination, now_ms, resync, err) != 0)
        return -1;
    if (report_quota(st, connector, quota, err) != 0) {
        json_decref(*resync);
        *resync = NULL;
        return -1;
    }
    return 0;
}
