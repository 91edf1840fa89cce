#include "cmocka_setup.h"

#include <stdlib.h>
#include <string.h>

#include "watermark_text.h"

static void check(const char *json, const char *want)
{
    char *got = watermark_text(json);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void a_spool_watermark_is_file_colon_line(void **state)
{
    (void)state;
    check("{\"file\":\"orders-2026-11-01.jsonl\",\"line\":42}", "orders-2026-11-01.jsonl:42");
}

static void epoch_milliseconds_are_rfc3339(void **state)
{
    (void)state;
    /* HubSpot's and Salesforce's cursors: a time and a record id. */
    check("{\"t\":1795514400123}", "t=2026-11-24T10:00:00.123Z");
    check("{\"t\":1795514400000,\"id\":\"003000000000001AAA\",\"lmc\":1795514400000}",
          "t=2026-11-24T10:00:00.000Z id=003000000000001AAA lmc=2026-11-24T10:00:00.000Z");
}

static void ids_and_small_numbers_stay_numbers(void **state)
{
    (void)state;
    /* Adobe's (h, id, m): an id is never read as a time, even a large one. */
    check("{\"h\":0,\"id\":123456789012,\"m\":1795514400000}",
          "h=0 id=123456789012 m=2026-11-24T10:00:00.000Z");
}

static void what_is_not_an_object_is_shown_as_it_is(void **state)
{
    (void)state;
    check("not json", "not json");
    check("[1,2]", "[1,2]");
    check("", "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_spool_watermark_is_file_colon_line),
        cmocka_unit_test(epoch_milliseconds_are_rfc3339),
        cmocka_unit_test(ids_and_small_numbers_stay_numbers),
        cmocka_unit_test(what_is_not_an_object_is_shown_as_it_is),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
