/* The statements on the push and ingest paths run once per record: a full
 * scan of a table that grows with the change-log makes the daemon quadratic
 * (a points subquery scanning the ledger once made a 100,000-member push
 * take minutes). Checks every such statement's query plan on a real store. */
#include "cmocka_setup.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "store_history.h"
#include "store_push.h"
#include "store_retention.h"

/* Tables that grow with the change-log or the member count. */
static const char *const big_tables[] = {"changes",    "current",  "points_ledger", "identities",
                                         "shadow",     "audit",    "audit_acks",    "dead_letters",
                                         "tombstones", "idem_keys"};

/* Statements whose scan is cheap by design, each with why. */
static const char *const allowed_scans[] = {
    /* the audit chain's head, read once at open: walks the rowid backwards
     * and stops at the first row */
    "SELECT hash FROM audit ORDER BY id DESC LIMIT 1",
    /* retention: the oldest idempotency keys, by rowid from the low end,
     * at most one step's worth */
    "SELECT id, seen_at FROM idem_keys ORDER BY id LIMIT ?1",
};

static int is_big(const char *detail)
{
    for (size_t i = 0; i < sizeof(big_tables) / sizeof(big_tables[0]); i++) {
        size_t n = strlen(big_tables[i]);
        /* "SCAN t", "SCAN t USING ..." */
        if (strncmp(detail + 5, big_tables[i], n) == 0 &&
            (detail[5 + n] == '\0' || detail[5 + n] == ' '))
            return 1;
    }
    return 0;
}

static int allowed(const char *sql)
{
    for (size_t i = 0; i < sizeof(allowed_scans) / sizeof(allowed_scans[0]); i++) {
        if (strcmp(sql, allowed_scans[i]) == 0)
            return 1;
    }
    return 0;
}

/* Prints and counts the full scans of big tables in the plan of sql. */
static int scans(sqlite3 *db, const char *sql)
{
    char *eqp = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sql);
    sqlite3_stmt *q = NULL;
    int n = 0;

    assert_non_null(eqp);
    if (sqlite3_prepare_v2(db, eqp, -1, &q, NULL) != SQLITE_OK)
        fail_msg("cannot explain: %s\n%s", sqlite3_errmsg(db), sql);
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *detail = (const char *)sqlite3_column_text(q, 3);
        if (detail != NULL && strncmp(detail, "SCAN ", 5) == 0 && is_big(detail) && !allowed(sql)) {
            print_message("full scan (%s) in: %s\n", detail, sql);
            n++;
        }
    }
    sqlite3_finalize(q);
    sqlite3_free(eqp);
    return n;
}

/* A statement over a batch (crmsync_batch, issue 17) must loop over the
 * batch and look each record up, never the other way round: with the
 * table outside, "SEARCH shadow USING PRIMARY KEY (destination=?)" reads a
 * destination's every row per batch, which no SCAN check sees. */
static int batch_not_first(sqlite3 *db, const char *sql)
{
    char *eqp = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sql);
    sqlite3_stmt *q = NULL;
    int bad = 0;

    assert_non_null(eqp);
    if (sqlite3_prepare_v2(db, eqp, -1, &q, NULL) != SQLITE_OK)
        fail_msg("cannot explain: %s\n%s", sqlite3_errmsg(db), sql);
    if (sqlite3_step(q) == SQLITE_ROW) {
        const char *detail = (const char *)sqlite3_column_text(q, 3);
        if (detail == NULL || strstr(detail, "VIRTUAL TABLE") == NULL) {
            print_message("not the batch first (%s) in: %s\n", detail ? detail : "", sql);
            bad = 1;
        }
    }
    sqlite3_finalize(q);
    sqlite3_free(eqp);
    return bad;
}

static void test_no_full_scans(void **state)
{
    char dir[] = "/tmp/crmsync-plans-XXXXXX";
    char path[64];
    struct store_options o = {0};
    struct store *st = NULL;
    struct error err;
    sqlite3_stmt *s = NULL;
    int bad = 0, checked = 0;
    const char *sql;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/state.db", dir);
    o.path = path;
    assert_int_equal(store_open(&o, &st, &err), 0);
    /* The push module's statements... */
    for (size_t i = 0; (sql = store_push_statement(i)) != NULL; i++, checked++) {
        bad += scans(store_db(st), sql);
        if (strstr(sql, "crmsync_batch(") != NULL)
            bad += batch_not_first(store_db(st), sql);
    }
    /* ...the retention steps' (they run beside ingest and push)... */
    for (size_t i = 0; (sql = store_retention_statement(i)) != NULL; i++, checked++)
        bad += scans(store_db(st), sql);
    /* ...the history retention's (its resolved-dead-letter probe reads
     * dead_letters whole by design, once a minute, and the tables it joins
     * by key)... */
    for (size_t i = 0; (sql = store_history_statement(i)) != NULL; i++, checked++)
        bad += scans(store_db(st), sql);
    /* ...and those the store prepared when it opened (ingest, apply). */
    while ((s = sqlite3_next_stmt(store_db(st), s)) != NULL) {
        if ((sql = sqlite3_sql(s)) != NULL && strncmp(sql, "PRAGMA", 6) != 0) {
            bad += scans(store_db(st), sql);
            checked++;
        }
    }
    assert_true(checked > 20);
    assert_int_equal(bad, 0);
    store_close(st);
    snprintf(path, sizeof(path), "%s/state.db", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_full_scans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
