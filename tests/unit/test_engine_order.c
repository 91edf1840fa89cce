/* What the engine keeps in order against the fake connector
 * (engine_fixture.h): a withdrawal supersedes a waiting grant, never two
 * writes of one field nor two batches of one class and member in flight,
 * nothing of an erased member after the erasure (split out of
 * test_engine.c, issue 18). */
#include "cmocka_setup.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "change_json.h"
#include "engine.h"
#include "engine_fixture.h"
#include "engine_internal.h"
#include "hash.h"
#include "health.h"
#include "metrics.h"
#include "store.h"
#include "store_push.h"
#include "timefmt.h"

static void withdrawal_supersedes_a_waiting_grant_in_another_lane(void **state)
{
    struct fixture *f = *state;
    /* The grant is loaded (lane 2); its send is answered "retry in a
     * minute", so it waits in the window. */
    fk.retry_first_n = 1;
    fk.retry_after_ms = 60000;
    add(f, "shop", "M1", "consent/marketing/email", CONSENT_GRANTED);
    run(f);
    assert_int_equal(fk.records_received, 0);
    assert_int_equal(fk.batches, 1);
    /* Now the withdrawal (lane 0) arrives: only it may be sent. */
    add(f, "shop", "M1", "consent/marketing/email", CONSENT_DENIED);
    run(f);
    assert_int_equal(fk.records_received, 1);
    assert_int_equal(fk.batches, 2);
    assert_int_equal(fk.batch_sizes[1], 1);
    assert_int_equal(fk.batch_lanes[1], LANE_URGENT);
    assert_non_null(strstr(fk.first_value[1], "\"status\":\"denied\""));
    assert_int_equal(count(f, "SELECT COUNT(*) FROM dead_letters"), 0);
}

static void never_two_writes_of_one_field_in_flight(void **state)
{
    struct fixture *f = *state;
    fk.hold = 1;
    add(f, "shop", "M1", "consent/marketing/sms", CONSENT_GRANTED);
    run(f);
    assert_int_equal(fk.batches, 1); /* the grant is out, unanswered */
    add(f, "shop", "M1", "consent/marketing/sms", CONSENT_DENIED);
    add(f, "shop", "M2", "consent/marketing/sms", CONSENT_DENIED);
    run(f);
    /* M2's withdrawal went; M1's waits for the grant's answer, so the CRM
     * cannot apply the two writes in the wrong order. */
    assert_int_equal(fk.batches, 2);
    assert_int_equal(fk.batch_sizes[1], 1);
    fk.hold = 0;
    uv_timer_start(&fk.t, answer, 0, 0);
    run(f);
    assert_int_equal(fk.batches, 3);
    assert_int_equal(fk.records_received, 3);
    assert_non_null(strstr(fk.first_value[2], "\"status\":\"denied\""));
}

/* Two fields of one member must not go in two batches of one class at
 * once: each job could find no CRM record of the member and create one
 * (two records, or a DUPLICATE_VALUE). Withdrawals: the urgent lane sends
 * each batch at once (fails without the rule: batch 2 holds M1 and M2). */
static void never_two_batches_of_one_class_and_member_in_flight(void **state)
{
    struct fixture *f = *state;
    fk.hold = 1;
    add(f, "shop", "M1", "consent/marketing/sms", CONSENT_DENIED);
    run(f);
    assert_int_equal(fk.batches, 1); /* M1's sms is out, unanswered */
    add(f, "shop", "M1", "consent/marketing/email", CONSENT_DENIED);
    add(f, "shop", "M2", "consent/marketing/email", CONSENT_DENIED);
    run(f);
    /* M2's went; M1's email waits for the answer of M1's batch. */
    assert_int_equal(fk.batches, 2);
    assert_int_equal(fk.batch_sizes[1], 1);
    assert_string_equal(fk.first_member[1], "M2");
    fk.hold = 0;
    uv_timer_start(&fk.t, answer, 0, 0);
    run(f);
    assert_int_equal(fk.batches, 3);
    assert_int_equal(fk.records_received, 3);
    assert_string_equal(fk.first_member[2], "M1");
    assert_string_equal(fk.first_field[2], "consent/marketing/email");
}

static void nothing_of_an_erased_member_is_sent_after_the_erasure(void **state)
{
    struct fixture *f = *state;
    struct merge_policy pol = {NULL, 0, 300000, timefmt_now_ms()};
    struct change e;
    enum apply_result r;
    struct error err;

    /* The member's consent is answered "retry in half a second": it waits
     * in the window... */
    fk.retry_first_n = 1;
    fk.retry_after_ms = 500;
    add(f, "shop", "M1", "consent/marketing/sms", CONSENT_GRANTED);
    run(f);
    assert_int_equal(fk.batches, 1);
    /* ...when the member is erased. */
    memset(&e, 0, sizeof(e));
    e.origin = "shop";
    e.member_key = "M1";
    e.kind = CHANGE_ERASE;
    e.field = "erase";
    e.value_json = "{}";
    e.idem_key = "shop:erase1";
    e.occurred_at = 1790000000000LL + 100;
    assert_int_equal(store_begin(f->st, &err), 0);
    assert_int_equal(store_apply(f->st, &e, &pol, &r, &err), 0);
    assert_int_equal(store_commit(f->st, &err), 0);
    engine_kick(f->eng);
    /* Run past the consent's retry time. */
    for (int i = 0; i < 100; i++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        uv_sleep(10);
    }
    /* The last batch is the erasure alone; M1's consent was never re-sent
     * (it would re-create the member's data in the CRM). */
    assert_int_equal(fk.batches, 2);
    assert_string_equal(fk.first_field[1], "erase");
    assert_int_equal(fk.batch_sizes[1], 1);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM shadow WHERE field = 'consent/marketing/sms'"),
                     0);
}

/* The erasure is loaded while a batch of the member is out; the batch comes
 * back RETRY (a 429): it must not be sent again after the erasure. */
static void a_retry_answered_after_an_erasure_was_loaded_is_dropped(void **state)
{
    struct fixture *f = *state;
    struct merge_policy pol = {NULL, 0, 300000, timefmt_now_ms()};
    struct change e;
    enum apply_result r;
    struct error err;

    fk.hold = 1;
    add(f, "shop", "M1", "consent/marketing/sms", CONSENT_GRANTED);
    run(f);
    assert_int_equal(fk.batches, 1); /* out, unanswered */
    memset(&e, 0, sizeof(e));
    e.origin = "shop";
    e.member_key = "M1";
    e.kind = CHANGE_ERASE;
    e.field = "erase";
    e.value_json = "{}";
    e.idem_key = "shop:erase-inflight";
    e.occurred_at = 1790000000000LL + 100;
    assert_int_equal(store_begin(f->st, &err), 0);
    assert_int_equal(store_apply(f->st, &e, &pol, &r, &err), 0);
    assert_int_equal(store_commit(f->st, &err), 0);
    engine_kick(f->eng);
    run(f);
    assert_int_equal(fk.batches, 1); /* the erasure waits for the answer */
    fk.hold = 0;
    fk.retry_first_n = 1;
    uv_timer_start(&fk.t, answer, 0, 0);
    run_for(f, 300);
    /* Then only the erasure went: the retried grant was dropped. */
    assert_int_equal(fk.batches, 2);
    assert_string_equal(fk.first_field[1], "erase");
    assert_int_equal(fk.batch_sizes[1], 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(withdrawal_supersedes_a_waiting_grant_in_another_lane,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(never_two_writes_of_one_field_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(never_two_batches_of_one_class_and_member_in_flight, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(nothing_of_an_erased_member_is_sent_after_the_erasure,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_retry_answered_after_an_erasure_was_loaded_is_dropped,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
