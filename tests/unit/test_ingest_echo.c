/* The host side of the connector boundary (src/ingest.c, src/ingest_host.c)
 * on a real SQLite file: the echo rule lives in the host (pull_sink.pulled),
 * once for every connector, and the host's services are a versioned table
 * of their own (struct host_services), apart from the page transaction. */
#include "cmocka_setup.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connector.h"
#include "hash.h"
#include "ingest.h"
#include "metrics.h"
#include "store.h"
#include "store_push.h"
#include "tmp_store.h"

#define T0 1790000000000LL /* 2026-09-21, safely in the past */

struct fixture {
    char dir[64];
    char path[128];
    struct store *st;
    struct ingest ing;
    struct connector conn;
};

static void fake_push(struct connector *conn, struct push_batch *pb)
{
    (void)conn, (void)pb;
}

/* What the fake CRM keeps of a profile value: its text. */
static int fake_project(struct connector *conn, enum change_kind kind, const char *field,
                        const char *value_json, char *out, size_t outsize)
{
    const char *v = strstr(value_json, "\"value\":\"");
    (void)conn, (void)kind, (void)field;
    if (v == NULL)
        return -1;
    v += 9;
    snprintf(out, outsize, "%.*s", (int)strcspn(v, "\""), v);
    return 0;
}

static const struct connector_ops crm_ops = {
    .version = 1, .type = "fake", .push = fake_push, .project = fake_project};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_int_equal(metrics_init(), 0);
    tmp_store_open(f->dir, f->path, "echo", &f->st);
    ingest_init(&f->ing, f->st, NULL, 0);
    f->conn.ops = &crm_ops;
    f->conn.name = (char *)"crm";
    f->conn.sink = &f->ing.sink;
    f->conn.host = &f->ing.host;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    tmp_store_remove(f->dir, f->st);
    metrics_shutdown();
    free(f);
    return 0;
}

static int count(struct fixture *f, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    int n = -1;

    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    if (sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

/* One page through the sink: the CRM holds `text` for profile/first_name of
 * M1, modified at `at`. Returns what became of the change. */
static enum apply_result pull_name(struct fixture *f, const char *origin, const char *text,
                                   int64_t at, const char *idem)
{
    struct pull_sink *sink = f->conn.sink;
    struct error err = {""};
    enum apply_result res = APPLY_DUPLICATE;
    char value[128];
    struct change c = {0};

    snprintf(value, sizeof(value), "{\"value\":\"%s\"}", text);
    c.origin = origin;
    c.member_key = "M1";
    c.kind = CHANGE_PROFILE;
    c.field = "profile/first_name";
    c.value_json = value;
    c.occurred_at = at;
    c.idem_key = idem;
    assert_int_equal(sink->begin(sink->ctx, &f->conn, &err), 0);
    if (strcmp(origin, "crm") == 0) {
        assert_int_equal(sink->pulled(sink->ctx, &f->conn, "M1", CHANGE_PROFILE,
                                      "profile/first_name", &c, text, &res, &err),
                         0);
    } else {
        assert_int_equal(sink->change(sink->ctx, &f->conn, &c, &res, &err), 0);
    }
    assert_int_equal(sink->commit(sink->ctx, &f->conn, NULL, &err), 0);
    return res;
}

static int shadow_is(struct fixture *f, const char *text)
{
    char hash[65];
    struct error err = {""};
    int ours = 0;

    sha256_hex(text, strlen(text), hash);
    assert_int_equal(
        store_shadow_is_ours(f->st, "crm", "M1", "profile/first_name", hash, &ours, &err), 0);
    return ours;
}

/* The CRM holds what the local state already says (a value we wrote coming
 * back with the CRM's later modification date): not applied, so the old
 * value is not re-dated "now" over newer local data; but observed (the
 * shadow learns what the CRM holds). Before the rule moved into the host,
 * this check was each connector's (through current()), and the host's sink
 * applied such a value. */
static void a_value_the_local_state_already_holds_is_an_echo(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(pull_name(f, "shop", "Ann", T0, "shop:1"), APPLY_APPLIED);
    assert_int_equal(pull_name(f, "crm", "Ann", T0 + 60000, "crm:1:v2"), APPLY_UNCHANGED);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM changes WHERE origin = 'crm'"), 0);
    assert_true(shadow_is(f, "Ann"));
}

/* The CRM holds what this connector last sent there, while the local state
 * moved on: still our own write coming back, never applied over the newer
 * local value. */
static void a_value_we_sent_there_is_an_echo(void **state)
{
    struct fixture *f = *state;
    struct error err = {""};
    char hash[65];

    assert_int_equal(pull_name(f, "shop", "Bob", T0, "shop:1"), APPLY_APPLIED);
    sha256_hex("Bob", 3, hash);
    assert_int_equal(store_shadow_put(f->st, "crm", "M1", "profile/first_name", hash, &err), 0);
    assert_int_equal(pull_name(f, "shop", "Cid", T0 + 1000, "shop:2"), APPLY_APPLIED);
    assert_int_equal(pull_name(f, "crm", "Bob", T0 + 60000, "crm:1:v2"), APPLY_UNCHANGED);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM changes WHERE origin = 'crm'"), 0);
}

/* A value changed in the CRM is applied, and observed. */
static void a_change_made_in_the_crm_is_applied(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(pull_name(f, "shop", "Ann", T0, "shop:1"), APPLY_APPLIED);
    assert_int_equal(pull_name(f, "crm", "Dee", T0 + 60000, "crm:1:v2"), APPLY_APPLIED);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM changes WHERE origin = 'crm'"), 1);
    assert_true(shadow_is(f, "Dee"));
}

/* The host's services come as their own versioned table, filled by the
 * host; the page transaction (struct pull_sink) carries none of them. */
static void host_services_are_a_versioned_table_of_their_own(void **state)
{
    struct fixture *f = *state;
    const struct host_services *h = f->conn.host;

    assert_int_equal(h->version, HOST_SERVICES_VERSION);
    assert_ptr_equal(h->ctx, &f->ing);
    assert_non_null(h->watermark);
    assert_non_null(h->pull_done);
    assert_non_null(h->resume);
    assert_non_null(h->save_hold);
    assert_non_null(h->load_hold);
    assert_non_null(h->sent_here);
    assert_non_null(h->resend);
    assert_non_null(h->member_of);
    assert_non_null(h->remote_id);
    assert_non_null(h->learn_identity);
    assert_non_null(h->current);
    assert_non_null(h->observe);
    assert_non_null(h->persist_token);
    assert_non_null(h->load_token);
    assert_non_null(f->conn.sink->pulled);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_value_the_local_state_already_holds_is_an_echo, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_value_we_sent_there_is_an_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(a_change_made_in_the_crm_is_applied, setup, teardown),
        cmocka_unit_test_setup_teardown(host_services_are_a_versioned_table_of_their_own, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
