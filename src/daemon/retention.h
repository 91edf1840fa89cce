/* The daemon's retention timer (issue 15, docs/state.md "Retention"): one
 * short step at a time -- compaction of the change-log, pruning of
 * idempotency keys, incremental vacuum -- soon again while there is work
 * left, every second otherwise, so that no step holds the loop (ingest,
 * push) for more than a few milliseconds. */
#ifndef CRMSYNC_RETENTION_H
#define CRMSYNC_RETENTION_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct retention_totals {
    int64_t compacted; /* changes deleted since start */
    int64_t pruned;    /* idempotency keys deleted since start */
    int64_t vacuumed;  /* pages given back since start */
    int64_t archived;  /* audit rows moved to the archive since start */
    /* When the audit archive step runs next (ms; it runs once a second, or
     * soon again while rows are due), and when it last logged a failure. */
    int64_t audit_next_ms;
    int64_t audit_warned_ms;
    int64_t history; /* operator actions, resync requests, resolved dead letters */
    int64_t history_next_ms;
    int64_t folded; /* points transactions folded into opening balances */
    int64_t ledger_next_ms;
    int turn; /* the kind of step the next round tries first */
};

/* What the [state] section asks of retention (config.h). */
struct retention_policy {
    long change_retention_ms;
    long dedup_window_ms;
    long audit_retention_ms;   /* 0: keep the audit in the database */
    const char *audit_archive; /* NULL: next to the database */
    long history_retention_ms; /* 0: keep (state/store_history.h) */
    long ledger_retention_ms;  /* 0: keep (state/store_ledger.h) */
};

/* One round: the first kind of step, taking turns, that finds work runs
 * (one step, a few ms). dests: the connectors with a push side. Returns
 * the delay in ms before the next round (short when a step worked). */
uint64_t retention_round(struct store *st, const char *const *dests, size_t n,
                         const struct retention_policy *policy, struct retention_totals *totals);

#endif
