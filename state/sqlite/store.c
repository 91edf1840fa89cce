#include "store_internal.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "crashpoint.h"
#include "hash.h"
#include "schema.h"
#include "store_batch.h"
#include "timefmt.h"

struct stmt_def {
    size_t offset;
    const char *sql;
    int writes; /* not prepared on a read-only handle */
};

#define STMT(field, sql, writes)                                                                   \
    {                                                                                              \
        offsetof(struct store, field), sql, writes                                                 \
    }

static const struct stmt_def stmt_defs[] = {
    STMT(ins_change,
         "INSERT INTO changes(origin, member_key, kind, field, value, occurred_at, received_at,"
         " idem_key, effective, lane) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
         " ON CONFLICT DO NOTHING",
         1),
    STMT(get_current,
         "SELECT value, occurred_at, origin, seq FROM current WHERE member_key = ?1 AND field = ?2",
         0),
    STMT(put_current,
         "INSERT INTO current(member_key, field, value, occurred_at, origin, seq)"
         " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(member_key, field) DO UPDATE SET"
         " value = excluded.value, occurred_at = excluded.occurred_at,"
         " origin = excluded.origin, seq = excluded.seq",
         1),
    STMT(get_txn,
         "SELECT member_key, delta, reason, occurred_at, expires_at FROM points_ledger"
         " WHERE txn_id = ?1",
         0),
    STMT(ins_txn,
         "INSERT INTO points_ledger(txn_id, member_key, delta, reason, occurred_at, expires_at,"
         " seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
         1),
    STMT(ins_audit,
         "INSERT INTO audit(seq, member_hash, field, payload, recorded_at, hash)"
         " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
         1),
    STMT(ins_dead,
         "INSERT INTO dead_letters(destination, seq, origin, member_key, field, payload, source,"
         " reason, first_failed_at, last_failed_at, last_error, idem_key)"
         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?8, ?10)"
         " ON CONFLICT(idem_key) DO NOTHING",
         1),
    STMT(get_tomb, "SELECT 1 FROM tombstones WHERE member_hash = ?1", 0),
    STMT(ins_tomb,
         "INSERT INTO tombstones(member_hash, erased_at) VALUES (?1, ?2)"
         " ON CONFLICT(member_hash) DO NOTHING",
         1),
    STMT(erase_current, "DELETE FROM current WHERE member_key = ?1", 1),
    STMT(erase_ledger, "DELETE FROM points_ledger WHERE member_key = ?1", 1),
    STMT(erase_opening, "DELETE FROM points_opening WHERE member_key = ?1", 1),
    STMT(get_opening, "SELECT through_at FROM points_opening WHERE member_key = ?1", 0),
    STMT(erase_shadow, "DELETE FROM shadow WHERE member_key = ?1", 1),
    /* The erase change itself keeps the key: the engine needs it to reach
     * every CRM. Older rows lose their values now. */
    STMT(redact_changes,
         "UPDATE changes SET value = '{\"erased\":true}' WHERE member_key = ?1 AND seq < ?2", 1),
    /* The chain needs the payload's hash once the payload is gone. */
    STMT(redact_audit,
         "UPDATE audit SET payload_hash = crmsync_sha256(payload), payload = NULL"
         " WHERE substr(member_hash, 1, 8) = substr(?1, 1, 8) AND +member_hash = ?1"
         " AND payload IS NOT NULL",
         1),
    STMT(redact_archive,
         "INSERT INTO audit_archive_erasures(member_hash) VALUES (?1)"
         " ON CONFLICT(member_hash) DO NOTHING",
         1),
    STMT(get_wm, "SELECT pull_watermark FROM cursors WHERE connector = ?1", 0),
    STMT(set_wm,
         "INSERT INTO cursors(connector, pull_watermark, updated_at) VALUES (?1, ?2, ?3)"
         " ON CONFLICT(connector) DO UPDATE SET pull_watermark = excluded.pull_watermark,"
         " updated_at = excluded.updated_at",
         1),
    STMT(ins_ingest,
         "INSERT INTO ingest_files(connector, name, started_at, status)"
         " VALUES (?1, ?2, ?3, 'running')",
         1),
    STMT(upd_ingest,
         "UPDATE ingest_files SET finished_at = ?2, lines = ?3, applied = ?4, unchanged = ?5,"
         " duplicates = ?6, rejected = ?7, status = ?8 WHERE id = ?1",
         1),
    STMT(ins_resync, "INSERT INTO resync_requests(connector, requested_at) VALUES (?1, ?2)", 1),
    /* The opening balance holds what the ledger retention folded. */
    STMT(balance,
         "SELECT COALESCE(SUM(delta), 0) + COALESCE((SELECT balance FROM points_opening"
         " WHERE member_key = ?1), 0) FROM points_ledger WHERE member_key = ?1"
         " AND (expires_at = 0 OR expires_at > ?2)",
         0),
    STMT(audit_last, "SELECT lower(hex(hash)) FROM audit ORDER BY id DESC LIMIT 1", 0),
    STMT(get_idem, "SELECT body_hash, seen_at FROM idem_keys WHERE key = ?1", 0),
    STMT(ins_idem, "INSERT INTO idem_keys(key, body_hash, seen_at) VALUES (?1, ?2, ?3)", 1),
    STMT(del_change, "DELETE FROM changes WHERE seq = ?1", 1),
    STMT(del_member_changes,
         "DELETE FROM changes WHERE member_key = ?1 AND seq <= ?2 AND kind <> 'erase'", 1),
    /* state/store_answer.c: the HTTP ingest's answers per event. */
    STMT(get_answer, "SELECT body_hash, answer FROM idem_keys WHERE key = ?1", 0),
    STMT(put_answer,
         "INSERT INTO idem_keys(key, body_hash, seen_at, answer) VALUES (?1, ?2, ?3, ?4)", 1),
    STMT(set_answer, "UPDATE idem_keys SET answer = ?2 WHERE key = ?1", 1),
};

static int exec(struct store *st, const char *sql, struct error *err)
{
    char *msg = NULL;

    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        error_set(err, "state: %s: %s", sql, msg ? msg : sqlite3_errmsg(st->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* The salt is made once per database; losing it would make tombstones
 * unrecognisable, so it lives in the database itself. */
static int load_or_make_salt(struct store *st, struct error *err)
{
    sqlite3_stmt *q = NULL;
    unsigned char raw[32];
    int rc = -1;

    if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = 'member_salt'", -1, &q,
                           NULL) != SQLITE_OK) {
        store_sql_error(st, err, "read salt");
        goto out;
    }
    if (sqlite3_step(q) == SQLITE_ROW) {
        snprintf(st->salt, sizeof(st->salt), "%s", (const char *)sqlite3_column_text(q, 0));
        rc = 0;
        goto out;
    }
    if (st->readonly) {
        error_set(err, "state: database has no member salt (never opened by crmsyncd?)");
        goto out;
    }
    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        error_set(err, "state: no randomness for the member salt");
        goto out;
    }
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(st->salt + 2 * i, 3, "%02x", raw[i]);
    sqlite3_finalize(q);
    q = NULL;
    if (sqlite3_prepare_v2(st->db, "INSERT INTO meta(key, value) VALUES ('member_salt', ?1)", -1,
                           &q, NULL) != SQLITE_OK ||
        sqlite3_bind_text(q, 1, st->salt, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_DONE) {
        store_sql_error(st, err, "store salt");
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(q);
    return rc;
}

static int count_tombstones(struct store *st, struct error *err)
{
    sqlite3_stmt *q = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(st->db, "SELECT COUNT(*) FROM tombstones", -1, &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW) {
        store_sql_error(st, err, "count tombstones");
        goto out;
    }
    st->tombstone_count = sqlite3_column_int64(q, 0);
    rc = 0;
out:
    sqlite3_finalize(q);
    return rc;
}

/* Pages freed by retention (state/store_retention.h) go back to the file
 * system in small incremental_vacuum steps, which needs auto_vacuum =
 * INCREMENTAL. A new database gets it before its first table; a database
 * made before it (schema < 9) is rebuilt once by VACUUM, the one way SQLite
 * changes the mode of a database that has tables. */
static int set_auto_vacuum(struct store *st, struct error *err)
{
    sqlite3_stmt *q = NULL;
    int mode = -1;

    if (sqlite3_prepare_v2(st->db, "PRAGMA auto_vacuum", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        mode = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    if (mode < 0)
        return store_sql_error(st, err, "read auto_vacuum");
    if (mode == 2)
        return 0;
    if (exec(st, "PRAGMA auto_vacuum = INCREMENTAL", err) != 0)
        return -1;
    return exec(st, "VACUUM", err);
}

static int load_compact_from(struct store *st, struct error *err)
{
    sqlite3_stmt *q = NULL;
    int s;

    st->compact_from = 0;
    if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = 'compact_from'", -1, &q,
                           NULL) != SQLITE_OK)
        return store_sql_error(st, err, "read compaction position");
    s = sqlite3_step(q);
    if (s == SQLITE_ROW)
        st->compact_from = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return s == SQLITE_ROW || s == SQLITE_DONE
               ? 0
               : store_sql_error(st, err, "read compaction position");
}

/* The writer's settings, then the schema brought up to date. */
static int setup_writer(struct store *st, const struct store_options *opts, struct error *err)
{
    if (exec(st, "PRAGMA journal_mode = WAL", err) != 0)
        return -1;
    /* The WAL is truncated back to this after a checkpoint that emptied
     * it: a burst does not leave a large file behind for good. */
    if (exec(st, "PRAGMA journal_size_limit = 67108864", err) != 0)
        return -1;
    st->sync_full = !opts->synchronous_normal;
    if (exec(st,
             opts->synchronous_normal ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL",
             err) != 0)
        return -1;
    if (set_auto_vacuum(st, err) != 0)
        return -1;
    /* Deleted content is overwritten, not left in free pages: an
     * erased member's data must not be readable from the file. */
    if (exec(st, "PRAGMA secure_delete = ON", err) != 0)
        return -1;
    if (store_register_functions(st->db) != 0)
        return store_sql_error(st, err, "register functions");
    return schema_migrate(st->db, err);
}

/* A reader (crmsyncctl) migrates nothing: the schema must be one this
 * build knows. */
static int check_reader_schema(struct store *st, const char *path, struct error *err)
{
    int v = 0;
    sqlite3_stmt *q = NULL;

    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    if (v > schema_latest_version())
        return error_set(err, "state: %s has schema version %d, newer than this build (%d)", path,
                         v, schema_latest_version());
    if (v == 0)
        return error_set(err, "state: %s is not a crmsyncd database (schema version 0)", path);
    return 0;
}

/* Every statement of stmt_defs prepared once (a reader's without those
 * that write). */
static int prepare_statements(struct store *st, int readonly, struct error *err)
{
    for (size_t i = 0; i < sizeof(stmt_defs) / sizeof(stmt_defs[0]); i++) {
        sqlite3_stmt **slot = (sqlite3_stmt **)((char *)st + stmt_defs[i].offset);
        if (readonly && stmt_defs[i].writes)
            continue;
        if (sqlite3_prepare_v3(st->db, stmt_defs[i].sql, -1, SQLITE_PREPARE_PERSISTENT, slot,
                               NULL) != SQLITE_OK)
            return error_set(err, "state: prepare failed: %s: %s", sqlite3_errmsg(st->db),
                             stmt_defs[i].sql);
    }
    return 0;
}

/* A statement that writes many rows inside a transaction (the push
 * bookkeeping's one statement per batch, issue 17) keeps the pages it
 * changes in a statement journal, to undo itself alone if it fails half
 * way. SQLite keeps that journal in memory up to 64 KiB, then in a temp
 * file, created and unlinked in the transaction: a HubSpot batch's shadow
 * writes pass 64 KiB, and a 10,000-member push made 288 temp files and
 * 22,458 pwrite()s to them (strace), 38 of the 135 samples of the two
 * shadow writes (perf). Up to 120 KiB it stays in memory (freed when the
 * statement ends); a larger one still goes to a file, so memory stays
 * bounded. The setting is the library's: made once, before SQLite
 * initialises (initialised already: SQLITE_MISUSE, left as it is).
 *
 * Not more than 128 KiB: the in-memory journal is one chunk of this size,
 * written to the temp file in one write when it spills, and the unix VFS
 * writes at most 128 KiB at once (os_unix.c seekAndWriteFd masks the count
 * with 0x1ffff; SQLite itself never writes more). With 1 MiB a spilling
 * statement wrote 128,000 bytes, then 0, and failed with "database or disk
 * is full" (the 10M soak's push bookkeeping; test_store
 * a_batch_write_past_the_spill_succeeds). */
#define STORE_STMT_JOURNAL_SPILL (120 * 1024)

static pthread_once_t library_once = PTHREAD_ONCE_INIT;

static void configure_library(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, STORE_STMT_JOURNAL_SPILL);
}

int store_open(const struct store_options *opts, struct store **out, struct error *err)
{
    struct store *st = NULL;
    int flags;
    char pragma[128];
    int rc = -1;

    *out = NULL;
    (void)pthread_once(&library_once, configure_library);
    st = calloc(1, sizeof(*st));
    if (st == NULL) {
        error_set(err, "state: out of memory");
        goto out;
    }
    st->readonly = opts->readonly;
    flags = opts->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(opts->path, &st->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        error_set(err, "state: cannot open %s: %s", opts->path,
                  st->db ? sqlite3_errmsg(st->db) : "out of memory");
        goto out;
    }
    sqlite3_extended_result_codes(st->db, 1);
    snprintf(pragma, sizeof(pragma), "PRAGMA busy_timeout = %ld",
             opts->busy_timeout_ms > 0 ? opts->busy_timeout_ms : 5000);
    if (exec(st, pragma, err) != 0)
        goto out;
    if (opts->readonly ? check_reader_schema(st, opts->path, err) != 0
                       : setup_writer(st, opts, err) != 0)
        goto out;
    /* Foreign keys on, as the design asks; the schema declares none yet, so
     * this guards future migrations that add them. */
    if (exec(st, "PRAGMA foreign_keys = ON", err) != 0)
        goto out;
    /* crmsync_batch: the push bookkeeping's one statement per batch. */
    if (store_batch_register(st->db) != 0) {
        store_sql_error(st, err, "register crmsync_batch");
        goto out;
    }
    /* Bounded page cache: memory must not grow with the database. 2 MiB:
     * with 8 MiB the daemon's peak RSS was 40.6 MB pushing to Salesforce
     * and 39.6 MB ingesting over HTTP, against 28.1 and 32.3 MB (issue 17,
     * bench/README-salesforce.md); no cost to CPU per event or record
     * measurable in those runs. */
    if (exec(st, "PRAGMA cache_size = -2048", err) != 0)
        goto out;
    if (prepare_statements(st, opts->readonly, err) != 0)
        goto out;
    if (load_or_make_salt(st, err) != 0 || count_tombstones(st, err) != 0 ||
        load_compact_from(st, err) != 0 || store_audit_load_head(st, err) != 0)
        goto out;
    *out = st;
    st = NULL;
    rc = 0;
out:
    store_close(st);
    return rc;
}

void store_close(struct store *st)
{
    if (st == NULL)
        return;
    for (size_t i = 0; i < sizeof(stmt_defs) / sizeof(stmt_defs[0]); i++) {
        sqlite3_stmt **slot = (sqlite3_stmt **)((char *)st + stmt_defs[i].offset);
        sqlite3_finalize(*slot);
    }
    for (size_t i = 0; i < sizeof(st->lazy) / sizeof(st->lazy[0]); i++)
        sqlite3_finalize(st->lazy[i]);
    for (size_t i = 0; i < sizeof(st->txn) / sizeof(st->txn[0]); i++)
        sqlite3_finalize(st->txn[i]);
    for (size_t i = 0; i < sizeof(st->retention) / sizeof(st->retention[0]); i++)
        sqlite3_finalize(st->retention[i]);
    sqlite3_finalize(st->wal_autocheckpoint_q);
    if (st->in_txn)
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(st->db);
    free(st);
}

struct sqlite3 *store_db(struct store *st)
{
    return st->db;
}

/* Transaction control runs twice per pushed batch and once per ingest page:
 * prepared once instead of parsed by sqlite3_exec() every time. */
enum txn_stmt { TX_BEGIN, TX_COMMIT, TX_ROLLBACK, TX_SYNC_NORMAL, TX_SYNC_FULL, TX_COUNT };

static const char *const txn_sql[TX_COUNT] = {
    [TX_BEGIN] = "BEGIN IMMEDIATE",
    [TX_COMMIT] = "COMMIT",
    [TX_ROLLBACK] = "ROLLBACK",
    [TX_SYNC_NORMAL] = "PRAGMA synchronous = NORMAL",
    [TX_SYNC_FULL] = "PRAGMA synchronous = FULL",
};

_Static_assert(sizeof(((struct store *)0)->txn) / sizeof(sqlite3_stmt *) == TX_COUNT,
               "struct store's txn[] holds every transaction statement");

static int txn_exec(struct store *st, enum txn_stmt which, struct error *err)
{
    sqlite3_stmt **slot = &st->txn[which];
    int s;

    if (*slot == NULL && sqlite3_prepare_v3(st->db, txn_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
                                            slot, NULL) != SQLITE_OK) {
        if (err != NULL)
            error_set(err, "state: %s: %s", txn_sql[which], sqlite3_errmsg(st->db));
        return -1;
    }
    s = sqlite3_step(*slot);
    if (s != SQLITE_DONE && s != SQLITE_ROW && err != NULL)
        error_set(err, "state: %s: %s", txn_sql[which], sqlite3_errmsg(st->db));
    sqlite3_reset(*slot);
    return s == SQLITE_DONE || s == SQLITE_ROW ? 0 : -1;
}

int store_in_txn(const struct store *st)
{
    return st->in_txn;
}

int store_begin(struct store *st, struct error *err)
{
    if (txn_exec(st, TX_BEGIN, err) != 0)
        return -1;
    st->in_txn = 1;
    return 0;
}

/* A transaction whose loss at a power cut costs nothing but a redo (push
 * acknowledgements: the records are sent again, idempotently) need not
 * wait for an fsync. WAL frames are written in order, so the next FULL
 * commit makes this one durable too. */
int store_begin_relaxed(struct store *st, struct error *err)
{
    if (st->sync_full) {
        if (txn_exec(st, TX_SYNC_NORMAL, err) != 0)
            return -1;
        st->relaxed = 1;
    }
    if (store_begin(st, err) != 0) {
        store_end_relaxed(st);
        return -1;
    }
    return 0;
}

void store_end_relaxed(struct store *st)
{
    if (st->relaxed) {
        txn_exec(st, TX_SYNC_FULL, NULL);
        st->relaxed = 0;
    }
}

int store_commit(struct store *st, struct error *err)
{
    crashpoint("commit.before");
    if (txn_exec(st, TX_COMMIT, err) != 0) {
        /* A full disk: only a checkpoint gives the WAL's space back (a
         * TRUNCATE run copies it all and cuts the file to nothing), and
         * a checkpointer is otherwise asked only by commits that succeed.
         * Chaos disk-full: the WAL filled a 16 MiB disk, every commit failed,
         * no run was asked for again, and the daemon never recovered after
         * the space came back. */
        if ((sqlite3_errcode(st->db) & 0xff) == SQLITE_FULL && st->wal_due != NULL) {
            atomic_store(&st->wal_truncate, 1);
            st->wal_due(st->wal_due_arg, st->wal_frames);
        }
        store_rollback(st);
        return -1;
    }
    st->in_txn = 0;
    store_end_relaxed(st);
    crashpoint("commit.after");
    return 0;
}

/* Stands in for SQLite's automatic checkpoint during one commit: notes the
 * frames in the WAL and copies nothing. */
static int note_wal_frames(void *arg, sqlite3 *db, const char *name, int frames)
{
    struct store *st = arg;

    (void)db;
    (void)name;
    st->wal_frames = frames;
    return SQLITE_OK;
}

int store_commit_deferring_checkpoint(struct store *st, struct error *err)
{
    int rc, every = 0;

    /* A checkpointer copies the WAL on its own thread: no commit does. */
    if (st->wal_due != NULL)
        return store_commit(st, err);
    /* SQLite's automatic checkpoint as it is now (1,000 frames unless set
     * otherwise; 0: off), to put it back after this commit. */
    if (st->wal_autocheckpoint_q == NULL &&
        sqlite3_prepare_v3(st->db, "PRAGMA wal_autocheckpoint", -1, SQLITE_PREPARE_PERSISTENT,
                           &st->wal_autocheckpoint_q, NULL) != SQLITE_OK) {
        store_rollback(st);
        return store_sql_error(st, err, "read wal_autocheckpoint");
    }
    if (sqlite3_step(st->wal_autocheckpoint_q) == SQLITE_ROW)
        every = sqlite3_column_int(st->wal_autocheckpoint_q, 0);
    sqlite3_reset(st->wal_autocheckpoint_q);
    sqlite3_wal_hook(st->db, note_wal_frames, st);
    rc = store_commit(st, err);
    sqlite3_wal_autocheckpoint(st->db, every);
    return rc;
}

int store_wal_checkpoint(struct store *st, int min_frames, int *copied, struct error *err)
{
    int log = 0, done = 0;

    *copied = 0;
    if (st->readonly || st->in_txn || st->wal_due != NULL || st->wal_frames < min_frames)
        return 0;
    if (sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done) !=
        SQLITE_OK) {
        if (sqlite3_errcode(st->db) == SQLITE_BUSY || sqlite3_errcode(st->db) == SQLITE_LOCKED)
            return 1;
        return store_sql_error(st, err, "WAL checkpoint");
    }
    /* A reader may keep the last frames in the WAL (PASSIVE does not wait
     * for it): the next deferring commit notes them again. */
    st->wal_frames = 0;
    *copied = done > 0 ? done : 1;
    return 0;
}

int store_checkpoint_after_erasure(struct store *st, int force, struct error *err)
{
    int log = 0, done = 0;

    if (st->readonly || st->in_txn || (!force && !st->erased_since_checkpoint))
        return 0;
    /* TRUNCATE: every frame copied into the database and the WAL file cut to
     * zero bytes, so the erased rows' old pages leave the WAL now, not at
     * the next automatic checkpoint. Busy (a reader) is not an error: it
     * is tried again at the next call. */
    if (sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &done) !=
        SQLITE_OK) {
        if (sqlite3_errcode(st->db) == SQLITE_BUSY || sqlite3_errcode(st->db) == SQLITE_LOCKED)
            return 1;
        return store_sql_error(st, err, "checkpoint after an erasure");
    }
    st->erased_since_checkpoint = 0;
    return 0;
}

void store_rollback(struct store *st)
{
    txn_exec(st, TX_ROLLBACK, NULL);
    st->in_txn = 0;
    store_end_relaxed(st);
    /* In-memory mirrors of table contents must follow the rollback. */
    store_audit_load_head(st, NULL);
    count_tombstones(st, NULL);
}

int store_dead_letter_add(struct store *st, const struct dead_letter_in *dl, struct error *err)
{
    sqlite3_stmt *q = st->ins_dead;
    int rc = -1;

    sqlite3_bind_text(q, 1, dl->destination, -1, SQLITE_STATIC);
    sqlite3_bind_null(q, 2);
    sqlite3_bind_text(q, 3, dl->origin, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, dl->member_key, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, dl->field, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 6, dl->payload, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 7, dl->source, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 8, dl->reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 9, timefmt_now_ms());
    if (dl->idem_key != NULL)
        sqlite3_bind_text(q, 10, dl->idem_key, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE) {
        store_sql_error(st, err, "insert dead letter");
        goto out;
    }
    rc = 0;
out:
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return rc;
}

int store_get_watermark(struct store *st, const char *connector, char **out, struct error *err)
{
    sqlite3_stmt *q = st->get_wm;
    int rc = -1;
    int s;

    *out = NULL;
    sqlite3_bind_text(q, 1, connector, -1, SQLITE_STATIC);
    s = sqlite3_step(q);
    if (s == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(q, 0);
        if (t != NULL) {
            *out = strdup((const char *)t);
            if (*out == NULL) {
                error_set(err, "state: out of memory");
                goto out;
            }
        }
    } else if (s != SQLITE_DONE) {
        store_sql_error(st, err, "read watermark");
        goto out;
    }
    rc = 0;
out:
    sqlite3_reset(q);
    return rc;
}

int store_set_watermark(struct store *st, const char *connector, const char *json,
                        struct error *err)
{
    sqlite3_stmt *q = st->set_wm;
    int rc = -1;

    sqlite3_bind_text(q, 1, connector, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, json, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, timefmt_now_ms());
    if (sqlite3_step(q) != SQLITE_DONE) {
        store_sql_error(st, err, "set watermark");
        goto out;
    }
    rc = 0;
out:
    sqlite3_reset(q);
    return rc;
}

int store_ingest_file_begin(struct store *st, const char *connector, const char *name, int64_t *id,
                            struct error *err)
{
    sqlite3_stmt *q = st->ins_ingest;
    int rc = -1;

    sqlite3_bind_text(q, 1, connector, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, timefmt_now_ms());
    if (sqlite3_step(q) != SQLITE_DONE) {
        store_sql_error(st, err, "record ingest file");
        goto out;
    }
    *id = sqlite3_last_insert_rowid(st->db);
    rc = 0;
out:
    sqlite3_reset(q);
    return rc;
}

int store_ingest_file_finish(struct store *st, int64_t id, const struct ingest_stats *s,
                             const char *status, struct error *err)
{
    sqlite3_stmt *q = st->upd_ingest;
    int rc = -1;

    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, timefmt_now_ms());
    sqlite3_bind_int64(q, 3, s->lines);
    sqlite3_bind_int64(q, 4, s->applied);
    sqlite3_bind_int64(q, 5, s->unchanged);
    sqlite3_bind_int64(q, 6, s->duplicates);
    sqlite3_bind_int64(q, 7, s->rejected);
    sqlite3_bind_text(q, 8, status, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE) {
        store_sql_error(st, err, "update ingest file");
        goto out;
    }
    rc = 0;
out:
    sqlite3_reset(q);
    return rc;
}

int store_record_resync(struct store *st, const char *connector, struct error *err)
{
    sqlite3_stmt *q = st->ins_resync;
    int rc = -1;

    if (connector != NULL)
        sqlite3_bind_text(q, 1, connector, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, 1);
    sqlite3_bind_int64(q, 2, timefmt_now_ms());
    if (sqlite3_step(q) != SQLITE_DONE) {
        store_sql_error(st, err, "record resync");
        goto out;
    }
    rc = 0;
out:
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return rc;
}

int store_points_balance(struct store *st, const char *member_key, int64_t at_ms, int64_t *balance,
                         struct error *err)
{
    sqlite3_stmt *q = st->balance;
    int rc = -1;

    sqlite3_bind_text(q, 1, member_key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, at_ms);
    if (sqlite3_step(q) != SQLITE_ROW) {
        store_sql_error(st, err, "points balance");
        goto out;
    }
    *balance = sqlite3_column_int64(q, 0);
    rc = 0;
out:
    sqlite3_reset(q);
    return rc;
}
