/* jdump_compact() (src/base/jdump.c) writes what json_dumps(JSON_COMPACT)
 * writes, byte for byte, or NULL where it gives NULL. */
#include "cmocka_setup.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jdump.h"

/* Both writers on v (the reference is jansson's own). */
static void same_as_jansson(const json_t *v, const char *what)
{
    char *want = json_dumps(v, JSON_COMPACT);
    char *got = jdump_compact(v);

    if ((want == NULL) != (got == NULL) || (want != NULL && strcmp(want, got) != 0))
        fail_msg("%s: json_dumps %s, jdump %s", what, want ? want : "NULL", got ? got : "NULL");
    free(want);
    free(got);
}

/* The shapes of the request bodies, every escape, UTF-8 of every length,
 * keys holding a NUL, the integer limits, the literals and the values left
 * to jansson (a real, a value at the top that is not a container). */
static void writes_what_json_dumps_writes(void **state)
{
    static const char *const strings[] = {
        "",
        "plain",
        "q\"uote",
        "back\\slash",
        "sl/ash",
        "\b\f\n\r\t",
        "\x01\x1f\x7f",
        "caf\xc3\xa9",
        "\xe2\x82\xac",
        "\xf0\x9f\x98\x80",
        "\xef\xbf\xbf",
        "a\"\\\n\xc3\xa9z",
        "source=web_form; proof=none",
    };
    json_t *o = json_object(), *a = json_array(), *in;
    (void)state;
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        json_object_set_new(o, strings[i], json_string(strings[i]));
        json_array_append_new(a, json_string(strings[i]));
    }
    json_object_setn_new(o, "k\0ey", 4, json_stringn("v\0al", 4));
    json_array_append_new(a, json_integer(INT64_MIN));
    json_array_append_new(a, json_integer(INT64_MAX));
    json_array_append_new(a, json_integer(0));
    json_array_append_new(a, json_true());
    json_array_append_new(a, json_false());
    json_array_append_new(a, json_null());
    json_array_append_new(a, json_object());
    json_array_append_new(a, json_array());
    json_object_set(o, "list", a);
    same_as_jansson(o, "object");
    same_as_jansson(a, "array");
    in = json_pack("{s:[{s:s, s:I, s:s, s:s, s:s, s:s}]}", "inputs", "subscriberIdString",
                   "m1@example.com", "subscriptionId", (json_int_t)1001, "statusState",
                   "SUBSCRIBED", "channel", "EMAIL", "legalBasis", "CONSENT_WITH_NOTICE",
                   "legalBasisExplanation", "source=web_form; proof=none");
    same_as_jansson(in, "statuses body");
    json_decref(in);
    in = json_pack("{s:[f]}", "x", 1.5);
    same_as_jansson(in, "a real");
    json_decref(in);
    in = json_string("top");
    same_as_jansson(in, "a string at the top");
    json_decref(in);
    in = json_pack("[s]", "x");
    json_array_append_new(in, json_string_nocheck("\xff"));
    same_as_jansson(in, "invalid UTF-8");
    json_decref(in);
    same_as_jansson(NULL, "NULL");
    json_decref(a);
    json_decref(o);
}

/* Random bytes as strings (json_stringn_nocheck: valid or not) and as
 * keys: 20,000 of them, from a fixed seed. */
static void random_strings_as_jansson_writes_them(void **state)
{
    uint32_t x = 12345;
    (void)state;
    for (int round = 0; round < 20000; round++) {
        char s[24];
        size_t n;
        json_t *a;

        x = x * 1103515245u + 12345u;
        n = (x >> 16) % sizeof(s);
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            /* Mostly printable, some control bytes and UTF-8 lead and
             * continuation bytes. */
            s[i] = (char)((x >> 16) % 4 == 0 ? (x >> 8) & 0xff : 0x20 + (x >> 8) % 0x60);
        }
        a = json_array();
        json_array_append_new(a, json_stringn_nocheck(s, n));
        same_as_jansson(a, "random string");
        json_decref(a);
        if (n > 0 && memchr(s, '\0', n) == NULL) {
            json_t *o = json_object();
            s[n] = '\0';
            json_object_set_new_nocheck(o, s, json_integer(round));
            same_as_jansson(o, "random key");
            json_decref(o);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(writes_what_json_dumps_writes),
        cmocka_unit_test(random_strings_as_jansson_writes_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
