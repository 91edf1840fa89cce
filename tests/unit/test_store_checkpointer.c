/* Checkpoints off the committing thread (state/store_checkpointer.h): the
 * store's own commits never copy the WAL back while a checkpointer is
 * open, a run on another thread copies it while the store keeps
 * committing, and the safety bound still checkpoints when no run comes. */
#include "cmocka_setup.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "store_checkpointer.h"
#include "tmp_store.h"

struct fixture {
    char dir[64];
    char path[128];
    struct store *st;
    int due_calls;
    int last_frames;
    int max_frames;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    tmp_store_open(f->dir, f->path, "ckpt", &f->st);
    assert_int_equal(sqlite3_exec(store_db(f->st),
                                  "CREATE TABLE filler(id INTEGER PRIMARY KEY, pad BLOB)", NULL,
                                  NULL, NULL),
                     SQLITE_OK);
    /* The schema's creation left ~100 frames: every test starts from an
     * empty WAL. */
    assert_int_equal(
        sqlite3_wal_checkpoint_v2(store_db(f->st), NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL),
        SQLITE_OK);
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

static void on_due(void *arg, int frames)
{
    struct fixture *f = arg;

    f->due_calls++;
    f->last_frames = frames;
}

/* One transaction of the store's writing about four pages. */
static void commit_some(struct fixture *f)
{
    struct error err = {""};

    assert_int_equal(store_begin(f->st, &err), 0);
    assert_int_equal(sqlite3_exec(store_db(f->st),
                                  "INSERT INTO filler(pad) VALUES (randomblob(12000))", NULL, NULL,
                                  NULL),
                     SQLITE_OK);
    assert_int_equal(store_commit(f->st, &err), 0);
}

/* Frames in the WAL now, read without copying any (a PASSIVE checkpoint
 * would copy them: the WAL file's size says it instead). */
static long wal_bytes(const struct fixture *f)
{
    char wal[160];
    FILE *fp;
    long n;

    snprintf(wal, sizeof(wal), "%s-wal", f->path);
    fp = fopen(wal, "rb");
    if (fp == NULL)
        return 0;
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fclose(fp);
    return n;
}

static void *run_thread(void *arg)
{
    store_checkpointer_run(arg);
    return NULL;
}

/* With a checkpointer, commits past SQLite's automatic threshold copy
 * nothing back: the WAL's frames only grow, and due() is told each time;
 * without it (the automatic checkpoint at 10 frames here) they would
 * drop back every few commits. */
static void commits_leave_the_checkpoint_to_the_checkpointer(void **state)
{
    struct fixture *f = *state;
    struct store_checkpointer *ck = NULL;
    struct error err = {""};
    int prev = 0, wal = 0, copied = 0;
    double ms = 0;

    assert_int_equal(
        sqlite3_exec(store_db(f->st), "PRAGMA wal_autocheckpoint = 10", NULL, NULL, NULL),
        SQLITE_OK);
    assert_int_equal(store_checkpointer_open(f->st, f->path, 20, on_due, f, &ck, &err), 0);
    for (int i = 0; i < 20; i++) {
        commit_some(f);
        if (f->due_calls > 0) {
            assert_true(f->last_frames >= prev);
            prev = f->last_frames;
        }
    }
    assert_true(f->due_calls > 0);
    /* 20 commits of 3+ pages each, none copied back (the automatic
     * checkpoint would have left at most 10 + one commit's), below the
     * bound of 8 x 20. */
    assert_true(prev >= 60);
    assert_true(prev < 160);
    store_checkpointer_run(ck);
    assert_int_equal(store_checkpointer_result(ck, &wal, &copied, &ms, &err), 0);
    assert_int_equal(copied, wal);
    assert_true(copied >= prev);
    /* Everything copied: the next commit starts the WAL from its start. */
    f->due_calls = 0;
    for (int i = 0; i < 10 && f->due_calls == 0; i++)
        commit_some(f);
    assert_true(f->due_calls > 0);
    assert_true(f->last_frames < prev);
    store_checkpointer_close(f->st, ck);
}

/* A run on another thread while the store commits on this one: neither
 * waits for the other, every row is there, and the WAL restarts once the
 * run has caught up. */
static void a_run_on_another_thread_goes_with_commits(void **state)
{
    struct fixture *f = *state;
    struct store_checkpointer *ck = NULL;
    struct error err = {""};
    pthread_t t;
    int wal = 0, copied = 0;
    double ms = 0;
    long rows = 0;
    sqlite3_stmt *q = NULL;

    assert_int_equal(store_checkpointer_open(f->st, f->path, 20, on_due, f, &ck, &err), 0);
    for (int i = 0; i < 40; i++)
        commit_some(f);
    assert_int_equal(pthread_create(&t, NULL, run_thread, ck), 0);
    for (int i = 0; i < 20; i++)
        commit_some(f);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(store_checkpointer_result(ck, &wal, &copied, &ms, &err), 0);
    assert_true(copied > 0);
    assert_true(ms >= 0);
    /* A second run copies what came meanwhile; then the WAL restarts. */
    store_checkpointer_run(ck);
    assert_int_equal(store_checkpointer_result(ck, &wal, &copied, &ms, &err), 0);
    assert_int_equal(copied, wal);
    f->due_calls = 0;
    f->last_frames = 1 << 30;
    commit_some(f);
    assert_true(f->last_frames == 1 << 30 || f->last_frames < 20);
    assert_int_equal(
        sqlite3_prepare_v2(store_db(f->st), "SELECT count(*) FROM filler", -1, &q, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    rows = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    assert_int_equal(rows, 61);
    store_checkpointer_close(f->st, ck);
}

/* A run that could not copy everything (a reader held an older snapshot,
 * or the store committed meanwhile) leaves the WAL where it is; the next
 * run is due after min_frames more frames, not at the next commit: runs
 * right after each other cost two fsyncs each and copied the same hot
 * pages again (+25 % CPU per event in bench/http_ingest.sh). */
static void the_next_run_is_due_after_min_frames_more(void **state)
{
    struct fixture *f = *state;
    struct store_checkpointer *ck = NULL;
    struct error err = {""};
    sqlite3 *reader = NULL;
    int wal = 0, copied = 0, first_due = -1;
    double ms = 0;

    assert_int_equal(store_checkpointer_open(f->st, f->path, 100, on_due, f, &ck, &err), 0);
    for (int i = 0; i < 40; i++)
        commit_some(f);
    assert_int_equal(sqlite3_open(f->path, &reader), SQLITE_OK);
    assert_int_equal(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM filler", NULL, NULL, NULL),
                     SQLITE_OK);
    for (int i = 0; i < 5; i++)
        commit_some(f);
    store_checkpointer_run(ck);
    assert_int_equal(sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(reader);
    assert_int_equal(store_checkpointer_result(ck, &wal, &copied, &ms, &err), 0);
    assert_true(copied > 0);
    assert_true(copied < wal); /* the reader's snapshot kept the last frames */
    f->due_calls = 0;
    commit_some(f);
    assert_int_equal(f->due_calls, 0);
    for (int i = 0; i < 40 && f->due_calls == 0; i++)
        commit_some(f);
    first_due = f->last_frames;
    assert_int_equal(f->due_calls, 1);
    assert_true(first_due - copied >= 100);
    assert_true(first_due - copied < 100 + 20);
    store_checkpointer_close(f->st, ck);
}

/* No run ever comes (a stuck worker): the commit that leaves 8 x
 * min_frames in the WAL checkpoints on its own thread, so the WAL file
 * stays bounded. */
static void the_safety_bound_checkpoints_when_no_run_comes(void **state)
{
    struct fixture *f = *state;
    struct store_checkpointer *ck = NULL;
    struct error err = {""};
    long biggest = 0, size;

    assert_int_equal(store_checkpointer_open(f->st, f->path, 4, on_due, f, &ck, &err), 0);
    for (int i = 0; i < 200; i++) {
        commit_some(f);
        assert_true(f->last_frames < 4 * 8 + 8);
        size = wal_bytes(f);
        if (size > biggest)
            biggest = size;
    }
    /* 200 commits of 3+ pages without a bound would be 600+ frames. */
    assert_true(biggest < 48L * (4096 + 24) + 32);
    store_checkpointer_close(f->st, ck);
}

/* Closing puts SQLite's automatic checkpoint back for the store. */
static void closing_restores_the_automatic_checkpoint(void **state)
{
    struct fixture *f = *state;
    struct store_checkpointer *ck = NULL;
    struct error err = {""};
    sqlite3_stmt *q = NULL;

    assert_int_equal(store_checkpointer_open(f->st, f->path, 50, on_due, f, &ck, &err), 0);
    store_checkpointer_close(f->st, ck);
    assert_int_equal(sqlite3_prepare_v2(store_db(f->st), "PRAGMA wal_autocheckpoint", -1, &q, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), 1000);
    sqlite3_finalize(q);
    f->due_calls = 0;
    for (int i = 0; i < 30; i++)
        commit_some(f);
    assert_int_equal(f->due_calls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(commits_leave_the_checkpoint_to_the_checkpointer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_run_on_another_thread_goes_with_commits, setup, teardown),
        cmocka_unit_test_setup_teardown(the_next_run_is_due_after_min_frames_more, setup, teardown),
        cmocka_unit_test_setup_teardown(the_safety_bound_checkpoints_when_no_run_comes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(closing_restores_the_automatic_checkpoint, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
