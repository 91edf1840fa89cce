/* The batch upsert body, parsed in place before sim->lock is taken (see
 * hubspot_upsert.h). Accepts exactly
 *   {"inputs": [{"id": S, "idProperty": S, "properties": {NAME: V, ...}}, ...]}
 * with V a string (the only value type the published schema allows; the
 * general path refuses the others), each key at most once,
 * 1..HS_BATCH_MAX inputs; anything else is left to jansson and the general
 * path. What is accepted must be JSON that jansson accepts too (UTF-8
 * checked the way jansson checks it), so that declining is the only way
 * the two paths can differ. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "hubspot_contact.h"
#include "hubspot_upsert.h"

/* Longest property name taken: a unique-value check keys "name\nvalue" in
 * 600 bytes on the general path, and values stay under 512. */
#define NAME_MAX_LEN 80
/* Values from 512 bytes up are cut by the general path's normalisation. */
#define VALUE_MAX_LEN 511
/* Integers are kept as sent; more digits could overflow jansson's. */
#define INT_MAX_DIGITS 18

struct parser {
    char *p;
    char *end;
    char *num; /* free room for integer texts (NUL-terminated copies) */
};

static void skip_ws(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

/* Consumes c after optional whitespace. */
static bool take(struct parser *ps, char c)
{
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == c) {
        ps->p++;
        return true;
    }
    return false;
}

/* Length of the UTF-8 sequence at s (n bytes left) as jansson validates
 * it (no overlong forms, no surrogates, at most U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t cp;

    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        len = 2;
        cp = s[0] & 0x1F;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        len = 3;
        cp = s[0] & 0x0F;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* Four hex digits at s (n bytes left) into *out; false if not there. */
static bool hex4(const char *s, size_t n, uint32_t *out)
{
    uint32_t v = 0;

    if (n < 4)
        return false;
    for (int i = 0; i < 4; i++) {
        int d;

        if (s[i] >= '0' && s[i] <= '9')
            d = s[i] - '0';
        else if (s[i] >= 'a' && s[i] <= 'f')
            d = s[i] - 'a' + 10;
        else if (s[i] >= 'A' && s[i] <= 'F')
            d = s[i] - 'A' + 10;
        else
            return false;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return true;
}

/* A \uXXXX escape (a surrogate pair as two) at r, r[0] == '\\', decoded
 * to UTF-8 at w. Returns the escape's length, or 0 for what jansson
 * rejects: bad hex, a lone surrogate, \u0000 (no JSON_ALLOW_NUL). The
 * UTF-8 is never longer than the escape, so decoding in place is safe. */
static size_t unicode_escape(const char *r, const char *end, char **w)
{
    uint32_t cp, lo;
    size_t used = 6;
    char *o = *w;

    if (!hex4(r + 2, (size_t)(end - r - 2), &cp) || cp == 0 || (cp >= 0xDC00 && cp <= 0xDFFF))
        return 0;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (end - r < 12 || r[6] != '\\' || r[7] != 'u' || !hex4(r + 8, 4, &lo) || lo < 0xDC00 ||
            lo > 0xDFFF)
            return 0;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        used = 12;
    }
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | cp >> 6);
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | cp >> 12);
        *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | cp >> 18);
        *o++ = (char)(0x80 | (cp >> 12 & 0x3F));
        *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    *w = o;
    return used;
}

/* A string at the cursor, unescaped in place and NUL-terminated where its
 * closing quote was. */
static char *parse_string(struct parser *ps, size_t *len_out)
{
    char *r, *w, *start;

    if (!take(ps, '"'))
        return NULL;
    start = w = r = ps->p;
    while (r < ps->end) {
        unsigned char c = (unsigned char)*r;

        if (c == '"') {
            *w = '\0';
            ps->p = r + 1;
            *len_out = (size_t)(w - start);
            return start;
        }
        if (c < 0x20)
            return NULL;
        if (c == '\\') {
            if (r + 1 >= ps->end)
                return NULL;
            switch (r[1]) {
            case '"':
            case '\\':
            case '/':
                *w++ = r[1];
                break;
            case 'b':
                *w++ = '\b';
                break;
            case 'f':
                *w++ = '\f';
                break;
            case 'n':
                *w++ = '\n';
                break;
            case 'r':
                *w++ = '\r';
                break;
            case 't':
                *w++ = '\t';
                break;
            case 'u': {
                size_t used = unicode_escape(r, ps->end, &w);

                if (used == 0)
                    return NULL;
                r += used - 2;
                break;
            }
            default:
                return NULL;
            }
            r += 2;
        } else if (c < 0x80) {
            *w++ = (char)c;
            r++;
        } else {
            size_t n = utf8_len((const unsigned char *)r, (size_t)(ps->end - r));

            if (n == 0)
                return NULL;
            memmove(w, r, n);
            w += n;
            r += n;
        }
    }
    return NULL;
}

/* Index of name in the batch's names, added if new; -1 when full. */
static int intern(struct hs_upsert_batch *b, const char *name)
{
    for (size_t i = 0; i < b->nnames; i++) {
        if (b->names[i][0] == name[0] && strcmp(b->names[i], name) == 0)
            return (int)i;
    }
    if (b->nnames == HS_UPSERT_MAX_NAMES)
        return -1;
    b->names[b->nnames] = name;
    return (int)b->nnames++;
}

static struct hs_upsert_prop *new_prop(struct hs_upsert_batch *b)
{
    if (b->nprops == b->capprops) {
        size_t cap = b->capprops ? b->capprops * 2 : 512;
        struct hs_upsert_prop *grown = realloc(b->props, cap * sizeof(*grown));

        if (grown == NULL)
            return NULL;
        b->props = grown;
        b->capprops = cap;
    }
    return &b->props[b->nprops++];
}

/* Lower-cases an email in place and checks it, as normalisation does. */
static bool email_ok(char *s)
{
    for (char *c = s; *c != '\0'; c++)
        *c = (char)tolower((unsigned char)*c);
    return s[0] == '\0' || hs_valid_email(s);
}

/* One property value, normalised to the string the store gets. */
static bool parse_value(struct parser *ps, bool is_email, struct hs_upsert_prop *prop)
{
    skip_ws(ps);
    if (ps->p >= ps->end)
        return false;
    if (*ps->p == '"') {
        char *s = parse_string(ps, &prop->len);

        if (s == NULL || prop->len > VALUE_MAX_LEN || (is_email && !email_ok(s)))
            return false;
        prop->value = s;
        return true;
    }
    /* Anything but a string (null, true, false, a number) is not what
     * SimplePublicObjectBatchInputUpsert allows: the general path refuses
     * it. */
    (void)is_email;
    return false;
}

static bool parse_properties(struct parser *ps, struct hs_upsert_batch *b, size_t first)
{
    if (!take(ps, '{'))
        return false;
    if (take(ps, '}'))
        return true;
    do {
        size_t klen;
        char *key = parse_string(ps, &klen);
        struct hs_upsert_prop *prop;
        int name;

        if (key == NULL || klen == 0 || klen > NAME_MAX_LEN || !take(ps, ':'))
            return false;
        name = intern(b, key);
        if (name < 0)
            return false;
        for (size_t i = first; i < b->nprops; i++) {
            if (b->props[i].name == name)
                return false; /* duplicate key: jansson rejects the body */
        }
        prop = new_prop(b);
        if (prop == NULL)
            return false;
        prop->name = (uint16_t)name;
        if (!parse_value(ps, strcmp(key, "email") == 0, prop))
            return false;
    } while (take(ps, ','));
    return take(ps, '}');
}

/* The id as a value of idProperty, placed where that property is in the
 * input's properties or appended (as json_object_set_new() does). */
static bool merge_id(struct hs_upsert_batch *b, struct hs_upsert_input *in, char *id, size_t len)
{
    struct hs_upsert_prop *prop = NULL;

    if (len > VALUE_MAX_LEN)
        return false;
    if (strcmp(b->names[in->id_prop], "email") == 0 && !email_ok(id))
        return false;
    in->id_value = id;
    for (size_t i = in->first; i < in->first + in->nprops; i++) {
        if (b->props[i].name == in->id_prop)
            prop = &b->props[i];
    }
    if (prop == NULL) {
        prop = new_prop(b);
        if (prop == NULL)
            return false;
        prop->name = in->id_prop;
        in->nprops++;
    }
    prop->value = id;
    prop->len = len;
    return true;
}

static bool parse_input(struct parser *ps, struct hs_upsert_batch *b, struct hs_upsert_input *in)
{
    char *id = NULL, *id_prop = NULL;
    size_t id_len = 0, len;
    bool has_props = false;

    if (!take(ps, '{'))
        return false;
    in->first = b->nprops;
    do {
        char *key = parse_string(ps, &len);

        if (key == NULL || !take(ps, ':'))
            return false;
        if (strcmp(key, "id") == 0 && id == NULL) {
            id = parse_string(ps, &id_len);
            if (id == NULL || id_len == 0)
                return false;
        } else if (strcmp(key, "idProperty") == 0 && id_prop == NULL) {
            id_prop = parse_string(ps, &len);
            if (id_prop == NULL)
                return false;
        } else if (strcmp(key, "properties") == 0 && !has_props) {
            has_props = true;
            if (!parse_properties(ps, b, in->first))
                return false;
        } else {
            return false;
        }
    } while (take(ps, ','));
    if (!take(ps, '}') || id == NULL || id_prop == NULL || !has_props)
        return false;
    in->nprops = b->nprops - in->first;
    in->id = id;
    if (intern(b, id_prop) < 0)
        return false;
    in->id_prop = (uint16_t)intern(b, id_prop);
    return merge_id(b, in, id, id_len);
}

/* Inputs naming the same record twice (ids compared lower-cased) are a
 * 400 on the general path. */
static bool ids_distinct(const struct hs_upsert_batch *b)
{
    for (size_t i = 1; i < b->ninputs; i++) {
        for (size_t j = 0; j < i; j++) {
            const char *x = b->inputs[i].id, *y = b->inputs[j].id;

            while (*x != '\0' && tolower((unsigned char)*x) == tolower((unsigned char)*y)) {
                x++;
                y++;
            }
            if (*x == '\0' && *y == '\0')
                return false;
        }
    }
    return true;
}

static bool parse_body(struct parser *ps, struct hs_upsert_batch *b)
{
    size_t len;
    char *key;

    if (!take(ps, '{'))
        return false;
    key = parse_string(ps, &len);
    if (key == NULL || strcmp(key, "inputs") != 0 || !take(ps, ':') || !take(ps, '['))
        return false;
    do {
        if (b->ninputs == HS_BATCH_MAX || !parse_input(ps, b, &b->inputs[b->ninputs]))
            return false;
        b->ninputs++;
    } while (take(ps, ','));
    if (!take(ps, ']') || !take(ps, '}'))
        return false;
    skip_ws(ps);
    return ps->p == ps->end && ids_distinct(b);
}

struct hs_upsert_batch *hs_upsert_parse(const char *body, size_t len)
{
    struct hs_upsert_batch *b;
    struct parser ps;

    if (body == NULL || len == 0)
        return NULL;
    b = calloc(1, sizeof(*b));
    if (b == NULL)
        return NULL;
    /* The body's copy, then room for integer texts: each takes at most
     * its digits plus a NUL, no more than the body's bytes. */
    b->text = malloc(2 * len + 2);
    if (b->text == NULL) {
        hs_upsert_free(b);
        return NULL;
    }
    memcpy(b->text, body, len);
    b->text[len] = '\0';
    ps.p = b->text;
    ps.end = b->text + len;
    ps.num = b->text + len + 1;
    if (!parse_body(&ps, b)) {
        hs_upsert_free(b);
        return NULL;
    }
    return b;
}

void hs_upsert_free(struct hs_upsert_batch *b)
{
    if (b == NULL)
        return;
    free(b->text);
    free(b->props);
    free(b);
}
