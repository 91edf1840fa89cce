/* The incremental vacuum step (state/store_retention.h): free pages go back
 * to the file system a chunk at a time, never more than asked for in one
 * step, until none is left; a store with no free page does nothing. */
#include "cmocka_setup.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "store_retention.h"
#include "tmp_store.h"

struct fixture {
    char dir[64];
    char path[128];
    struct store *st;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    tmp_store_open(f->dir, f->path, "vacuum", &f->st);
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

static long pragma(struct fixture *f, const char *sql)
{
    sqlite3_stmt *q = NULL;
    long v = -1;

    assert_int_equal(sqlite3_prepare_v2(store_db(f->st), sql, -1, &q, NULL), SQLITE_OK);
    if (sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

/* About `pages` pages freed: rows of one page each, written then deleted. */
static void make_free_pages(struct fixture *f, int pages)
{
    char sql[160];

    assert_int_equal(
        sqlite3_exec(store_db(f->st), "CREATE TABLE filler(pad BLOB)", NULL, NULL, NULL),
        SQLITE_OK);
    snprintf(sql, sizeof(sql),
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
             "INSERT INTO filler SELECT randomblob(3900) FROM n",
             pages);
    assert_int_equal(sqlite3_exec(store_db(f->st), sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(store_db(f->st), "DROP TABLE filler", NULL, NULL, NULL),
                     SQLITE_OK);
}

static void steps_give_every_free_page_back_within_their_bound(void **state)
{
    struct fixture *f = *state;
    struct error err = {""};
    long free_pages, pages_before;
    int64_t freed = 0, total = 0;
    int steps = 0;

    make_free_pages(f, 600);
    free_pages = pragma(f, "PRAGMA freelist_count");
    pages_before = pragma(f, "PRAGMA page_count");
    assert_true(free_pages >= 600);
    do {
        assert_int_equal(store_vacuum_step(f->st, 256, &freed, &err), 0);
        /* At least one chunk (or what is left), never past the bound. */
        assert_true(freed <= 256);
        assert_true(freed >= STORE_VACUUM_CHUNK || freed == free_pages - total);
        total += freed;
        assert_int_equal(pragma(f, "PRAGMA freelist_count"), free_pages - total);
        assert_true(++steps < 100);
    } while (freed > 0);
    assert_int_equal(total, free_pages);
    assert_int_equal(pragma(f, "PRAGMA page_count"), pages_before - free_pages);
    assert_true(steps >= 3); /* 600+ pages at 256 at most a step */
}

static void a_small_bound_is_kept(void **state)
{
    struct fixture *f = *state;
    struct error err = {""};
    int64_t freed = 0;

    make_free_pages(f, 100);
    assert_int_equal(store_vacuum_step(f->st, 5, &freed, &err), 0);
    assert_int_equal(freed, 5);
}

static void no_free_page_no_work(void **state)
{
    struct fixture *f = *state;
    struct error err = {""};
    int64_t freed = -1;

    /* The migrations may leave a page or two free. */
    assert_int_equal(store_vacuum_step(f->st, 256, &freed, &err), 0);
    assert_int_equal(pragma(f, "PRAGMA freelist_count"), 0);
    assert_int_equal(store_vacuum_step(f->st, 256, &freed, &err), 0);
    assert_int_equal(freed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(steps_give_every_free_page_back_within_their_bound, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_small_bound_is_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(no_free_page_no_work, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
