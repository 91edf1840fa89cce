/* A fixed-size error message passed as the last argument of fallible calls.
 * The message names where the problem is (file:line, record id, connector). */
#ifndef CRMSYNC_ERROR_H
#define CRMSYNC_ERROR_H

#include <stddef.h>

struct error {
    char msg[1024];
};

/* Sets the message (printf style). Returns -1 so callers can write
 * `return error_set(err, ...)`. err may be NULL. */
int error_set(struct error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefixes the current message, e.g. with "file:line: ". */
void error_prefix(struct error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void error_clear(struct error *err);

#endif
