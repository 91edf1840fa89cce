/* The daemon's retention round (src/daemon/retention.h): one step that
 * finds work per round, the kinds taking turns, so that the loop never
 * waits for compaction, key pruning and vacuum back to back; every kind
 * still gets done, and a round with nothing to do says so (idle delay). */
#include "cmocka_setup.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "change_json.h"
#include "retention.h"
#include "store.h"
#include "timefmt.h"

static enum apply_result apply_consent(struct store *st, const char *idem,
                                       enum consent_status status, int64_t at)
{
    struct merge_policy policy = {0};
    struct change c;
    enum apply_result r;
    struct error err = {""};
    char *json;

    memset(&c, 0, sizeof(c));
    c.origin = "shop";
    c.member_key = "M1";
    c.kind = CHANGE_CONSENT;
    c.field = "consent/marketing/email";
    c.idem_key = idem;
    c.occurred_at = at;
    c.consent.status = status;
    c.consent.collected_at = at;
    c.consent.source = "web_form";
    c.consent.legal_basis = "consent";
    json = consent_value_to_json(&c.consent);
    c.value_json = json;
    policy.now_ms = timefmt_now_ms();
    policy.future_tolerance_ms = 300000;
    assert_int_equal(store_begin(st, &err), 0);
    assert_int_equal(store_apply(st, &c, &policy, &r, &err), 0);
    assert_int_equal(store_commit(st, &err), 0);
    free(json);
    return r;
}

static int64_t sum(const struct retention_totals *t, int64_t out[6])
{
    out[0] = t->compacted;
    out[1] = t->pruned;
    out[2] = t->vacuumed;
    out[3] = t->archived;
    out[4] = t->history;
    out[5] = t->folded;
    return out[0] + out[1] + out[2] + out[3] + out[4] + out[5];
}

static void one_kind_of_step_per_round(void **state)
{
    char dir[] = "/tmp/crmsync-round-XXXXXX";
    char path[64];
    struct store_options o = {0};
    struct store *st = NULL;
    struct error err = {""};
    struct retention_totals totals;
    struct retention_policy policy = {0};
    int64_t before[6], after[6];
    int64_t t0 = timefmt_now_ms() - 3600 * 1000;
    int rounds = 0, working = 0;
    uint64_t delay = 0;
    char cmd[96];

    (void)state;
    memset(&totals, 0, sizeof(totals));
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/state.db", dir);
    o.path = path;
    assert_int_equal(store_open(&o, &st, &err), 0);
    /* Work for three kinds: a superseded change (compaction), idempotency
     * keys past a 1 ms window (pruning), free pages (vacuum). */
    assert_int_equal(apply_consent(st, "e1", CONSENT_GRANTED, t0), APPLY_APPLIED);
    assert_int_equal(apply_consent(st, "e2", CONSENT_DENIED, t0 + 1000), APPLY_APPLIED);
    assert_int_equal(apply_consent(st, "e3", CONSENT_GRANTED, t0 + 2000), APPLY_APPLIED);
    assert_int_equal(sqlite3_exec(store_db(st),
                                  "CREATE TABLE filler(pad BLOB);"
                                  "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
                                  " WHERE i < 300) INSERT INTO filler SELECT randomblob(3900)"
                                  " FROM n;"
                                  "DROP TABLE filler;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    usleep(20 * 1000);
    policy.change_retention_ms = 0;
    policy.dedup_window_ms = 1;
    do {
        sum(&totals, before);
        delay = retention_round(st, NULL, 0, &policy, &totals);
        sum(&totals, after);
        int changed = 0;
        for (int k = 0; k < 6; k++)
            changed += after[k] != before[k];
        /* Never two kinds of work in one round. */
        assert_true(changed <= 1);
        working += changed;
        assert_true(++rounds < 200);
    } while (delay < 1000);
    assert_true(totals.compacted >= 1);
    assert_true(totals.pruned >= 3);
    assert_true(totals.vacuumed >= 300);
    /* Three kinds of work took at least three rounds. */
    assert_true(working >= 3);
    /* Nothing left: the next round is idle too and changes nothing. */
    sum(&totals, before);
    assert_true(retention_round(st, NULL, 0, &policy, &totals) >= 1000);
    sum(&totals, after);
    assert_memory_equal(before, after, sizeof(before));
    store_close(st);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_kind_of_step_per_round),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
