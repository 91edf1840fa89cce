#include "store_push.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_batch.h"
#include "store_internal.h"
#include "timefmt.h"

/* These statements run per batch, not per change on the ingest path, so they
 * are prepared on first use (struct store's lazy slots). */
enum push_stmt {
    PS_READ,
    PS_CURSOR_GET,
    PS_CURSOR_SET,
    PS_SHADOW_GET,
    PS_SHADOW_PUT,
    PS_SHADOW_CLEAR,
    PS_ID_GET,
    PS_ID_PUT,
    PS_ID_FIND,
    PS_DEAD,
    PS_ACK,
    PS_CURRENT,
    PS_BACKLOG,
    PS_WM_CLEAR,
    PS_CURSORS_RESET,
    PS_RESYNC_DONE,
    PS_MAX_SEQ,
    PS_REPAIR,
    PS_REPAIR_CURRENT,
    PS_TOKEN_GET,
    PS_TOKEN_PUT,
    PS_DL_RETRIES,
    PS_DL_DELETE,
    PS_SHADOW_SENT,
    PS_SHADOW_BOTH,
    PS_DEAD_AGAIN,
    PS_CURRENT_SEQ,
    PS_SHADOW_SENT_BATCH,
    PS_SHADOW_PUT_BATCH,
    PS_SHADOW_GET_BATCH,
    PS_ID_PUT_BATCH,
    PS_ACK_BATCH,
    PS_ID_GET_BATCH,
    PS_COUNT /* must stay within struct store's lazy[] */
};

static const char *const push_sql[PS_COUNT] = {
    /* A value that a later change replaced is never pushed: only the change
     * that set `current`. Points have no `current` row: a transaction is
     * offered while its ledger row exists (an erasure deletes it, and a
     * balance sent then would re-create the member in the CRM); an erasure
     * always goes. The ledger is probed through its member index: it has no
     * index on seq, and a scan per points change made a push quadratic. */
    [PS_READ] = "SELECT seq, origin, member_key, kind, field, value, occurred_at, received_at"
                " FROM changes"
                " WHERE lane = ?1 AND seq > ?2 AND effective = 1 AND (kind = 'erase'"
                " OR (kind = 'points' AND (origin = 'repair' OR EXISTS (SELECT 1 FROM"
                " points_ledger l WHERE l.member_key = changes.member_key"
                " AND l.seq = changes.seq)))"
                " OR EXISTS (SELECT 1 FROM current c WHERE c.member_key = changes.member_key"
                " AND c.field = changes.field AND c.seq = changes.seq))"
                " AND seq <= ?4 ORDER BY seq LIMIT ?3",
    [PS_CURSOR_GET] = "SELECT seq FROM push_cursors WHERE connector = ?1 AND lane = ?2",
    [PS_CURSOR_SET] = "INSERT INTO push_cursors(connector, lane, seq, updated_at)"
                      " VALUES (?1, ?2, ?3, ?4) ON CONFLICT(connector, lane) DO UPDATE SET"
                      " seq = excluded.seq, updated_at = excluded.updated_at",
    [PS_SHADOW_GET] = "SELECT value_hash FROM shadow WHERE destination = ?1 AND member_key = ?2"
                      " AND field = ?3",
    [PS_SHADOW_PUT] = "INSERT INTO shadow(destination, member_key, field, value_hash, updated_at)"
                      " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(destination, member_key, field)"
                      " DO UPDATE SET value_hash = excluded.value_hash,"
                      " updated_at = excluded.updated_at",
    [PS_SHADOW_CLEAR] = "DELETE FROM shadow WHERE destination = ?1",
    [PS_ID_GET] = "SELECT remote_id FROM identities WHERE member_key = ?1 AND system = ?2",
    [PS_ID_PUT] = "INSERT INTO identities(member_key, system, remote_id, updated_at)"
                  " VALUES (?1, ?2, ?3, ?4) ON CONFLICT(member_key, system) DO UPDATE SET"
                  " remote_id = excluded.remote_id, updated_at = excluded.updated_at",
    [PS_ID_FIND] = "SELECT member_key FROM identities WHERE system = ?1 AND remote_id = ?2",
    /* Issue 19, ids stable across retries: the change an operator's retry
     * queued (a repair keyed "dlretry:<id>:<asked at>") failing again gets
     * the id of the dead letter retried when it is free, so that `show ID`
     * keeps answering; NULL (a new id) otherwise. */
    [PS_DEAD] = "INSERT INTO dead_letters(id, destination, seq, origin, member_key, field, payload,"
                " source, reason, attempts, first_failed_at, last_failed_at, last_error)"
                " VALUES ((SELECT r.id FROM (SELECT CAST(substr(idem_key, 9) AS INTEGER) AS id"
                " FROM changes WHERE seq = ?2 AND origin = 'repair'"
                " AND idem_key GLOB 'dlretry:*') r WHERE NOT EXISTS (SELECT 1 FROM dead_letters d"
                " WHERE d.id = r.id)), ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?8)",
    [PS_ACK] = "INSERT INTO audit_acks(seq, system, acked_at) VALUES (?1, ?2, ?3)"
               " ON CONFLICT(seq, system) DO NOTHING",
    [PS_CURRENT] = "SELECT value FROM current WHERE member_key = ?1 AND field = ?2",
    [PS_BACKLOG] = "SELECT COUNT(*) FROM changes WHERE lane = ?1 AND seq > ?2 AND effective = 1",
    [PS_WM_CLEAR] = "DELETE FROM cursors WHERE connector = ?1",
    [PS_CURSORS_RESET] = "UPDATE push_cursors SET seq = 0, updated_at = ?2 WHERE connector = ?1",
    [PS_RESYNC_DONE] = "UPDATE resync_requests SET started_at = COALESCE(started_at, ?2),"
                       " finished_at = ?2 WHERE finished_at IS NULL AND"
                       " (connector IS NULL OR connector = ?1)",
    [PS_MAX_SEQ] = "SELECT COALESCE(MAX(seq), 0) FROM changes",
    [PS_REPAIR] = "INSERT INTO changes(origin, member_key, kind, field, value, occurred_at,"
                  " received_at, idem_key, effective, lane) VALUES (?8, ?1, ?2, ?3, ?4,"
                  " ?5, ?5, ?6, 1, ?7) ON CONFLICT(idem_key)"
                  " WHERE origin = 'repair' OR origin GLOB 'resend:*' DO NOTHING",
    [PS_REPAIR_CURRENT] = "UPDATE current SET seq = ?3 WHERE member_key = ?1 AND field = ?2",
    [PS_TOKEN_GET] = "SELECT refresh_token FROM oauth_tokens WHERE connector = ?1",
    [PS_TOKEN_PUT] = "INSERT INTO oauth_tokens(connector, refresh_token, updated_at)"
                     " VALUES (?1, ?2, ?3) ON CONFLICT(connector) DO UPDATE SET"
                     " refresh_token = excluded.refresh_token, updated_at = excluded.updated_at",
    [PS_DL_RETRIES] = "SELECT id, member_key, field, retry_requested_at FROM dead_letters"
                      " WHERE destination = ?1 AND retry_requested_at IS NOT NULL"
                      " AND member_key IS NOT NULL AND field IS NOT NULL ORDER BY id LIMIT 1000",
    [PS_DL_DELETE] = "DELETE FROM dead_letters WHERE id = ?1",
    [PS_SHADOW_SENT] = "INSERT INTO shadow(destination, member_key, field, value_hash, updated_at,"
                       " sent_hash) VALUES (?1, ?2, ?3, '', ?5, ?4)"
                       " ON CONFLICT(destination, member_key, field) DO UPDATE SET"
                       " sent_prev_hash = CASE WHEN sent_hash = excluded.sent_hash"
                       " THEN sent_prev_hash ELSE sent_hash END,"
                       " sent_hash = excluded.sent_hash",
    /* The same change failing again (offered anew after a restart, its lane
     * cursor not past it yet) updates its dead letter instead of filing a
     * second one, which a retry of both would send twice. */
    [PS_DEAD_AGAIN] = "UPDATE dead_letters SET attempts = attempts + ?3, last_failed_at = ?4,"
                      " last_error = ?5 WHERE destination = ?1 AND seq = ?2"
                      " AND retry_requested_at IS NULL",
    [PS_CURRENT_SEQ] = "SELECT seq FROM current WHERE member_key = ?1 AND field = ?2",
    /* Batch-level bookkeeping (issue 17): one statement per batch over the
     * engine's arrays (crmsync_batch, state/store_batch.h), each row on the
     * table's primary key as the per-record statements above. "WHERE true"
     * tells SQLite's parser the ON CONFLICT is the upsert's. The read
     * joins the batch first (CROSS JOIN fixes the order): planned freely,
     * SQLite chose the destination's whole shadow as the outer loop. */
    [PS_SHADOW_SENT_BATCH] = "INSERT INTO shadow(destination, member_key, field, value_hash,"
                             " updated_at, sent_hash) SELECT ?1, member, field, '', ?2, hash"
                             " FROM crmsync_batch(?3) WHERE true"
                             " ON CONFLICT(destination, member_key, field) DO UPDATE SET"
                             " sent_prev_hash = CASE WHEN sent_hash = excluded.sent_hash"
                             " THEN sent_prev_hash ELSE sent_hash END,"
                             " sent_hash = excluded.sent_hash",
    [PS_SHADOW_PUT_BATCH] = "INSERT INTO shadow(destination, member_key, field, value_hash,"
                            " updated_at) SELECT ?1, member, field, hash, ?2"
                            " FROM crmsync_batch(?3) WHERE true"
                            " ON CONFLICT(destination, member_key, field) DO UPDATE SET"
                            " value_hash = excluded.value_hash, updated_at = excluded.updated_at",
    [PS_SHADOW_GET_BATCH] = "SELECT b.i, s.value_hash FROM crmsync_batch(?2) b CROSS JOIN shadow s"
                            " WHERE s.destination = ?1 AND s.member_key = b.member"
                            " AND s.field = b.field",
    [PS_ID_PUT_BATCH] = "INSERT INTO identities(member_key, system, remote_id, updated_at)"
                        " SELECT member, ?1, remote_id, ?2 FROM crmsync_batch(?3) WHERE true"
                        " ON CONFLICT(member_key, system) DO UPDATE SET"
                        " remote_id = excluded.remote_id, updated_at = excluded.updated_at",
    [PS_ACK_BATCH] = "INSERT INTO audit_acks(seq, system, acked_at)"
                     " SELECT seq, ?1, ?2 FROM crmsync_batch(?3) WHERE true"
                     " ON CONFLICT(seq, system) DO NOTHING",
    [PS_ID_GET_BATCH] = "SELECT b.i, id.remote_id FROM crmsync_batch(?2) b CROSS JOIN identities id"
                        " WHERE id.member_key = b.member AND id.system = ?1",
    [PS_SHADOW_BOTH] = "SELECT value_hash, COALESCE(sent_hash, ''), COALESCE(sent_prev_hash, '')"
                       " FROM shadow"
                       " WHERE destination = ?1 AND member_key = ?2 AND field = ?3",
};

_Static_assert(PS_COUNT <= sizeof(((struct store *)0)->lazy) / sizeof(sqlite3_stmt *),
               "struct store's lazy[] holds every push statement");

const char *store_push_statement(size_t i)
{
    return i < PS_COUNT ? push_sql[i] : NULL;
}

static sqlite3_stmt *stmt(struct store *st, enum push_stmt which, struct error *err)
{
    sqlite3_stmt **slot = &st->lazy[which];

    if (*slot == NULL && sqlite3_prepare_v3(st->db, push_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
                                            slot, NULL) != SQLITE_OK) {
        store_sql_error(st, err, "prepare push statement");
        return NULL;
    }
    return *slot;
}

static int done(struct store *st, sqlite3_stmt *q, struct error *err, const char *what)
{
    int s = sqlite3_step(q);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return s == SQLITE_DONE ? 0 : store_sql_error(st, err, what);
}

int store_push_read(struct store *st, int lane, int64_t after, int64_t upto, int limit,
                    push_row_fn fn, void *ctx, int *n, struct error *err)
{
    sqlite3_stmt *q = stmt(st, PS_READ, err);
    int s;
    int rc = -1;

    *n = 0;
    if (q == NULL)
        return -1;
    sqlite3_bind_int(q, 1, lane);
    sqlite3_bind_int64(q, 2, after);
    sqlite3_bind_int(q, 3, limit);
    sqlite3_bind_int64(q, 4, upto > 0 ? upto : INT64_MAX);
    for (;;) {
        s = sqlite3_step(q);
        if (s != SQLITE_ROW)
            break;
        struct push_row r = {
            .seq = sqlite3_column_int64(q, 0),
            .origin = (const char *)sqlite3_column_text(q, 1),
            .member_key = (const char *)sqlite3_column_text(q, 2),
            .kind = (const char *)sqlite3_column_text(q, 3),
            .field = (const char *)sqlite3_column_text(q, 4),
            .value = (const char *)sqlite3_column_text(q, 5),
            .occurred_at = sqlite3_column_int64(q, 6),
            .received_at = sqlite3_column_int64(q, 7),
        };
        (*n)++;
        if (fn(ctx, &r) != 0)
            break;
    }
    if (s != SQLITE_ROW && s != SQLITE_DONE) {
        store_sql_error(st, err, "read lane");
        goto out;
    }
    rc = 0;
out:
    sqlite3_reset(q);
    return rc;
}

int store_push_cursor_get(struct store *st, const char *dest, int lane, int64_t *seq,
                          struct error *err)
{
    sqlite3_stmt *q = stmt(st, PS_CURSOR_GET, err);
    int s;

    if (q == NULL)
        return -1;
    *seq = 0;
    sqlite3_bind_text(q, 1, dest, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, lane);
    s = sqlite3_step(q);
    if (s == SQLITE_ROW)
        *seq = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    return s == SQLITE_ROW || s == SQLITE_DONE ? 0 : store_sql_error(st, err, "read push cursor");
}

int store_push_cursor_set(struct store *st, const char *dest, int lane, int64_t seq,
                          struct error *err)
{
    sqlite3_stmt *q = stmt(st, PS_CURSOR_SET, err);

    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, dest, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, lane);
    sqlite3_bind_int64(q, 3, seq);
    sqlite3_bind_int64(q, 4, timefmt_now_ms());
    return done(st, q, err, "set push cursor");
}

int store_shadow_get(struct store *st, const char *dest, const char *member, const char *field,
                     char hash[65], int *found, struct error *err)
{
    sqlite3_stmt *q = stmt(st, PS_SHADOW_GET, err);
    int s;

    if (q == NULL)
        return -1;
    *found = 0;
    sqlite3_bind_text(q, 1, dest, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, member, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, field, -1, SQLITE_STATIC);
    s = sqlite3_step(q);
    if (s == SQLITE_ROW) {
        snprintf(hash, 65, "%s", (const char *)sqlite3_column_text(q, 0));
        *found = 1;
    }
    sqlite3_reset(q);
    return s == SQLITE_ROW || s == SQLITE_DONE ? 0 : store_sql_error(st, err, "read shadow");
}

/* The two shadow writers (confirmed: value_hash; sent: sent_hash) take the
 * same parameters. */
static int write_shadow(struct store *st, enum push_stmt which, const char *dest,
                        const char *member, const char *field, const char *hash, struct error *err,
                        const char *what)
{
    sqlite3_stmt *q = stmt(st, which, err);

    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, dest, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, member, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, field, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, timefmt_now_ms());
    return done(st, q, err, what);
}

int store_shadow_put(struct store *st, const char *dest, const char *member, const char *field,
                     const char *hash, struct error *err)
{
    return write_shadow(st, PS_SHADOW_PUT, dest, member, field, hash, err, "write shadow");
}

int store_shadow_clear(struct store *st, const char *dest, struct error *err)
{
    sqlite3_stmt *q = stmt(st, PS_SHADOW_CLEAR, err);

    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, dest, -1, SQLITE_STATIC);
    return done(st, q, err, "clear shadow");
}

static int get_text(struct store *st, enum push_stmt which, const char *a, const char *b, char *out,
                    size_t outsize, int *found, struct error *err)
{
    sqlite3_stmt *q = stmt(st, which, err);
    int s;

    if (q == NULL)
        return -1;
    *found = 0;
    sqlite3_bind_text(q, 1, a, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, b, -1, SQLITE_STATIC);
    s = sqlite3_step(q);
    if (s == SQLITE_ROW) {
        snprintf(out, outsize, "%s", (const char *)sqlite3_column_text(q, 0));
        *found = 1;
    }
    sqlite3_reset(q);
    return s == SQLITE_ROW || s == SQLITE_DONE ? 0 : store_sql_error(st, err, "read identity");
}

int store_identity_get(struct store *st, const char *member, const char *system, char *out,
                       size_t outsize, int *found, struct error *err)
{
    return get_text(st, PS_ID_GET, member, system, out, outsize, found, err);
}

int store_identity_find(struct store *st, const char *system, const char *remote_id, char *out,
                        size_t outsize, int *found, struct error *err)
{
    return get_text(st, PS_ID_FIND, system, remote_id, out, outsize, found, err);
}

int store_identity_put(struct store *st, const char *member, const char *system,
                       const char *remote_id, struct error *err)
{
    sqlite3_stmt *q = stmt(st, PS_ID_PUT, err);

    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, member, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, system, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, remote_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, timefmt_now_ms());
    return done(st, q, err, "write identity");
}

int store_push_dead_letter(struct store *st, const char *dest, int64_t seq, const char *origin,
                           const char *member, const char *field, const char *payload,
                           const char *reason, int attempts, struct error *err)
{
    sqlite3_stmt *q = stmt(st, PS_DEAD_AGAIN, err);
    char source[48];

    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, dest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, seq);
    sqlite3_bind_int(q, 3, attempts);
    sqlite3_bind_int64(q, 4, timefmt_now_ms());
    sqlite3_bind_text(q, 5, reason, -1, SQLITE_STATIC);
    if (done(st, q, err, "update push dead letter") != 0)
        return -1;
    if (sqlite3_changes(st->db) > 0)
        return 0;
    q = stmt(st, PS_DEAD, err);
    if (q == NULL)
        return -1;
    snprintf(source, sizeof(source), "seq %lld", (long long)seq);
    sqlite3_bind_text(q, 1, dest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, seq);
    sqlite3_bind_text(q, 3, origin, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, member, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, field, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 6, payload, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 7, source, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 8, reason, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 9, attempts);
    sqlite3_bind_int64(q, 10, timefmt_now_ms());
    return done(st, q, err, "write push dead letter");
}

int store_audit_ack(struct store *st, int64_t seq, const char *system, struct error *err)
{
    sqlite3_stmt *q = stmt(st, PS_ACK, err);

    if (q == NULL)
        return -1;
    sqlite3_bind_int64(q, 1, seq);
    sqlite3_bind_text(q, 2, system, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, timefmt_now_ms());
    return done(st, q, err, "write audit ack");
}

int store_current_get(struct store *st, const char *member, const char *field, char **value,
                      struct error *err)
{
    sqlite3_stmt *q = stmt(st, PS_CURRENT, err);
    int s;

    if (q == NULL)
        return -1;
    *value = NULL;
    sqlite3_bind_text(q, 1, member, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, field, -1, SQLITE_STATIC);
    s = sqlite3_step(q);
    if (s == SQLITE_ROW)
        *value = strdup((const char *)sqlite3_column_text(q, 0));
    sqlite3_reset(q);
    return s == SQLITE_ROW || s == SQLITE_DONE ? 0 : store_sql_error(st, err, "read current");
}

int store_push_backlog(struct store *st, int lane, int64_t after, int64_t *count, struct error *err)
{
    sqlite3_stmt *q = stmt(st, PS_BACKLOG, err);
    int s;

    if (q == NULL)
        return -1;
    sqlite3_bind_int(q, 1, lane);
    sqlite3_bind_int64(q, 2, after);
    s = sqlite3_step(q);
    *count = s == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sqlite3_reset(q);
    return s == SQLITE_ROW ? 0 : store_sql_error(st, err, "count backlog");
}

int store_resync_reset(struct store *st, const char *dest, struct error *err)
{
    int64_t now = timefmt_now_ms();
    sqlite3_stmt *q;

    if (store_shadow_clear(st, dest, err) != 0)
        return -1;
    q = stmt(st, PS_WM_CLEAR, err);
    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, dest, -1, SQLITE_STATIC);
    if (done(st, q, err, "clear watermark") != 0)
        return -1;
    q = stmt(st, PS_CURSORS_RESET, err);
    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, dest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, now);
    if (done(st, q, err, "reset push cursors") != 0)
        return -1;
    q = stmt(st, PS_RESYNC_DONE, err);
    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, dest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, now);
    return done(st, q, err, "mark resync");
}

int store_max_seq(struct store *st, int64_t *seq, struct error *err)
{
    sqlite3_stmt *q = stmt(st, PS_MAX_SEQ, err);
    int s;

    if (q == NULL)
        return -1;
    s = sqlite3_step(q);
    *seq = s == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sqlite3_reset(q);
    return s == SQLITE_ROW ? 0 : store_sql_error(st, err, "max seq");
}

static int append_value(struct store *st, const char *origin, const char *member,
                        enum change_kind kind, const char *field, const char *value, int lane,
                        const char *idem_key, int *added, struct error *err)
{
    sqlite3_stmt *q = stmt(st, PS_REPAIR, err);
    int64_t seq, old_seq;

    *added = 0;
    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 8, origin, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 1, member, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, change_kind_name(kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, field, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, value, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, timefmt_now_ms());
    sqlite3_bind_text(q, 6, idem_key, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 7, lane);
    if (done(st, q, err, "append repair") != 0)
        return -1;
    if (sqlite3_changes(st->db) == 0)
        return 0;
    *added = 1;
    seq = sqlite3_last_insert_rowid(st->db);
    if (kind == CHANGE_POINTS)
        return 0;
    /* The repair now stands for the current value, so the engine's read
     * (which skips superseded values) offers it; the change it replaces
     * goes if compaction has passed it (state/store_retention.c). */
    q = stmt(st, PS_CURRENT_SEQ, err);
    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, member, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, field, -1, SQLITE_STATIC);
    old_seq = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sqlite3_reset(q);
    q = stmt(st, PS_REPAIR_CURRENT, err);
    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, member, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, field, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, seq);
    if (done(st, q, err, "repair current") != 0)
        return -1;
    return sqlite3_changes(st->db) > 0 ? store_change_superseded(st, old_seq, err) : 0;
}

int store_append_repair(struct store *st, const char *member, enum change_kind kind,
                        const char *field, const char *value, int lane, const char *idem_key,
                        int *added, struct error *err)
{
    return append_value(st, "repair", member, kind, field, value, lane, idem_key, added, err);
}

int store_append_resend(struct store *st, const char *dest, const char *member,
                        enum change_kind kind, const char *field, const char *value, int lane,
                        const char *idem_key, int *added, struct error *err)
{
    char origin[160];

    snprintf(origin, sizeof(origin), "%s%s", STORE_RESEND_PREFIX, dest);
    return append_value(st, origin, member, kind, field, value, lane, idem_key, added, err);
}

int store_token_get(struct store *st, const char *connector, char **token, struct error *err)
{
    sqlite3_stmt *q = stmt(st, PS_TOKEN_GET, err);
    int s;

    *token = NULL;
    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, connector, -1, SQLITE_STATIC);
    s = sqlite3_step(q);
    if (s == SQLITE_ROW)
        *token = strdup((const char *)sqlite3_column_text(q, 0));
    sqlite3_reset(q);
    return s == SQLITE_ROW || s == SQLITE_DONE ? 0 : store_sql_error(st, err, "read token");
}

int store_token_put(struct store *st, const char *connector, const char *token, struct error *err)
{
    sqlite3_stmt *q = stmt(st, PS_TOKEN_PUT, err);

    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, connector, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, token, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, timefmt_now_ms());
    return done(st, q, err, "write token");
}

int store_dead_letter_retries(struct store *st, const char *dest, dead_letter_fn fn, void *ctx,
                              struct error *err)
{
    sqlite3_stmt *q = stmt(st, PS_DL_RETRIES, err);
    int s;

    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, dest, -1, SQLITE_STATIC);
    for (;;) {
        s = sqlite3_step(q);
        if (s != SQLITE_ROW)
            break;
        char member[256], field[256];
        snprintf(member, sizeof(member), "%s", (const char *)sqlite3_column_text(q, 1));
        snprintf(field, sizeof(field), "%s", (const char *)sqlite3_column_text(q, 2));
        fn(ctx, sqlite3_column_int64(q, 0), member, field, sqlite3_column_int64(q, 3));
    }
    sqlite3_reset(q);
    return s == SQLITE_DONE ? 0 : store_sql_error(st, err, "read dead letters to retry");
}

int store_dead_letter_delete(struct store *st, int64_t id, struct error *err)
{
    sqlite3_stmt *q = stmt(st, PS_DL_DELETE, err);

    if (q == NULL)
        return -1;
    sqlite3_bind_int64(q, 1, id);
    return done(st, q, err, "delete dead letter");
}

int store_shadow_sent(struct store *st, const char *dest, const char *member, const char *field,
                      const char *hash, struct error *err)
{
    return write_shadow(st, PS_SHADOW_SENT, dest, member, field, hash, err, "write sent shadow");
}

int store_shadow_is_ours(struct store *st, const char *dest, const char *member, const char *field,
                         const char *hash, int *ours, struct error *err)
{
    sqlite3_stmt *q = stmt(st, PS_SHADOW_BOTH, err);
    int s;

    *ours = 0;
    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, dest, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, member, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, field, -1, SQLITE_STATIC);
    s = sqlite3_step(q);
    if (s == SQLITE_ROW)
        *ours = strcmp((const char *)sqlite3_column_text(q, 0), hash) == 0 ||
                strcmp((const char *)sqlite3_column_text(q, 1), hash) == 0 ||
                strcmp((const char *)sqlite3_column_text(q, 2), hash) == 0;
    sqlite3_reset(q);
    return s == SQLITE_ROW || s == SQLITE_DONE ? 0 : store_sql_error(st, err, "read shadow");
}

/* The batch forms run one statement for the whole batch (issue 17): the
 * engine's arrays are its rows through crmsync_batch, bound as a pointer,
 * so nothing is built or parsed per batch and the statement is prepared
 * once. n = 0 writes nothing and runs nothing. */
static int batch_write(struct store *st, enum push_stmt which, const char *first,
                       const struct store_batch *b, struct error *err, const char *what)
{
    sqlite3_stmt *q;

    if (b->n == 0)
        return 0;
    q = stmt(st, which, err);
    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, first, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, timefmt_now_ms());
    sqlite3_bind_pointer(q, 3, (void *)b, STORE_BATCH_PTR, NULL);
    return done(st, q, err, what);
}

int store_shadow_sent_batch(struct store *st, const char *dest, const struct push_key *k, size_t n,
                            struct error *err)
{
    struct store_batch b = {.n = n, .keys = k};
    return batch_write(st, PS_SHADOW_SENT_BATCH, dest, &b, err, "write sent shadows");
}

int store_shadow_put_batch(struct store *st, const char *dest, const struct push_key *k, size_t n,
                           struct error *err)
{
    struct store_batch b = {.n = n, .keys = k};
    return batch_write(st, PS_SHADOW_PUT_BATCH, dest, &b, err, "write shadows");
}

int store_identity_put_batch(struct store *st, const char *system, const char *const *member,
                             const char *const *remote_id, size_t n, struct error *err)
{
    struct store_batch b = {.n = n, .member = member, .remote_id = remote_id};
    return batch_write(st, PS_ID_PUT_BATCH, system, &b, err, "write identities");
}

int store_audit_ack_batch(struct store *st, const int64_t *seq, size_t n, const char *system,
                          struct error *err)
{
    struct store_batch b = {.n = n, .seq = seq};
    return batch_write(st, PS_ACK_BATCH, system, &b, err, "write audit acks");
}

/* One statement for the batch's reads: row (i, text) sets out[i]. */
static int batch_read(struct store *st, enum push_stmt which, const char *first,
                      const struct store_batch *b, char *out, size_t outsize, int *found,
                      struct error *err, const char *what)
{
    sqlite3_stmt *q;
    int s;

    for (size_t i = 0; i < b->n; i++) {
        found[i] = 0;
        out[i * outsize] = '\0';
    }
    if (b->n == 0)
        return 0;
    q = stmt(st, which, err);
    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, first, -1, SQLITE_STATIC);
    sqlite3_bind_pointer(q, 2, (void *)b, STORE_BATCH_PTR, NULL);
    for (s = sqlite3_step(q); s == SQLITE_ROW; s = sqlite3_step(q)) {
        int64_t i = sqlite3_column_int64(q, 0);
        if (i >= 0 && (size_t)i < b->n) {
            snprintf(out + (size_t)i * outsize, outsize, "%s",
                     (const char *)sqlite3_column_text(q, 1));
            found[i] = 1;
        }
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return s == SQLITE_DONE ? 0 : store_sql_error(st, err, what);
}

int store_identity_get_batch(struct store *st, const char *system, const char *const *member,
                             size_t n, char (*remote_id)[64], int *found, struct error *err)
{
    struct store_batch b = {.n = n, .member = member};
    return batch_read(st, PS_ID_GET_BATCH, system, &b, (char *)remote_id, 64, found, err,
                      "read identities");
}

int store_shadow_get_batch(struct store *st, const char *dest, const struct push_key *k, size_t n,
                           char (*hash)[65], int *found, struct error *err)
{
    struct store_batch b = {.n = n, .keys = k};
    return batch_read(st, PS_SHADOW_GET_BATCH, dest, &b, (char *)hash, 65, found, err,
                      "read shadows");
}
