/* The store's schema: the latest version at open, a newer one refused, the
 * migrations that rebuild tables keep what they hold (v9, v13, v14), the
 * indexes the change-log keeps and the page cache (split out of
 * test_store.c, issue 18). */
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

static void schema_is_at_latest_version(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(count(f->st, "PRAGMA user_version"), schema_latest_version());
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('changes',"
                                  "'current','points_ledger','identities','cursors','shadow',"
                                  "'dead_letters','audit','tombstones')"),
                     9);
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
            "BEGIN; CREATE TABLE old AS SELECT id, seq, lower(hex(member_hash)) AS member_hash,"
            " CASE WHEN payload IS NULL THEN NULL ELSE 'M1' END AS member_key, field, payload,"
            " COALESCE(payload_hash, crmsync_sha256(payload)) AS payload_hash, recorded_at,"
            " COALESCE(LAG(lower(hex(hash))) OVER (ORDER BY id), '') AS prev_hash,"
            " lower(hex(hash)) AS hash FROM audit;"
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
                                  " 'audit_member' AND sql LIKE '%substr(member_hash, 1, 8)%'"),
                     1);
    /* Schema 16: both hashes as their 32 bytes. */
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM audit WHERE typeof(hash) = 'blob'"
                                  " AND length(hash) = 32 AND typeof(member_hash) = 'blob'"
                                  " AND length(member_hash) = 32"),
                     3);
    assert_int_equal(store_audit_verify(f->st, &rows, &bad, &err), 0);
    assert_int_equal(rows, 3);
    assert_int_equal(bad, 0);
    assert_int_equal(store_ctl_member_export(f->st, "M1", &doc, &err), 0);
    assert_int_equal(json_array_size(json_object_get(doc, "consent_events")), 2);
    {
        /* The export prints the hash as the text it was. */
        json_t *ev = json_array_get(json_object_get(doc, "consent_events"), 0);
        const char *h = json_string_value(json_object_get(ev, "audit_hash"));
        assert_non_null(h);
        assert_int_equal(strlen(h), 64);
        assert_int_equal(count(f->st, "SELECT COUNT(*) FROM audit WHERE id = 1 AND"
                                      " hash = (SELECT hash FROM audit WHERE id = 1)"),
                         1);
    }
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

/* Issue 17 (and 15, 16): the page cache is 2 MiB. With 8 MiB the daemon's
 * peak RSS was 40.6 MB pushing 30,000 members to Salesforce and 39.6 MB in
 * the HTTP ingest bench, against 28.1 and 32.3 MB (target <= 32 MB). */
static void the_page_cache_is_2_mib(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(count(f->st, "PRAGMA cache_size"), -2048);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(schema_is_at_latest_version, setup, teardown),
        cmocka_unit_test_setup_teardown(the_v9_migration_keeps_the_keys_with_their_bodies, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(the_change_log_indexes_only_what_its_queries_read, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(the_v13_migration_drops_the_second_key_index, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(the_v14_migration_keeps_the_audit_chain_in_leaner_rows,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(newer_schema_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(the_page_cache_is_2_mib, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
