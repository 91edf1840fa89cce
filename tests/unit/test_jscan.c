#include "cmocka_setup.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jscan.h"

/* 1 when jscan reads the whole text as one JSON object or array. */
static int jscan_reads(const char *text, size_t len)
{
    size_t i = strspn(text, " \t\r\n");
    struct jscan s;
    jscan_init(&s, text, (long)len);
    if (i < len && (text[i] == '{' || text[i] == '['))
        return jscan_skip(&s) == 1 && jscan_end(&s) == 1;
    return 0;
}

static int jansson_reads(const char *text, size_t len)
{
    json_t *v = json_loadb(text, len, 0, NULL);
    json_decref(v);
    return v != NULL;
}

/* The readers agree with json_loads() on what is a document: a HubSpot
 * answer jansson would refuse is unreadable here too (never a success). */
static void accepts_what_jansson_accepts(void **state)
{
    static const char *const texts[] = {
        "{}", "[]", " { \"a\" : [ 1 , -2.5e+3 , true , false , null , \"x\" ] } \n",
        "{\"a\":{\"b\":{\"c\":[[],{}]}}}", "[0, -0, 0.5, 1E9, 12e-1]",
        "[\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\ud83d\\ude00\"]",
        "[\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"]",
        /* refused by both */
        "", "{", "}", "[1,]", "[1 2]", "{\"a\":1,}", "{\"a\" 1}", "{\"a\":1 \"b\":2}", "{a:1}",
        "[01]", "[-]", "[1.]", "[1e]", "[.5]", "[+1]", "[tru]", "[nul]", "[\"abc]", "[\"a\x01\"]",
        "[\"\\x\"]", "[\"\\u12\"]", "[\"\\udc00\"]", "[\"\\ud800\"]", "[\"\\ud800\\u0041\"]",
        "[\"\\u0000\"]", "[\"\xc0\x80\"]", "[\"\xed\xa0\x80\"]", "[\"\xf4\x90\x80\x80\"]",
        "[\"\xe2\x82\"]", "[\"\x80\"]", "[\"\xff\"]", "{} x", "[] []", "{\"a\":1}}", "[1]]"};

    (void)state;
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        size_t len = strlen(texts[i]);
        if (jscan_reads(texts[i], len) != jansson_reads(texts[i], len))
            fail_msg("jscan and jansson disagree on %s", texts[i]);
    }
}

static void nesting_is_bounded_as_in_jansson(void **state)
{
    char *deep = malloc(2 * 2050 + 1);
    (void)state;
    assert_non_null(deep);
    for (int depth = 2040; depth <= 2050; depth++) {
        memset(deep, '[', (size_t)depth);
        memset(deep + depth, ']', (size_t)depth);
        deep[2 * depth] = '\0';
        assert_int_equal(jscan_reads(deep, (size_t)(2 * depth)),
                         jansson_reads(deep, (size_t)(2 * depth)));
    }
    assert_int_equal(jscan_reads(deep, 2 * 2050), 0);
    memset(deep, '[', 2040);
    memset(deep + 2040, ']', 2040);
    assert_int_equal(jscan_reads(deep, 2 * 2040), 1);
    free(deep);
}

/* A string read into a buffer of any size is the decoded string (as
 * jansson decodes it) cut to size - 1 bytes, byte for byte, and says it
 * was cut exactly when it was: plain runs, escapes and UTF-8 at every
 * boundary. */
static void strings_are_cut_where_the_buffer_ends(void **state)
{
    static const char *const texts[] = {
        "\"\"",
        "\"plain ascii text of some length\"",
        "\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"",
        "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 end\"",
        "\"\\u00e9\\u20ac\\ud83d\\ude00x\"",
        "\"~\x7f \"",
        "\"ab\\u0041cd\"",
    };
    (void)state;
    for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
        json_t *j = json_loads(texts[t], JSON_DECODE_ANY, NULL);
        const char *want;
        size_t len;

        assert_non_null(j);
        want = json_string_value(j);
        len = strlen(want);
        for (size_t size = 1; size <= len + 2; size++) {
            char out[128];
            struct jscan s;
            size_t keep = len < size - 1 ? len : size - 1;
            int r;

            memset(out, 'Z', sizeof(out));
            jscan_init(&s, texts[t], -1);
            r = jscan_string(&s, out, size);
            if (r != (len > size - 1 ? 3 : 1) || strlen(out) != keep ||
                memcmp(out, want, keep) != 0 || out[size] != 'Z')
                fail_msg("text %zu size %zu: r %d, read \"%s\"", t, size, r, out);
            assert_int_equal(jscan_end(&s), 1);
        }
        json_decref(j);
    }
}

/* The walk: members by name, the strings and integers read, the rest
 * skipped; escapes decoded; a string longer than the buffer is cut and
 * says so. */
static void reads_members_and_elements(void **state)
{
    const char *text = "{\"id\":\"50\\u00e9\",\"n\":-42,\"skip\":{\"x\":[1,2,{}]},"
                       "\"list\":[\"a\",7,\"long string\"],\"f\":1.5}";
    struct jscan s;
    char key[16], str[8];
    long long v = 0;
    (void)state;
    jscan_init(&s, text, -1);
    assert_int_equal(jscan_object(&s), 1);
    assert_int_equal(jscan_member(&s, key, sizeof(key)), 1);
    assert_string_equal(key, "id");
    assert_int_equal(jscan_string(&s, str, sizeof(str)), 1);
    assert_string_equal(str, "50\xc3\xa9");
    assert_int_equal(jscan_member(&s, key, sizeof(key)), 1);
    assert_string_equal(key, "n");
    assert_int_equal(jscan_int(&s, &v), 1);
    assert_int_equal(v, -42);
    assert_int_equal(jscan_member(&s, key, sizeof(key)), 1);
    assert_string_equal(key, "skip");
    assert_int_equal(jscan_skip(&s), 1);
    assert_int_equal(jscan_member(&s, key, sizeof(key)), 1);
    assert_string_equal(key, "list");
    assert_int_equal(jscan_array(&s), 1);
    assert_int_equal(jscan_element(&s), 1);
    assert_int_equal(jscan_string(&s, str, sizeof(str)), 1);
    assert_string_equal(str, "a");
    assert_int_equal(jscan_element(&s), 1);
    assert_int_equal(jscan_string(&s, str, sizeof(str)), 2); /* 7: not a string */
    assert_int_equal(jscan_element(&s), 1);
    assert_int_equal(jscan_string(&s, str, sizeof(str)), 3);
    assert_string_equal(str, "long st");
    assert_int_equal(jscan_element(&s), 0);
    assert_int_equal(jscan_member(&s, key, sizeof(key)), 1);
    assert_int_equal(jscan_int(&s, &v), 2); /* 1.5: not an integer */
    assert_int_equal(jscan_member(&s, key, sizeof(key)), 0);
    assert_int_equal(jscan_end(&s), 1);
}

static void integers_within_long_long(void **state)
{
    char text[64];
    struct jscan s;
    long long v;
    (void)state;
    snprintf(text, sizeof(text), "[%lld,%lld]", LLONG_MAX, LLONG_MIN);
    jscan_init(&s, text, -1);
    assert_int_equal(jscan_array(&s), 1);
    assert_int_equal(jscan_element(&s), 1);
    assert_int_equal(jscan_int(&s, &v), 1);
    assert_true(v == LLONG_MAX);
    assert_int_equal(jscan_element(&s), 1);
    assert_int_equal(jscan_int(&s, &v), 1);
    assert_true(v == LLONG_MIN);
    assert_int_equal(jscan_element(&s), 0);
    /* One past: jansson refuses the document ("too big integer"). */
    jscan_init(&s, "[9223372036854775808]", -1);
    assert_int_equal(jscan_array(&s), 1);
    assert_int_equal(jscan_element(&s), 1);
    assert_int_equal(jscan_int(&s, &v), -1);
    assert_int_equal(jscan_element(&s), -1); /* failed for good */
    assert_int_equal(jscan_end(&s), -1);
}

/* jscan_fields: the named members read, the rest skipped; a non-integer
 * counts as 0; a cut string is found only with cut_ok; the last of a
 * repeated name wins; a value that is not an object is skipped (2). */
static void fields_of_a_flat_object(void **state)
{
    char a[4], b[4];
    long long n = 7;
    struct jscan_field f[] = {
        {"a", a, sizeof(a), NULL, 0, 0}, {"b", b, sizeof(b), NULL, 1, 0}, {"n", NULL, 0, &n, 0, 0}};
    struct jscan s;
    (void)state;
    jscan_init(&s, "{\"x\":[1,{}],\"a\":\"long\",\"b\":\"long\",\"n\":1.5}", -1);
    assert_int_equal(jscan_fields(&s, f, 3), 1);
    assert_int_equal(jscan_end(&s), 1);
    assert_int_equal(f[0].found, 0);
    assert_int_equal(f[1].found, 1);
    assert_string_equal(b, "lon");
    assert_true(n == 0);
    jscan_init(&s, "{\"a\":\"x\",\"n\":3,\"a\":\"yz\"}", -1);
    assert_int_equal(jscan_fields(&s, f, 3), 1);
    assert_int_equal(f[0].found, 1);
    assert_string_equal(a, "yz");
    assert_true(n == 3);
    jscan_init(&s, "[1]", -1);
    assert_int_equal(jscan_fields(&s, f, 3), 2);
    assert_int_equal(jscan_end(&s), 1);
    jscan_init(&s, "{\"a\":}", -1);
    assert_int_equal(jscan_fields(&s, f, 3), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_what_jansson_accepts),
        cmocka_unit_test(nesting_is_bounded_as_in_jansson),
        cmocka_unit_test(strings_are_cut_where_the_buffer_ends),
        cmocka_unit_test(reads_members_and_elements),
        cmocka_unit_test(integers_within_long_long),
        cmocka_unit_test(fields_of_a_flat_object),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
