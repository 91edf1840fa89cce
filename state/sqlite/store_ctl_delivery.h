/* Member export: where each change of the member stands with each CRM
 * (issue 19, "why did member X not sync?"). */
#ifndef CRMSYNC_STORE_CTL_DELIVERY_H
#define CRMSYNC_STORE_CTL_DELIVERY_H

#include <jansson.h>
#include <stddef.h>

#include "store.h"

/* Adds "delivery": {CRM: state} to each effective change of changes (the
 * member export's "changes" rows: seq, origin, effective, acknowledged_by),
 * for each destination of dests (n of them; n = 0: the connectors that have
 * push cursors). The state is "acknowledged" (the CRM answered ok for this
 * change: acknowledged_by names it), "origin" (the change came from that
 * CRM), "dead_letter" (it refused it: crmsyncctl dead-letters list
 * --member), "pending" (its push cursor of the change's lane has not
 * reached it yet) or "passed" (the cursor went past without sending it:
 * the CRM held the value already, or a newer value went instead).
 * Returns 0 or -1. */
int store_ctl_member_delivery(struct store *st, const char *const *dests, size_t n, json_t *changes,
                              struct error *err);

#endif
