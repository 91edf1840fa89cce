/* RFC 3339 / HTTP-date helpers for the simulator (self-contained so the sim
 * does not depend on the daemon's library). Times are UTC ms since epoch. */
#ifndef CRMSIM_TIME_H
#define CRMSIM_TIME_H

#include <stddef.h>
#include <stdint.h>

/* "2026-11-24T10:00:00.123Z" into buf (>= 25 bytes). Returns buf. */
const char *sim_time_format(int64_t ms, char *buf, size_t bufsize);
/* "Tue, 24 Nov 2026 10:00:00 GMT" (RFC 9110 IMF-fixdate) into buf (>= 30). */
const char *sim_time_http_date(int64_t ms, char *buf, size_t bufsize);
/* Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SS[.fff](Z|+hh:mm)" or a decimal
 * epoch-ms string (HubSpot accepts both for date filters). Returns 0 or -1. */
int sim_time_parse(const char *s, int64_t *ms);
/* Wall clock, UTC ms. */
int64_t sim_time_wall_ms(void);

#endif
