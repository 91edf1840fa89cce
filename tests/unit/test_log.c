/* Logs must never show a full email address or phone number. */
#include "cmocka_setup.h"
#include <string.h>

#include "log.h"

static void mask_email_keeps_first_char_and_domain(void **state)
{
    char buf[64];
    (void)state;
    assert_string_equal(log_mask("jane.doe@example.com", buf, sizeof(buf)), "j***@example.com");
}

static void mask_phone_keeps_only_ends(void **state)
{
    char buf[64];
    (void)state;
    assert_string_equal(log_mask("+33612345678", buf, sizeof(buf)), "+3***78");
    assert_string_equal(log_mask("1234", buf, sizeof(buf)), "***");
}

static void level_names_parse(void **state)
{
    enum log_level l;
    (void)state;
    assert_int_equal(log_level_parse("warning", &l), 0);
    assert_int_equal(l, LOG_LVL_WARNING);
    assert_int_equal(log_level_parse("loud", &l), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mask_email_keeps_first_char_and_domain),
        cmocka_unit_test(mask_phone_keeps_only_ends),
        cmocka_unit_test(level_names_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
