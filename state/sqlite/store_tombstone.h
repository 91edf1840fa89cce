/* Is a member erased? For the host services that write what a CRM holds
 * (identities, shadows, repairs) outside the change-log's apply, which
 * checks tombstones itself: after an erasure nothing keyed by the member
 * may be written again (issue 14 item 5). */
#ifndef CRMSYNC_STORE_TOMBSTONE_H
#define CRMSYNC_STORE_TOMBSTONE_H

#include "store.h"

/* *erased = 1 when the member key has a tombstone. Returns 0 or -1. */
int store_member_erased(struct store *st, const char *member_key, int *erased, struct error *err);

/* How many tombstones this connection knows of (read at open, counted up
 * by the erasures it applies): a change says an erasure happened (issue
 * 19: the daemon then rewrites spool done/ files, src/done_scrub.h). */
int64_t store_tombstone_total(const struct store *st);

#endif
