/* Bounded state (issue 15, docs/state.md "Retention"): compaction of the
 * change-log, pruning of idempotency keys after the dedup window, and the
 * incremental vacuum that gives the freed pages back. Each step is one short
 * transaction the daemon runs on a timer; none blocks ingest or push for
 * more than a few milliseconds. */
#ifndef CRMSYNC_STORE_RETENTION_H
#define CRMSYNC_STORE_RETENTION_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

/* Rows examined per step at most. */
#define STORE_RETENTION_STEP 2000
/* A step's time budget (scan and deletes, before its commit): the step
 * stops when it is spent and says *more = 1; the next one goes on from
 * there. Never fewer than STORE_RETENTION_MIN_ROWS rows examined and
 * deleted, however slow the machine, so that each step gets somewhere (and
 * a small table is done in one step whatever the load). */
#define STORE_RETENTION_BUDGET_US 2000
#define STORE_RETENTION_MIN_ROWS 32

/* One compaction step. Deletes, in seq order from where the last step
 * stopped (kept in meta 'compact_from'), the changes that
 *  - every destination in dests has passed (its push cursor of the change's
 *    lane is at or after it; with no destination, every change is passed),
 *  - were received at least retention_ms before now_ms,
 *  - are not the newest change (seq must never be reused), and
 *  - are not what the snapshot is made of: the change `current` points to
 *    (the latest value of its member and field), the change of a ledger
 *    transaction, an erasure (the tombstone's change, kept for the purge
 *    and for destinations added later).
 * It stops at the first change that is not passed or too young. A full
 * resync sets its destination's cursors to 0, so nothing is compacted while
 * one runs. *deleted: rows deleted; *more = 1 when the step was full or
 * its time was up, and another may find more. The step's commit does not
 * checkpoint the WAL: see store_wal_checkpoint() (state/store.h). */
int store_compact_step(struct store *st, const char *const *dests, size_t n, int64_t retention_ms,
                       int64_t now_ms, int64_t *deleted, int *more, struct error *err);

/* Deletes idempotency keys first seen more than window_ms before now_ms
 * (oldest first, at most one step), and the ingest_files rows finished
 * before then. A key pruned is harmless when its event comes again: merge
 * rules and the ledger's txn_id make it a no-op (docs/state.md). */
int store_idem_prune_step(struct store *st, int64_t window_ms, int64_t now_ms, int64_t *deleted,
                          int *more, struct error *err);

/* Gives up to `pages` free pages back to the file system (auto_vacuum =
 * INCREMENTAL), STORE_VACUUM_CHUNK at a time until the step's time budget
 * (STORE_RETENTION_BUDGET_US) is spent: moving pages from the end of the
 * file costs I/O that depends on the machine (256 pages took 10.7 ms p50,
 * 62.8 ms max under load in bench_compact). At least one chunk per step.
 * *freed: pages given back. */
#define STORE_VACUUM_CHUNK 32
int store_vacuum_step(struct store *st, int pages, int64_t *freed, struct error *err);

/* Size of the state for status and /metrics. */
#define STORE_SIZE_TABLES 10
struct store_size {
    int64_t db_bytes;      /* page_count * page_size */
    int64_t free_bytes;    /* of which free pages */
    int64_t wal_bytes;     /* the -wal file; 0 when absent */
    int64_t oldest_change; /* received_at (ms) of the oldest retained change; 0: none */
    int64_t oldest_seq;    /* its seq */
    const char *table[STORE_SIZE_TABLES];
    int64_t rows[STORE_SIZE_TABLES];
    size_t n_tables;
};
int store_size_report(struct store *st, const char *db_path, struct store_size *out,
                      struct error *err);

/* The text of the i-th statement of this module (NULL past the last), for
 * tests/unit/test_query_plans.c. */
const char *store_retention_statement(size_t i);

#endif
