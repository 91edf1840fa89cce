#include "retention.h"

#include "log.h"
#include "store_audit_archive.h"
#include "store_history.h"
#include "store_ledger.h"
#include "store_retention.h"
#include "timefmt.h"

/* Pages given back per round (4 KiB each): 1 MiB, a few ms of I/O. */
#define VACUUM_PAGES 256
/* Free pages left in the file before a vacuum step is worth it: new rows
 * reuse free pages first, so a little slack saves growing the file again. */
#define BUSY_DELAY_MS 10
#define IDLE_DELAY_MS 1000
/* The steps commit without SQLite's automatic checkpoint (it made a step
 * last 80-300 ms, bench/bench_compact). In the daemon the WAL worker
 * (wal_worker.h) copies the WAL back off the loop and this round has
 * nothing to do; without it, once the steps have left this many frames in
 * the WAL, a round of its own checkpoints it (PASSIVE). */
#define CHECKPOINT_FRAMES 1000

/* The audit archive step (state/store_audit_archive.h): once a second, or
 * soon again while rows are due; a failure (a broken chain, an archive
 * that is not where or what the database recorded) is logged once a
 * minute and retried. */
static int audit_step(struct store *st, const struct retention_policy *policy, int64_t now,
                      struct retention_totals *totals)
{
    struct error err = {""};
    int64_t archived = 0;
    int more = 0;

    if (now < totals->audit_next_ms)
        return 0;
    totals->audit_next_ms = now + IDLE_DELAY_MS;
    if (store_audit_archive_step(st, policy->audit_archive, policy->audit_retention_ms, now,
                                 &archived, &more, &err) != 0) {
        if (now - totals->audit_warned_ms >= 60 * 1000) {
            log_error("retention", NULL, "audit archive: %s (tried again later)", err.msg);
            totals->audit_warned_ms = now;
        }
        return 0;
    }
    totals->archived += archived;
    if (more)
        totals->audit_next_ms = now;
    return archived > 0 || more;
}

/* The operator-facing tables (state/store_history.h): once a minute, or
 * soon again while a table had a full step. */
static int history_step(struct store *st, const struct retention_policy *policy, int64_t now,
                        struct retention_totals *totals)
{
    struct error err = {""};
    int64_t deleted = 0;
    int more = 0;

    if (now < totals->history_next_ms)
        return 0;
    totals->history_next_ms = now + 60 * 1000;
    if (store_history_prune_step(st, policy->history_retention_ms, now, &deleted, &more, &err) !=
        0) {
        log_warn("retention", NULL, "history retention: %s (tried again later)", err.msg);
        return 0;
    }
    totals->history += deleted;
    if (more)
        totals->history_next_ms = now;
    return deleted > 0 || more;
}

/* Ledger opening balances (state/store_ledger.h): a pass over the members
 * every 10 minutes, a step soon after another while the pass goes on. */
static int ledger_step(struct store *st, const struct retention_policy *policy, int64_t now,
                       struct retention_totals *totals)
{
    struct error err = {""};
    int64_t folded = 0;
    int more = 0;

    if (now < totals->ledger_next_ms)
        return 0;
    totals->ledger_next_ms = now + 10 * 60 * 1000;
    if (store_ledger_fold_step(st, policy->ledger_retention_ms, now, &folded, &more, &err) != 0) {
        log_warn("retention", NULL, "ledger opening balances: %s (tried again later)", err.msg);
        return 0;
    }
    totals->folded += folded;
    if (more)
        totals->ledger_next_ms = now;
    return folded > 0 || more;
}

/* The change-log compaction step; 1 when it deleted or has more to do. */
static int changes_step(struct store *st, const char *const *dests, size_t n,
                        const struct retention_policy *policy, int64_t now,
                        struct retention_totals *totals)
{
    struct error err = {""};
    int64_t deleted = 0;
    int more = 0;

    if (store_compact_step(st, dests, n, policy->change_retention_ms, now, &deleted, &more, &err) !=
        0) {
        log_warn("retention", NULL, "change-log compaction: %s (tried again later)", err.msg);
        return 0;
    }
    totals->compacted += deleted;
    return deleted > 0 || more;
}

static int keys_step(struct store *st, const struct retention_policy *policy, int64_t now,
                     struct retention_totals *totals)
{
    struct error err = {""};
    int64_t deleted = 0;
    int more = 0;

    if (store_idem_prune_step(st, policy->dedup_window_ms, now, &deleted, &more, &err) != 0) {
        log_warn("retention", NULL, "idempotency key pruning: %s (tried again later)", err.msg);
        return 0;
    }
    totals->pruned += deleted;
    return deleted > 0 || more;
}

static int vacuum_step(struct store *st, struct retention_totals *totals)
{
    struct error err = {""};
    int64_t freed = 0;

    if (store_in_txn(st))
        return 0;
    if (store_vacuum_step(st, VACUUM_PAGES, &freed, &err) != 0) {
        log_warn("retention", NULL, "incremental vacuum: %s", err.msg);
        return 0;
    }
    totals->vacuumed += freed;
    return freed > 0;
}

enum { TURN_CHANGES, TURN_KEYS, TURN_AUDIT, TURN_HISTORY, TURN_LEDGER, TURN_VACUUM, TURNS };

uint64_t retention_round(struct store *st, const char *const *dests, size_t n,
                         const struct retention_policy *policy, struct retention_totals *totals)
{
    struct error err = {""};
    int64_t now = timefmt_now_ms();
    int copied = 0;

    if (store_wal_checkpoint(st, CHECKPOINT_FRAMES, &copied, &err) < 0)
        log_warn("retention", NULL, "WAL checkpoint: %s (tried again later)", err.msg);
    if (copied > 0)
        return BUSY_DELAY_MS;
    /* One step that finds work per round, the kinds taking turns: each step
     * is a few ms, and steps run back to back would add up to a pause of
     * ingest and push as long as all of them. A round after a step that
     * worked comes soon (BUSY_DELAY_MS); one that found nothing to do in
     * any kind waits IDLE_DELAY_MS. */
    for (int k = 0; k < TURNS; k++) {
        int turn = (totals->turn + k) % TURNS, worked = 0;

        switch (turn) {
        case TURN_CHANGES:
            worked = changes_step(st, dests, n, policy, now, totals);
            break;
        case TURN_KEYS:
            worked = keys_step(st, policy, now, totals);
            break;
        case TURN_AUDIT:
            worked = audit_step(st, policy, now, totals);
            break;
        case TURN_HISTORY:
            worked = history_step(st, policy, now, totals);
            break;
        case TURN_LEDGER:
            worked = ledger_step(st, policy, now, totals);
            break;
        default:
            worked = vacuum_step(st, totals);
            break;
        }
        if (worked) {
            totals->turn = (turn + 1) % TURNS;
            return BUSY_DELAY_MS;
        }
    }
    return IDLE_DELAY_MS;
}
