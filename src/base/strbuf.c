/* Bounded dynamic strings: see strbuf.h. */
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void strbuf_init(struct strbuf *b, size_t max)
{
    b->s = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
    b->failed = 0;
}

static int fail(struct strbuf *b)
{
    free(b->s);
    b->s = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = 1;
    return -1;
}

/* Room for n more bytes plus the NUL. */
static int reserve(struct strbuf *b, size_t n)
{
    size_t want, cap;
    char *grown;

    if (b->failed)
        return -1;
    if (n > b->max - b->len)
        return fail(b);
    want = b->len + n + 1;
    if (want <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 64;
    while (cap < want)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    grown = realloc(b->s, cap);
    if (grown == NULL)
        return fail(b);
    b->s = grown;
    b->cap = cap;
    return 0;
}

int strbuf_addn(struct strbuf *b, const char *s, size_t n)
{
    if (reserve(b, n) != 0)
        return -1;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
    return 0;
}

int strbuf_add(struct strbuf *b, const char *s)
{
    return strbuf_addn(b, s, strlen(s));
}

int strbuf_addv(struct strbuf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    if (b->failed)
        return -1;
    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return fail(b);
    if (reserve(b, (size_t)n) != 0)
        return -1;
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int strbuf_addf(struct strbuf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = strbuf_addv(b, fmt, ap);
    va_end(ap);
    return rc;
}

const char *strbuf_str(const struct strbuf *b)
{
    if (b->failed)
        return NULL;
    return b->s ? b->s : "";
}

char *strbuf_take(struct strbuf *b)
{
    char *s;

    if (b->failed)
        return NULL;
    s = b->s ? b->s : strdup("");
    b->s = NULL;
    b->len = 0;
    b->cap = 0;
    return s;
}

void strbuf_free(struct strbuf *b)
{
    free(b->s);
    b->s = NULL;
    b->len = 0;
    b->cap = 0;
}
