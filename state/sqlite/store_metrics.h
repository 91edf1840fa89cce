/* Read-only queries for the admin endpoint and crmsyncctl status: backlog
 * per destination and lane, dead letters waiting. Statements are prepared
 * once per reader (the admin thread keeps its own read-only connection). */
#ifndef CRMSYNC_STORE_METRICS_H
#define CRMSYNC_STORE_METRICS_H

#include <stdint.h>

#include "change.h"
#include "store.h"

#define STORE_LANES 3 /* enum change_lane: urgent, points, bulk */

struct store_metrics;

int store_metrics_new(struct store *st, struct store_metrics **out, struct error *err);
void store_metrics_free(struct store_metrics *m);

/* What a destination still has to push: effective changes after its push
 * cursor for each lane, not originating from the destination itself. */
struct store_backlog {
    int64_t pending[STORE_LANES];
    int64_t oldest_received_at; /* ms; 0 when nothing is pending */
    int64_t total;
    int64_t oldest_lane[STORE_LANES]; /* oldest_received_at per lane */
};
int store_metrics_backlog(struct store_metrics *m, const char *destination,
                          struct store_backlog *out, struct error *err);

/* Calls fn for each destination with dead letters (count, retry requested). */
int store_metrics_dead_letters(struct store_metrics *m,
                               void (*fn)(void *ctx, const char *destination, int64_t count,
                                          int64_t retry_requested),
                               void *ctx, struct error *err);

/* "urgent", "points", "bulk". */
const char *store_lane_name(int lane);

#endif
