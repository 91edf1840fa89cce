#include "textesc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static int special(unsigned char c)
{
    return c < 0x20 || c == 0x7f || c == '\\';
}

const char *text_escape(const char *in, char *out, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    for (const unsigned char *p = (const unsigned char *)in; *p != '\0'; p++) {
        if (!special(*p)) {
            if (o + 1 >= size)
                break;
            out[o++] = (char)*p;
        } else if (*p == '\\') {
            if (o + 2 >= size)
                break;
            out[o++] = '\\';
            out[o++] = '\\';
        } else {
            if (o + 4 >= size)
                break;
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 0xf];
        }
    }
    out[o] = '\0';
    return out;
}

int text_needs_escape(const char *in)
{
    for (const unsigned char *p = (const unsigned char *)in; *p != '\0'; p++) {
        if (special(*p))
            return 1;
    }
    return 0;
}

int text_is_utf8(const char *in)
{
    const unsigned char *p = (const unsigned char *)in;

    while (*p != '\0') {
        unsigned c = *p;
        int more;
        unsigned cp;
        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            more = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            more = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            more = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        p++;
        for (int i = 0; i < more; i++, p++) {
            if ((*p & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (*p & 0x3f);
        }
        /* overlong, surrogate or beyond U+10FFFF */
        if ((more == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (more == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return 0;
    }
    return 1;
}

/* A string value with its escaped copy, or NULL when it needs none. */
static json_t *escaped(json_t *v)
{
    const char *in = json_string_value(v);
    size_t size;
    char *buf = NULL;
    json_t *out = NULL;

    if (in == NULL || !text_needs_escape(in))
        return NULL;
    size = strlen(in) * 4 + 1;
    buf = malloc(size);
    if (buf == NULL)
        return NULL;
    out = json_string(text_escape(in, buf, size));
    free(buf);
    return out;
}

void text_escape_json(json_t *doc)
{
    const char *key;
    json_t *v;
    size_t i;

    if (json_is_object(doc)) {
        json_object_foreach(doc, key, v)
        {
            json_t *e = escaped(v);
            if (e != NULL)
                json_object_set_new(doc, key, e);
            else
                text_escape_json(v);
        }
    } else if (json_is_array(doc)) {
        json_array_foreach(doc, i, v)
        {
            json_t *e = escaped(v);
            if (e != NULL)
                json_array_set_new(doc, i, e);
            else
                text_escape_json(v);
        }
    }
}
