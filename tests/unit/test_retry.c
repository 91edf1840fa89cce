/* Backoff: capped, fully jittered, never before Retry-After, and bounded by
 * per-operation and per-connector budgets. All on a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "retry.h"

static double fixed_random(void *arg)
{
    return *(double *)arg;
}

static void backoff_doubles_up_to_cap(void **state)
{
    struct retry_policy p;

    (void)state;
    retry_policy_defaults(&p);
    p.base_ms = 100;
    p.cap_ms = 1000;
    /* r close to 1 shows the window itself. */
    assert_int_equal(retry_backoff_ms(&p, 1, 0.999999), 99);
    assert_int_equal(retry_backoff_ms(&p, 2, 0.5), 100);
    assert_int_equal(retry_backoff_ms(&p, 3, 0.5), 200);
    assert_int_equal(retry_backoff_ms(&p, 4, 0.5), 400);
    assert_int_equal(retry_backoff_ms(&p, 5, 0.5), 500);
    assert_int_equal(retry_backoff_ms(&p, 6, 0.5), 500);
    assert_int_equal(retry_backoff_ms(&p, 60, 0.5), 500);
    /* Full jitter: r = 0 may retry at once. */
    assert_int_equal(retry_backoff_ms(&p, 4, 0.0), 0);
}

static void never_before_retry_after(void **state)
{
    struct retry_policy p;
    struct retry_state s;
    double r = 0.5;

    (void)state;
    retry_policy_defaults(&p);
    p.base_ms = 100;
    p.random = fixed_random;
    p.random_arg = &r;
    retry_state_init(&s);
    retry_note_attempt(&s, 1000);
    assert_int_equal(retry_next_delay(&p, &s, -1, 1000), 50);
    assert_int_equal(retry_next_delay(&p, &s, 7000, 1000), 7000);
    /* A Retry-After shorter than the backoff does not shorten it. */
    r = 0.999;
    assert_int_equal(retry_next_delay(&p, &s, 10, 1000), 99);
}

static void operation_budget_attempts_and_elapsed(void **state)
{
    struct retry_policy p;
    struct retry_state s;
    double r = 0.5;
    uint64_t now = 5000;
    int i = 0;

    (void)state;
    retry_policy_defaults(&p);
    p.base_ms = 100;
    p.max_attempts = 4;
    p.max_elapsed_ms = 0;
    p.random = fixed_random;
    p.random_arg = &r;
    retry_state_init(&s);
    for (i = 0; i < 3; i++) {
        long d = 0;
        retry_note_attempt(&s, now);
        d = retry_next_delay(&p, &s, -1, now);
        assert_true(d >= 0);
        now += (uint64_t)d;
    }
    retry_note_attempt(&s, now);
    assert_int_equal(retry_next_delay(&p, &s, -1, now), -1);

    /* Elapsed: a retry that would start past the deadline is refused. */
    p.max_attempts = 100;
    p.max_elapsed_ms = 10000;
    retry_state_init(&s);
    retry_note_attempt(&s, 0);
    assert_int_equal(retry_next_delay(&p, &s, 9000, 500), 9000);
    assert_int_equal(retry_next_delay(&p, &s, 9600, 500), -1);
}

static void connector_budget_limits_retry_ratio(void **state)
{
    struct retry_budget b;
    int allowed = 0;
    int i = 0;

    (void)state;
    /* Start empty-ish: 10% ratio, no floor, bucket of 5 (full at start). */
    retry_budget_init(&b, 0.1, 0.0, 5, 0);
    for (i = 0; i < 100; i++)
        allowed += retry_budget_withdraw(&b, 0);
    assert_int_equal(allowed, 5);
    /* 100 first attempts earn 10 retries (capped at 5 in the bucket). */
    for (i = 0; i < 30; i++)
        retry_budget_deposit(&b, 0);
    allowed = 0;
    for (i = 0; i < 100; i++)
        allowed += retry_budget_withdraw(&b, 0);
    assert_int_equal(allowed, 3);
    /* The floor refills with time. */
    retry_budget_init(&b, 0.0, 2.0, 10, 0);
    for (i = 0; i < 10; i++)
        assert_int_equal(retry_budget_withdraw(&b, 0), 1);
    assert_int_equal(retry_budget_withdraw(&b, 0), 0);
    assert_int_equal(retry_budget_withdraw(&b, 1000), 1);
    assert_int_equal(retry_budget_withdraw(&b, 1000), 1);
    assert_int_equal(retry_budget_withdraw(&b, 1000), 0);
}

static uint64_t fake_now(void *arg)
{
    return *(uint64_t *)arg;
}

static void injectable_clock(void **state)
{
    uint64_t t = 42;
    struct retry_clock c = {fake_now, &t};

    (void)state;
    assert_int_equal(retry_clock_now(&c), 42);
    t = 1000;
    assert_int_equal(retry_clock_now(&c), 1000);
    assert_true(retry_clock_now(NULL) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backoff_doubles_up_to_cap),
        cmocka_unit_test(never_before_retry_after),
        cmocka_unit_test(operation_budget_attempts_and_elapsed),
        cmocka_unit_test(connector_budget_limits_retry_ratio),
        cmocka_unit_test(injectable_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
