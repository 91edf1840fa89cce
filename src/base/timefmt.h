/* Timestamps: the daemon keeps UTC milliseconds since the epoch (int64) and
 * speaks RFC 3339 at its edges (spool events, CRM APIs, exports). */
#ifndef CRMSYNC_TIMEFMT_H
#define CRMSYNC_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* Parses an RFC 3339 date-time ("2026-11-24T10:00:00Z",
 * "2026-11-24T10:00:00.123456+01:00"; 'T' or ' ' or 't' separator, 'Z'/'z'
 * or a numeric offset required). Fractions beyond milliseconds are truncated.
 * Years 1970..9999 only. Returns 0 and sets *ms, or -1. */
int timefmt_parse_rfc3339(const char *s, int64_t *ms);

/* Formats as "YYYY-MM-DDTHH:MM:SS.mmmZ" into buf (>= 25 bytes). Returns buf. */
const char *timefmt_format_rfc3339(int64_t ms, char *buf, size_t bufsize);

/* Wall clock, UTC ms. */
int64_t timefmt_now_ms(void);

/* Days since 1970-01-01 for a proleptic Gregorian date (no libc timezone). */
int64_t timefmt_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
