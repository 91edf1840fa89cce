#include "duration.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    int64_t ms;
} units[] = {
    {"ms", 1},          {"msec", 1},        {"s", 1000},         {"sec", 1000},
    {"second", 1000},   {"seconds", 1000},  {"m", 60000},        {"min", 60000},
    {"minute", 60000},  {"minutes", 60000}, {"h", 3600000},      {"hr", 3600000},
    {"hour", 3600000},  {"hours", 3600000}, {"d", 86400000},     {"day", 86400000},
    {"days", 86400000}, {"w", 604800000},   {"week", 604800000}, {"weeks", 604800000},
};

static int unit_ms(const char *name, size_t len, int64_t *ms)
{
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strlen(units[i].name) == len && strncmp(units[i].name, name, len) == 0) {
            *ms = units[i].ms;
            return 0;
        }
    }
    return -1;
}

int duration_parse(const char *s, int64_t max_ms, int64_t *ms)
{
    const char *p = s;
    int64_t total = 0;
    int parts = 0;

    if (max_ms <= 0)
        max_ms = INT64_MAX;
    while (*p != '\0') {
        char *end = NULL;
        long long n;
        const char *u;
        int64_t mult = 0;

        while (*p == ' ')
            p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        errno = 0;
        n = strtoll(p, &end, 10);
        if (errno != 0)
            return -1;
        p = end;
        u = p;
        while (isalpha((unsigned char)*p))
            p++;
        if (p == u) {
            /* A bare number: seconds, and only as the whole string. */
            if (parts > 0 || *p != '\0')
                return -1;
            mult = 1000;
        } else if (unit_ms(u, (size_t)(p - u), &mult) != 0) {
            return -1;
        }
        if (n > (max_ms - total) / mult)
            return -1;
        total += (int64_t)n * mult;
        parts++;
        while (*p == ' ')
            p++;
    }
    if (parts == 0)
        return -1;
    *ms = total;
    return 0;
}
