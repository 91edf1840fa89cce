/* Retention of the operator-facing tables (issue 15): the operator action
 * log, finished resync requests and resolved push dead letters go after
 * [state] history_retention; what an operator must still act on stays. */
#include "cmocka_setup.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "change_json.h"
#include "store.h"
#include "store_history.h"
#include "store_push.h"
#include "timefmt.h"
#include "tmp_store.h"

#define T0 1790000000000LL
#define HOUR (3600LL * 1000)

struct fixture {
    char dir[64];
    char path[128];
    struct store *st;
    struct merge_policy policy;
    int n;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    tmp_store_open(f->dir, f->path, "history", &f->st);
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

static void exec(struct store *st, const char *sql)
{
    assert_int_equal(sqlite3_exec(store_db(st), sql, NULL, NULL, NULL), SQLITE_OK);
}

/* A profile value of member (its seq is f->n). */
static void profile(struct fixture *f, const char *member, const char *value)
{
    struct change c;
    enum apply_result r;
    struct error err;
    char idem[32];

    f->n++;
    snprintf(idem, sizeof(idem), "shop:e%d", f->n);
    memset(&c, 0, sizeof(c));
    c.origin = "shop";
    c.member_key = member;
    c.kind = CHANGE_PROFILE;
    c.field = "profile/first_name";
    c.value_json = value;
    c.idem_key = idem;
    c.occurred_at = T0 + f->n * 1000;
    assert_int_equal(store_begin(f->st, &err), 0);
    assert_int_equal(store_apply(f->st, &c, &f->policy, &r, &err), 0);
    assert_int_equal(store_commit(f->st, &err), 0);
    assert_int_equal(r, APPLY_APPLIED);
}

static void cursors(struct fixture *f, const char *dest, int64_t seq)
{
    struct error err;
    assert_int_equal(store_begin(f->st, &err), 0);
    for (int lane = 0; lane < 3; lane++)
        assert_int_equal(store_push_cursor_set(f->st, dest, lane, seq, &err), 0);
    assert_int_equal(store_commit(f->st, &err), 0);
}

static int64_t prune(struct fixture *f, int64_t retention_ms, int64_t now_ms)
{
    struct error err = {""};
    int64_t deleted = -1;
    int more = -1;
    assert_int_equal(store_history_prune_step(f->st, retention_ms, now_ms, &deleted, &more, &err),
                     0);
    assert_int_equal(more, 0);
    return deleted;
}

static void old_operator_actions_and_finished_resyncs_go(void **state)
{
    struct fixture *f = *state;
    char sql[512];
    int64_t now = timefmt_now_ms();

    snprintf(sql, sizeof(sql),
             "INSERT INTO operator_actions(at, command, detail) VALUES (%lld, 'drop', 'old'),"
             " (%lld, 'drop', 'new');"
             "INSERT INTO resync_requests(connector, requested_at, started_at, finished_at)"
             " VALUES ('hs', %lld, %lld, %lld), ('hs', %lld, NULL, NULL), ('hs', %lld, %lld, %lld)",
             (long long)(now - 3 * HOUR), (long long)now, (long long)(now - 3 * HOUR),
             (long long)(now - 3 * HOUR), (long long)(now - 3 * HOUR), (long long)(now - 3 * HOUR),
             (long long)now, (long long)now, (long long)now);
    exec(f->st, sql);
    /* 0: keep. */
    assert_int_equal(prune(f, 0, now), 0);
    assert_int_equal(prune(f, 2 * HOUR, now), 2);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM operator_actions WHERE detail = 'new'"), 1);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM operator_actions"), 1);
    /* The unfinished request and the recent one stay. */
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM resync_requests"), 2);
}

static void a_dead_letter_resolved_by_a_later_value_goes(void **state)
{
    struct fixture *f = *state;
    int64_t later = timefmt_now_ms() + 2 * HOUR;

    profile(f, "M1", "\"Ann\"");   /* seq 1: failed at hs */
    profile(f, "M2", "\"Bob\"");   /* seq 2: failed at hs */
    profile(f, "M3", "\"Cy\"");    /* seq 3: failed at hs, retry asked */
    profile(f, "M4", "\"Dee\"");   /* seq 4: failed at hs */
    profile(f, "M1", "\"Anna\"");  /* seq 5: M1's later value, taken */
    profile(f, "M2", "\"Bobby\""); /* seq 6: M2's later value, failed too */
    profile(f, "M3", "\"Cyd\"");   /* seq 7 */
    profile(f, "M4", "\"Dede\"");  /* seq 8: not passed yet */
    exec(f->st, "INSERT INTO dead_letters(destination, seq, member_key, field, reason,"
                " first_failed_at, last_failed_at, retry_requested_at) VALUES"
                " ('hs', 1, 'M1', 'profile/first_name', 'rejected', 1, 1, NULL),"
                " ('hs', 2, 'M2', 'profile/first_name', 'rejected', 1, 1, NULL),"
                " ('hs', 3, 'M3', 'profile/first_name', 'rejected', 1, 1, 5),"
                " ('hs', 4, 'M4', 'profile/first_name', 'rejected', 1, 1, NULL),"
                " ('hs', 6, 'M2', 'profile/first_name', 'rejected', 1, 1, NULL),"
                " ('ingest', NULL, 'M1', 'profile/first_name', 'bad line', 1, 1, NULL)");
    {
        char sql[128];
        snprintf(sql, sizeof(sql), "UPDATE dead_letters SET last_failed_at = %lld",
                 (long long)timefmt_now_ms());
        exec(f->st, sql);
    }
    cursors(f, "hs", 7);
    /* Too young: nothing. */
    assert_int_equal(prune(f, 3 * HOUR, later), 0);
    assert_int_equal(prune(f, HOUR, later), 1);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM dead_letters WHERE seq = 1"), 0);
    /* M2's later value failed too, M3's retry is asked, M4's later value is
     * not passed, the input dead letter waits for an operator. */
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM dead_letters"), 5);
    cursors(f, "hs", 8);
    assert_int_equal(prune(f, HOUR, later), 1);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM dead_letters WHERE seq = 4"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(old_operator_actions_and_finished_resyncs_go, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_dead_letter_resolved_by_a_later_value_goes, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
