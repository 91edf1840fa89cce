/* Canonical JSON is written by hand: the shapes are fixed, so keys are
 * emitted in sorted order by construction, and no jansson object is built
 * and sorted for every change on the ingest path. The output is byte for
 * byte what json_dumps(JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII)
 * gives for the same object (canonical_dumps, kept for other shapes). */
#include "change_json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jscan.h"
#include "timefmt.h"

char *canonical_dumps(const json_t *value)
{
    return json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
}

/* A growing output buffer; any failure (memory, invalid UTF-8) sticks and
 * makes jw_take() return NULL. */
struct jw {
    char *buf;
    size_t len;
    size_t cap;
    int failed;
};

static int jw_reserve(struct jw *w, size_t more)
{
    char *p;
    size_t cap;

    if (w->failed)
        return -1;
    if (w->len + more + 1 <= w->cap)
        return 0;
    cap = w->cap ? w->cap : 128;
    while (cap < w->len + more + 1)
        cap *= 2;
    p = realloc(w->buf, cap);
    if (p == NULL) {
        w->failed = 1;
        return -1;
    }
    w->buf = p;
    w->cap = cap;
    return 0;
}

static void jw_raw(struct jw *w, const char *s, size_t n)
{
    if (jw_reserve(w, n) != 0)
        return;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void jw_lit(struct jw *w, const char *s)
{
    jw_raw(w, s, strlen(s));
}

static void jw_int(struct jw *w, int64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%" PRId64, v);
    jw_raw(w, num, (size_t)n);
}

/* Decodes one UTF-8 sequence of at most avail bytes as jansson accepts it
 * (no overlongs, no surrogates, at most U+10FFFF). Returns its length, or 0
 * if invalid. */
static size_t utf8_decode(const unsigned char *s, size_t avail, uint32_t *cp)
{
    uint32_t c = s[0], min;
    size_t n;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        c &= 0x1f;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        c &= 0x0f;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        c &= 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n > avail)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

/* A JSON string as jansson's dump writes it with JSON_ENSURE_ASCII: the
 * short escapes for " \\ \b \f \n \r \t, \uXXXX (upper-case hex) for other
 * control characters (NUL included: n counts bytes) and everything beyond
 * ASCII, surrogate pairs beyond the BMP. */
static void jw_strn(struct jw *w, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *end = p + len;

    jw_raw(w, "\"", 1);
    while (p < end && !w->failed) {
        const unsigned char *run = p;
        uint32_t cp;
        size_t n;
        char esc[12];
        size_t elen = 2;

        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        if (p > run)
            jw_raw(w, (const char *)run, (size_t)(p - run));
        if (p == end)
            break;
        n = utf8_decode(p, (size_t)(end - p), &cp);
        if (n == 0) {
            w->failed = 1;
            break;
        }
        p += n;
        esc[0] = '\\';
        switch (cp) {
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
            if (cp >= 0x10000) {
                uint32_t v = cp - 0x10000;
                uint32_t hi = 0xd800 | (v >> 10), lo = 0xdc00 | (v & 0x3ff);
                esc[1] = 'u';
                for (int i = 0; i < 4; i++)
                    esc[2 + i] = hex[(hi >> (12 - 4 * i)) & 15];
                esc[6] = '\\';
                esc[7] = 'u';
                for (int i = 0; i < 4; i++)
                    esc[8 + i] = hex[(lo >> (12 - 4 * i)) & 15];
                elen = 12;
            } else {
                esc[1] = 'u';
                for (int i = 0; i < 4; i++)
                    esc[2 + i] = hex[(cp >> (12 - 4 * i)) & 15];
                elen = 6;
            }
            break;
        }
        jw_raw(w, esc, elen);
    }
    jw_raw(w, "\"", 1);
}

/* A C string, or null for NULL. */
static void jw_str(struct jw *w, const char *s)
{
    if (s == NULL)
        jw_raw(w, "null", 4);
    else
        jw_strn(w, s, strlen(s));
}

static void jw_time(struct jw *w, int64_t ms)
{
    char ts[40];
    jw_str(w, timefmt_format_rfc3339(ms, ts, sizeof(ts)));
}

static char *jw_take(struct jw *w)
{
    if (w->failed || w->buf == NULL) {
        free(w->buf);
        return NULL;
    }
    return w->buf;
}

char *consent_value_to_json(const struct consent_value *v)
{
    struct jw w = {0};

    /* Sorted: collected_at, legal_basis, proof, source, status. */
    jw_lit(&w, "{\"collected_at\":");
    jw_time(&w, v->collected_at);
    if (v->legal_basis != NULL) {
        jw_lit(&w, ",\"legal_basis\":");
        jw_str(&w, v->legal_basis);
    }
    if (v->proof != NULL) {
        jw_lit(&w, ",\"proof\":");
        jw_str(&w, v->proof);
    }
    if (v->source != NULL) {
        jw_lit(&w, ",\"source\":");
        jw_str(&w, v->source);
    }
    jw_lit(&w, ",\"status\":");
    jw_str(&w, consent_status_name(v->status));
    jw_lit(&w, "}");
    return jw_take(&w);
}

char *points_txn_to_json(const struct points_txn *t)
{
    struct jw w = {0};

    if (t->txn_id == NULL || t->reason == NULL)
        return NULL;
    /* Sorted: delta, expires_at, occurred_at, reason, txn_id. */
    jw_lit(&w, "{\"delta\":");
    jw_int(&w, t->delta);
    if (t->expires_at != 0) {
        jw_lit(&w, ",\"expires_at\":");
        jw_time(&w, t->expires_at);
    }
    jw_lit(&w, ",\"occurred_at\":");
    jw_time(&w, t->occurred_at);
    jw_lit(&w, ",\"reason\":");
    jw_str(&w, t->reason);
    jw_lit(&w, ",\"txn_id\":");
    jw_str(&w, t->txn_id);
    jw_lit(&w, "}");
    return jw_take(&w);
}

char *segment_value_to_json(const char *status, int64_t since)
{
    struct jw w = {0};

    if (status == NULL)
        return NULL;
    jw_lit(&w, "{\"since\":");
    jw_time(&w, since);
    jw_lit(&w, ",\"status\":");
    jw_str(&w, status);
    jw_lit(&w, "}");
    return jw_take(&w);
}

char *profile_value_to_json(const char *value, size_t len)
{
    struct jw w = {0};

    jw_lit(&w, "{\"value\":");
    if (value == NULL)
        jw_lit(&w, "null");
    else
        jw_strn(&w, value, len);
    jw_lit(&w, "}");
    return jw_take(&w);
}

char *audit_payload_to_json(const char *origin, int effective, const char *source_ref,
                            const char *value_json)
{
    struct jw w = {0};

    if (origin == NULL || value_json == NULL)
        return NULL;
    /* Sorted: effective, origin, source_ref, value. */
    jw_lit(&w, effective ? "{\"effective\":true,\"origin\":" : "{\"effective\":false,\"origin\":");
    jw_str(&w, origin);
    jw_lit(&w, ",\"source_ref\":");
    jw_str(&w, source_ref);
    jw_lit(&w, ",\"value\":");
    jw_lit(&w, value_json);
    jw_lit(&w, "}");
    return jw_take(&w);
}

/* The members a consent value is read for, in consent_value_from_json. */
enum { CV_STATUS, CV_COLLECTED, CV_BASIS, CV_SOURCE, CV_PROOF, CV_N };

/* Reads the value's members into buf (their decoded strings one after the
 * other, each NUL-terminated; no larger than text, since a decoded string
 * is never longer than its JSON form): off[i] is where member i's string
 * starts, -1 when it is absent or not a string (the last of a repeated
 * name counts, as in jansson). 0, or -1 when text is not a JSON object. */
static int consent_members(const char *text, char *buf, size_t bufsize, long off[CV_N],
                           size_t *used)
{
    static const char *const names[CV_N] = {"status", "collected_at", "legal_basis", "source",
                                            "proof"};
    struct jscan s;
    char key[16];
    size_t pos = 0;
    int r;

    for (int i = 0; i < CV_N; i++)
        off[i] = -1;
    jscan_init(&s, text, -1);
    if (jscan_object(&s) != 1)
        return -1;
    for (r = jscan_member(&s, key, sizeof(key)); r == 1; r = jscan_member(&s, key, sizeof(key))) {
        int f = -1;
        for (int i = 0; i < CV_N; i++) {
            if (strcmp(key, names[i]) == 0)
                f = i;
        }
        if (f < 0) {
            r = jscan_skip(&s);
        } else {
            r = jscan_string(&s, buf + pos, bufsize - pos);
            off[f] = r == 1 ? (long)pos : -1;
            if (r == 1)
                pos += strlen(buf + pos) + 1;
        }
        if (r < 0 || r == 3)
            return -1; /* r == 3 cannot be: buf holds all of text */
    }
    *used = pos;
    return r == 0 && jscan_end(&s) == 1 ? 0 : -1;
}

/* Read with jscan (issue 17): json_loads() made a jansson object of every
 * consent value, several times per record pushed (projection, request
 * body, grant guard), 6 % of a HubSpot push's CPU. The strings the caller
 * borrows are kept in *holder, one jansson string holding them one after
 * the other, so callers still release it with json_decref(). */
int consent_value_from_json(const char *text, struct consent_value *out, json_t **holder)
{
    char small[512], *buf = small;
    size_t len = text != NULL ? strlen(text) : 0, used = 0;
    long off[CV_N];
    const char *base;
    json_t *h = NULL;
    int rc = -1;

    *holder = NULL;
    memset(out, 0, sizeof(*out));
    if (text == NULL)
        return -1;
    if (len + 1 > sizeof(small)) {
        buf = malloc(len + 1);
        if (buf == NULL)
            return -1;
    }
    if (consent_members(text, buf, len + 1, off, &used) != 0 || off[CV_STATUS] < 0 ||
        off[CV_COLLECTED] < 0 || consent_status_parse(buf + off[CV_STATUS], &out->status) != 0 ||
        timefmt_parse_rfc3339(buf + off[CV_COLLECTED], &out->collected_at) != 0)
        goto out;
    h = json_stringn_nocheck(buf, used);
    if (h == NULL)
        goto out;
    base = json_string_value(h);
    out->legal_basis = off[CV_BASIS] >= 0 ? base + off[CV_BASIS] : NULL;
    out->source = off[CV_SOURCE] >= 0 ? base + off[CV_SOURCE] : NULL;
    out->proof = off[CV_PROOF] >= 0 ? base + off[CV_PROOF] : NULL;
    *holder = h;
    rc = 0;
out:
    if (rc != 0)
        memset(out, 0, sizeof(*out));
    if (buf != small)
        free(buf);
    return rc;
}
