#include "retention.h"

#include "log.h"
#include "store_retention.h"
#include "timefmt.h"

/* Pages given back per round (4 KiB each): 1 MiB, a few ms of I/O. */
#define VACUUM_PAGES 256
/* Free pages left in the file before a vacuum step is worth it: new rows
 * reuse free pages first, so a little slack saves growing the file again. */
#define BUSY_DELAY_MS 10
#define IDLE_DELAY_MS 1000

uint64_t retention_round(struct store *st, const char *const *dests, size_t n,
                         long change_retention_ms, long dedup_window_ms,
                         struct retention_totals *totals)
{
    struct error err = {""};
    int64_t now = timefmt_now_ms();
    int64_t deleted = 0, freed = 0;
    int more_changes = 0, more_keys = 0;

    if (store_compact_step(st, dests, n, change_retention_ms, now, &deleted, &more_changes, &err) !=
        0) {
        log_warn("retention", NULL, "change-log compaction: %s (tried again later)", err.msg);
        return IDLE_DELAY_MS;
    }
    totals->compacted += deleted;
    if (store_idem_prune_step(st, dedup_window_ms, now, &deleted, &more_keys, &err) != 0) {
        log_warn("retention", NULL, "idempotency key pruning: %s (tried again later)", err.msg);
        return IDLE_DELAY_MS;
    }
    totals->pruned += deleted;
    if (!store_in_txn(st)) {
        if (store_vacuum_step(st, VACUUM_PAGES, &freed, &err) != 0)
            log_warn("retention", NULL, "incremental vacuum: %s", err.msg);
        totals->vacuumed += freed;
    }
    return more_changes || more_keys || freed >= VACUUM_PAGES ? BUSY_DELAY_MS : IDLE_DELAY_MS;
}
