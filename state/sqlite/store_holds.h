/* Retry-After holds that outlive the process: a vendor's "not before T"
 * (a 429's Retry-After) is kept per connector and request family (table
 * rate_holds, schema v7), so that a daemon restarted inside the hold does
 * not send before T either. Written when a hold moves later (429s are
 * rare), read when the connector starts. Times are wall clock, ms. */
#ifndef CRMSYNC_STORE_HOLDS_H
#define CRMSYNC_STORE_HOLDS_H

#include <jansson.h>
#include <stdint.h>

#include "store.h"

/* family: "api" (the connector's general budget), "search" (HubSpot), ...;
 * ms: the hold's length as given (until_ms = now + ms). */
int store_hold_save(struct store *st, const char *connector, const char *family, int64_t until_ms,
                    long ms, struct error *err);
/* *until_ms: the kept hold's end, 0 when none. */
int store_hold_load(struct store *st, const char *connector, const char *family, int64_t *until_ms,
                    struct error *err);
/* What is left of the kept hold at now_ms (wall clock): 0 when none or
 * over; never more than the hold's own length (a wall clock set back
 * between two runs does not stretch it) nor 25 hours. */
long store_hold_left(struct store *st, const char *connector, const char *family, int64_t now_ms,
                     struct error *err);

/* The holds still running at now_ms (wall clock): an array of {connector,
 * family, until (RFC 3339), left_ms, given_ms}, for crmsyncctl holds list
 * and /healthz. */
int store_holds_list(struct store *st, int64_t now_ms, json_t **out, struct error *err);
/* Forgets the kept holds of connector (NULL: every one) and family (NULL:
 * every one); *n = how many. The running daemon forgets its own at a reload
 * (crmsyncctl holds clear sends SIGHUP). */
int store_holds_clear(struct store *st, const char *connector, const char *family, int64_t *n,
                      struct error *err);

#endif
