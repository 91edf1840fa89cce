/* Dispatch and results: the pump (a pass plans and sends batches), the
 * answer of a batch (batch_done) and the start of a resync. The invariants:
 * - A destination never has more than max_inflight batches out, and the
 *   bulk lanes leave one slot to the priority lane.
 * - A record is sent only if its projected value differs from the shadow
 *   (what the CRM was last confirmed to hold), and never back to its origin.
 * - The push cursor of a lane only passes changes that are fully handled
 *   (ok, dead-lettered, skipped or superseded), and it moves in the same
 *   transaction as the shadows of the records that were handled.
 * - Records failing through no fault of their own (outage, 401, quota) back
 *   off the whole destination without using up their retry attempts. */
#include "engine_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crashpoint.h"
#include "log.h"
#include "metrics.h"
#include "store_progress.h"
#include "store_push.h"
#include "timefmt.h"

static uint64_t now_us(void)
{
    return uv_hrtime() / 1000;
}

/* Where a push's wall time goes (issue 17): crmsyncd_push_phase_seconds
 * {connector, phase}, phases as in metrics.c. */
static void push_phase(const struct dest *d, const char *phase, uint64_t us)
{
    metrics_observe(METRIC_PUSH_PHASE, (const char *[]){d->conn->name, phase},
                    (double)us / 1000000.0);
}

static long max_inflight_of(const struct dest *d)
{
    return d->conn->max_inflight > 0 ? d->conn->max_inflight : 4;
}

/* Records wait that no batch carries yet: a lane not read to its end, or a
 * window item not in flight. */
static int work_pending(const struct dest *d)
{
    size_t n = 0;

    for (int l = 0; l < N_LANES; l++) {
        if (!d->exhausted[l])
            return 1;
        n += d->lanes[l].n;
    }
    return n > d->inflight_items;
}

/* Ends a stretch of free request slots (slot_idle, in slot-seconds). */
static void idle_close(struct dest *d, uint64_t us)
{
    if (d->idle_since_us != 0 && us > d->idle_since_us)
        push_phase(d, "slot_idle", (us - d->idle_since_us) * (uint64_t)d->idle_slots);
    d->idle_since_us = 0;
}

/* Starts one when slots are free while records wait. Only the bulk lanes'
 * slots count: the one kept for the priority lane is free by design. */
static void idle_open(struct dest *d, uint64_t us)
{
    long max = max_inflight_of(d);
    long free_slots = (max > 1 ? max - 1 : max) - d->inflight;

    idle_close(d, us);
    if (free_slots > 0 && !d->eng->stopping && work_pending(d)) {
        d->idle_since_us = us;
        d->idle_slots = free_slots;
    }
}

static void send_batch(struct dest *d, struct sent_batch *sb);

/* The batches planned in a result's transaction, after its commit. */
static void send_deferred(struct dest *d)
{
    struct sent_batch *sb = d->deferred;

    d->deferred = NULL;
    while (sb != NULL) {
        struct sent_batch *next = sb->next;
        sb->next = NULL;
        send_batch(d, sb);
        sb = next;
    }
}

/* ...or instead of it when it failed: their items were taken from windows
 * that are read again from the durable cursors. */
static void drop_deferred(struct dest *d)
{
    struct sent_batch *sb = d->deferred;

    d->deferred = NULL;
    while (sb != NULL) {
        struct sent_batch *next = sb->next;
        d->inflight--;
        d->inflight_items -= sb->pb.n;
        engine_free_batch(sb);
        sb = next;
    }
}

/* Applies the per-record results of one batch in one transaction. Long:
 * the transaction's steps (records, bookkeeping, outage, the next plans,
 * cursors, commit or rollback) share its state and their order is the
 * point (issue 18: the records' answers are engine_ack_record). */
static void batch_done(struct push_batch *pb)
{
    struct sent_batch *sb = pb->engine;
    struct dest *d = sb->d;
    struct store *st = d->eng->store;
    struct error err = {""};
    uint64_t now = engine_now_ms();
    struct ack_tally t = {.outage_wait = -1};
    int planned = 0;
    uint64_t answered_us = now_us();
    struct bookkeeping *bk = &sb->bk;
    crashpoint("push.response"); /* answered, ack not yet committed */
    int db_ok = store_begin_relaxed(st, &err) == 0;

    idle_close(d, answered_us);
    d->inflight--;
    d->inflight_items -= pb->n;
    idle_open(d, answered_us);
    d->stats.batches++;
    for (size_t i = 0; i < pb->n; i++)
        engine_ack_record(d, sb, i, now, db_ok, &t);
    if (db_ok && engine_bookkeeping_write(d, bk, &err) != 0)
        db_ok = 0;
    for (size_t i = 0; i < bk->n_done; i++)
        window_remove(&d->lanes[bk->done[i]->lane], bk->done[i]);
    if (t.outage_wait >= 0) {
        long wait = t.outage_wait;
        if (wait == 0) {
            /* No hint from the vendor: exponential, capped at 5 minutes. */
            int s = d->outage_streak < 9 ? d->outage_streak : 9;
            wait = 500L << s;
            if (wait > 300000)
                wait = 300000;
        }
        d->outage_streak++;
        d->stats.requests_failed++;
        d->paused_until = now + (uint64_t)wait;
        log_warn("engine", d->conn->name, "destination unavailable; pausing %ld ms", wait);
        metrics_counter_add(METRIC_DEST_PAUSES, (const char *[]){d->conn->name}, 1);
        engine_note_outage(d, t.outage_why);
    } else {
        d->outage_streak = 0;
        engine_note_reachable(d);
    }
    /* The slot this answer freed is filled in the same transaction: the
     * next batches are planned (and what they carry recorded) before the
     * commit, and go right after it. One commit per batch instead of two,
     * and no request slot waits for a second one. */
    if (db_ok && !d->eng->stopping && d->resync == 0) {
        d->defer_sends = 1;
        engine_pump(d);
        d->defer_sends = 0;
        planned = 1;
    }
    if (db_ok && (engine_write_cursors(d, &err) != 0 || store_commit(st, &err) != 0))
        db_ok = 0;
    if (!db_ok) {
        /* What was confirmed cannot be recorded: forget this window and read
         * it again from the durable cursor once nothing is in flight; the
         * resends are idempotent (absolute values, upserts). */
        store_rollback(st);
        log_error("engine", d->conn->name, "cannot record push results: %s", err.msg);
        d->db_failed = 1;
        if (d->paused_until < now + 5000)
            d->paused_until = now + 5000;
        drop_deferred(d);
    } else {
        engine_cursors_committed(d);
        send_deferred(d);
    }
    push_phase(d, "request", (now - sb->sent_ms) * 1000);
    push_phase(d, "ack", now_us() - answered_us);
    engine_report_overdue(d, t.overdue_changed);
    engine_publish_metrics(d, sb, now);
    engine_free_batch(sb);
    if (d->eng->stopping)
        return;
    if (t.pull_now && !d->pulling && d->resync == 0)
        engine_schedule_pull(d, 0);
    if (d->resync == 1 && d->inflight == 0 && !d->pulling) {
        engine_start_resync(d);
        return;
    }
    if (!planned)
        engine_pump(d);
}

/* What goes out is recorded first (in the pass's transaction, committed
 * before the request goes), so that a pull reading it back after a lost
 * answer knows it for our own write. One statement for the batch. */
static void record_sent(struct dest *d, struct sent_batch *sb)
{
    struct error err = {""};
    struct push_key *k = sb->bk.shadows; /* unused until the answer */

    for (size_t i = 0; i < sb->pb.n; i++)
        k[i] = (struct push_key){sb->items[i]->member, sb->items[i]->field, sb->items[i]->hash};
    if (store_shadow_sent_batch(d->eng->store, d->conn->name, k, sb->pb.n, &err) != 0)
        log_warn("engine", d->conn->name, "cannot record what is sent: %s", err.msg);
}

/* The index of the plan's first record of member m, found through first[]
 * (open addressing over cap slots, record index + 1, 0 empty); i is added
 * as the member's first when it has none. */
static size_t first_of_member(const struct plan *p, size_t *first, size_t cap, const char *m,
                              size_t i)
{
    uint64_t h = 1469598103934665603ULL;
    size_t slot;

    for (const char *c = m; *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ULL;
    for (slot = (size_t)h & (cap - 1); first[slot] != 0; slot = (slot + 1) & (cap - 1)) {
        if (strcmp(p->items[first[slot] - 1]->member, m) == 0)
            return first[slot] - 1;
    }
    first[slot] = i + 1;
    return i;
}

/* The current local values of the sibling fields the connector declares
 * (connector_ops.push_siblings), for each record of the plan that wants
 * them: read once per member of the batch, inside the pass's snapshot.
 * 0, or -1 (out of memory, a state error: the batch is not taken). */
static int attach_siblings(struct dest *d, struct sent_batch *sb, const struct plan *p)
{
    const struct push_sibling *s = d->conn->ops->push_siblings;
    size_t ns = 0, cap = 16;
    /* owner[m * ns + k]: the record (index + 1) that read sibling k of the
     * member whose first record is m; first[]: each member's first record.
     * A scan of the records before each one was quadratic in a Bulk batch
     * (issue 17). */
    size_t *owner = NULL, *first = NULL;
    int rc = -1;

    while (s != NULL && s[ns].field != NULL)
        ns++;
    if (ns == 0)
        return 0;
    while (cap < 2 * p->n)
        cap *= 2;
    sb->sib = calloc(p->n * ns, sizeof(*sb->sib));
    sb->sib_owned = calloc(p->n * ns, sizeof(*sb->sib_owned));
    owner = calloc(p->n * ns, sizeof(*owner));
    first = calloc(cap, sizeof(*first));
    if (sb->sib == NULL || sb->sib_owned == NULL || owner == NULL || first == NULL)
        goto out;
    sb->sib_count = p->n * ns;
    sb->nsib = ns;
    for (size_t i = 0; i < p->n; i++) {
        const struct witem *it = p->items[i];
        size_t m = first_of_member(p, first, cap, it->member, i);
        for (size_t k = 0; k < ns; k++) {
            struct error err = {""};
            if (!push_sibling_wanted(&s[k], it->field))
                continue;
            if (owner[m * ns + k] != 0) {
                sb->sib[i * ns + k] = sb->sib[(owner[m * ns + k] - 1) * ns + k];
                continue;
            }
            if (store_current_get(d->eng->store, it->member, s[k].field, &sb->sib_owned[i * ns + k],
                                  &err) != 0) {
                log_warn("engine", d->conn->name, "cannot read %s of a member: %s", s[k].field,
                         err.msg);
                goto out;
            }
            sb->sib[i * ns + k] = sb->sib_owned[i * ns + k];
            owner[m * ns + k] = i + 1;
        }
    }
    rc = 0;
out:
    free(owner);
    free(first);
    return rc;
}

/* Turns a plan into a batch: its items leave the window's pending set and
 * what they carry is recorded. The request goes once the pass commits
 * (send_batch). */
static struct sent_batch *take_batch(struct dest *d, int lane, struct plan *p)
{
    struct sent_batch *sb = calloc(1, sizeof(*sb));
    uint64_t now = engine_now_ms(), oldest = UINT64_MAX;

    if (sb == NULL)
        return NULL;
    sb->d = d;
    engine_plan_identities(d, p);
    sb->items = calloc(p->n, sizeof(*sb->items));
    sb->records = calloc(p->n, sizeof(*sb->records));
    sb->pb.results = calloc(p->n, sizeof(*sb->pb.results));
    if (sb->items == NULL || sb->records == NULL || sb->pb.results == NULL ||
        engine_bookkeeping_init(&sb->bk, p->n) != 0 || attach_siblings(d, sb, p) != 0) {
        engine_free_batch(sb);
        return NULL;
    }
    for (size_t i = 0; i < p->n; i++) {
        struct witem *it = p->items[i];
        uint64_t due;
        sb->items[i] = it;
        sb->records[i] = it->rec;
        sb->records[i].siblings = sb->nsib > 0 ? &sb->sib[i * sb->nsib] : NULL;
        sb->pb.results[i].retry_after_ms = -1;
        it->attempts++;
        if (it->first_ms == 0)
            it->first_ms = now;
        /* A retry waits from when it became due again. */
        due = it->next_at > it->first_ms ? it->next_at : it->first_ms;
        if (due < oldest)
            oldest = due;
        window_take(&d->lanes[it->lane], it);
    }
    if (oldest < now)
        push_phase(d, "queued", (now - oldest) * 1000);
    else
        push_phase(d, "queued", 0);
    d->inflight_items += p->n;
    sb->pb.conn = d->conn;
    snprintf(sb->pb.class_key, sizeof(sb->pb.class_key), "%s", p->class_key);
    sb->pb.lane = lane;
    sb->pb.n = p->n;
    sb->pb.records = sb->records;
    sb->pb.done = batch_done;
    sb->pb.engine = sb;
    sb->sent_ms = now;
    record_sent(d, sb);
    d->inflight++;
    return sb;
}

static void send_batch(struct dest *d, struct sent_batch *sb)
{
    log_debug("engine", d->conn->name, "sending %zu record(s) of %s (lane %d)", sb->pb.n,
              sb->pb.class_key, sb->pb.lane);
    crashpoint("push.send");
    d->conn->ops->push(d->conn, &sb->pb);
}

/* One transaction per planning pass: the plan's reads (change-log, shadow,
 * identities, balances) share one snapshot instead of taking the database's
 * locks once per statement (that cost a third of the daemon's CPU), and what
 * the pass writes (dead letters, what is sent, cursor moves) commits at
 * once. Relaxed: a power cut loses at most a redo. Returns 1 when the pass
 * owns a transaction, 0 when the caller's is open, -1 on failure. */
static int pass_begin(struct dest *d)
{
    struct error err = {""};

    if (store_in_txn(d->eng->store))
        return 0;
    if (store_begin_relaxed(d->eng->store, &err) != 0) {
        log_error("engine", d->conn->name, "cannot plan: %s", err.msg);
        return -1;
    }
    return 1;
}

/* Commits the pass with the cursor moves of the records it handled. On
 * failure what the pass did in memory no longer matches the database:
 * the windows are read again from the durable cursors (idempotent). */
static int pass_end(struct dest *d, int own, uint64_t now)
{
    struct error err = {""};

    if (own != 1)
        return 0;
    if (engine_write_cursors(d, &err) != 0 || store_commit(d->eng->store, &err) != 0) {
        store_rollback(d->eng->store);
        log_error("engine", d->conn->name, "cannot record a planning pass: %s", err.msg);
        d->db_failed = 1;
        d->paused_until = now + 5000;
        return -1;
    }
    engine_cursors_committed(d);
    return 0;
}

/* The priority lane is not read to its end, or has records not in flight. */
static int urgent_waiting(const struct dest *d)
{
    if (!d->exhausted[LANE_URGENT])
        return 1;
    for (const struct witem *x = d->lanes[LANE_URGENT].head; x != NULL; x = x->next) {
        if (!x->inflight)
            return 1;
    }
    return 0;
}

static void timer_cb(uv_timer_t *t)
{
    engine_pump(t->data);
}

/* Plans and sends batches while request slots are free, one transaction
 * (pass) per batch. Long: the loop's exits (slots, rate limit, a failed
 * pass, deferral inside an answer's transaction) each set when to look
 * again (wake), which the end of the function arms once. */
void engine_pump(struct dest *d)
{
    uint64_t now = engine_now_ms();
    uint64_t wake = UINT64_MAX;
    long max_inflight = max_inflight_of(d);
    struct plan p = {0};

    if (d->eng->stopping || d->resync || d->conn->ops->push == NULL)
        goto out;
    if (d->db_failed) {
        if (d->inflight > 0)
            goto out;
        for (int lane = 0; lane < N_LANES; lane++) {
            window_reset(&d->lanes[lane], d->lanes[lane].committed);
            d->exhausted[lane] = 0;
        }
        d->db_failed = 0;
    }
    if (d->paused_until > now) {
        wake = d->paused_until;
        goto out;
    }
    idle_close(d, now_us());
    while (d->inflight < max_inflight) {
        struct sent_batch *sb = NULL;
        uint64_t pass_us;
        int own;
        /* Only the priority lane's slot is left: a pass (a transaction, a
         * read of every lane) is worth it only when that lane may hold
         * something. It cost one empty pass per batch. */
        if (max_inflight > 1 && d->inflight >= max_inflight - 1 && !urgent_waiting(d))
            break;
        pass_us = now_us();
        own = pass_begin(d);
        if (own < 0) {
            wake = now + 1000;
            break;
        }
        /* Every lane first: a batch takes riders from the lanes below it.
         * Bulk before points: points read no further than bulk has. */
        engine_fill(d, LANE_URGENT);
        engine_fill(d, LANE_BULK);
        engine_fill(d, LANE_POINTS);
        for (int lane = 0; lane < N_LANES; lane++) {
            long wait;
            /* The bulk lanes leave one request slot to the priority lane. */
            if (lane > 0 && max_inflight > 1 && d->inflight >= max_inflight - 1)
                break;
            if (!engine_plan_batch(d, lane, now, &p, &wake))
                continue;
            wait = ratelimit_acquire(
                &d->rl, lane == LANE_URGENT ? RATELIMIT_PRIORITY : RATELIMIT_BULK, now);
            if (wait > 0) {
                if (now + (uint64_t)wait < wake)
                    wake = now + (uint64_t)wait;
                continue;
            }
            sb = take_batch(d, lane, &p);
            break;
        }
        if (pass_end(d, own, now) != 0 && sb != NULL) {
            /* Its items were taken from windows that are now read again. */
            d->inflight--;
            d->inflight_items -= sb->pb.n;
            engine_free_batch(sb);
            sb = NULL;
        }
        push_phase(d, "plan", now_us() - pass_us);
        if (sb == NULL)
            break;
        if (d->defer_sends && own == 0) {
            struct sent_batch **tail = &d->deferred;
            while (*tail != NULL)
                tail = &(*tail)->next;
            *tail = sb;
            continue;
        }
        send_batch(d, sb);
    }
    idle_open(d, now_us());
out:
    free(p.items);
    free(p.members);
    if (wake != UINT64_MAX && !d->eng->stopping)
        uv_timer_start(&d->timer, timer_cb, wake > now ? wake - now : 0, 0);
}

/* Runs once nothing is in flight and no pull runs: forget what the CRM is
 * believed to hold, re-read it all, then offer the whole current state
 * again. Shadows are rebuilt by the pull, so only real differences are
 * written, and a second resync right after the first writes nothing. A
 * pull that was running when the resync was asked for read from the old
 * watermark: taken as the resync's pull, it rebuilt the shadow of the few
 * records it read, and every other record was written again (issue 15:
 * 4,127 and 20,017 contacts in two soaks, 366 with no pull running). */
void engine_set_resync(struct dest *d, int phase)
{
    d->resync = phase;
    metrics_gauge_set(METRIC_RESYNC_PHASE, (const char *[]){d->conn->name}, phase);
}

void engine_start_resync(struct dest *d)
{
    struct store *st = d->eng->store;
    struct error err = {""};

    if (store_begin_relaxed(st, &err) != 0 || store_resync_reset(st, d->conn->name, &err) != 0 ||
        store_resync_progress_start(st, d->conn->name, timefmt_now_ms(),
                                    d->conn->pull_interval_ms > 0, &err) != 0 ||
        store_max_seq(st, &d->resync_seq, &err) != 0 || store_commit(st, &err) != 0) {
        store_rollback(st);
        log_error("engine", d->conn->name, "resync failed: %s", err.msg);
        engine_set_resync(d, 0);
        engine_pump(d);
        return;
    }
    for (int lane = 0; lane < N_LANES; lane++) {
        window_reset(&d->lanes[lane], 0);
        d->exhausted[lane] = 0;
        d->stats.cursor[lane] = 0;
    }
    d->stats.resyncing = 1;
    if (d->conn->ops->resync != NULL)
        d->conn->ops->resync(d->conn);
    if (d->conn->pull_interval_ms > 0) {
        engine_set_resync(d, 2);
        uv_timer_stop(&d->pull_timer);
        if (!d->pulling) {
            d->pulling = 1;
            d->conn->ops->pull(d->conn);
        }
    } else {
        engine_set_resync(d, 0);
    }
    log_notice("engine", d->conn->name, "resync started");
    engine_pump(d);
}
