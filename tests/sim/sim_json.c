#include "sim_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

void sim_jw_init(struct sim_jw *w, size_t hint)
{
    memset(w, 0, sizeof(*w));
    w->cap = hint ? hint : 1024;
    w->buf = malloc(w->cap);
    if (w->buf == NULL) {
        w->cap = 0;
        w->failed = true;
    }
}

void sim_jw_free(struct sim_jw *w)
{
    free(w->buf);
    memset(w, 0, sizeof(*w));
}

/* Makes room for n more bytes; false (and `failed`) when out of memory. */
static bool reserve(struct sim_jw *w, size_t n)
{
    size_t cap;
    char *grown;

    if (w->failed)
        return false;
    if (w->len + n <= w->cap)
        return true;
    cap = w->cap ? w->cap : 1024;
    while (cap < w->len + n)
        cap *= 2;
    grown = realloc(w->buf, cap);
    if (grown == NULL) {
        w->failed = true;
        return false;
    }
    w->buf = grown;
    w->cap = cap;
    return true;
}

static void put(struct sim_jw *w, const char *s, size_t n)
{
    if (reserve(w, n)) {
        memcpy(w->buf + w->len, s, n);
        w->len += n;
    }
}

static void put_char(struct sim_jw *w, char c)
{
    if (reserve(w, 1))
        w->buf[w->len++] = c;
}

/* Before a value (or a key): the separating comma if one is due. */
static void sep(struct sim_jw *w)
{
    if (w->comma)
        put_char(w, ',');
}

void sim_jw_obj_begin(struct sim_jw *w)
{
    sep(w);
    put_char(w, '{');
    w->comma = false;
}

void sim_jw_obj_end(struct sim_jw *w)
{
    put_char(w, '}');
    w->comma = true;
}

void sim_jw_arr_begin(struct sim_jw *w)
{
    sep(w);
    put_char(w, '[');
    w->comma = false;
}

void sim_jw_arr_end(struct sim_jw *w)
{
    put_char(w, ']');
    w->comma = true;
}

/* The string body with jansson's escaping. Input is UTF-8 (it comes from
 * jansson values or our own formatting); bytes of multi-byte sequences are
 * >= 0x80 and pass through, as jansson passes non-ASCII code points. */
static void put_escaped(struct sim_jw *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t run = 0;

    put_char(w, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[6];
        size_t elen = 2;

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(w, s + run, i - run);
        run = i + 1;
        esc[0] = '\\';
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xf];
            elen = 6;
            break;
        }
        put(w, esc, elen);
    }
    put(w, s + run, n - run);
    put_char(w, '"');
}

void sim_jw_key(struct sim_jw *w, const char *key)
{
    sep(w);
    put_escaped(w, key, strlen(key));
    put_char(w, ':');
    w->comma = false;
}

void sim_jw_strn(struct sim_jw *w, const char *s, size_t len)
{
    sep(w);
    put_escaped(w, s, len);
    w->comma = true;
}

void sim_jw_str(struct sim_jw *w, const char *s)
{
    sim_jw_strn(w, s, strlen(s));
}

void sim_jw_int(struct sim_jw *w, long long v)
{
    char buf[24];
    int n = snprintf(buf, sizeof(buf), "%lld", v);

    sep(w);
    put(w, buf, (size_t)n);
    w->comma = true;
}

void sim_jw_bool(struct sim_jw *w, bool v)
{
    sep(w);
    if (v)
        put(w, "true", 4);
    else
        put(w, "false", 5);
    w->comma = true;
}

void sim_jw_null(struct sim_jw *w)
{
    sep(w);
    put(w, "null", 4);
    w->comma = true;
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
    struct sim_jw *w = data;

    put(w, buffer, size);
    return w->failed ? -1 : 0;
}

void sim_jw_json(struct sim_jw *w, const json_t *value)
{
    /* Scalars directly: json_dump_callback() sets up a loop-detection
     * table on every call, which costs more than the value. */
    switch (json_typeof(value)) {
    case JSON_STRING:
        sim_jw_strn(w, json_string_value(value), json_string_length(value));
        return;
    case JSON_INTEGER:
        sim_jw_int(w, (long long)json_integer_value(value));
        return;
    case JSON_TRUE:
    case JSON_FALSE:
        sim_jw_bool(w, json_is_true(value));
        return;
    case JSON_NULL:
        sim_jw_null(w);
        return;
    default:
        break;
    }
    sep(w);
    if (json_dump_callback(value, dump_cb, w, JSON_COMPACT | JSON_ENCODE_ANY) != 0)
        w->failed = true;
    w->comma = true;
}

void sim_resp_jw(struct sim_response *resp, int status, struct sim_jw *w)
{
    sim_resp_empty(resp, status);
    if (w->failed) {
        resp->status = 500;
        sim_jw_free(w);
        return;
    }
    resp->text = w->buf;
    resp->text_len = w->len;
    resp->content_type = "application/json;charset=utf-8";
    memset(w, 0, sizeof(*w));
}
