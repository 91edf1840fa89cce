#include "cmocka_setup.h"

#include "duration.h"

static int64_t ok(const char *s)
{
    int64_t ms = -1;
    assert_int_equal(duration_parse(s, 0, &ms), 0);
    return ms;
}

static void units_and_their_long_names(void **state)
{
    (void)state;
    assert_int_equal(ok("250ms"), 250);
    assert_int_equal(ok("30s"), 30000);
    assert_int_equal(ok("30sec"), 30000);
    assert_int_equal(ok("5m"), 300000);
    assert_int_equal(ok("5min"), 300000);
    assert_int_equal(ok("2h"), 7200000);
    assert_int_equal(ok("1d"), 86400000);
    assert_int_equal(ok("1w"), 604800000);
    assert_int_equal(ok("2weeks"), 1209600000);
    assert_int_equal(ok("0"), 0);
}

static void a_bare_number_is_seconds(void **state)
{
    (void)state;
    assert_int_equal(ok("90"), 90000);
}

static void parts_add_up(void **state)
{
    (void)state;
    assert_int_equal(ok("1h30m"), 5400000);
    assert_int_equal(ok("1h 30min"), 5400000);
    assert_int_equal(ok("1d 2h 3m 4s 5ms"), 93784005);
}

static void what_is_refused(void **state)
{
    int64_t ms = 7;
    (void)state;
    assert_int_equal(duration_parse("", 0, &ms), -1);
    assert_int_equal(duration_parse("-5s", 0, &ms), -1);
    assert_int_equal(duration_parse("5x", 0, &ms), -1);
    assert_int_equal(duration_parse("s", 0, &ms), -1);
    assert_int_equal(duration_parse("1h 30", 0, &ms), -1); /* a bare number only alone */
    assert_int_equal(duration_parse("5S", 0, &ms), -1);
    assert_int_equal(duration_parse("5 s", 0, &ms), -1);
    assert_int_equal(duration_parse("1.5s", 0, &ms), -1);
    assert_int_equal(duration_parse("99999999999999999999s", 0, &ms), -1);
    assert_int_equal(duration_parse("2d", 86400000, &ms), -1); /* past the maximum */
    assert_int_equal(ms, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(units_and_their_long_names),
        cmocka_unit_test(a_bare_number_is_seconds),
        cmocka_unit_test(parts_add_up),
        cmocka_unit_test(what_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
