/* jscan (src/base/jscan.c), the allocation-free JSON reader of vendor
 * answers, against jansson on any text. jscan reads what the network sends
 * (HubSpot batch and status answers), so besides memory safety it must
 * agree with jansson: a document one refuses the other refuses (but for
 * numbers out of range that jscan only skips), and walking a document reads
 * the same strings and integers jansson's tree holds. A disagreement traps. */
#include <jansson.h>
#include <string.h>

#include "fuzz_util.h"
#include "jscan.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

/* Walks the value at s alongside v (jansson's reading of the same text). */
static void walk(struct jscan *s, json_t *v)
{
    char key[4096], str[24];
    long long n = 0;
    size_t i = 0;
    int rc;

    if (json_is_object(v)) {
        CHECK(jscan_object(s) == 1);
        while ((rc = jscan_member(s, key, sizeof(key))) == 1) {
            json_t *child = json_object_get(v, key);
            if (child == NULL) /* a name cut to "" (longer than key) */
                CHECK(jscan_skip(s) == 1);
            else
                walk(s, child);
        }
        CHECK(rc == 0);
    } else if (json_is_array(v)) {
        CHECK(jscan_array(s) == 1);
        while ((rc = jscan_element(s)) == 1)
            walk(s, json_array_get(v, i++));
        CHECK(rc == 0 && i == json_array_size(v));
    } else if (json_is_string(v)) {
        rc = jscan_string(s, str, sizeof(str));
        if (rc == 1) {
            CHECK(strcmp(str, json_string_value(v)) == 0);
        } else {
            CHECK(rc == 3 && json_string_length(v) >= sizeof(str) - 1);
            CHECK(memcmp(str, json_string_value(v), sizeof(str) - 1) == 0);
        }
    } else if (json_is_integer(v)) {
        CHECK(jscan_int(s, &n) == 1 && n == json_integer_value(v));
    } else if (json_is_real(v)) {
        CHECK(jscan_int(s, &n) == 2);
    } else {
        CHECK(jscan_string(s, str, sizeof(str)) == 2);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    size_t ws = 0;
    struct jscan s;
    json_error_t e;
    json_t *v = NULL;
    int ours;

    jscan_init(&s, text, (long)size);
    ours = jscan_skip(&s) == 1 && jscan_end(&s) == 1;
    while (ws < size && strchr(" \t\r\n", text[ws]) != NULL && text[ws] != '\0')
        ws++;
    /* jansson (flags 0) reads an object or an array only. */
    if (ws == size || (text[ws] != '{' && text[ws] != '['))
        return 0;
    v = json_loadb(text, size, 0, &e);
    if (v == NULL) {
        CHECK(!ours || strstr(e.text, "too big") != NULL || strstr(e.text, "overflow") != NULL);
        return 0;
    }
    json_decref(v);
    /* jansson takes a NUL byte right after a number inside an array
     * ("[1\0]" loads as [1], jansson 2.14): jscan refuses any NUL outside a
     * string, as RFC 8259 does. */
    if (memchr(text, '\0', size) != NULL)
        return 0;
    CHECK(ours);
    /* Duplicate names: jansson keeps one value of several, so the walk
     * compares only documents without them. */
    v = json_loadb(text, size, JSON_REJECT_DUPLICATES, &e);
    if (v == NULL)
        return 0;
    jscan_init(&s, text, (long)size);
    walk(&s, v);
    CHECK(jscan_end(&s) == 1);
    json_decref(v);
    return 0;
}
