#include "cmocka_setup.h"

#include "timefmt.h"

static void parses_utc_and_offsets(void **state)
{
    int64_t ms;
    (void)state;
    assert_int_equal(timefmt_parse_rfc3339("1970-01-01T00:00:00Z", &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(timefmt_parse_rfc3339("2026-11-24T10:00:00.123Z", &ms), 0);
    assert_int_equal(ms, 1795514400123LL);
    /* The same instant written with an offset. */
    assert_int_equal(timefmt_parse_rfc3339("2026-11-24T11:00:00.123456+01:00", &ms), 0);
    assert_int_equal(ms, 1795514400123LL);
    assert_int_equal(timefmt_parse_rfc3339("2026-11-24 05:30:00-04:30", &ms), 0);
    assert_int_equal(ms, 1795514400000LL);
}

static void rejects_what_rfc3339_does_not_allow(void **state)
{
    int64_t ms;
    (void)state;
    assert_int_equal(timefmt_parse_rfc3339("2026-11-24T10:00:00", &ms), -1);  /* no zone */
    assert_int_equal(timefmt_parse_rfc3339("2026-02-29T10:00:00Z", &ms), -1); /* not leap */
    assert_int_equal(timefmt_parse_rfc3339("2026-13-01T10:00:00Z", &ms), -1);
    assert_int_equal(timefmt_parse_rfc3339("1969-12-31T23:59:59Z", &ms), -1);
    assert_int_equal(timefmt_parse_rfc3339("2026-11-24T10:00:00Zjunk", &ms), -1);
    assert_int_equal(timefmt_parse_rfc3339("2026-11-24T10:00:00.Z", &ms), -1);
    assert_int_equal(timefmt_parse_rfc3339("", &ms), -1);
    assert_int_equal(timefmt_parse_rfc3339(NULL, &ms), -1);
    assert_int_equal(timefmt_parse_rfc3339("2024-02-29T00:00:00Z", &ms), 0);
    assert_int_equal(timefmt_parse_rfc3339("9999-12-31T23:59:59Z", &ms), 0);
}

static void format_round_trips(void **state)
{
    char buf[40];
    int64_t ms;
    (void)state;
    assert_string_equal(timefmt_format_rfc3339(1795514400123LL, buf, sizeof(buf)),
                        "2026-11-24T10:00:00.123Z");
    assert_int_equal(timefmt_parse_rfc3339(buf, &ms), 0);
    assert_int_equal(ms, 1795514400123LL);
    assert_string_equal(timefmt_format_rfc3339(0, buf, sizeof(buf)), "1970-01-01T00:00:00.000Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_utc_and_offsets),
        cmocka_unit_test(rejects_what_rfc3339_does_not_allow),
        cmocka_unit_test(format_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
