/* Names from outside shown to people: control characters escaped, JSON
 * documents escaped in place for crmsyncctl's text output. */
#include "cmocka_setup.h"
#include <jansson.h>
#include <string.h>

#include "textesc.h"

static void control_characters_and_backslash_are_escaped(void **state)
{
    char out[64];
    (void)state;

    assert_string_equal(text_escape("plain.jsonl", out, sizeof(out)), "plain.jsonl");
    assert_string_equal(text_escape("a\nb\x1b[31m\\c\x7f", out, sizeof(out)),
                        "a\\x0ab\\x1b[31m\\\\c\\x7f");
    assert_string_equal(text_escape("caf\xc3\xa9", out, sizeof(out)), "caf\xc3\xa9");
    /* Cut at the buffer, never in the middle of an escape. */
    assert_string_equal(text_escape("ab\n", out, 5), "ab");
    assert_int_equal(text_needs_escape("ok"), 0);
    assert_int_equal(text_needs_escape("no\tk"), 1);
}

static void utf8_is_checked(void **state)
{
    (void)state;
    assert_int_equal(text_is_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), 1);
    assert_int_equal(text_is_utf8("\xff"), 0);
    assert_int_equal(text_is_utf8("\xc3"), 0);         /* cut */
    assert_int_equal(text_is_utf8("\xc0\xaf"), 0);     /* overlong */
    assert_int_equal(text_is_utf8("\xed\xa0\x80"), 0); /* surrogate */
}

static void json_strings_are_escaped_in_place(void **state)
{
    json_t *doc =
        json_pack("{s:s,s:[{s:s}],s:i}", "a", "x\ny", "list", "name", "\x1b]0;t\x07", "n", 3);
    (void)state;

    text_escape_json(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "a")), "x\\x0ay");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(doc, "list"), 0), "name")),
        "\\x1b]0;t\\x07");
    assert_int_equal(json_integer_value(json_object_get(doc, "n")), 3);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(control_characters_and_backslash_are_escaped),
        cmocka_unit_test(utf8_is_checked),
        cmocka_unit_test(json_strings_are_escaped_in_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
