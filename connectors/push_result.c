/* Per-record push results (connector.h): the reason is allocated only for
 * the records that have one. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connector.h"

void push_result_set_reason(struct push_result *r, const char *fmt, ...)
{
    char buf[256];
    va_list ap;

    /* Formatted before the old reason is freed: it may be an argument. */
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    free(r->reason);
    r->reason = buf[0] != '\0' ? strdup(buf) : NULL;
}

const char *push_result_reason(const struct push_result *r)
{
    return r->reason != NULL ? r->reason : "";
}

void push_results_clear(struct push_result *res, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(res[i].reason);
        res[i].reason = NULL;
    }
}
