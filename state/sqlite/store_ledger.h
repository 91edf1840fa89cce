/* Ledger retention (issue 15, docs/state.md "Ledger opening balances"):
 * old points transactions whose contribution to the balance is final are
 * folded into one opening-balance row per member, so that the ledger stops
 * growing with time while every balance stays exact. */
#ifndef CRMSYNC_STORE_LEDGER_H
#define CRMSYNC_STORE_LEDGER_H

#include <stdint.h>

#include "error.h"
#include "store.h"

/* Members examined per step at most. */
#define STORE_LEDGER_STEP 200

/* One step, one transaction, over the next STORE_LEDGER_STEP members with
 * ledger rows (in member-key order from where the last step stopped, kept
 * in meta 'ledger_fold_from'; after the last member it starts again).
 * Folds a member's transactions that
 *  - occurred more than retention_ms before now_ms, and
 *  - count the same from now on: no expiry (their delta counts for good) or
 *    expired at now_ms already (they count nothing any more),
 * except the member's newest transaction (seq), which stays in the ledger
 * so that the snapshot a resync or a new destination starts from still
 * offers the member's points (and so its balance). Folding adds the
 * transactions' live deltas to points_opening.balance, counts them, moves
 * through_at to the latest occurred_at folded and deletes them (and their
 * change-log rows once compaction has passed them). A later transaction
 * of the member that occurred at or before through_at and is not in the
 * ledger is refused (a dead letter): it cannot be told from a replay of a
 * folded one. retention_ms <= 0: nothing. *folded: transactions folded;
 * *more = 1 when the pass has members left. */
int store_ledger_fold_step(struct store *st, int64_t retention_ms, int64_t now_ms, int64_t *folded,
                           int *more, struct error *err);

#endif
