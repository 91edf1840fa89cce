/* Forward-only migrations. Each entry moves the schema from version i to
 * i + 1 and runs in its own transaction together with the user_version bump,
 * so a crash mid-migration leaves the previous version intact. Never edit a
 * released migration: append a new one. */
#include "schema.h"

#include <stdio.h>

static const char *const migrations[] = {
    /* 0 -> 1: the change-log and everything derived from it. */
    "CREATE TABLE meta ("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL);"

    /* The change-log. occurred_at/received_at are UTC ms. effective = 1 when
     * the change altered current state (only those fan out). lane is the
     * push priority (0 urgent, 1 points, 2 bulk). */
    "CREATE TABLE changes ("
    "  seq INTEGER PRIMARY KEY,"
    "  origin TEXT NOT NULL,"
    "  member_key TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  field TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  occurred_at INTEGER NOT NULL,"
    "  received_at INTEGER NOT NULL,"
    "  idem_key TEXT NOT NULL UNIQUE,"
    "  effective INTEGER NOT NULL,"
    "  lane INTEGER NOT NULL);"
    "CREATE INDEX changes_member ON changes(member_key);"
    /* The engine reads one lane at a time after its cursor. */
    "CREATE INDEX changes_push ON changes(lane, seq) WHERE effective = 1;"

    "CREATE TABLE current ("
    "  member_key TEXT NOT NULL,"
    "  field TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  occurred_at INTEGER NOT NULL,"
    "  origin TEXT NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  PRIMARY KEY (member_key, field)) WITHOUT ROWID;"

    "CREATE TABLE points_ledger ("
    "  txn_id TEXT PRIMARY KEY,"
    "  member_key TEXT NOT NULL,"
    "  delta INTEGER NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  occurred_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL DEFAULT 0,"
    "  seq INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX points_ledger_member ON points_ledger(member_key);"

    "CREATE TABLE identities ("
    "  member_key TEXT NOT NULL,"
    "  system TEXT NOT NULL,"
    "  remote_id TEXT NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (member_key, system),"
    "  UNIQUE (system, remote_id)) WITHOUT ROWID;"

    /* Per connector: the pull watermark (opaque JSON the connector owns). */
    "CREATE TABLE cursors ("
    "  connector TEXT PRIMARY KEY,"
    "  pull_watermark TEXT,"
    "  updated_at INTEGER NOT NULL);"
    /* Per destination and lane: last seq fully handled. */
    "CREATE TABLE push_cursors ("
    "  connector TEXT NOT NULL,"
    "  lane INTEGER NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (connector, lane)) WITHOUT ROWID;"

    "CREATE TABLE shadow ("
    "  destination TEXT NOT NULL,"
    "  member_key TEXT NOT NULL,"
    "  field TEXT NOT NULL,"
    "  value_hash TEXT NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (destination, member_key, field)) WITHOUT ROWID;"

    /* A record that cannot be applied or delivered. destination is the
     * connector that failed to take it, or 'ingest' for a bad input record;
     * source says where it came from (file:line, remote record id). */
    "CREATE TABLE dead_letters ("
    "  id INTEGER PRIMARY KEY,"
    "  destination TEXT NOT NULL,"
    "  seq INTEGER,"
    "  origin TEXT,"
    "  member_key TEXT,"
    "  field TEXT,"
    "  payload TEXT,"
    "  source TEXT,"
    "  reason TEXT NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 1,"
    "  first_failed_at INTEGER NOT NULL,"
    "  last_failed_at INTEGER NOT NULL,"
    "  last_error TEXT,"
    /* Re-reading an input after a crash must not file its bad records
     * twice: ingest dead letters carry a key of where they came from. */
    "  idem_key TEXT UNIQUE);"
    "CREATE INDEX dead_letters_dest ON dead_letters(destination, id);"

    /* Consent history, append-only and hash-chained: hash = SHA-256(prev_hash
     * | seq | member_hash | field | payload_hash | recorded_at). The chain
     * covers hashes, not personal data, so an erasure can blank member_key
     * and payload without breaking verification. */
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY,"
    "  seq INTEGER NOT NULL,"
    "  member_hash TEXT NOT NULL,"
    "  member_key TEXT,"
    "  field TEXT NOT NULL,"
    "  payload TEXT,"
    "  payload_hash TEXT NOT NULL,"
    "  recorded_at INTEGER NOT NULL,"
    "  prev_hash TEXT NOT NULL,"
    "  hash TEXT NOT NULL);"
    "CREATE INDEX audit_member ON audit(member_hash);"
    "CREATE TABLE audit_acks ("
    "  seq INTEGER NOT NULL,"
    "  system TEXT NOT NULL,"
    "  acked_at INTEGER NOT NULL,"
    "  PRIMARY KEY (seq, system)) WITHOUT ROWID;"

    "CREATE TABLE tombstones ("
    "  member_hash TEXT PRIMARY KEY,"
    "  erased_at INTEGER NOT NULL) WITHOUT ROWID;"

    "CREATE TABLE ingest_files ("
    "  id INTEGER PRIMARY KEY,"
    "  connector TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  started_at INTEGER NOT NULL,"
    "  finished_at INTEGER,"
    "  lines INTEGER NOT NULL DEFAULT 0,"
    "  applied INTEGER NOT NULL DEFAULT 0,"
    "  unchanged INTEGER NOT NULL DEFAULT 0,"
    "  duplicates INTEGER NOT NULL DEFAULT 0,"
    "  rejected INTEGER NOT NULL DEFAULT 0,"
    "  status TEXT NOT NULL);"

    "CREATE TABLE oauth_tokens ("
    "  connector TEXT PRIMARY KEY,"
    "  refresh_token TEXT NOT NULL,"
    "  updated_at INTEGER NOT NULL);"

    "CREATE TABLE resync_requests ("
    "  id INTEGER PRIMARY KEY,"
    "  connector TEXT,"
    "  requested_at INTEGER NOT NULL,"
    "  started_at INTEGER,"
    "  finished_at INTEGER);",

    /* 1 -> 2: operator surface (crmsyncctl). retry_requested_at marks a dead
     * letter for the engine to send again; operator_actions keeps who-did-
     * what for dropped dead letters, erasures and resync requests. */
    "ALTER TABLE dead_letters ADD COLUMN retry_requested_at INTEGER;"
    "CREATE TABLE operator_actions ("
    "  id INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  command TEXT NOT NULL,"
    "  detail TEXT NOT NULL);",

    /* 2 -> 3: what was last *sent* to a destination, recorded before the
     * request goes: a pull that reads back our own write whose answer was
     * lost (crash, timeout) recognises it as an echo instead of a change
     * made in the CRM. value_hash stays what was confirmed; '' = nothing. */
    /* sent_prev_hash, the one before: a re-send after a restart must not
     * make the lost write it replaces look like a change made in the CRM. */
    ("ALTER TABLE shadow ADD COLUMN sent_hash TEXT;"
     "ALTER TABLE shadow ADD COLUMN sent_prev_hash TEXT;"),

    /* 3 -> 4: what crmsyncctl status shows of the running daemon without
     * asking it. resync_progress: the last full resync per destination;
     * scope_seq is the change-log's last seq when it started (the changes it
     * re-offers), pull_done_at when its re-pull ended and the re-push began.
     * Done / total are counted from push_cursors at read time, so the engine
     * writes here only when a phase changes. connector_quota: the vendor's
     * request budget as last seen in its response headers, written at most
     * every few seconds. */
    ("CREATE TABLE resync_progress ("
     "  connector TEXT PRIMARY KEY,"
     "  started_at INTEGER NOT NULL,"
     "  scope_seq INTEGER NOT NULL,"
     "  pull_done_at INTEGER,"
     "  interrupted INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
     "CREATE TABLE connector_quota ("
     "  connector TEXT PRIMARY KEY,"
     "  kind TEXT NOT NULL,"
     "  remaining INTEGER NOT NULL,"
     "  quota_limit INTEGER NOT NULL,"
     "  observed_at INTEGER NOT NULL) WITHOUT ROWID;"),

    /* 4 -> 5: an erasure deletes the member's shadow rows in every
     * destination; keyed by destination first, that was a full scan of the
     * shadow per erasure. */
    ("CREATE INDEX shadow_member ON shadow(member_key);"),

    /* 5 -> 6: a push dead letter is found by (destination, seq), so that
     * the same change failing again updates it (not unique: databases may
     * hold such duplicates already). */
    ("CREATE INDEX dead_letters_seq ON dead_letters(destination, seq) WHERE seq IS NOT NULL;"),

    /* 6 -> 7: a vendor's Retry-After hold per connector and request family
     * (state/store_holds.h), so that a restart inside it waits it out. */
    ("CREATE TABLE rate_holds ("
     "  connector TEXT NOT NULL,"
     "  family TEXT NOT NULL,"
     "  until_ms INTEGER NOT NULL,"
     "  PRIMARY KEY (connector, family)) WITHOUT ROWID;"),

    /* 7 -> 8: the hold's length as the vendor gave it: a restored hold is
     * never longer, whatever the wall clock did between two runs (set back
     * 6 hours, a 1-s hold read as 6 hours left). 0: not known, not kept. */
    ("ALTER TABLE rate_holds ADD COLUMN ms INTEGER NOT NULL DEFAULT 0;"),

    /* 8 -> 9: idempotency keys apart from the change-log, with a hash of
     * the body they came with (state/store_apply.c: the same key with
     * another body is a conflict, not a duplicate) and when they were first
     * seen, so that the change-log can be compacted and the keys pruned
     * after a dedup window on their own (issue 15). id grows with seen_at:
     * pruning deletes from the low end. The keys of the existing change-log
     * are carried over with the hash of their stored body
     * (crmsync_body_hash(), registered by store_open()). */
    ("CREATE TABLE idem_keys ("
     "  id INTEGER PRIMARY KEY,"
     "  key TEXT NOT NULL UNIQUE,"
     "  body_hash INTEGER NOT NULL,"
     "  seen_at INTEGER NOT NULL);"
     "INSERT INTO idem_keys(key, body_hash, seen_at)"
     " SELECT idem_key, crmsync_body_hash(member_key, kind, field, value, occurred_at),"
     " received_at FROM changes ORDER BY seq;"),

    /* 9 -> 10: the answer the HTTP ingest gave for an event, kept with the
     * event's own key (state/store_answer.h), so that a replayed request
     * gets the answer the first one got (issue 16). NULL for every other
     * key. */
    ("ALTER TABLE idem_keys ADD COLUMN answer TEXT;"),

    /* 10 -> 11: audit retention (issue 15, state/store_audit_archive.h).
     * Old audit rows move to an archive file; an erasure queues the
     * member's hash here so that the next retention step blanks the
     * member's archived payloads too. The archive's checkpoint (path, head
     * hash, rows, bytes) lives in meta. */
    ("CREATE TABLE IF NOT EXISTS audit_archive_erasures ("
     "  member_hash TEXT PRIMARY KEY) WITHOUT ROWID;"),

    /* 11 -> 12: ledger retention (issue 15, state/store_ledger.h). Old
     * transactions whose contribution is final fold into one row per
     * member: balance = the folded live deltas, txns = how many,
     * through_at = the latest occurred_at folded (an unknown transaction
     * at or before it could be a folded one replayed, and is refused). */
    ("CREATE TABLE IF NOT EXISTS points_opening ("
     "  member_key TEXT PRIMARY KEY,"
     "  balance INTEGER NOT NULL,"
     "  txns INTEGER NOT NULL,"
     "  through_at INTEGER NOT NULL,"
     "  updated_at INTEGER NOT NULL) WITHOUT ROWID;"),

    /* 12 -> 13: leaner change-log rows (issue 15). An ingested change's key
     * is checked in idem_keys (v9); the UNIQUE index of changes.idem_key
     * held every key a second time for nothing the queries read (22 B per
     * change with 10-character keys, bench/bench_compact.c). SQLite drops a
     * constraint only by rebuilding the table: once, at open. The rows a
     * repair or a re-send appends (state/store_push.c) have no idem_keys
     * entry and are kept unique by a partial index of their own, as small
     * as they are rare: the same drift seen twice queues one repair. */
    ("CREATE TABLE changes_v13 ("
     "  seq INTEGER PRIMARY KEY,"
     "  origin TEXT NOT NULL,"
     "  member_key TEXT NOT NULL,"
     "  kind TEXT NOT NULL,"
     "  field TEXT NOT NULL,"
     "  value TEXT NOT NULL,"
     "  occurred_at INTEGER NOT NULL,"
     "  received_at INTEGER NOT NULL,"
     "  idem_key TEXT NOT NULL,"
     "  effective INTEGER NOT NULL,"
     "  lane INTEGER NOT NULL);"
     "INSERT INTO changes_v13(seq, origin, member_key, kind, field, value, occurred_at,"
     " received_at, idem_key, effective, lane) SELECT seq, origin, member_key, kind, field,"
     " value, occurred_at, received_at, idem_key, effective, lane FROM changes ORDER BY seq;"
     "DROP TABLE changes;"
     "ALTER TABLE changes_v13 RENAME TO changes;"
     "CREATE INDEX changes_member ON changes(member_key);"
     "CREATE INDEX changes_push ON changes(lane, seq) WHERE effective = 1;"
     "CREATE UNIQUE INDEX changes_appended ON changes(idem_key)"
     " WHERE origin = 'repair' OR origin GLOB 'resend:*';"),

    /* 13 -> 14: leaner audit rows (issue 15). The chain is unchanged:
     * hash = SHA-256(prev | seq | member_hash | field | payload_hash |
     * recorded_at). What a row stored twice goes: prev_hash (the previous
     * row's hash, or the archive's head for the first live row),
     * payload_hash while the payload is there (its SHA-256; kept only for a
     * row whose payload an erasure blanked, which the chain still needs),
     * and member_key (a row is found by the salted member_hash; the key
     * was blanked by an erasure anyway). The member index holds the first
     * 16 hex digits of the hash (64 bits), not all 64: the queries compare
     * the whole hash after it, written `+member_hash = ?1`: without the
     * `+`, SQLite propagates the constant into substr(member_hash, ...)
     * and no longer sees the index (the export read the whole table). */
    ("CREATE TABLE audit_v14 ("
     "  id INTEGER PRIMARY KEY,"
     "  seq INTEGER NOT NULL,"
     "  member_hash TEXT NOT NULL,"
     "  field TEXT NOT NULL,"
     "  payload TEXT,"
     "  payload_hash TEXT,"
     "  recorded_at INTEGER NOT NULL,"
     "  hash TEXT NOT NULL);"
     "INSERT INTO audit_v14(id, seq, member_hash, field, payload, payload_hash, recorded_at,"
     " hash) SELECT id, seq, member_hash, field, payload, CASE WHEN payload IS NULL THEN"
     " payload_hash END, recorded_at, hash FROM audit ORDER BY id;"
     "DROP TABLE audit;"
     "ALTER TABLE audit_v14 RENAME TO audit;"
     "CREATE INDEX audit_member ON audit(substr(member_hash, 1, 16));"),

    /* 14 -> 15: dead letters by member, for member export and
     * `dead-letters list --member`: they read the whole table
     * (test_query_plans' export check found it). */
    ("CREATE INDEX IF NOT EXISTS dead_letters_member ON dead_letters(member_key);"),

    /* 15 -> 16: audit hashes as bytes (issue 15, leaner rows). member_hash
     * and hash were 64 hex digits each: stored as their 32 bytes
     * (crmsync_hash_blob(), registered by store_open(); a value that is
     * not a SHA-256 in hex stays as it was, for verification to report),
     * read back with lower(hex(...)), so the chain, `audit verify`, the
     * archive's lines and member export are the same text as before. The
     * member index holds the first 8 bytes (64 bits, as the 16 hex digits
     * did). payload_hash stays text: it is there only for erased rows. */
    ("CREATE TABLE audit_v16 ("
     "  id INTEGER PRIMARY KEY,"
     "  seq INTEGER NOT NULL,"
     "  member_hash BLOB NOT NULL,"
     "  field TEXT NOT NULL,"
     "  payload TEXT,"
     "  payload_hash TEXT,"
     "  recorded_at INTEGER NOT NULL,"
     "  hash BLOB NOT NULL);"
     "INSERT INTO audit_v16(id, seq, member_hash, field, payload, payload_hash, recorded_at,"
     " hash) SELECT id, seq, crmsync_hash_blob(member_hash), field, payload, payload_hash,"
     " recorded_at, crmsync_hash_blob(hash) FROM audit ORDER BY id;"
     "DROP TABLE audit;"
     "ALTER TABLE audit_v16 RENAME TO audit;"
     "CREATE INDEX audit_member ON audit(substr(member_hash, 1, 8));"),
};

int schema_latest_version(void)
{
    return (int)(sizeof(migrations) / sizeof(migrations[0]));
}

static int get_version(sqlite3 *db, int *version, struct error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        error_set(err, "cannot read schema version: %s", sqlite3_errmsg(db));
        goto out;
    }
    *version = sqlite3_column_int(st, 0);
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

int schema_migrate(sqlite3 *db, struct error *err)
{
    int version = 0;
    int latest = schema_latest_version();
    char *errmsg = NULL;
    char bump[64];

    if (get_version(db, &version, err) != 0)
        return -1;
    if (version > latest)
        return error_set(err,
                         "database schema version %d is newer than this build supports (%d); "
                         "use a newer crmsyncd",
                         version, latest);
    for (; version < latest; version++) {
        if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &errmsg) != SQLITE_OK)
            goto fail;
        if (sqlite3_exec(db, migrations[version], NULL, NULL, &errmsg) != SQLITE_OK)
            goto fail_rollback;
        snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", version + 1);
        if (sqlite3_exec(db, bump, NULL, NULL, &errmsg) != SQLITE_OK)
            goto fail_rollback;
        if (sqlite3_exec(db, "COMMIT", NULL, NULL, &errmsg) != SQLITE_OK)
            goto fail_rollback;
    }
    return 0;
fail_rollback:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
fail:
    error_set(err, "schema migration %d -> %d failed: %s", version, version + 1,
              errmsg ? errmsg : sqlite3_errmsg(db));
    sqlite3_free(errmsg);
    return -1;
}
