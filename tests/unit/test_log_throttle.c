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

/* Dead letters: a few whole lines (each names its member) before the
 * count takes over; the summary line opens the next interval. */
static void a_burst_of_lines_then_the_count(void **state)
{
    struct log_throttle t;
    long held = -1;
    (void)state;

    log_throttle_init_burst(&t, 60000, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(log_throttle_allow_at(&t, 100 + i, &held), 1);
        assert_int_equal(held, 0);
    }
    for (int i = 0; i < 7; i++)
        assert_int_equal(log_throttle_allow_at(&t, 200 + i, &held), 0);
    assert_int_equal(log_throttle_flush_at(&t, 60099, &held), 0);
    assert_int_equal(log_throttle_flush_at(&t, 60100, &held), 1);
    assert_int_equal(held, 7);
    /* The summary was the first of three lines in the new interval. */
    assert_int_equal(log_throttle_allow_at(&t, 60101, &held), 1);
    assert_int_equal(log_throttle_allow_at(&t, 60102, &held), 1);
    assert_int_equal(log_throttle_allow_at(&t, 60103, &held), 0);
    /* A stop tells what is held back before the interval is over. */
    assert_int_equal(log_throttle_drain(&t, &held), 1);
    assert_int_equal(held, 1);
    assert_int_equal(log_throttle_drain(&t, &held), 0);
    assert_int_equal(held, 0);
    log_throttle_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_line_per_interval_with_the_count_held_back),
        cmocka_unit_test(flush_tells_the_count_once_the_interval_is_over),
        cmocka_unit_test(a_burst_of_lines_then_the_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
