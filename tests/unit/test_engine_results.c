/* The engine's handling of per-record results against the fake connector
 * (engine_fixture.h): rejects into dead letters and the cursor, stale
 * values, retries and outages that do not use up a record's attempts, the
 * retry policy by time, withdrawals never dead-lettered, resends and the
 * shadow (split out of test_engine.c, issue 18). */
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

static void reject_goes_to_dead_letters_and_cursor_passes(void **state)
{
    struct fixture *f = *state;
    fk.reject_member_m2 = 1;
    add(f, "shop", "M1", "consent/marketing/sms", CONSENT_GRANTED);
    add(f, "shop", "M2", "consent/marketing/sms", CONSENT_GRANTED);
    add(f, "shop", "M3", "consent/marketing/sms", CONSENT_GRANTED);
    run(f);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM dead_letters WHERE destination = 'crm' AND "
                              "member_key = 'M2' AND reason LIKE 'INVALID_EMAIL%'"),
                     1);
    assert_int_equal(count(f, "SELECT seq FROM push_cursors WHERE connector = 'crm' AND lane = 2"),
                     3);
}

static void stale_is_handled_without_shadow_or_dead_letter(void **state)
{
    struct fixture *f = *state;
    fk.stale_member_m3 = 1;
    add(f, "shop", "M1", "consent/marketing/email", CONSENT_GRANTED);
    add(f, "shop", "M3", "consent/marketing/email", CONSENT_GRANTED);
    run(f);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM dead_letters"), 0);
    assert_int_equal(
        count(f, "SELECT COUNT(*) FROM shadow WHERE member_key = 'M3' AND value_hash <> ''"), 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM shadow WHERE member_key = 'M1'"), 1);
    assert_int_equal(count(f, "SELECT seq FROM push_cursors WHERE connector = 'crm' AND lane = 2"),
                     2);
}

static void operator_retry_of_a_dead_letter_delivers_it(void **state)
{
    struct fixture *f = *state;
    fk.reject_member_m2 = 1;
    add(f, "shop", "M1", "consent/marketing/sms", CONSENT_GRANTED);
    add(f, "shop", "M2", "consent/marketing/sms", CONSENT_GRANTED);
    run(f);
    assert_int_equal(fk.records_received, 1);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM dead_letters"), 1);
    /* The operator fixed the cause and asked for a retry. */
    fk.reject_member_m2 = 0;
    assert_int_equal(sqlite3_exec(store_db(f->st), "UPDATE dead_letters SET retry_requested_at = 1",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    engine_sweep_retries(f->eng);
    run(f);
    assert_int_equal(fk.records_received, 2);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM dead_letters"), 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM shadow WHERE member_key = 'M2'"), 1);
    /* M1 is not sent again: its shadow matches. */
    assert_int_equal(fk.batches, 2);
}

static void retries_then_succeeds(void **state)
{
    struct fixture *f = *state;
    fk.retry_first_n = 2;
    add(f, "shop", "M1", "consent/marketing/sms", CONSENT_GRANTED);
    run(f);
    assert_int_equal(fk.batches, 3);
    assert_int_equal(fk.records_received, 1);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM dead_letters"), 0);
}

static void outage_does_not_use_up_attempts(void **state)
{
    struct fixture *f = *state;
    fk.outage_batches = 12; /* more than the 8 attempts a record has */
    add(f, "shop", "M1", "consent/marketing/sms", CONSENT_GRANTED);
    run(f);
    assert_int_equal(fk.records_received, 1);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM dead_letters"), 0);
}

/* The CRM's reason may quote the refused value: the dead letter keeps it
 * masked (issue 14 item 9). */
static void a_dead_letter_reason_masks_emails(void **state)
{
    struct fixture *f = *state;
    fk.reject_member_m2 = 1;
    fk.reject_text = "HTTP 400: Email address not valid@example.org is invalid";
    add(f, "shop", "M2", "consent/marketing/sms", CONSENT_GRANTED);
    run(f);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM dead_letters"), 1);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM dead_letters WHERE reason LIKE "
                              "'%valid@example.org%'"),
                     0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM dead_letters WHERE reason LIKE "
                              "'%not v***@example.org is invalid'"),
                     1);
}

/* A record is given up by time, not by its number of sends (issue 14 item
 * 3): twenty retries inside the time allowed end in success, where eight
 * attempts used to dead-letter it. */
static void a_record_is_given_up_by_time_not_attempts(void **state)
{
    struct fixture *f = *state;
    fk.retry_first_n = 20;
    fk.give_up_ms = 600000;
    add(f, "shop", "M1", "consent/marketing/sms", CONSENT_GRANTED);
    run(f);
    assert_int_equal(fk.records_received, 1);
    assert_int_equal(fk.batches, 21);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM dead_letters"), 0);
}

static void a_record_failing_past_the_time_is_dead_lettered(void **state)
{
    struct fixture *f = *state;
    fk.retry_first_n = 1000000;
    fk.retry_after_ms = 20;
    fk.give_up_ms = 150;
    add(f, "shop", "M1", "consent/marketing/sms", CONSENT_GRANTED);
    run(f);
    assert_int_equal(fk.records_received, 0);
    assert_int_equal(
        count(f, "SELECT COUNT(*) FROM dead_letters WHERE reason LIKE 'gave up after%'"), 1);
}

static int overdue_reported(const char *conn)
{
    struct health_snapshot snap;
    int found = 0;
    size_t i;
    json_t *p;
    assert_int_equal(health_snapshot(&snap), 0);
    json_array_foreach(snap.problems, i, p)
    {
        found |= strcmp(json_string_value(json_object_get(p, "reason")), "urgent_overdue") == 0 &&
                 strcmp(json_string_value(json_object_get(p, "connector")), conn) == 0;
    }
    json_decref(snap.problems);
    return found;
}

/* A withdrawal or an erasure is never dead-lettered by the retry policy:
 * past it, it stays pending, /healthz and the metric say so, and it goes
 * when the CRM takes it. A grant failing the same way is given up. */
static void a_withdrawal_is_never_dead_lettered_by_the_policy(void **state)
{
    struct fixture *f = *state;
    fk.retry_first_n = 1000000;
    fk.retry_after_ms = 20;
    fk.give_up_ms = 150;
    health_reset();
    add(f, "shop", "M1", "consent/marketing/sms", CONSENT_DENIED);
    add(f, "shop", "M2", "consent/marketing/sms", CONSENT_GRANTED);
    run_for(f, 400); /* retried forever, M1 never lets run() see the engine idle */
    assert_int_equal(fk.records_received, 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM dead_letters WHERE member_key = 'M2'"), 1);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM dead_letters WHERE member_key = 'M1'"), 0);
    assert_true(overdue_reported("crm"));
    /* The CRM recovers: the withdrawal goes, and the report is cleared. */
    fk.retry_first_n = 0;
    run(f);
    assert_int_equal(fk.records_received, 1);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM shadow WHERE member_key = 'M1'"), 1);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM dead_letters WHERE member_key = 'M1'"), 0);
    assert_false(overdue_reported("crm"));
}

/* A connector answers "not ready, retry in a while" until its setup is done,
 * then says it is ready: the engine pushes at once, not when the pause
 * runs out. */
static void resume_ends_a_not_ready_pause(void **state)
{
    struct fixture *f = *state;
    fk.outage_batches = 1;
    fk.outage_retry_ms = 600000;
    add(f, "shop", "M1", "consent/marketing/sms", CONSENT_GRANTED);
    run(f);
    assert_int_equal(fk.batches, 1);
    assert_int_equal(fk.records_received, 0);
    run(f); /* a kick does not end the pause */
    assert_int_equal(fk.batches, 1);
    engine_resume(f->eng, &f->conn);
    run(f);
    assert_int_equal(fk.batches, 2);
    assert_int_equal(fk.records_received, 1);
}

/* A grant in flight, a withdrawal of the same field behind it (urgent
 * lane), then the grant answered RETRY: the grant is not queued again, so
 * no request carries both (Salesforce refused both items of one external
 * id: the withdrawal was dead-lettered) and the grant never follows the
 * withdrawal. */
static void a_retried_value_superseded_in_flight_is_dropped(void **state)
{
    struct fixture *f = *state;
    fk.hold = 1;
    add(f, "shop", "M1", "consent/marketing/sms", CONSENT_GRANTED);
    run(f);
    assert_int_equal(fk.batches, 1);
    add(f, "shop", "M1", "consent/marketing/sms", CONSENT_DENIED);
    run(f);
    assert_int_equal(fk.batches, 1); /* waits for the grant's answer */
    fk.hold = 0;
    fk.retry_first_n = 1;
    uv_timer_start(&fk.t, answer, 0, 0);
    run(f);
    assert_true(fk.batches >= 2);
    for (size_t b = 1; b < fk.batches; b++) {
        assert_int_equal(fk.batch_sizes[b], 1);
        assert_non_null(strstr(fk.first_value[b], "\"status\":\"denied\""));
    }
    assert_int_equal(fk.records_received, 1);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM dead_letters"), 0);
}

/* A value the CRM holds already is not sent again (shadow equal), even as a
 * repair; a resend addressed to this destination is (HubSpot: the email
 * address changed), and one addressed to another destination is not. */
static void a_resend_goes_whatever_the_shadow_says(void **state)
{
    struct fixture *f = *state;
    struct error err = {""};
    char *v = NULL;
    int added = 0;

    add(f, "shop", "M1", "consent/marketing/sms", CONSENT_GRANTED);
    run(f);
    assert_int_equal(fk.batches, 1);
    assert_int_equal(store_current_get(f->st, "M1", "consent/marketing/sms", &v, &err), 0);
    assert_non_null(v);
    assert_int_equal(store_append_repair(f->st, "M1", CHANGE_CONSENT, "consent/marketing/sms", v,
                                         LANE_BULK, "r1", &added, &err),
                     0);
    run(f);
    assert_int_equal(fk.batches, 1);
    assert_int_equal(store_append_resend(f->st, "other", "M1", CHANGE_CONSENT,
                                         "consent/marketing/sms", v, LANE_BULK, "x1", &added, &err),
                     0);
    run(f);
    assert_int_equal(fk.batches, 1);
    assert_int_equal(store_append_resend(f->st, "crm", "M1", CHANGE_CONSENT,
                                         "consent/marketing/sms", v, LANE_BULK, "x2", &added, &err),
                     0);
    run(f);
    assert_int_equal(fk.batches, 2);
    assert_non_null(strstr(fk.first_value[1], "\"status\":\"granted\""));
    free(v);
}

/* Issue 17: planning reads the shadows of a chunk of the window in one
 * statement. A record waiting behind its field's write in flight has its
 * shadow read with the chunk while that write flies (here: M2's plan reads
 * M1's too); once the write is answered, the record is compared with what
 * the answer confirmed, not with that earlier read. Without that, M1's
 * second value would be skipped as "held already" (the shadow said so
 * before the first write) and the CRM would keep the first value. */
static void a_shadow_read_before_an_answer_is_not_kept(void **state)
{
    struct fixture *f = *state;
    struct error err = {""};
    char *v = NULL, h[65];

    fk.hold = 1;
    add(f, "shop", "M1", "consent/marketing/sms", CONSENT_GRANTED);
    run(f);
    assert_int_equal(fk.batches, 1); /* M1's first value, unanswered */
    /* Withdrawals: the priority lane may use the last request slot. */
    add(f, "shop", "M2", "consent/marketing/sms", CONSENT_DENIED);
    add(f, "shop", "M1", "consent/marketing/sms", CONSENT_DENIED);
    /* The CRM is believed to hold M1's second value (as it would after an
     * earlier write of it): while the first write flies, the shadow says
     * "equal". */
    assert_int_equal(store_current_get(f->st, "M1", "consent/marketing/sms", &v, &err), 0);
    assert_non_null(v);
    sha256_hex(v, strlen(v), h);
    free(v);
    assert_int_equal(store_shadow_put(f->st, "crm", "M1", "consent/marketing/sms", h, &err), 0);
    run(f);
    assert_int_equal(fk.batches, 2); /* M2 alone: M1 waits for its answer */
    assert_int_equal(fk.batch_sizes[1], 1);
    assert_string_equal(fk.first_member[1], "M2");
    fk.hold = 0;
    uv_timer_start(&fk.t, answer, 0, 0);
    run(f);
    /* The first write's answer set the shadow to the first value: the
     * second differs and goes. */
    assert_int_equal(fk.batches, 3);
    assert_string_equal(fk.first_member[2], "M1");
    assert_int_equal(fk.records_received, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reject_goes_to_dead_letters_and_cursor_passes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(stale_is_handled_without_shadow_or_dead_letter, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(operator_retry_of_a_dead_letter_delivers_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(retries_then_succeeds, setup, teardown),
        cmocka_unit_test_setup_teardown(outage_does_not_use_up_attempts, setup, teardown),
        cmocka_unit_test_setup_teardown(a_dead_letter_reason_masks_emails, setup, teardown),
        cmocka_unit_test_setup_teardown(a_record_is_given_up_by_time_not_attempts, setup, teardown),
        cmocka_unit_test_setup_teardown(a_record_failing_past_the_time_is_dead_lettered, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_withdrawal_is_never_dead_lettered_by_the_policy, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(resume_ends_a_not_ready_pause, setup, teardown),
        cmocka_unit_test_setup_teardown(a_retried_value_superseded_in_flight_is_dropped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_resend_goes_whatever_the_shadow_says, setup, teardown),
        cmocka_unit_test_setup_teardown(a_shadow_read_before_an_answer_is_not_kept, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
