/* Ledger retention (issue 15): old transactions whose part of the balance
 * is final fold into a per-member opening balance; every balance stays
 * exact, now and later; the newest transaction stays; a folded transaction
 * replayed is refused; an erasure takes the opening balance too. */
#include "cmocka_setup.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "change_json.h"
#include "store.h"
#include "store_ctl.h"
#include "store_ledger.h"
#include "timefmt.h"
#include "tmp_store.h"

#define T0 1790000000000LL /* 2026-09-21, safely in the past */
#define HOUR (3600LL * 1000)
#define DAY (24 * HOUR)

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

    tmp_store_open(f->dir, f->path, "ledger", &f->st);
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

static enum apply_result txn(struct fixture *f, const char *member, const char *id, int64_t delta,
                             int64_t at, int64_t expires)
{
    struct change c;
    enum apply_result r;
    struct error err;
    char idem[32], field[48];
    char *json;

    f->n++;
    snprintf(idem, sizeof(idem), "shop:p%d", f->n);
    snprintf(field, sizeof(field), "points/%s", id);
    memset(&c, 0, sizeof(c));
    c.origin = "shop";
    c.member_key = member;
    c.kind = CHANGE_POINTS;
    c.field = field;
    c.idem_key = idem;
    c.points = (struct points_txn){id, delta, delta > 0 ? "earn" : "redeem", at, expires};
    c.occurred_at = at;
    json = points_txn_to_json(&c.points);
    c.value_json = json;
    assert_int_equal(store_begin(f->st, &err), 0);
    assert_int_equal(store_apply(f->st, &c, &f->policy, &r, &err), 0);
    assert_int_equal(store_commit(f->st, &err), 0);
    free(json);
    return r;
}

static int64_t balance(struct fixture *f, const char *member, int64_t at)
{
    struct error err;
    int64_t b = -1;
    assert_int_equal(store_points_balance(f->st, member, at, &b, &err), 0);
    return b;
}

static int64_t fold(struct fixture *f, int64_t retention_ms, int *more)
{
    struct error err = {""};
    int64_t folded = -1;
    assert_int_equal(
        store_ledger_fold_step(f->st, retention_ms, timefmt_now_ms(), &folded, more, &err), 0);
    return folded;
}

static void folding_keeps_every_balance_exact(void **state)
{
    struct fixture *f = *state;
    int64_t now = timefmt_now_ms(), later = now + 30 * DAY;
    int more = -1;

    assert_int_equal(txn(f, "M1", "t1", 100, T0, 0), APPLY_APPLIED);
    assert_int_equal(txn(f, "M1", "t2", -30, T0 + 1000, 0), APPLY_APPLIED);
    assert_int_equal(txn(f, "M1", "t3", 50, T0 + 2000, T0 + DAY), APPLY_APPLIED);    /* expired */
    assert_int_equal(txn(f, "M1", "t4", 20, T0 + 3000, later - DAY), APPLY_APPLIED); /* not yet */
    assert_int_equal(txn(f, "M1", "t5", 10, T0 + 4000, 0), APPLY_APPLIED);           /* newest */
    assert_int_equal(txn(f, "M2", "u1", 5, T0, 0), APPLY_APPLIED);
    assert_int_equal(balance(f, "M1", now), 100);
    assert_int_equal(balance(f, "M1", later), 80);
    /* 0 keeps everything; a retention longer than the history folds nothing. */
    assert_int_equal(fold(f, 0, &more), 0);
    assert_int_equal(fold(f, 3650 * DAY, &more), 0);
    assert_int_equal(fold(f, HOUR, &more), 3);
    assert_int_equal(more, 0);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM points_ledger WHERE member_key = 'M1'"), 2);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM points_ledger WHERE member_key = 'M2'"), 1);
    assert_int_equal(count(f->st, "SELECT balance FROM points_opening WHERE member_key = 'M1'"),
                     70);
    assert_int_equal(count(f->st, "SELECT txns FROM points_opening WHERE member_key = 'M1'"), 3);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM points_opening"), 1);
    /* The same balance now and after t4 expires. */
    assert_int_equal(balance(f, "M1", now), 100);
    assert_int_equal(balance(f, "M1", later), 80);
    assert_int_equal(balance(f, "M2", now), 5);
    /* Nothing left to fold until t4 has expired. */
    assert_int_equal(fold(f, HOUR, &more), 0);
}

static void a_folded_transaction_replayed_is_refused(void **state)
{
    struct fixture *f = *state;
    int more = 0;

    txn(f, "M1", "t1", 100, T0, 0);
    txn(f, "M1", "t2", -30, T0 + 1000, 0);
    txn(f, "M1", "t3", 7, T0 + 2000, 0);
    assert_int_equal(fold(f, HOUR, &more), 2);
    /* t1 again under another event id: its txn_id is gone from the ledger,
     * but it occurred before the opening balance. */
    assert_int_equal(txn(f, "M1", "t1", 100, T0, 0), APPLY_REJECTED);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM dead_letters WHERE reason LIKE "
                                  "'%opening balance%'"),
                     1);
    assert_int_equal(balance(f, "M1", timefmt_now_ms()), 77);
    /* The kept newest one is still a duplicate by its txn_id; a new one
     * after the opening balance counts. */
    assert_int_equal(txn(f, "M1", "t3", 7, T0 + 2000, 0), APPLY_UNCHANGED);
    assert_int_equal(txn(f, "M1", "t6", 3, T0 + 5000, 0), APPLY_APPLIED);
    assert_int_equal(balance(f, "M1", timefmt_now_ms()), 80);
    /* Another member is not concerned by M1's opening balance. */
    assert_int_equal(txn(f, "M2", "v1", 1, T0, 0), APPLY_APPLIED);
}

static void an_erasure_takes_the_opening_balance(void **state)
{
    struct fixture *f = *state;
    struct change e;
    enum apply_result r;
    struct error err;
    int more = 0;
    json_t *doc = NULL;

    txn(f, "M1", "t1", 100, T0, 0);
    txn(f, "M1", "t2", 1, T0 + 1000, 0);
    assert_int_equal(fold(f, HOUR, &more), 1);
    /* Member export shows it. */
    assert_int_equal(store_ctl_member_export(f->st, "M1", &doc, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(doc, "points_opening"), 0), "balance")),
                     100);
    assert_int_equal(json_integer_value(json_object_get(doc, "points_balance")), 101);
    json_decref(doc);
    memset(&e, 0, sizeof(e));
    e.origin = "shop";
    e.member_key = "M1";
    e.kind = CHANGE_ERASE;
    e.field = "erase";
    e.value_json = "{}";
    e.idem_key = "shop:x1";
    e.occurred_at = T0 + 9000;
    assert_int_equal(store_begin(f->st, &err), 0);
    assert_int_equal(store_apply(f->st, &e, &f->policy, &r, &err), 0);
    assert_int_equal(store_commit(f->st, &err), 0);
    assert_int_equal(count(f->st, "SELECT COUNT(*) FROM points_opening"), 0);
    assert_int_equal(balance(f, "M1", timefmt_now_ms()), 0);
}

static void a_pass_goes_over_every_member_in_steps(void **state)
{
    struct fixture *f = *state;
    char key[16];
    int more = 0;
    int64_t total = 0;

    for (int i = 0; i < STORE_LEDGER_STEP + 5; i++) {
        char id[16];
        snprintf(key, sizeof(key), "M%04d", i);
        snprintf(id, sizeof(id), "a%04d", i);
        txn(f, key, id, 10, T0, 0);
        snprintf(id, sizeof(id), "b%04d", i);
        txn(f, key, id, 1, T0 + 1000, 0);
    }
    total += fold(f, HOUR, &more);
    assert_int_equal(more, 1);
    assert_int_equal(total, STORE_LEDGER_STEP);
    total += fold(f, HOUR, &more);
    assert_int_equal(more, 0);
    assert_int_equal(total, STORE_LEDGER_STEP + 5);
    assert_int_equal(count(f->st, "SELECT SUM(balance) FROM points_opening"),
                     10 * (STORE_LEDGER_STEP + 5));
    /* The next pass starts again from the first member. */
    txn(f, "M0000", "c0000", 2, T0 + 2000, 0);
    assert_int_equal(fold(f, HOUR, &more), 1);
    assert_int_equal(balance(f, "M0000", timefmt_now_ms()), 13);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(folding_keeps_every_balance_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(a_folded_transaction_replayed_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(an_erasure_takes_the_opening_balance, setup, teardown),
        cmocka_unit_test_setup_teardown(a_pass_goes_over_every_member_in_steps, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
