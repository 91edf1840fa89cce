/* See store_retention.h.
 *
 * Why the snapshot is kept in the change-log: the engine offers a
 * destination the changes after its cursor that still hold the latest value
 * (state/store_push.c reads only the change `current` or a ledger row points
 * to, and erasures). A compacted change-log keeps exactly those rows -- one
 * per `current` row, one per ledger transaction, one per erasure -- so it is
 * the snapshot of current + ledger + tombstones, as a new consumer of a
 * compacted topic gets the latest value per key. A resync, a new destination
 * or one added again starts from cursor 0 and reads that snapshot through
 * the ordinary push path, so lanes, ordering and the echo rule hold for it
 * unchanged. Everything else (values superseded, changes that changed
 * nothing, rejected ones) goes once every destination has passed it. */
#include "store_retention.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "store_internal.h"

#define N_LANES 3 /* enum change_lane */

enum {
    R_CURSOR,
    R_MAX_SEQ,
    R_FROM_GET,
    R_SCAN,
    R_DELETE,
    R_ACKS_DELETE,
    R_FROM_SET,
    R_IDEM_SCAN,
    R_IDEM_DELETE,
    R_FILES_DELETE,
    R_COUNT,
};

static const char *const sql[R_COUNT] = {
    [R_CURSOR] = "SELECT seq FROM push_cursors WHERE connector = ?1 AND lane = ?2",
    [R_MAX_SEQ] = "SELECT COALESCE(MAX(seq), 0) FROM changes",
    [R_FROM_GET] = "SELECT value FROM meta WHERE key = 'compact_from'",
    /* By rowid from where the last step stopped; whether the row is part of
     * the snapshot is probed through current's key and the ledger's member
     * index (as the push read does). */
    [R_SCAN] = "SELECT seq, lane, kind, received_at, kind = 'erase' OR EXISTS (SELECT 1 FROM"
               " current c WHERE c.member_key = changes.member_key AND c.field = changes.field"
               " AND c.seq = changes.seq) OR (kind = 'points' AND EXISTS (SELECT 1 FROM"
               " points_ledger l WHERE l.member_key = changes.member_key"
               " AND l.seq = changes.seq)) FROM changes WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    [R_DELETE] = "DELETE FROM changes WHERE seq = ?1",
    /* A change's acknowledgements go with it (issue 19: every kind is
     * acknowledged), except consent's: they stay with the audit row. */
    [R_ACKS_DELETE] = "DELETE FROM audit_acks WHERE seq = ?1",
    [R_FROM_SET] = "INSERT INTO meta(key, value) VALUES ('compact_from', ?1)"
                   " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [R_IDEM_SCAN] = "SELECT id, seen_at FROM idem_keys ORDER BY id LIMIT ?1",
    [R_IDEM_DELETE] = "DELETE FROM idem_keys WHERE id = ?1",
    [R_FILES_DELETE] = "DELETE FROM ingest_files WHERE id IN (SELECT id FROM ingest_files"
                       " WHERE finished_at IS NOT NULL AND finished_at < ?1 ORDER BY id"
                       " LIMIT ?2)",
};

const char *store_retention_statement(size_t i)
{
    return i < R_COUNT ? sql[i] : NULL;
}

_Static_assert(R_COUNT <= sizeof(((struct store *)0)->retention) / sizeof(sqlite3_stmt *),
               "struct store's retention[] holds every retention statement");

/* A step's statements and its time budget. The statements are the store's
 * (prepared on a step's first use, kept until store_close()): a step runs
 * every 10 ms while there is work, and parsing its SQL each time cost more
 * than some of the steps did. */
struct rq {
    struct store *st;
    sqlite3_stmt **q;
    int64_t deadline_ns; /* CLOCK_MONOTONIC */
};

/* The budget is spent; never before STORE_RETENTION_MIN_ROWS rows, so that
 * a step always gets somewhere however slow the machine is. */
static int out_of_time(const struct rq *r, size_t rows)
{
    return rows >= STORE_RETENTION_MIN_ROWS && store_mono_ns() >= r->deadline_ns;
}

static int prepare(struct rq *r, int which, struct error *err)
{
    if (r->q[which] == NULL &&
        sqlite3_prepare_v3(r->st->db, sql[which], -1, SQLITE_PREPARE_PERSISTENT, &r->q[which],
                           NULL) != SQLITE_OK)
        return store_sql_error(r->st, err, "prepare retention statement");
    return 0;
}

/* The single integer a statement answers; *v = dflt when no row. */
static int one_int(struct rq *r, int which, int64_t dflt, int64_t *v, struct error *err)
{
    sqlite3_stmt *q = r->q[which];
    int s = sqlite3_step(q);

    *v = s == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL ? sqlite3_column_int64(q, 0)
                                                                     : dflt;
    sqlite3_reset(q);
    if (s != SQLITE_ROW && s != SQLITE_DONE)
        return store_sql_error(r->st, err, "retention read");
    return 0;
}

static int done(struct rq *r, int which, struct error *err)
{
    int s = sqlite3_step(r->q[which]);

    sqlite3_reset(r->q[which]);
    return s == SQLITE_DONE ? 0 : store_sql_error(r->st, err, "retention write");
}

/* Per lane, the lowest push cursor over dests (a destination without one
 * has passed nothing). */
static int passed_bounds(struct rq *r, const char *const *dests, size_t n, int64_t bound[N_LANES],
                         struct error *err)
{
    for (int lane = 0; lane < N_LANES; lane++) {
        bound[lane] = INT64_MAX;
        for (size_t i = 0; i < n; i++) {
            int64_t c = 0;
            sqlite3_bind_text(r->q[R_CURSOR], 1, dests[i], -1, SQLITE_STATIC);
            sqlite3_bind_int(r->q[R_CURSOR], 2, lane);
            if (one_int(r, R_CURSOR, 0, &c, err) != 0)
                return -1;
            if (c < bound[lane])
                bound[lane] = c;
        }
    }
    return 0;
}

/* One scan of at most `limit` changes after *pos: the doomed ones (not
 * part of the snapshot) into doomed[] (acks[i]: 1 when their
 * acknowledgements go with them, i.e. not consent), *pos to the last change
 * examined, *blocked when a change is not passed yet or too young. */
static int scan_batch(struct rq *r, const int64_t bound[N_LANES], int64_t max_seq, int64_t cutoff,
                      int limit, int64_t *pos, int64_t *doomed, int *acks, size_t *n_doomed,
                      int *examined, int *blocked, struct error *err)
{
    sqlite3_stmt *q = r->q[R_SCAN];
    int s;

    *n_doomed = 0;
    *examined = 0;
    sqlite3_bind_int64(q, 1, *pos);
    sqlite3_bind_int(q, 2, limit);
    for (;;) {
        int64_t seq;
        int lane;
        s = sqlite3_step(q);
        if (s != SQLITE_ROW)
            break;
        seq = sqlite3_column_int64(q, 0);
        lane = sqlite3_column_int(q, 1);
        if (lane < 0 || lane >= N_LANES || seq >= max_seq || seq > bound[lane] ||
            sqlite3_column_int64(q, 3) > cutoff) {
            *blocked = 1;
            break;
        }
        (*examined)++;
        *pos = seq;
        if (!sqlite3_column_int(q, 4)) {
            const char *kind = (const char *)sqlite3_column_text(q, 2);
            acks[*n_doomed] = kind == NULL || strcmp(kind, "consent") != 0;
            doomed[(*n_doomed)++] = seq;
        }
    }
    sqlite3_reset(q);
    return s == SQLITE_ROW || s == SQLITE_DONE ? 0 : store_sql_error(r->st, err, "compaction scan");
}

/* Scans and deletes in batches of STORE_RETENTION_MIN_ROWS changes until
 * the step's time is up: a scan reads no further than the deletes that
 * follow it can go (reading ahead was work the next step did again). Each
 * delete writes a random page of changes_member. When the time runs out
 * in the middle of a batch, the next step goes on from the first change
 * left (everything before it was examined and is kept or deleted). */
static int compact(struct rq *r, const char *const *dests, size_t n, int64_t cutoff,
                   int64_t *new_from, int64_t *deleted, int *more, struct error *err)
{
    int64_t bound[N_LANES], max_seq = 0, from = 0, pos;
    int64_t doomed[STORE_RETENTION_MIN_ROWS];
    int acks[STORE_RETENTION_MIN_ROWS];
    size_t n_doomed = 0, n_deleted = 0;
    int examined = 0, total = 0, blocked = 0, timed_out = 0;

    for (int i = R_CURSOR; i <= R_FROM_SET; i++)
        if (prepare(r, i, err) != 0)
            return -1;
    if (passed_bounds(r, dests, n, bound, err) != 0 || one_int(r, R_MAX_SEQ, 0, &max_seq, err) ||
        one_int(r, R_FROM_GET, 0, &from, err) != 0)
        return -1;
    pos = from;
    while (!blocked && !timed_out && total < STORE_RETENTION_STEP) {
        int64_t scanned_to = pos;
        if (scan_batch(r, bound, max_seq, cutoff, STORE_RETENTION_MIN_ROWS, &scanned_to, doomed,
                       acks, &n_doomed, &examined, &blocked, err) != 0)
            return -1;
        total += examined;
        for (size_t i = 0; i < n_doomed; i++, n_deleted++) {
            if (out_of_time(r, n_deleted)) {
                scanned_to = doomed[i] - 1;
                timed_out = 1;
                break;
            }
            sqlite3_bind_int64(r->q[R_DELETE], 1, doomed[i]);
            if (done(r, R_DELETE, err) != 0)
                return -1;
            if (acks[i]) {
                sqlite3_bind_int64(r->q[R_ACKS_DELETE], 1, doomed[i]);
                if (done(r, R_ACKS_DELETE, err) != 0)
                    return -1;
            }
        }
        pos = scanned_to;
        if (examined < STORE_RETENTION_MIN_ROWS)
            break; /* the end of the log, or blocked */
        if (out_of_time(r, (size_t)total))
            timed_out = 1;
    }
    if (pos != from) {
        sqlite3_bind_int64(r->q[R_FROM_SET], 1, pos);
        if (done(r, R_FROM_SET, err) != 0)
            return -1;
    }
    *deleted = (int64_t)n_deleted;
    *more = timed_out || (!blocked && total >= STORE_RETENTION_STEP);
    *new_from = pos;
    return 0;
}

/* Deletions are redone after a power cut if lost: no fsync wait. A step
 * never nests in a transaction the caller has open. Its commit leaves the
 * WAL checkpoint to store_wal_checkpoint(): measured in bench_compact, the
 * automatic checkpoint inside the commit was most of a step's time. */
static int run_step(struct store *st,
                    int (*fn)(struct rq *, void *, int64_t *, int *, struct error *), void *arg,
                    int64_t *deleted, int *more, struct error *err)
{
    struct rq r = {st, st->retention, store_mono_ns() + STORE_RETENTION_BUDGET_US * 1000};
    int rc = -1;

    *deleted = 0;
    *more = 0;
    if (store_in_txn(st))
        return 0;
    if (store_begin_relaxed(st, err) != 0)
        return -1;
    rc = fn(&r, arg, deleted, more, err);
    if (rc != 0) {
        store_rollback(st);
        store_end_relaxed(st);
    } else if (store_commit_deferring_checkpoint(st, err) != 0) {
        store_end_relaxed(st);
        rc = -1;
    }
    if (rc != 0) {
        *deleted = 0;
        *more = 0;
    }
    return rc;
}

struct compact_arg {
    const char *const *dests;
    size_t n;
    int64_t cutoff;
    int64_t new_from;
};

static int compact_fn(struct rq *r, void *arg, int64_t *deleted, int *more, struct error *err)
{
    struct compact_arg *a = arg;
    return compact(r, a->dests, a->n, a->cutoff, &a->new_from, deleted, more, err);
}

int store_compact_step(struct store *st, const char *const *dests, size_t n, int64_t retention_ms,
                       int64_t now_ms, int64_t *deleted, int *more, struct error *err)
{
    struct compact_arg a = {dests, n, now_ms - retention_ms, st->compact_from};

    if (run_step(st, compact_fn, &a, deleted, more, err) != 0)
        return -1;
    /* Known to the apply path only once committed (store_change_superseded). */
    if (a.new_from > st->compact_from)
        st->compact_from = a.new_from;
    return 0;
}

/* Oldest keys first, in batches of STORE_RETENTION_MIN_ROWS until the
 * step's time is up, one delete per key: each writes a random page of the
 * keys' index. */
static int prune_fn(struct rq *r, void *arg, int64_t *deleted, int *more, struct error *err)
{
    int64_t cutoff = *(const int64_t *)arg;
    int64_t ids[STORE_RETENTION_MIN_ROWS];
    size_t n, n_deleted = 0;
    int blocked = 0, timed_out = 0, total = 0, s;
    sqlite3_stmt *q;

    for (int i = R_IDEM_SCAN; i <= R_FILES_DELETE; i++)
        if (prepare(r, i, err) != 0)
            return -1;
    q = r->q[R_IDEM_SCAN];
    while (!blocked && !timed_out && total < STORE_RETENTION_STEP) {
        n = 0;
        sqlite3_bind_int(q, 1, STORE_RETENTION_MIN_ROWS);
        for (;;) {
            s = sqlite3_step(q);
            if (s != SQLITE_ROW)
                break;
            if (sqlite3_column_int64(q, 1) >= cutoff) {
                blocked = 1;
                break;
            }
            ids[n++] = sqlite3_column_int64(q, 0);
        }
        sqlite3_reset(q);
        if (s != SQLITE_ROW && s != SQLITE_DONE)
            return store_sql_error(r->st, err, "idempotency key scan");
        total += (int)n;
        for (size_t i = 0; i < n; i++, n_deleted++) {
            if (out_of_time(r, n_deleted)) {
                timed_out = 1;
                break;
            }
            sqlite3_bind_int64(r->q[R_IDEM_DELETE], 1, ids[i]);
            if (done(r, R_IDEM_DELETE, err) != 0)
                return -1;
        }
        if (n < STORE_RETENTION_MIN_ROWS)
            break;
        if (out_of_time(r, (size_t)total))
            timed_out = 1;
    }
    *deleted = (int64_t)n_deleted;
    sqlite3_bind_int64(r->q[R_FILES_DELETE], 1, cutoff);
    sqlite3_bind_int(r->q[R_FILES_DELETE], 2, 100);
    if (done(r, R_FILES_DELETE, err) != 0)
        return -1;
    *more = timed_out || (!blocked && total >= STORE_RETENTION_STEP);
    return 0;
}

int store_idem_prune_step(struct store *st, int64_t window_ms, int64_t now_ms, int64_t *deleted,
                          int *more, struct error *err)
{
    int64_t cutoff = now_ms - window_ms;
    return run_step(st, prune_fn, &cutoff, deleted, more, err);
}

static int pragma_int(struct store *st, const char *q_text, int64_t *v, struct error *err)
{
    sqlite3_stmt *q = NULL;
    int s;

    *v = 0;
    if (sqlite3_prepare_v2(st->db, q_text, -1, &q, NULL) != SQLITE_OK)
        return store_sql_error(st, err, q_text);
    for (;;) {
        s = sqlite3_step(q);
        if (s != SQLITE_ROW)
            break;
        *v = sqlite3_column_int64(q, 0);
    }
    sqlite3_finalize(q);
    return s == SQLITE_DONE ? 0 : store_sql_error(st, err, q_text);
}

/* In a transaction of its own like the other steps: no fsync wait (the
 * pages moved are moved again after a power cut) and no checkpoint inside
 * (store_wal_checkpoint). */
int store_vacuum_step(struct store *st, int pages, int64_t *freed, struct error *err)
{
    int64_t before = 0, after = 0, ignored = 0;
    int64_t deadline = store_mono_ns() + STORE_RETENTION_BUDGET_US * 1000;
    char q[64];

    *freed = 0;
    if (store_in_txn(st))
        return 0;
    if (pragma_int(st, "PRAGMA freelist_count", &before, err) != 0)
        return -1;
    if (before == 0)
        return 0;
    snprintf(q, sizeof(q), "PRAGMA incremental_vacuum(%d)",
             pages < STORE_VACUUM_CHUNK ? pages : STORE_VACUUM_CHUNK);
    if (store_begin_relaxed(st, err) != 0)
        return -1;
    after = before;
    do {
        if (pragma_int(st, q, &ignored, err) != 0 ||
            pragma_int(st, "PRAGMA freelist_count", &after, err) != 0) {
            store_rollback(st);
            return -1;
        }
    } while (after > 0 && before - after < pages && store_mono_ns() < deadline);
    if (store_commit_deferring_checkpoint(st, err) != 0)
        return -1;
    *freed = before - after;
    return 0;
}

int store_size_report(struct store *st, const char *db_path, struct store_size *out,
                      struct error *err)
{
    static const char *const tables[STORE_SIZE_TABLES] = {
        "changes", "current",    "points_ledger", "idem_keys",    "audit",
        "shadow",  "identities", "tombstones",    "dead_letters", "ingest_files",
    };
    int64_t pages = 0, page_size = 0, free_pages = 0;
    sqlite3_stmt *q = NULL;
    struct stat sb;
    size_t plen;
    char *wal = NULL;

    memset(out, 0, sizeof(*out));
    if (pragma_int(st, "PRAGMA page_count", &pages, err) != 0 ||
        pragma_int(st, "PRAGMA page_size", &page_size, err) != 0 ||
        pragma_int(st, "PRAGMA freelist_count", &free_pages, err) != 0)
        return -1;
    out->db_bytes = pages * page_size;
    out->free_bytes = free_pages * page_size;
    if (db_path != NULL) {
        plen = strlen(db_path) + 5;
        wal = malloc(plen);
        if (wal == NULL)
            return error_set(err, "state: out of memory");
        snprintf(wal, plen, "%s-wal", db_path);
        if (stat(wal, &sb) == 0)
            out->wal_bytes = (int64_t)sb.st_size;
        free(wal);
    }
    /* Fixed names, not input: each count is its own statement. */
    for (size_t i = 0; i < STORE_SIZE_TABLES; i++) {
        char text[80];
        snprintf(text, sizeof(text), "SELECT COUNT(*) FROM %s", tables[i]);
        out->table[i] = tables[i];
        if (pragma_int(st, text, &out->rows[i], err) != 0)
            return -1;
    }
    out->n_tables = STORE_SIZE_TABLES;
    if (sqlite3_prepare_v2(st->db, "SELECT seq, received_at FROM changes ORDER BY seq LIMIT 1", -1,
                           &q, NULL) != SQLITE_OK)
        return store_sql_error(st, err, "oldest change");
    if (sqlite3_step(q) == SQLITE_ROW) {
        out->oldest_seq = sqlite3_column_int64(q, 0);
        out->oldest_change = sqlite3_column_int64(q, 1);
    }
    sqlite3_finalize(q);
    return 0;
}
