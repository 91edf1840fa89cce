/* See jscan.h. The grammar is RFC 8259's; the limits are jansson's
 * (src/load.c: nesting 2,048, no NUL in strings, strict UTF-8), so that a
 * body is readable here when json_loads() reads it. */
#include "jscan.h"

#include <limits.h>
#include <string.h>

#include "utf8.h"

#define JSCAN_MAX_DEPTH 2048

void jscan_init(struct jscan *s, const char *text, long len)
{
    s->p = text;
    s->end = text + (len < 0 ? (long)strlen(text) : len);
    s->failed = 0;
    s->fresh = 0;
    s->depth = 0;
}

static int fail(struct jscan *s)
{
    s->failed = 1;
    return -1;
}

static void ws(struct jscan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* At the start of a value: -1 when failed or at the end of the text. */
static int value_start(struct jscan *s)
{
    if (s->failed)
        return -1;
    ws(s);
    return s->p < s->end ? 0 : fail(s);
}

struct sink {
    char *out;
    size_t size, len;
    int cut;
};

static void put(struct sink *k, unsigned char c)
{
    if (k->out == NULL)
        return;
    if (k->len + 1 < k->size)
        k->out[k->len++] = (char)c;
    else
        k->cut = 1;
}

static int hex4(const char *p, const char *end, unsigned *v)
{
    *v = 0;
    if (end - p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return -1;
        *v = *v << 4 | d;
    }
    return 0;
}

static void put_utf8(struct sink *k, unsigned cp)
{
    if (cp < 0x80) {
        put(k, (unsigned char)cp);
    } else if (cp < 0x800) {
        put(k, (unsigned char)(0xC0 | cp >> 6));
        put(k, (unsigned char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        put(k, (unsigned char)(0xE0 | cp >> 12));
        put(k, (unsigned char)(0x80 | (cp >> 6 & 0x3F)));
        put(k, (unsigned char)(0x80 | (cp & 0x3F)));
    } else {
        put(k, (unsigned char)(0xF0 | cp >> 18));
        put(k, (unsigned char)(0x80 | (cp >> 12 & 0x3F)));
        put(k, (unsigned char)(0x80 | (cp >> 6 & 0x3F)));
        put(k, (unsigned char)(0x80 | (cp & 0x3F)));
    }
}

/* One escape after the backslash (s->p at the letter). */
static int escape(struct jscan *s, struct sink *k)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *hit;
    unsigned cp, lo;

    if (s->p >= s->end)
        return -1;
    if (*s->p != 'u') {
        hit = strchr(from, *s->p);
        if (hit == NULL || *s->p == '\0')
            return -1;
        put(k, (unsigned char)to[hit - from]);
        s->p++;
        return 0;
    }
    if (hex4(s->p + 1, s->end, &cp) != 0)
        return -1;
    s->p += 5;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return -1; /* a low surrogate alone */
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u' ||
            hex4(s->p + 2, s->end, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
            return -1;
        s->p += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    if (cp == 0)
        return -1; /* jansson refuses NUL in a string unless asked */
    put_utf8(k, cp);
    return 0;
}

/* One UTF-8 sequence of 2 to 4 bytes (utf8.h). */
static int utf8(struct jscan *s, struct sink *k)
{
    const unsigned char *p = (const unsigned char *)s->p;
    size_t n = utf8_seq_len(p, (const unsigned char *)s->end);

    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        put(k, p[i]);
    s->p += n;
    return 0;
}

/* n bytes at once, cut as put() cuts them one by one. */
static void put_run(struct sink *k, const char *from, size_t n)
{
    size_t room;

    if (k->out == NULL || n == 0)
        return;
    room = k->len + 1 < k->size ? k->size - 1 - k->len : 0;
    if (n > room) {
        n = room;
        k->cut = 1;
    }
    memcpy(k->out + k->len, from, n);
    k->len += n;
}

/* The bytes that stand for themselves in a string: printable ASCII but
 * the quote and the backslash. A table: it is looked up for every byte
 * of every string passed (four comparisons per byte cost about twice the
 * instructions, callgrind). */
static const unsigned char plain_byte[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x20 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x30 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x40 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x50 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x60 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x70 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x80 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x90 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xa0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xb0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xc0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xd0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xe0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xf0 */
};

static int plain(unsigned char c)
{
    return plain_byte[c];
}

/* A string at s->p (its opening quote), into k. Runs of plain bytes are
 * passed and copied at once (issue 17: byte by byte, this function was
 * 5.3 % of the daemon's instructions in a HubSpot push: the statuses and
 * upsert answers, the consent values). */
static int string(struct jscan *s, struct sink *k)
{
    s->p++;
    while (s->p < s->end) {
        const char *run = s->p;
        unsigned char c;

        while (s->p < s->end && plain((unsigned char)*s->p))
            s->p++;
        put_run(k, run, (size_t)(s->p - run));
        if (s->p >= s->end)
            break;
        c = (unsigned char)*s->p;
        if (c == '"') {
            s->p++;
            if (k->out != NULL)
                k->out[k->len] = '\0';
            return 0;
        }
        if (c == '\\') {
            s->p++;
            if (escape(s, k) != 0)
                return fail(s);
        } else if (c < 0x20) {
            return fail(s);
        } else if (utf8(s, k) != 0) {
            return fail(s);
        }
    }
    return fail(s);
}

static int digits(struct jscan *s)
{
    const char *from = s->p;

    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > from ? 0 : -1;
}

/* A number at s->p: *integral says whether it has neither fraction nor
 * exponent; [*from, s->p) is its text. */
static int number(struct jscan *s, int *integral)
{
    if (s->p < s->end && *s->p == '-')
        s->p++;
    if (s->p < s->end && *s->p == '0')
        s->p++;
    else if (s->p >= s->end || *s->p < '1' || *s->p > '9' || digits(s) != 0)
        return fail(s);
    *integral = 1;
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (digits(s) != 0)
            return fail(s);
        *integral = 0;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (digits(s) != 0)
            return fail(s);
        *integral = 0;
    }
    return 0;
}

static int literal(struct jscan *s, const char *word)
{
    size_t n = strlen(word);

    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return fail(s);
    s->p += n;
    return 0;
}

static int enter(struct jscan *s)
{
    if (++s->depth > JSCAN_MAX_DEPTH)
        return fail(s);
    s->p++;
    s->fresh = 1;
    return 0;
}

int jscan_skip(struct jscan *s)
{
    struct sink none = {NULL, 0, 0, 0};
    int integral, r;

    if (value_start(s) != 0)
        return -1;
    switch (*s->p) {
    case '{':
        if (enter(s) != 0)
            return -1;
        for (r = jscan_member(s, NULL, 0); r == 1; r = jscan_member(s, NULL, 0)) {
            if (jscan_skip(s) != 1)
                return -1;
        }
        return r == 0 ? 1 : -1;
    case '[':
        if (enter(s) != 0)
            return -1;
        for (r = jscan_element(s); r == 1; r = jscan_element(s)) {
            if (jscan_skip(s) != 1)
                return -1;
        }
        return r == 0 ? 1 : -1;
    case '"':
        return string(s, &none) == 0 ? 1 : -1;
    case 't':
        return literal(s, "true") == 0 ? 1 : -1;
    case 'f':
        return literal(s, "false") == 0 ? 1 : -1;
    case 'n':
        return literal(s, "null") == 0 ? 1 : -1;
    default:
        return number(s, &integral) == 0 ? 1 : -1;
    }
}

static int container(struct jscan *s, char open)
{
    if (value_start(s) != 0)
        return -1;
    if (*s->p != open)
        return jscan_skip(s) == 1 ? 2 : -1;
    return enter(s) == 0 ? 1 : -1;
}

int jscan_object(struct jscan *s)
{
    return container(s, '{');
}

int jscan_array(struct jscan *s)
{
    return container(s, '[');
}

/* Before an item of a container: 0 when it ended (close), 1 at the item. */
static int item(struct jscan *s, char close)
{
    if (value_start(s) != 0)
        return -1;
    if (*s->p == close) {
        s->p++;
        s->fresh = 0;
        s->depth--;
        return 0;
    }
    if (!s->fresh) {
        if (*s->p != ',')
            return fail(s);
        s->p++;
        if (value_start(s) != 0)
            return -1;
    }
    s->fresh = 0;
    return 1;
}

int jscan_member(struct jscan *s, char *key, size_t keysize)
{
    struct sink k = {key, keysize, 0, 0};
    int r = item(s, '}');

    if (r != 1)
        return r;
    if (*s->p != '"' || string(s, &k) != 0)
        return fail(s);
    if (key != NULL && k.cut)
        key[0] = '\0';
    ws(s);
    if (s->p >= s->end || *s->p != ':')
        return fail(s);
    s->p++;
    return 1;
}

int jscan_element(struct jscan *s)
{
    return item(s, ']');
}

int jscan_string(struct jscan *s, char *out, size_t outsize)
{
    struct sink k = {out, outsize, 0, 0};

    if (outsize > 0)
        out[0] = '\0';
    if (value_start(s) != 0)
        return -1;
    if (*s->p != '"')
        return jscan_skip(s) == 1 ? 2 : -1;
    if (outsize == 0)
        k.out = NULL;
    if (string(s, &k) != 0)
        return -1;
    return k.cut ? 3 : 1;
}

int jscan_int(struct jscan *s, long long *v)
{
    const char *from;
    int integral, neg;
    long long acc = 0;

    *v = 0;
    if (value_start(s) != 0)
        return -1;
    if (*s->p != '-' && (*s->p < '0' || *s->p > '9'))
        return jscan_skip(s) == 1 ? 2 : -1;
    from = s->p;
    if (number(s, &integral) != 0)
        return -1;
    if (!integral)
        return 2;
    neg = *from == '-';
    for (const char *c = from + neg; c < s->p; c++) {
        int d = *c - '0';
        /* Accumulated negative: LLONG_MIN has no positive twin. */
        if (acc < (LLONG_MIN + d) / 10)
            return fail(s);
        acc = acc * 10 - d;
    }
    if (!neg && acc == LLONG_MIN)
        return fail(s);
    *v = neg ? acc : -acc;
    return 1;
}

int jscan_end(struct jscan *s)
{
    if (s->failed)
        return -1;
    ws(s);
    return s->p == s->end ? 1 : fail(s);
}

int jscan_fields(struct jscan *s, struct jscan_field *f, size_t n)
{
    char name[256];
    int r = jscan_object(s);

    if (r != 1)
        return r;
    for (r = jscan_member(s, name, sizeof(name)); r == 1; r = jscan_member(s, name, sizeof(name))) {
        size_t i = 0;

        while (i < n && strcmp(name, f[i].name) != 0)
            i++;
        if (i == n) {
            r = jscan_skip(s);
        } else if (f[i].num != NULL) {
            r = jscan_int(s, f[i].num);
            if (r == 2)
                *f[i].num = 0;
        } else {
            r = jscan_string(s, f[i].str, f[i].size);
            f[i].found = r == 1 || (r == 3 && f[i].cut_ok);
        }
        if (r < 0)
            return -1;
    }
    return r == 0 ? 1 : -1;
}
