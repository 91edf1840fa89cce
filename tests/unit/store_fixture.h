/* The store unit tests' fixture (test_store*.c): a store on a temporary
 * directory with a merge policy, and the helpers every one of them uses.
 * Header only, its functions inline: each unit test is one executable
 * built from one test_*.c (tests/CMakeLists.txt). */
#ifndef CRMSYNC_TEST_STORE_FIXTURE_H
#define CRMSYNC_TEST_STORE_FIXTURE_H

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "change_json.h"
#include "store.h"
#include "timefmt.h"
#include "tmp_store.h"

#define T0 1790000000000LL /* 2026-09-21, safely in the past */

struct fixture {
    char dir[64];
    char path[128];
    struct store *st;
    struct merge_policy policy;
};

static inline int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    tmp_store_open(f->dir, f->path, "store", &f->st);
    f->policy.now_ms = timefmt_now_ms();
    f->policy.future_tolerance_ms = 300000;
    *state = f;
    return 0;
}

static inline int teardown(void **state)
{
    struct fixture *f = *state;
    tmp_store_remove(f->dir, f->st);
    free(f);
    return 0;
}

static inline long count(struct store *st, const char *sql)
{
    sqlite3_stmt *q = NULL;
    long n = -1;
    assert_int_equal(sqlite3_prepare_v2(store_db(st), sql, -1, &q, NULL), SQLITE_OK);
    if (sqlite3_step(q) == SQLITE_ROW)
        n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return n;
}

static inline enum apply_result apply1(struct fixture *f, struct change *c)
{
    enum apply_result r;
    struct error err;
    assert_int_equal(store_begin(f->st, &err), 0);
    assert_int_equal(store_apply(f->st, c, &f->policy, &r, &err), 0);
    assert_int_equal(store_commit(f->st, &err), 0);
    return r;
}

static inline void consent_change(struct change *c, char **json, const char *idem,
                                  enum consent_status s, int64_t at)
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

#endif
