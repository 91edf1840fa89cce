/* Durations as operators write them, parsed in one place for the daemon's
 * configuration and crmsyncctl's options (issue 19: "1w" worked in one and
 * not the other). A number with a unit, no space between them, optionally
 * several in a row ("1h30m", "1h 30min"): ms/msec, s/sec/second(s), m/min/minute(s),
 * h/hr/hour(s), d/day(s), w/week(s). A bare number alone means seconds. */
#ifndef CRMSYNC_DURATION_H
#define CRMSYNC_DURATION_H

#include <stdint.h>

/* 0 and *ms set, or -1: empty, negative, an unknown unit, past max_ms
 * (0: up to INT64_MAX). */
int duration_parse(const char *s, int64_t max_ms, int64_t *ms);

/* For messages: what duration_parse() accepts. */
#define DURATION_FORMS                                                                             \
    "a duration like 250ms, 30s, 5min, 2h, 1d, 1w or 1h30m (a bare number means seconds)"

#endif
