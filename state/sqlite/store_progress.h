/* What the daemon records for crmsyncctl status besides cursors: the phase
 * of a destination's last full resync and the CRM's request budget as last
 * seen (tables resync_progress and connector_quota, schema v4).
 *
 * The writers run on the daemon's loop and write rarely (a resync phase
 * change; a quota at most every few seconds), so their statements are
 * prepared per call. The reader builds the JSON crmsyncctl shows. */
#ifndef CRMSYNC_STORE_PROGRESS_H
#define CRMSYNC_STORE_PROGRESS_H

#include <jansson.h>
#include <stdint.h>

#include "store.h"

/* A resync of dest started: its push cursors were just reset and it
 * re-offers every change up to the change-log's current last seq. Call in
 * the transaction that resets the cursors. pulls = 0 when dest pulls
 * nothing (its re-push starts at once). */
int store_resync_progress_start(struct store *st, const char *dest, int64_t now_ms, int pulls,
                                struct error *err);
/* The re-pull ended (or the destination pulls nothing): the re-push runs. */
int store_resync_progress_pushing(struct store *st, const char *dest, int64_t now_ms,
                                  struct error *err);
/* The engine (re)starts dest: a resync whose re-pull was still running is
 * not resumed as such (its watermark is already cleared, so the next pull
 * reads everything, while the re-push starts at once): mark it interrupted
 * and count its re-push from now. */
int store_resync_progress_restart(struct store *st, const char *dest, int64_t now_ms,
                                  struct error *err);

/* The vendor's budget: kind "daily" (HubSpot X-HubSpot-RateLimit-Daily*,
 * Salesforce Sforce-Limit-Info api-usage). observed_ms: wall clock. */
struct store_quota {
    const char *connector;
    const char *kind;
    int64_t remaining;
    int64_t limit;
    int64_t observed_ms;
};
/* Upserts n rows in one transaction. */
int store_quota_save(struct store *st, const struct store_quota *q, size_t n, struct error *err);

/* For one connector: *resync = null or {state: "pulling" | "pushing" |
 * "complete", started_at, pull_done_at, interrupted}, and for a
 * destination also done, total, rate_per_s, eta_s: done / total count the
 * effective changes up to scope_seq that did not come from the destination
 * itself, done those its lane cursors have passed. rate_per_s (changes/s
 * since the re-push began) and eta_s are null until something is done and
 * once it is complete. *quota = null or {kind, remaining, limit,
 * observed_at}. now_ms: wall clock. */
int store_progress_report(struct store *st, const char *connector, int destination, int64_t now_ms,
                          json_t **resync, json_t **quota, struct error *err);

#endif
