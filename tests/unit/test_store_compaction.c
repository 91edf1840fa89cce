/* The store's retention: compaction of the change-log (what a snapshot
 * keeps, acknowledgements with their changes, a replay after the dedup
 * window) and the retention step's statements and checkpoints (split out
 * of test_store.c, issue 18). */
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
        assert_int_equal(store_push_read(f->st, "hs", lane, 0, 0, 100, count_row, &rows, &n, &err),
                         0);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(compaction_keeps_the_snapshot_and_what_is_not_passed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(compaction_deletes_acks_with_their_changes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_replay_after_the_dedup_window_is_harmless, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(retention_statements_are_prepared_once, setup, teardown),
        cmocka_unit_test_setup_teardown(a_retention_step_leaves_the_checkpoint_to_its_own_turn,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
