/* Rate-limited log lines (the admin endpoint's refusals, issue 14 item 11):
 * one line per interval, the number held back told on the next line or by
 * the periodic flush, never lost. */
#include "cmocka_setup.h"

#include "log_throttle.h"

static void one_line_per_interval_with_the_count_held_back(void **state)
{
    struct log_throttle t;
    long held = -1;
    (void)state;

    log_throttle_init(&t, 10000);
    assert_int_equal(log_throttle_allow_at(&t, 5, &held), 1);
    assert_int_equal(held, 0);
    for (int i = 0; i < 15; i++)
        assert_int_equal(log_throttle_allow_at(&t, 6 + i, &held), 0);
    assert_int_equal(log_throttle_allow_at(&t, 10004, &held), 0);
    assert_int_equal(log_throttle_allow_at(&t, 10005, &held), 1);
    assert_int_equal(held, 16);
    assert_int_equal(log_throttle_allow_at(&t, 10006, &held), 0);
    log_throttle_destroy(&t);
}

static void flush_tells_the_count_once_the_interval_is_over(void **state)
{
    struct log_throttle t;
    long held = -1;
    (void)state;

    log_throttle_init(&t, 1000);
    assert_int_equal(log_throttle_flush_at(&t, 0, &held), 0); /* nothing held */
    assert_int_equal(log_throttle_allow_at(&t, 0, &held), 1);
    assert_int_equal(log_throttle_allow_at(&t, 1, &held), 0);
    assert_int_equal(log_throttle_allow_at(&t, 2, &held), 0);
    assert_int_equal(log_throttle_flush_at(&t, 999, &held), 0);
    assert_int_equal(log_throttle_flush_at(&t, 1000, &held), 1);
    assert_int_equal(held, 2);
    assert_int_equal(log_throttle_flush_at(&t, 5000, &held), 0); /* told once */
    /* The flush started a new interval: the next event waits for it. */
    assert_int_equal(log_throttle_allow_at(&t, 1500, &held), 0);
    assert_int_equal(log_throttle_allow_at(&t, 2000, &held), 1);
    assert_int_equal(held, 1);
    log_throttle_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_line_per_interval_with_the_count_held_back),
        cmocka_unit_test(flush_tells_the_count_once_the_interval_is_over),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
