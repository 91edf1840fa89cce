/* See store_push_sql.h. */
#include "store_push_sql.h"

#include <stdio.h>

#include "store_push.h"
#include "timefmt.h"

static const char *const push_sql[PS_COUNT] = {
    /* A change dead-lettered for this destination is not offered again (a
     * resync, a restart before its cursor passed it): the same value would
     * only be dead-lettered again. An operator's retry queues it anew.
     * A value that a later change replaced is never pushed: only the change
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
                " AND seq <= ?4 AND NOT EXISTS (SELECT 1 FROM dead_letters d"
                " WHERE d.destination = ?5 AND d.seq = changes.seq"
                " AND d.retry_requested_at IS NULL) ORDER BY seq LIMIT ?3",
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

sqlite3_stmt *store_push_stmt(struct store *st, enum push_stmt which, struct error *err)
{
    sqlite3_stmt **slot = &st->lazy[which];

    if (*slot == NULL && sqlite3_prepare_v3(st->db, push_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
                                            slot, NULL) != SQLITE_OK) {
        store_sql_error(st, err, "prepare push statement");
        return NULL;
    }
    return *slot;
}

int store_push_done(struct store *st, sqlite3_stmt *q, struct error *err, const char *what)
{
    int s = sqlite3_step(q);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return s == SQLITE_DONE ? 0 : store_sql_error(st, err, what);
}

/* The batch forms run one statement for the whole batch (issue 17): the
 * engine's arrays are its rows through crmsync_batch, bound as a pointer,
 * so nothing is built or parsed per batch and the statement is prepared
 * once. n = 0 writes nothing and runs nothing. */
int store_push_batch_write(struct store *st, enum push_stmt which, const char *first,
                           const struct store_batch *b, struct error *err, const char *what)
{
    sqlite3_stmt *q;

    if (b->n == 0)
        return 0;
    q = store_push_stmt(st, which, err);
    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, first, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, timefmt_now_ms());
    sqlite3_bind_pointer(q, 3, (void *)b, STORE_BATCH_PTR, NULL);
    return store_push_done(st, q, err, what);
}

/* One statement for the batch's reads: row (i, text) sets out[i]. */
int store_push_batch_read(struct store *st, enum push_stmt which, const char *first,
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
    q = store_push_stmt(st, which, err);
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
