/* See jdump.h. */
#include "jdump.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "utf8.h"

/* The longest body written (strbuf's bound): far above any request. */
#define JDUMP_MAX ((size_t)256 << 20)

/* A byte written as it is: printable ASCII but the quote and the
 * backslash (jansson writes DEL as it is too). */
static int plain(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* A string as jansson's dump_string() writes it without flags: the quote,
 * the backslash and the control characters escaped (\b \f \n \r \t, else
 * \u00XX in capitals), everything else as it is. -1: not valid UTF-8. */
static int put_string(struct strbuf *b, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;

    strbuf_addn(b, "\"", 1);
    while (p < end) {
        const unsigned char *run = p;
        char esc[8];

        while (p < end && plain(*p))
            p++;
        while (p < end && *p >= 0x80) {
            size_t n = utf8_seq_len(p, end);
            if (n == 0)
                return -1;
            p += n;
            while (p < end && plain(*p))
                p++;
        }
        strbuf_addn(b, (const char *)run, (size_t)(p - run));
        if (p == end)
            break;
        switch (*p) {
        case '"':
            strbuf_addn(b, "\\\"", 2);
            break;
        case '\\':
            strbuf_addn(b, "\\\\", 2);
            break;
        case '\b':
            strbuf_addn(b, "\\b", 2);
            break;
        case '\f':
            strbuf_addn(b, "\\f", 2);
            break;
        case '\n':
            strbuf_addn(b, "\\n", 2);
            break;
        case '\r':
            strbuf_addn(b, "\\r", 2);
            break;
        case '\t':
            strbuf_addn(b, "\\t", 2);
            break;
        default:
            snprintf(esc, sizeof(esc), "\\u%04X", (unsigned)*p);
            strbuf_addn(b, esc, 6);
            break;
        }
        p++;
    }
    strbuf_addn(b, "\"", 1);
    return 0;
}

/* One value; -1 for what is left to json_dumps(). */
static int put_value(struct strbuf *b, const json_t *v, int depth)
{
    char num[32];
    json_t *item;
    size_t i;
    int first = 1;

    if (depth > 2048)
        return -1; /* jansson's own bound on nesting is for parsing */
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        /* The order json_dumps() writes without JSON_SORT_KEYS; a key's
         * length, as it may hold a NUL (json_object_setn). */
        strbuf_addn(b, "{", 1);
        for (void *it = json_object_iter((json_t *)v); it != NULL;
             it = json_object_iter_next((json_t *)v, it)) {
            if (!first)
                strbuf_addn(b, ",", 1);
            first = 0;
            if (put_string(b, json_object_iter_key(it), json_object_iter_key_len(it)) != 0)
                return -1;
            strbuf_addn(b, ":", 1);
            if (put_value(b, json_object_iter_value(it), depth + 1) != 0)
                return -1;
        }
        strbuf_addn(b, "}", 1);
        return 0;
    case JSON_ARRAY:
        strbuf_addn(b, "[", 1);
        json_array_foreach(v, i, item)
        {
            if (i > 0)
                strbuf_addn(b, ",", 1);
            if (put_value(b, item, depth + 1) != 0)
                return -1;
        }
        strbuf_addn(b, "]", 1);
        return 0;
    case JSON_STRING:
        return put_string(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        strbuf_add(b, num);
        return 0;
    case JSON_TRUE:
        strbuf_addn(b, "true", 4);
        return 0;
    case JSON_FALSE:
        strbuf_addn(b, "false", 5);
        return 0;
    case JSON_NULL:
        strbuf_addn(b, "null", 4);
        return 0;
    default:
        return -1; /* a real: jansson's own formatting */
    }
}

void jdump_append_string(struct strbuf *b, const char *s, size_t len)
{
    if (put_string(b, s, len) != 0)
        b->failed = 1;
}

void jdump_append(struct strbuf *b, const json_t *value)
{
    size_t mark = b->len;
    char *text;

    if (b->failed || put_value(b, value, 0) == 0)
        return;
    /* Left to jansson (a real): what was written of it goes. */
    if (!b->failed) {
        b->len = mark;
        b->s[mark] = '\0';
    }
    text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text == NULL) {
        b->failed = 1;
        return;
    }
    strbuf_add(b, text);
    free(text);
}

char *jdump_compact(const json_t *value)
{
    struct strbuf b;

    /* json_dumps() writes only an object or an array at the top. */
    if (!json_is_object(value) && !json_is_array(value))
        return json_dumps(value, JSON_COMPACT);
    strbuf_init(&b, JDUMP_MAX);
    if (put_value(&b, value, 0) != 0 || strbuf_str(&b) == NULL) {
        strbuf_free(&b);
        return json_dumps(value, JSON_COMPACT);
    }
    return strbuf_take(&b);
}
