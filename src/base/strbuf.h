/* Bounded dynamic strings (STYLE.md 13), after curl's dynbuf: a string grows
 * as it is built, up to a maximum set when it starts. Going past the maximum
 * (or running out of memory) fails the buffer for good: every later add is
 * refused and strbuf_take() answers NULL, so a caller checks once at the end
 * and a URL is never cut silently. */
#ifndef CRMSYNC_STRBUF_H
#define CRMSYNC_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
    char *s;
    size_t len, cap, max;
    int failed;
};

/* max: the longest string accepted, terminating NUL not counted. */
void strbuf_init(struct strbuf *b, size_t max);
/* 0 ok, -1 too long or out of memory (the buffer is then failed). */
int strbuf_add(struct strbuf *b, const char *s);
int strbuf_addn(struct strbuf *b, const char *s, size_t n);
int strbuf_addf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int strbuf_addv(struct strbuf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* The string built so far ("" when empty); NULL once failed. */
const char *strbuf_str(const struct strbuf *b);
/* Hands the string to the caller (free() it) and resets the buffer; NULL
 * when the buffer failed (then it is freed). */
char *strbuf_take(struct strbuf *b);
void strbuf_free(struct strbuf *b);

#endif
