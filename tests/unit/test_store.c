/* The store: apply in one transaction, idempotency, dead letters, holds,
 * erasure and the audit chain, on a real SQLite file (its schema and
 * migrations: test_store_schema.c; compaction and retention steps:
 * test_store_compaction.c). */
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
#include "store_fixture.h"
#include "store_holds.h"
#include "store_push.h"
#include "store_retention.h"
#include "timefmt.h"

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

/* The default VFS, counting the statement journals it opens as files. */
static sqlite3_vfs counting_vfs;
static sqlite3_vfs *real_vfs;
static int subjournal_files;

static int counting_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out)
{
    (void)v;
    if (flags & SQLITE_OPEN_SUBJOURNAL)
        subjournal_files++;
    return real_vfs->xOpen(real_vfs, name, f, flags, out);
}

/* Issue 17: a batch's shadow writes rewrite rows already on disk, and the
 * statement keeps those pages in its statement journal. SQLite moves a
 * journal past 64 KiB to a temp file it creates, writes and unlinks in
 * every transaction (a quarter of those writes' samples in a HubSpot push,
 * perf); the store keeps it in memory up to 120 KiB. 800 confirmations
 * journal more than 64 KiB and less than 120 KiB (with SQLite's default, this test opens a
 * file). */
static void a_batch_write_keeps_its_statement_journal_in_memory(void **state)
{
    struct error err = {""};
    char dir[64], path[128];
    struct store *st = NULL;
    static struct push_key k[800];
    static char members[800][16], hashes[800][65];

    (void)state; /* the fixture's store_open() configured the library */
    real_vfs = sqlite3_vfs_find(NULL);
    counting_vfs = *real_vfs;
    counting_vfs.zName = "counting";
    counting_vfs.xOpen = counting_open;
    assert_int_equal(sqlite3_vfs_register(&counting_vfs, 1), SQLITE_OK);
    tmp_store_open(dir, path, "subjournal", &st);
    for (int i = 0; i < 800; i++) {
        snprintf(members[i], sizeof(members[i]), "M%06d", i);
        snprintf(hashes[i], sizeof(hashes[i]), "%064d", i);
        k[i] = (struct push_key){members[i], "consent:marketing:email", hashes[i]};
    }
    assert_int_equal(store_begin(st, &err), 0);
    assert_int_equal(store_shadow_sent_batch(st, "hs", k, 800, &err), 0);
    assert_int_equal(store_commit(st, &err), 0);
    assert_int_equal(store_begin(st, &err), 0);
    assert_int_equal(store_shadow_put_batch(st, "hs", k, 800, &err), 0);
    assert_int_equal(store_commit(st, &err), 0);
    assert_int_equal(count(st, "SELECT COUNT(*) FROM shadow WHERE value_hash = sent_hash"), 800);
    tmp_store_remove(dir, st);
    assert_int_equal(sqlite3_vfs_unregister(&counting_vfs), SQLITE_OK);
    assert_int_equal(subjournal_files, 0);
}

/* A statement journal past the spill goes to a temp file, and it must get
 * there. SQLite's in-memory journal is one chunk of the spill's size and is
 * written to the file in one write; the unix VFS writes at most 128 KiB at
 * once (os_unix.c seekAndWriteFd: nBuf &= 0x1ffff), so with a 1 MiB spill
 * the write came out short and the statement failed: "database or disk is
 * full" on every push bookkeeping statement whose journal passed 1 MiB (the
 * 10M soak, 400 in its first 10 minutes; strace: pwrite64(fd, ..., 128000,
 * 0) = 128000, then pwrite64(fd, "", 0, 128000) = 0). 20,000 shadows
 * rewritten in one statement of a transaction journal more than 1 MiB. */
static void a_batch_write_past_the_spill_succeeds(void **state)
{
    struct error err = {""};
    char dir[64], path[128];
    struct store *st = NULL;
    enum { N = 20000 };
    static struct push_key k[N];
    static char members[N][16], hashes[N][65], again[N][65];
    int rc;

    (void)state;
    tmp_store_open(dir, path, "spill", &st);
    for (int i = 0; i < N; i++) {
        snprintf(members[i], sizeof(members[i]), "M%06d", i);
        snprintf(hashes[i], sizeof(hashes[i]), "%064d", i);
        snprintf(again[i], sizeof(again[i]), "%064d", N + i);
        k[i] = (struct push_key){members[i], "consent:marketing:email", hashes[i]};
    }
    assert_int_equal(store_begin(st, &err), 0);
    assert_int_equal(store_shadow_sent_batch(st, "hs", k, N, &err), 0);
    rc = store_shadow_put_batch(st, "hs", k, N, &err);
    assert_string_equal(err.msg, "");
    assert_int_equal(rc, 0);
    assert_int_equal(store_commit(st, &err), 0);
    for (int i = 0; i < N; i++)
        k[i].hash = again[i];
    assert_int_equal(store_begin(st, &err), 0);
    rc = store_shadow_put_batch(st, "hs", k, N, &err);
    assert_string_equal(err.msg, "");
    assert_int_equal(rc, 0);
    assert_int_equal(store_commit(st, &err), 0);
    assert_int_equal(count(st, "SELECT COUNT(*) FROM shadow WHERE value_hash <> sent_hash"), N);
    tmp_store_remove(dir, st);
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

/* A relaxed transaction runs at NORMAL (1), every time, and FULL (2) is
 * back after it. SQLite applies PRAGMA synchronous when the statement is
 * compiled, and marks every PRAGMA statement to be compiled again before
 * its next step (sqlite3Pragma: sqlite3VdbeRunOnlyOnce): kept prepared, it
 * is parsed again at each toggle all the same (issue 17: that parse is
 * what the profile showed), and one prepared ahead of its first use does
 * nothing at its first step (SQLite 3.40.1: the first toggle left FULL). */
static void relaxed_transaction_restores_full_durability(void **state)
{
    struct fixture *f = *state;
    struct error err;
    /* The fixture's store is configured FULL (2). */
    assert_int_equal(count(f->st, "PRAGMA synchronous"), 2);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(store_begin_relaxed(f->st, &err), 0);
        assert_int_equal(count(f->st, "PRAGMA synchronous"), 1);
        assert_int_equal(store_set_watermark(f->st, "crm", "{}", &err), 0);
        assert_int_equal(store_commit(f->st, &err), 0);
        assert_int_equal(count(f->st, "PRAGMA synchronous"), 2);
    }
    assert_int_equal(store_begin_relaxed(f->st, &err), 0);
    assert_int_equal(count(f->st, "PRAGMA synchronous"), 1);
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
        cmocka_unit_test_setup_teardown(duplicate_idem_key_adds_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(withdrawal_survives_older_grant, setup, teardown),
        cmocka_unit_test_setup_teardown(points_conflict_is_dead_lettered, setup, teardown),
        cmocka_unit_test_setup_teardown(an_event_id_reused_with_another_body_is_a_conflict, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(batch_bookkeeping_runs_one_statement_per_batch, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_batch_write_keeps_its_statement_journal_in_memory, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_batch_write_past_the_spill_succeeds, setup, teardown),
        cmocka_unit_test_setup_teardown(rollback_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(erasure_tombstones_and_blocks_recreation, setup, teardown),
        cmocka_unit_test_setup_teardown(tampered_audit_is_detected, setup, teardown),
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
