/* Purging an erased member's key once every CRM has confirmed the erasure
 * (DESIGN.md §2: "only a salted hash of the key stays"). */
#ifndef CRMSYNC_STORE_PURGE_H
#define CRMSYNC_STORE_PURGE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

/* For each erasure (an `erase` change) that every destination in dests has
 * confirmed -- its urgent-lane push cursor passed it without a dead letter
 * for it, and none of the member's changes is still ahead of any of its
 * cursors -- replaces the member key in the change-log by "erased:<salted
 * hash>" (and the idempotency keys that hold it), and deletes the member's
 * identities, shadows and dead letters, in one transaction per member. The
 * tombstone (the hash) stays, so a later pull or event is still refused.
 *
 * *from_seq: erasures up to it are done (the caller keeps it between calls,
 * 0 at start); it only passes an erasure once it is purged. *purged: how
 * many members were purged by this call. With no destination, nothing is
 * purged (nothing confirmed). 0 or -1. */
int store_erasure_purge(struct store *st, const char *const *dests, size_t n, int64_t *from_seq,
                        int64_t *purged, struct error *err);

/* The text of the i-th statement of the purge (NULL past the last), for
 * the test that checks their query plans. */
const char *store_purge_statement(size_t i);

#endif
