/* The store: migrations, apply in one transaction, idempotency, dead letters,
 * erasure and the audit chain, on a real SQLite file. */
#include "cmocka_setup.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "change_json.h"
#include "schema.h"
#include "store.h"
#include "store_ctl.h"
#include "store_holds.h"
#include "store_push.h"
#include "store_retention.h"
#include "timefmt.h"
#include "tmp_store.h"

#define T0 1790000000000LL /* 2026-09-21, safely in the past */

struct fixture {
    char dir[64];
    char path[128];
    struct store *st;
    struct merge_policy policy;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    tmp_store_open(f->dir, f->path, "store", &f->st);
    f->policy.now_ms = timefmt_now_ms();
    f->policy.future_tolerance_ms = 300000;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    tmp_store_remove(f->dir, f->st);
    free(f);
    return 0;
}

static long count(struct store *st, const char *sql)
{
    sqlite3_stmt *q = NULL;
    long n = -1;
    assert_int_equal(sqlite3_prepare_v2(store_db(st), sql, -1, &q, NULL), SQLITE_OK);
    if (sqlite3_step(q) == SQLITE_ROW)
        n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return n;
}

static enum apply_result apply1(struct fixture *f, struct change *c)
{
    enum apply_result r;
    struct error err;
    assert_int_equal(store_begin(f->st, &err), 0);
    assert_int_equal(store_apply(f->st, c, &f->policy, &r, &err), 0);
    assert_int_equal(store_commit(f->st, &err), 0);
    return r;
}

static void consent_change(struct change *c, char **json, const char *idem, enum consent_status s,
                           int64_t at)
{
    memset(c, 0, sizeof(*c));
    c->origin = "shop";
    c->member_key = "M1";
    c->kind = CHANGE_CONSENT;
    c->field = "consent/marketing/email";
    c->idem_key = idem;
    c->occurred_at = at;
    c->consent.status = s;
    c->consent.collected_at = at;
    c->consent.source = "web_form";
    c->consent.legal_basis = "consent";
    *json = consent_value_to_json(&c->consent);
    c->value_json = *json;
}

static void schema_is_at_latest_version(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(count(f->st, "PRAGMA user_version"), schema_latest_version());
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('changes',"
                                  "'current','points_ledger','identities','cursors','shadow',"
                                  "'dead_letters','audit','tombstones')"),
                     9);
}

static void duplicate_idem_key_adds_nothing(void **state)
{
    struct fixture *f = *state;
    struct change c;
    char *json;
    consent_change(&c, &json, "shop:e1", CONSENT_GRANTED, T0);
    assert_int_equal(apply1(f, &c), APPLY_APPLIED);
    assert_int_equal(apply1(f, &c), APPLY_DUPLICATE);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM changes"), 1);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM audit"), 1);
    free(json);
}

static void withdrawal_survives_older_grant(void **state)
{
    struct fixture *f = *state;
    struct change c;
    char *json1, *json2;
    consent_change(&c, &json1, "shop:e1", CONSENT_DENIED, T0);
    assert_int_equal(apply1(f, &c), APPLY_APPLIED);
    consent_change(&c, &json2, "shop:e2", CONSENT_GRANTED, T0 - 5000);
    assert_int_equal(apply1(f, &c), APPLY_UNCHANGED);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM current WHERE value LIKE "
                                  "'%\"status\":\"denied\"%'"),
                     1);
    /* Both are in the change-log, only the first fans out. */
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM changes WHERE effective = 1"), 1);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM changes"), 2);
    free(json1);
    free(json2);
}

static void points_conflict_is_dead_lettered(void **state)
{
    struct fixture *f = *state;
    struct change c;
    char *json;
    struct error err;
    int64_t bal;
    memset(&c, 0, sizeof(c));
    c.origin = "shop";
    c.member_key = "M1";
    c.kind = CHANGE_POINTS;
    c.field = "points/T1";
    c.idem_key = "shop:p1";
    c.source_ref = "a.jsonl:3";
    c.points = (struct points_txn){"T1", 100, "earn", T0, 0};
    c.occurred_at = T0;
    json = points_txn_to_json(&c.points);
    c.value_json = json;
    assert_int_equal(apply1(f, &c), APPLY_APPLIED);
    c.idem_key = "shop:p2"; /* same txn again under another event id */
    assert_int_equal(apply1(f, &c), APPLY_UNCHANGED);
    c.idem_key = "shop:p3";
    c.points.delta = 999;
    assert_int_equal(apply1(f, &c), APPLY_REJECTED);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM dead_letters WHERE source = "
                                  "'a.jsonl:3' AND reason LIKE 'conflicting body%'"),
                     1);
    assert_int_equal(store_points_balance(f->st, "M1", T0, &bal, &err), 0);
    assert_int_equal(bal, 100);
    free(json);
}

/* Issue 14 item 2: a grant with id dup-2, then a withdrawal with the same
 * id, was counted as a duplicate and the member stayed granted without a
 * word. The same key with another body is a conflict: a dead letter naming
 * the file:line, an error saying so, and nothing applied. */
static void an_event_id_reused_with_another_body_is_a_conflict(void **state)
{
    struct fixture *f = *state;
    struct change c;
    char *grant, *denial;
    enum apply_result r;
    struct error err = {""};

    consent_change(&c, &grant, "shop:dup-2", CONSENT_GRANTED, T0);
    c.source_ref = "a.jsonl:1";
    assert_int_equal(apply1(f, &c), APPLY_APPLIED);
    assert_int_equal(apply1(f, &c), APPLY_DUPLICATE);
    consent_change(&c, &denial, "shop:dup-2", CONSENT_DENIED, T0 + 1000);
    c.source_ref = "a.jsonl:2";
    assert_int_equal(store_begin(f->st, &err), 0);
    assert_int_equal(store_apply(f->st, &c, &f->policy, &r, &err), 0);
    assert_int_equal(store_commit(f->st, &err), 0);
    assert_int_equal(r, APPLY_REJECTED);
    assert_non_null(strstr(err.msg, "a.jsonl:2"));
    assert_non_null(strstr(err.msg, "different body"));
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM dead_letters WHERE source = 'a.jsonl:2'"
                                  " AND seq IS NULL AND reason LIKE '%different body%'"),
                     1);
    /* Read again (the file after a crash): still a conflict, one dead letter. */
    assert_int_equal(apply1(f, &c), APPLY_REJECTED);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM dead_letters"), 1);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM current WHERE value LIKE "
                                  "'%\"status\":\"granted\"%'"),
                     1);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM changes"), 1);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM idem_keys"), 1);
    free(grant);
    free(denial);
}

/* A database of schema 8 carries its change-log's keys over with the hash
 * of their stored bodies: the same event is a duplicate afterwards, the
 * same id with another body a conflict. */
static void the_v9_migration_keeps_the_keys_with_their_bodies(void **state)
{
    struct fixture *f = *state;
    struct store_options o = {0};
    struct change c;
    char *grant, *denial;
    struct error err;

    consent_change(&c, &grant, "shop:e7", CONSENT_GRANTED, T0);
    assert_int_equal(apply1(f, &c), APPLY_APPLIED);
    assert_int_equal(sqlite3_exec(store_db(f->st), "DROP TABLE idem_keys; PRAGMA user_version = 8;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    store_close(f->st);
    o.path = f->path;
    assert_int_equal(store_open(&o, &f->st, &err), 0);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM idem_keys"), 1);
    assert_int_equal(apply1(f, &c), APPLY_DUPLICATE);
    consent_change(&c, &denial, "shop:e7", CONSENT_DENIED, T0);
    assert_int_equal(apply1(f, &c), APPLY_REJECTED);
    free(grant);
    free(denial);
}

/* Issue 15, leaner rows: the change-log keeps no index of the ingest's
 * keys (idem_keys decides duplicates), only one over the rows a repair or
 * a re-send appends, which still queue once per key. */
static void the_change_log_indexes_only_what_its_queries_read(void **state)
{
    struct fixture *f = *state;
    struct change c;
    char *json;
    struct error err = {""};
    int added = -1;

    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index'"
                                  " AND tbl_name = 'changes'"),
                     3);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index'"
                                  " AND tbl_name = 'changes' AND name IN ('changes_member',"
                                  " 'changes_push', 'changes_appended')"),
                     3);
    consent_change(&c, &json, "shop:l1", CONSENT_GRANTED, T0);
    assert_int_equal(apply1(f, &c), APPLY_APPLIED);
    assert_int_equal(apply1(f, &c), APPLY_DUPLICATE);
    assert_int_equal(store_begin(f->st, &err), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(store_append_repair(f->st, "M1", CHANGE_CONSENT, c.field, json,
                                             LANE_URGENT, "repair:hs:M1:x:y", &added, &err),
                         0);
        assert_int_equal(added, i == 0);
        assert_int_equal(store_append_resend(f->st, "hs", "M1", CHANGE_CONSENT, c.field, json,
                                             LANE_URGENT, "resend:hs:M1:x:k", &added, &err),
                         0);
        assert_int_equal(added, i == 0);
    }
    assert_int_equal(store_commit(f->st, &err), 0);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM changes"), 3);
    free(json);
}

/* A database of schema 12 (changes.idem_key UNIQUE) is rebuilt without that
 * index, every row kept; its keys still make a re-read a duplicate. */
static void the_v13_migration_drops_the_second_key_index(void **state)
{
    struct fixture *f = *state;
    struct store_options o = {0};
    struct change c;
    char *json;
    struct error err;

    consent_change(&c, &json, "shop:l2", CONSENT_GRANTED, T0);
    assert_int_equal(apply1(f, &c), APPLY_APPLIED);
    assert_int_equal(
        sqlite3_exec(
            store_db(f->st),
            "BEGIN; DROP INDEX changes_appended; CREATE TABLE old AS SELECT * FROM changes;"
            " DROP TABLE changes; CREATE TABLE changes (seq INTEGER PRIMARY KEY,"
            " origin TEXT NOT NULL, member_key TEXT NOT NULL, kind TEXT NOT NULL,"
            " field TEXT NOT NULL, value TEXT NOT NULL, occurred_at INTEGER NOT NULL,"
            " received_at INTEGER NOT NULL, idem_key TEXT NOT NULL UNIQUE,"
            " effective INTEGER NOT NULL, lane INTEGER NOT NULL);"
            " INSERT INTO changes SELECT * FROM old; DROP TABLE old;"
            " CREATE INDEX changes_member ON changes(member_key);"
            " CREATE INDEX changes_push ON changes(lane, seq) WHERE effective = 1;"
            " PRAGMA user_version = 12; COMMIT;",
            NULL, NULL, NULL),
        SQLITE_OK);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM sqlite_master WHERE name ="
                                  " 'sqlite_autoindex_changes_1'"),
                     1);
    store_close(f->st);
    o.path = f->path;
    assert_int_equal(store_open(&o, &f->st, &err), 0);
    assert_int_equal(count(f->st, "PRAGMA user_version"), schema_latest_version());
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM sqlite_master WHERE name ="
                                  " 'sqlite_autoindex_changes_1'"),
                     0);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM changes WHERE idem_key = 'shop:l2'"
                                  " AND member_key = 'M1' AND effective = 1"),
                     1);
    assert_int_equal(apply1(f, &c), APPLY_DUPLICATE);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM changes"), 1);
    free(json);
}

/* Issue 15, leaner rows: schema 14 rebuilds audit without what a row
 * stored twice (prev_hash, member_key, payload_hash while the payload is
 * there) and with a 16-digit member index; the chain, audit verify and
 * member export hold over the rows it carried over, an erased member's
 * row keeps its payload hash, and new rows chain on. */
static void the_v14_migration_keeps_the_audit_chain_in_leaner_rows(void **state)
{
    struct fixture *f = *state;
    struct store_options o = {0};
    struct change c, e;
    char *j1, *j2, *j3, *j4;
    struct error err = {""};
    int64_t rows = 0, bad = -1;
    json_t *doc = NULL;

    consent_change(&c, &j1, "shop:v1", CONSENT_GRANTED, T0);
    assert_int_equal(apply1(f, &c), APPLY_APPLIED);
    consent_change(&c, &j2, "shop:v2", CONSENT_GRANTED, T0);
    c.member_key = "M2";
    assert_int_equal(apply1(f, &c), APPLY_APPLIED);
    consent_change(&c, &j3, "shop:v3", CONSENT_DENIED, T0 + 1000);
    assert_int_equal(apply1(f, &c), APPLY_APPLIED);
    memset(&e, 0, sizeof(e));
    e.origin = "shop";
    e.member_key = "M2";
    e.kind = CHANGE_ERASE;
    e.field = "erase";
    e.value_json = "{}";
    e.idem_key = "shop:v4";
    e.occurred_at = T0 + 2000;
    assert_int_equal(apply1(f, &e), APPLY_APPLIED);
    /* The table as schema 13 had it: every row with its previous row's
     * hash, its payload's hash and the member key (blanked by erasure). */
    assert_int_equal(
        sqlite3_exec(
            store_db(f->st),
            "BEGIN; CREATE TABLE old AS SELECT id, seq, member_hash,"
            " CASE WHEN payload IS NULL THEN NULL ELSE 'M1' END AS member_key, field, payload,"
            " COALESCE(payload_hash, crmsync_sha256(payload)) AS payload_hash, recorded_at,"
            " COALESCE(LAG(hash) OVER (ORDER BY id), '') AS prev_hash, hash FROM audit;"
            " DROP TABLE audit; CREATE TABLE audit (id INTEGER PRIMARY KEY,"
            " seq INTEGER NOT NULL, member_hash TEXT NOT NULL, member_key TEXT,"
            " field TEXT NOT NULL, payload TEXT, payload_hash TEXT NOT NULL,"
            " recorded_at INTEGER NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
            " INSERT INTO audit SELECT * FROM old; DROP TABLE old;"
            " CREATE INDEX audit_member ON audit(member_hash);"
            " PRAGMA user_version = 13; COMMIT;",
            NULL, NULL, NULL),
        SQLITE_OK);
    store_close(f->st);
    o.path = f->path;
    assert_int_equal(store_open(&o, &f->st, &err), 0);
    assert_int_equal(count(f->st, "PRAGMA user_version"), schema_latest_version());
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM pragma_table_info('audit')"
                                  " WHERE name IN ('prev_hash', 'member_key')"),
                     0);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM audit"), 3);
    /* Live payloads without their hash; the erased one with it. */
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM audit WHERE payload IS NOT NULL"
                                  " AND payload_hash IS NULL"),
                     2);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM audit WHERE payload IS NULL"
                                  " AND length(payload_hash) = 64"),
                     1);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM sqlite_master WHERE name ="
                                  " 'audit_member' AND sql LIKE '%substr(member_hash, 1, 16)%'"),
                     1);
    assert_int_equal(store_audit_verify(f->st, &rows, &bad, &err), 0);
    assert_int_equal(rows, 3);
    assert_int_equal(bad, 0);
    assert_int_equal(store_ctl_member_export(f->st, "M1", &doc, &err), 0);
    assert_int_equal(json_array_size(json_object_get(doc, "consent_events")), 2);
    json_decref(doc);
    /* New rows chain on from the migrated ones. */
    consent_change(&c, &j4, "shop:v5", CONSENT_GRANTED, T0 + 3000);
    assert_int_equal(apply1(f, &c), APPLY_APPLIED);
    assert_int_equal(store_audit_verify(f->st, &rows, &bad, &err), 0);
    assert_int_equal(rows, 4);
    assert_int_equal(bad, 0);
    /* A changed payload still shows: its hash no longer matches the row's. */
    assert_int_equal(sqlite3_exec(store_db(f->st),
                                  "UPDATE audit SET payload = replace(payload, 'granted',"
                                  " 'denied') WHERE id = (SELECT MAX(id) FROM audit)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(store_audit_verify(f->st, &rows, &bad, &err), 0);
    assert_int_equal(bad, count(f->st, "SELECT MAX(id) FROM audit"));
    free(j1);
    free(j2);
    free(j3);
    free(j4);
}

static int count_stmt(unsigned type, void *ctx, void *p, void *x)
{
    (void)type;
    (void)p;
    (void)x;
    (*(int *)ctx)++;
    return 0;
}

/* Issue 17: the push bookkeeping of a batch is one SQL statement per kind
 * (shadow sent, shadow confirmed, identities, audit acks, shadow read),
 * whatever the batch's size, with the per-record statements' results. */
static void batch_bookkeeping_runs_one_statement_per_batch(void **state)
{
    struct fixture *f = *state;
    struct error err = {""};
    struct push_key k[150];
    char members[150][16], fields[150][16], hashes[150][65], got[150][65];
    const char *id_members[150], *remote[150];
    char remotes[150][16];
    int64_t seqs[150];
    int found[150], stmts = 0;

    for (int i = 0; i < 150; i++) {
        snprintf(members[i], sizeof(members[i]), "M%d", i / 3);
        snprintf(fields[i], sizeof(fields[i]), "f%d", i % 3);
        snprintf(hashes[i], sizeof(hashes[i]), "h%d", i);
        snprintf(remotes[i], sizeof(remotes[i]), "r%d", i);
        k[i] = (struct push_key){members[i], fields[i], hashes[i]};
        id_members[i] = members[i];
        remote[i] = remotes[i];
        seqs[i] = 1000 + i;
    }
    assert_int_equal(store_begin(f->st, &err), 0);
    /* A first sending, then another value sent for the first 10. */
    assert_int_equal(store_shadow_sent_batch(f->st, "hs", k, 150, &err), 0);
    for (int i = 0; i < 10; i++)
        snprintf(hashes[i], sizeof(hashes[i]), "s%d", i);
    sqlite3_trace_v2(store_db(f->st), SQLITE_TRACE_STMT, count_stmt, &stmts);
    assert_int_equal(store_shadow_sent_batch(f->st, "hs", k, 10, &err), 0);
    assert_int_equal(stmts, 1);
    assert_int_equal(store_shadow_put_batch(f->st, "hs", k + 10, 140, &err), 0);
    assert_int_equal(stmts, 2);
    /* Every third record is a member's first: one identity each. */
    assert_int_equal(store_identity_put_batch(f->st, "hs", id_members, remote, 150, &err), 0);
    assert_int_equal(stmts, 3);
    assert_int_equal(store_audit_ack_batch(f->st, seqs, 150, "hs", &err), 0);
    assert_int_equal(store_audit_ack_batch(f->st, seqs, 150, "hs", &err), 0);
    assert_int_equal(stmts, 5);
    assert_int_equal(store_shadow_get_batch(f->st, "hs", k, 150, got, found, &err), 0);
    assert_int_equal(stmts, 6);
    assert_int_equal(store_shadow_get_batch(f->st, "other", k, 150, got, found, &err), 0);
    assert_int_equal(stmts, 7);
    for (int i = 0; i < 150; i++)
        assert_int_equal(found[i], 0);
    assert_int_equal(store_shadow_sent_batch(f->st, "hs", k, 0, &err), 0);
    assert_int_equal(store_shadow_get_batch(f->st, "hs", k, 0, got, found, &err), 0);
    assert_int_equal(stmts, 7); /* nothing runs for an empty batch */
    sqlite3_trace_v2(store_db(f->st), 0, NULL, NULL);
    assert_int_equal(store_commit(f->st, &err), 0);

    assert_int_equal(store_shadow_get_batch(f->st, "hs", k, 150, got, found, &err), 0);
    for (int i = 0; i < 150; i++) {
        assert_int_equal(found[i], 1);
        assert_string_equal(got[i], i < 10 ? "" : hashes[i]);
    }
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM shadow WHERE destination = 'hs'"), 150);
    /* The sent hash and the one before it, as store_shadow_sent() keeps them. */
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM shadow WHERE member_key = 'M0'"
                                  " AND field = 'f0' AND sent_hash = 's0'"
                                  " AND sent_prev_hash = 'h0' AND value_hash = ''"),
                     1);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM shadow WHERE sent_hash = value_hash"), 140);
    /* Records of one member in a row: the last remote id stands, as the
     * per-record upserts left it. */
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM identities WHERE system = 'hs'"), 50);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM identities WHERE member_key = 'M0'"
                                  " AND remote_id = 'r2'"),
                     1);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM audit_acks WHERE system = 'hs'"), 150);
}

static int count_row(void *ctx, const struct push_row *row)
{
    (void)row;
    (*(int *)ctx)++;
    return 0;
}

static void set_cursors(struct fixture *f, const char *dest, int64_t seq)
{
    struct error err;
    assert_int_equal(store_begin(f->st, &err), 0);
    for (int lane = 0; lane < 3; lane++)
        assert_int_equal(store_push_cursor_set(f->st, dest, lane, seq, &err), 0);
    assert_int_equal(store_commit(f->st, &err), 0);
}

static int64_t compact(struct fixture *f, const char *dest, int64_t retention_ms)
{
    const char *dests[] = {dest};
    struct error err = {""};
    int64_t deleted = -1;
    int more = -1;
    assert_int_equal(store_compact_step(f->st, dests, dest != NULL ? 1 : 0, retention_ms,
                                        timefmt_now_ms(), &deleted, &more, &err),
                     0);
    assert_int_equal(more, 0);
    return deleted;
}

/* Issue 15: a change every destination has passed and older than the
 * retention is deleted, except what the snapshot is made of (the change
 * current points to, a ledger transaction's, an erasure) and the newest;
 * a resync from cursor 0 reads exactly the snapshot. */
static void compaction_keeps_the_snapshot_and_what_is_not_passed(void **state)
{
    struct fixture *f = *state;
    struct change c;
    char *j1, *j2, *j3, *j4, *pj;
    struct error err = {""};
    int n = 0, rows = 0;

    consent_change(&c, &j1, "shop:c1", CONSENT_GRANTED, T0);
    assert_int_equal(apply1(f, &c), APPLY_APPLIED); /* seq 1, superseded by 2 */
    consent_change(&c, &j2, "shop:c2", CONSENT_DENIED, T0 + 1000);
    assert_int_equal(apply1(f, &c), APPLY_APPLIED); /* seq 2, current */
    consent_change(&c, &j3, "shop:c3", CONSENT_GRANTED, T0 - 1000);
    assert_int_equal(apply1(f, &c), APPLY_UNCHANGED); /* seq 3, changed nothing */
    memset(&c, 0, sizeof(c));
    c.origin = "shop";
    c.member_key = "M2";
    c.kind = CHANGE_POINTS;
    c.field = "points/T1";
    c.idem_key = "shop:p1";
    c.points = (struct points_txn){"T1", 100, "earn", T0, 0};
    c.occurred_at = T0;
    pj = points_txn_to_json(&c.points);
    c.value_json = pj;
    assert_int_equal(apply1(f, &c), APPLY_APPLIED); /* seq 4, ledger */
    consent_change(&c, &j4, "shop:c4", CONSENT_GRANTED, T0);
    c.member_key = "M3";
    assert_int_equal(apply1(f, &c), APPLY_APPLIED); /* seq 5, current, newest */

    /* No cursor has passed anything. */
    assert_int_equal(compact(f, "hs", 0), 0);
    set_cursors(f, "hs", 5);
    /* Passed, but younger than the retention. */
    assert_int_equal(compact(f, "hs", 3600 * 1000), 0);
    assert_int_equal(compact(f, "hs", 0), 2);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM changes WHERE seq IN (2, 4, 5)"), 3);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM changes"), 3);
    /* A resync (cursors back to 0) reads the snapshot and nothing is
     * compacted while it runs. */
    assert_int_equal(store_begin(f->st, &err), 0);
    assert_int_equal(store_resync_reset(f->st, "hs", &err), 0);
    assert_int_equal(store_commit(f->st, &err), 0);
    for (int lane = 0; lane < 3; lane++) {
        assert_int_equal(store_push_read(f->st, lane, 0, 0, 100, count_row, &rows, &n, &err), 0);
    }
    assert_int_equal(rows, 3);
    assert_int_equal(compact(f, "hs", 0), 0);
    /* A value compaction kept as the latest, superseded later, goes then
     * (compaction has passed it and would not look at it again). */
    set_cursors(f, "hs", 5);
    free(j1);
    consent_change(&c, &j1, "shop:c5", CONSENT_GRANTED, T0 + 5000);
    assert_int_equal(apply1(f, &c), APPLY_APPLIED); /* seq 6 supersedes 2 */
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM changes WHERE seq = 2"), 0);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM changes"), 3);
    free(j1);
    free(j2);
    free(j3);
    free(j4);
    free(pj);
}

/* Issue 19: every kind of change is acknowledged (member export's
 * acknowledged_by), so compaction deletes a change's acknowledgements with
 * it; a consent change's stay, with its audit row (which outlives it). */
static void compaction_deletes_acks_with_their_changes(void **state)
{
    struct fixture *f = *state;
    struct change c;
    char *j1, *j2;
    struct error err = {""};
    const int64_t seqs[] = {1, 2, 3, 4, 5};

    consent_change(&c, &j1, "shop:a1", CONSENT_GRANTED, T0);
    assert_int_equal(apply1(f, &c), APPLY_APPLIED); /* seq 1, superseded by 2 */
    consent_change(&c, &j2, "shop:a2", CONSENT_DENIED, T0 + 1000);
    assert_int_equal(apply1(f, &c), APPLY_APPLIED); /* seq 2, current */
    memset(&c, 0, sizeof(c));
    c.origin = "shop";
    c.member_key = "M1";
    c.kind = CHANGE_PROFILE;
    c.field = "profile/first_name";
    c.idem_key = "shop:a3";
    c.value_json = "{\"value\":\"Ann\"}";
    c.occurred_at = T0;
    assert_int_equal(apply1(f, &c), APPLY_APPLIED); /* seq 3, superseded by 4 */
    c.idem_key = "shop:a4";
    c.value_json = "{\"value\":\"Anna\"}";
    c.occurred_at = T0 + 1000;
    assert_int_equal(apply1(f, &c), APPLY_APPLIED); /* seq 4, current */
    c.member_key = "M2";
    c.idem_key = "shop:a5";
    assert_int_equal(apply1(f, &c), APPLY_APPLIED); /* seq 5, the newest */
    assert_int_equal(store_begin(f->st, &err), 0);
    assert_int_equal(store_audit_ack_batch(f->st, seqs, 5, "hs", &err), 0);
    assert_int_equal(store_commit(f->st, &err), 0);
    set_cursors(f, "hs", 5);

    assert_int_equal(compact(f, "hs", 0), 2); /* seq 1 and 3 */
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM audit_acks WHERE seq = 3"), 0);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM audit_acks WHERE seq = 1"), 1);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM audit_acks WHERE seq IN (2, 4, 5)"), 3);
    free(j1);
    free(j2);
}

/* Issue 15: an event replayed after its key left the dedup window is
 * harmless: the merge rules make an older value a no-op. */
static void a_replay_after_the_dedup_window_is_harmless(void **state)
{
    struct fixture *f = *state;
    struct change c;
    char *grant, *denial;
    struct error err = {""};
    int64_t deleted = 0;
    int more = 0;

    consent_change(&c, &grant, "shop:r1", CONSENT_GRANTED, T0);
    assert_int_equal(apply1(f, &c), APPLY_APPLIED);
    consent_change(&c, &denial, "shop:r2", CONSENT_DENIED, T0 + 1000);
    assert_int_equal(apply1(f, &c), APPLY_APPLIED);
    assert_int_equal(compact(f, NULL, 0), 1); /* the superseded grant */
    /* A window of 1 h, an hour and a second later: both keys go. */
    assert_int_equal(store_idem_prune_step(f->st, 3600 * 1000, timefmt_now_ms() + 3601 * 1000,
                                           &deleted, &more, &err),
                     0);
    assert_int_equal(deleted, 2);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM idem_keys"), 0);
    free(grant);
    consent_change(&c, &grant, "shop:r1", CONSENT_GRANTED, T0);
    assert_int_equal(apply1(f, &c), APPLY_UNCHANGED);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM current WHERE value LIKE "
                                  "'%\"status\":\"denied\"%'"),
                     1);
    /* Inside the window nothing is pruned. */
    assert_int_equal(
        store_idem_prune_step(f->st, 3600 * 1000, timefmt_now_ms(), &deleted, &more, &err), 0);
    assert_int_equal(deleted, 0);
    free(grant);
    free(denial);
}

/* Issue 17 (and 15, 16): the page cache is 2 MiB. With 8 MiB the daemon's
 * peak RSS was 40.6 MB pushing 30,000 members to Salesforce and 39.6 MB in
 * the HTTP ingest bench, against 28.1 and 32.3 MB (target <= 32 MB). */
static void the_page_cache_is_2_mib(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(count(f->st, "PRAGMA cache_size"), -2048);
}

/* The live statement whose text is sql, and how many there are. */
static sqlite3_stmt *live_statement(struct store *st, const char *sql, int *n)
{
    sqlite3_stmt *s = NULL, *found = NULL;

    *n = 0;
    while ((s = sqlite3_next_stmt(store_db(st), s)) != NULL) {
        if (sqlite3_sql(s) != NULL && strcmp(sqlite3_sql(s), sql) == 0) {
            found = s;
            (*n)++;
        }
    }
    return found;
}

/* Issue 15: a retention step runs every 10 ms while there is work; its
 * statements are prepared once per store (and finalized by store_close),
 * not parsed again every step. */
static void retention_statements_are_prepared_once(void **state)
{
    struct fixture *f = *state;
    struct change c;
    char *j1, *j2;
    const char *sql;
    struct error err = {""};
    int64_t deleted = 0;
    int more = 0, n = 0, checked = 0;
    sqlite3_stmt *q;

    consent_change(&c, &j1, "shop:p1", CONSENT_GRANTED, T0);
    assert_int_equal(apply1(f, &c), APPLY_APPLIED);
    consent_change(&c, &j2, "shop:p2", CONSENT_DENIED, T0 + 1000);
    assert_int_equal(apply1(f, &c), APPLY_APPLIED);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(compact(f, NULL, 0), i == 0 ? 1 : 0);
        assert_int_equal(
            store_idem_prune_step(f->st, 3600 * 1000, timefmt_now_ms(), &deleted, &more, &err), 0);
    }
    /* The scans each step runs (one batch here) are there once, and have
     * run three times. */
    for (size_t i = 0; (sql = store_retention_statement(i)) != NULL; i++) {
        if (strncmp(sql, "SELECT seq, lane,", 17) == 0 ||
            strncmp(sql, "SELECT id, seen_at FROM idem_keys", 33) == 0) {
            q = live_statement(f->st, sql, &n);
            assert_int_equal(n, 1);
            assert_int_equal(sqlite3_stmt_status(q, SQLITE_STMTSTATUS_RUN, 0), 3);
            checked++;
        }
    }
    assert_int_equal(checked, 2);
    free(j1);
    free(j2);
}

/* Issue 15: a retention step commits without SQLite's automatic
 * checkpoint (which made a step last 80-300 ms, bench/bench_compact) and
 * leaves it to store_wal_checkpoint(), due once the steps left enough
 * frames in the WAL; the automatic checkpoint setting is as it was after
 * the step, for ingest and push. */
static void a_retention_step_leaves_the_checkpoint_to_its_own_turn(void **state)
{
    struct fixture *f = *state;
    struct change c;
    char *j1, *j2;
    struct error err = {""};
    int copied = -1;

    assert_int_equal(
        sqlite3_exec(store_db(f->st), "PRAGMA wal_autocheckpoint = 7", NULL, NULL, NULL),
        SQLITE_OK);
    consent_change(&c, &j1, "shop:w1", CONSENT_GRANTED, T0);
    assert_int_equal(apply1(f, &c), APPLY_APPLIED);
    consent_change(&c, &j2, "shop:w2", CONSENT_DENIED, T0 + 1000);
    assert_int_equal(apply1(f, &c), APPLY_APPLIED);
    /* No retention step has run: nothing is due. */
    assert_int_equal(store_wal_checkpoint(f->st, 1, &copied, &err), 0);
    assert_int_equal(copied, 0);
    assert_int_equal(compact(f, NULL, 0), 1);
    assert_int_equal(count(f->st, "PRAGMA wal_autocheckpoint"), 7);
    /* The step's frames: not due below a threshold they do not reach... */
    assert_int_equal(store_wal_checkpoint(f->st, 100000, &copied, &err), 0);
    assert_int_equal(copied, 0);
    /* ...due above one they do, and done then. */
    assert_int_equal(store_wal_checkpoint(f->st, 1, &copied, &err), 0);
    assert_true(copied > 0);
    assert_int_equal(store_wal_checkpoint(f->st, 1, &copied, &err), 0);
    assert_int_equal(copied, 0);
    free(j1);
    free(j2);
}

static void rollback_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    struct change c;
    char *json;
    enum apply_result r;
    struct error err;
    consent_change(&c, &json, "shop:e9", CONSENT_GRANTED, T0);
    assert_int_equal(store_begin(f->st, &err), 0);
    assert_int_equal(store_apply(f->st, &c, &f->policy, &r, &err), 0);
    assert_int_equal(store_set_watermark(f->st, "shop", "{\"x\":1}", &err), 0);
    store_rollback(f->st);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM changes"), 0);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM cursors"), 0);
    /* The in-memory audit head followed the rollback: the chain verifies. */
    assert_int_equal(apply1(f, &c), APPLY_APPLIED);
    {
        int64_t rows, bad;
        assert_int_equal(store_audit_verify(f->st, &rows, &bad, &err), 0);
        assert_int_equal(rows, 1);
        assert_int_equal(bad, 0);
    }
    free(json);
}

static void erasure_tombstones_and_blocks_recreation(void **state)
{
    struct fixture *f = *state;
    struct change c, e;
    char *json, *json2;
    struct error err;
    int64_t rows, bad;
    consent_change(&c, &json, "shop:e1", CONSENT_GRANTED, T0);
    assert_int_equal(apply1(f, &c), APPLY_APPLIED);
    memset(&e, 0, sizeof(e));
    e.origin = "shop";
    e.member_key = "M1";
    e.kind = CHANGE_ERASE;
    e.field = "erase";
    e.value_json = "{}";
    e.idem_key = "shop:x1";
    e.occurred_at = T0 + 1;
    assert_int_equal(apply1(f, &e), APPLY_APPLIED);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM current"), 0);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM tombstones"), 1);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM audit WHERE payload IS NOT NULL"), 0);
    /* The blanked payload's hash stays for the chain (schema 14). */
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM audit WHERE length(payload_hash) = 64"), 1);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM changes WHERE value LIKE '%web_form%'"), 0);
    /* A later event for the erased member does not re-create it. */
    consent_change(&c, &json2, "shop:e2", CONSENT_GRANTED, T0 + 2);
    assert_int_equal(apply1(f, &c), APPLY_ERASED);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM current"), 0);
    /* Redaction kept the audit chain verifiable. */
    assert_int_equal(store_audit_verify(f->st, &rows, &bad, &err), 0);
    assert_int_equal(bad, 0);
    free(json);
    free(json2);
}

static void tampered_audit_is_detected(void **state)
{
    struct fixture *f = *state;
    struct change c;
    char *j1, *j2;
    struct error err;
    int64_t rows, bad;
    consent_change(&c, &j1, "shop:e1", CONSENT_GRANTED, T0);
    apply1(f, &c);
    consent_change(&c, &j2, "shop:e2", CONSENT_DENIED, T0 + 1);
    apply1(f, &c);
    assert_int_equal(sqlite3_exec(store_db(f->st),
                                  "UPDATE audit SET payload = replace(payload, 'denied', "
                                  "'granted') WHERE id = 2",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(store_audit_verify(f->st, &rows, &bad, &err), 0);
    assert_int_equal(bad, 2);
    free(j1);
    free(j2);
}

static void newer_schema_is_refused(void **state)
{
    struct fixture *f = *state;
    struct store *st2 = NULL;
    struct store_options o = {.path = f->path};
    struct error err;
    assert_int_equal(sqlite3_exec(store_db(f->st), "PRAGMA user_version = 999", NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(store_open(&o, &st2, &err), -1);
    assert_non_null(strstr(err.msg, "newer"));
    assert_null(st2);
}

static void relaxed_transaction_restores_full_durability(void **state)
{
    struct fixture *f = *state;
    struct error err;
    /* The fixture's store is configured FULL (2). */
    assert_int_equal(count(f->st, "PRAGMA synchronous"), 2);
    assert_int_equal(store_begin_relaxed(f->st, &err), 0);
    assert_int_equal(store_set_watermark(f->st, "crm", "{}", &err), 0);
    assert_int_equal(store_commit(f->st, &err), 0);
    assert_int_equal(count(f->st, "PRAGMA synchronous"), 2);
    assert_int_equal(store_begin_relaxed(f->st, &err), 0);
    store_rollback(f->st);
    assert_int_equal(count(f->st, "PRAGMA synchronous"), 2);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM cursors"), 1);
}

static void watermark_round_trip(void **state)
{
    struct fixture *f = *state;
    struct error err;
    char *wm = NULL;
    assert_int_equal(store_get_watermark(f->st, "hubspot", &wm, &err), 0);
    assert_null(wm);
    assert_int_equal(store_set_watermark(f->st, "hubspot", "{\"t\":5}", &err), 0);
    assert_int_equal(store_get_watermark(f->st, "hubspot", &wm, &err), 0);
    assert_string_equal(wm, "{\"t\":5}");
    free(wm);
}

/* A change dead-lettered, offered again after a restart and failing again:
 * one dead letter with both attempts (two rows would be sent twice by a
 * retry of all); once the operator asked for a retry, a new failure files
 * a new one. */
static void a_change_failing_again_keeps_one_dead_letter(void **state)
{
    struct fixture *f = *state;
    struct error err;

    assert_int_equal(store_push_dead_letter(f->st, "hs", 42, "shop", "M1", "consent/x/email", "{}",
                                            "no email", 1, &err),
                     0);
    assert_int_equal(store_push_dead_letter(f->st, "hs", 42, "shop", "M1", "consent/x/email", "{}",
                                            "no email", 1, &err),
                     0);
    assert_int_equal(store_push_dead_letter(f->st, "sf", 42, "shop", "M1", "consent/x/email", "{}",
                                            "other CRM", 1, &err),
                     0);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM dead_letters WHERE destination = 'hs'"), 1);
    assert_int_equal(count(f->st, "SELECT attempts FROM dead_letters WHERE destination = 'hs'"), 2);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM dead_letters WHERE destination = 'sf'"), 1);
    assert_int_equal(sqlite3_exec(store_db(f->st), "UPDATE dead_letters SET retry_requested_at = 1",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(store_push_dead_letter(f->st, "hs", 42, "shop", "M1", "consent/x/email", "{}",
                                            "no email", 1, &err),
                     0);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM dead_letters WHERE destination = 'hs'"), 2);
}

/* Issue 19: dead-letter ids stay stable across retries: the change an
 * operator's retry queued (engine_sweep_retries: a repair keyed
 * "dlretry:<id>:<asked at>", the dead letter deleted) failing again is
 * filed under the same id, so `dead-letters show ID` keeps answering; when
 * that id was taken meanwhile, a new one. */
static void a_retried_dead_letter_failing_again_keeps_its_id(void **state)
{
    struct fixture *f = *state;
    struct error err;
    int64_t id, seq = 0;
    int added = 0;
    char idem[64], sql[160];

    assert_int_equal(store_begin(f->st, &err), 0);
    assert_int_equal(store_push_dead_letter(f->st, "hs", 7, "shop", "M1", "profile/email", "{}",
                                            "invalid email", 1, &err),
                     0);
    assert_int_equal(store_push_dead_letter(f->st, "hs", 8, "shop", "M2", "profile/email", "{}",
                                            "invalid email", 1, &err),
                     0);
    id = count(f->st, "SELECT id FROM dead_letters WHERE seq = 7");
    /* The retry: a repair of the current value, the dead letter deleted. */
    snprintf(idem, sizeof(idem), "dlretry:%lld:1234", (long long)id);
    assert_int_equal(store_append_repair(f->st, "M1", CHANGE_PROFILE, "profile/email",
                                         "{\"value\":\"x\"}", 2, idem, &added, &err),
                     0);
    assert_int_equal(added, 1);
    assert_int_equal(store_max_seq(f->st, &seq, &err), 0);
    assert_int_equal(store_dead_letter_delete(f->st, id, &err), 0);
    assert_int_equal(store_push_dead_letter(f->st, "hs", seq, "repair", "M1", "profile/email", "{}",
                                            "invalid email", 1, &err),
                     0);
    snprintf(sql, sizeof(sql), "SELECT id FROM dead_letters WHERE seq = %lld", (long long)seq);
    assert_int_equal(count(f->st, sql), id);
    /* Another destination failing with the same repair: the id is taken. */
    assert_int_equal(store_push_dead_letter(f->st, "sf", seq, "repair", "M1", "profile/email", "{}",
                                            "invalid email", 1, &err),
                     0);
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM dead_letters WHERE seq = %lld AND destination = 'sf'"
             " AND id <> %lld",
             (long long)seq, (long long)id);
    assert_int_equal(count(f->st, sql), 1);
    assert_int_equal(store_commit(f->st, &err), 0);
}

/* A Retry-After hold kept across a restart: only ever later, per connector
 * and family, what is left of it at a given time, capped at 25 hours. */
static void holds_are_kept_per_connector_and_family(void **state)
{
    struct fixture *f = *state;
    struct error err = {""};
    int64_t until = -1;

    assert_int_equal(store_hold_load(f->st, "hs", "search", &until, &err), 0);
    assert_int_equal(until, 0);
    assert_int_equal(store_hold_save(f->st, "hs", "search", T0 + 5000, 5000, &err), 0);
    assert_int_equal(store_hold_save(f->st, "hs", "search", T0 + 1000, 1000, &err), 0);
    assert_int_equal(store_hold_save(f->st, "hs", "api", T0 + 2000, 2000, &err), 0);
    assert_int_equal(store_hold_left(f->st, "hs", "search", T0, &err), 5000);
    assert_int_equal(store_hold_left(f->st, "hs", "api", T0 + 500, &err), 1500);
    assert_int_equal(store_hold_left(f->st, "hs", "api", T0 + 2000, &err), 0);
    assert_int_equal(store_hold_left(f->st, "sf", "api", T0, &err), 0);
    /* The wall clock set back 6 hours between two runs: the hold is not
     * stretched beyond its own length. */
    assert_int_equal(store_hold_left(f->st, "hs", "api", T0 - 6LL * 3600 * 1000, &err), 2000);
    assert_int_equal(
        store_hold_save(f->st, "sf", "api", T0 + 90LL * 3600 * 1000, 90L * 3600 * 1000, &err), 0);
    assert_int_equal(store_hold_left(f->st, "sf", "api", T0, &err), 25L * 3600 * 1000);
    assert_string_equal(err.msg, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(schema_is_at_latest_version, setup, teardown),
        cmocka_unit_test_setup_teardown(duplicate_idem_key_adds_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(withdrawal_survives_older_grant, setup, teardown),
        cmocka_unit_test_setup_teardown(points_conflict_is_dead_lettered, setup, teardown),
        cmocka_unit_test_setup_teardown(an_event_id_reused_with_another_body_is_a_conflict, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(batch_bookkeeping_runs_one_statement_per_batch, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(the_change_log_indexes_only_what_its_queries_read, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(the_v13_migration_drops_the_second_key_index, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(the_v9_migration_keeps_the_keys_with_their_bodies, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(the_v14_migration_keeps_the_audit_chain_in_leaner_rows,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(compaction_keeps_the_snapshot_and_what_is_not_passed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_replay_after_the_dedup_window_is_harmless, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(compaction_deletes_acks_with_their_changes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(retention_statements_are_prepared_once, setup, teardown),
        cmocka_unit_test_setup_teardown(the_page_cache_is_2_mib, setup, teardown),
        cmocka_unit_test_setup_teardown(a_retention_step_leaves_the_checkpoint_to_its_own_turn,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(rollback_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(erasure_tombstones_and_blocks_recreation, setup, teardown),
        cmocka_unit_test_setup_teardown(tampered_audit_is_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(newer_schema_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(watermark_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(a_retried_dead_letter_failing_again_keeps_its_id, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_change_failing_again_keeps_one_dead_letter, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(holds_are_kept_per_connector_and_family, setup, teardown),
        cmocka_unit_test_setup_teardown(relaxed_transaction_restores_full_durability, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
