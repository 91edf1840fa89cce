/* Dispatch and results. The invariants:
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
#include "hash.h"
#include "health.h"
#include "log.h"
#include "metrics.h"
#include "store_push.h"
#include "timefmt.h"

/* What a batch's answers make the store write, one statement each for the
 * whole batch: the shadows of the records taken, their new identities and
 * the consent changes' audit acknowledgements. */
struct bookkeeping {
    struct push_key *shadows;
    const char **id_members, **id_remote;
    int64_t *acks;
    struct witem **done; /* items answered ok: leave the window after */
    size_t n_shadows, n_ids, n_acks, n_done;
};

static int bookkeeping_init(struct bookkeeping *bk, size_t n)
{
    size_t c = n ? n : 1;

    bk->shadows = calloc(c, sizeof(*bk->shadows));
    bk->id_members = calloc(c, sizeof(*bk->id_members));
    bk->id_remote = calloc(c, sizeof(*bk->id_remote));
    bk->acks = calloc(c, sizeof(*bk->acks));
    bk->done = calloc(c, sizeof(*bk->done));
    return bk->shadows && bk->id_members && bk->id_remote && bk->acks && bk->done ? 0 : -1;
}

static void bookkeeping_free(struct bookkeeping *bk)
{
    free(bk->shadows);
    free(bk->id_members);
    free(bk->id_remote);
    free(bk->acks);
    free(bk->done);
}

struct sent_batch {
    struct push_batch pb;
    struct dest *d;
    uint64_t sent_ms;
    struct witem **items;
    struct push_record *records; /* what is sent: the items' hashes stay theirs */
    /* The sibling values the records carry (connector_ops.push_siblings):
     * nsib per record; owned where a member's value was read, shared by
     * the member's other records. */
    size_t nsib, sib_count;
    const char **sib;
    char **sib_owned;
    struct bookkeeping bk;
    struct sent_batch *next; /* dest's deferred list */
};

uint64_t engine_now_ms(void)
{
    return uv_hrtime() / 1000000;
}

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

void engine_options_defaults(struct engine_options *o)
{
    memset(o, 0, sizeof(*o));
    o->window_items = 4000;
    o->linger_ms = 50;
    o->backlog_bound = 200000;
    o->quiet_pull_ms = 30000;
    o->unreachable_after_ms = 60000;
    retry_policy_defaults(&o->retry);
    /* A record is given up by time, not by its number of sends. */
    o->retry.max_attempts = 0;
}

/* Per instance when the connector chose in open(), else per type. */
static int points_as_balance(const struct connector *conn)
{
    if (conn->points_mode == CONNECTOR_POINTS_BALANCE)
        return 1;
    if (conn->points_mode == CONNECTOR_POINTS_TRANSACTIONS)
        return 0;
    return conn->ops->points_as_balance;
}

static const char *lane_field(const struct dest *d, enum change_kind kind, const char *field)
{
    if (kind == CHANGE_POINTS && points_as_balance(d->conn))
        return "points/balance";
    return field;
}

/* An erasure supersedes everything pending for the member: nothing of its
 * data may be sent after (or instead of) the erase. */
static void drop_member(struct dest *d, const char *member)
{
    for (int l = 0; l < N_LANES; l++) {
        struct witem *x = window_member_first(&d->lanes[l], member), *next;
        for (; x != NULL; x = next) {
            next = x->mnext;
            if (x->inflight || strcmp(x->member, member) != 0)
                continue;
            d->stats.skipped_superseded++;
            window_remove(&d->lanes[l], x);
        }
    }
}

static int member_inflight(const struct dest *d, const char *member)
{
    for (int l = 0; l < N_LANES; l++) {
        for (const struct witem *x = window_member_first(&d->lanes[l], member); x != NULL;
             x = x->mnext) {
            if (x->inflight && strcmp(x->member, member) == 0)
                return 1;
        }
    }
    return 0;
}

/* 1 when a batch of the item's class carrying its member is in flight. */
static int member_class_inflight(const struct dest *d, const struct witem *it)
{
    for (int l = 0; l < N_LANES; l++) {
        for (const struct witem *x = window_member_first(&d->lanes[l], it->member); x != NULL;
             x = x->mnext) {
            /* Class names are interned per destination (class_of). */
            if (x->inflight && strcmp(x->member, it->member) == 0 && x->class_key == it->class_key)
                return 1;
        }
    }
    return 0;
}

struct fill_ctx {
    struct dest *d;
    struct window *w;
    int lane;
    int failed;
};

static int fill_row(void *arg, const struct push_row *r)
{
    struct fill_ctx *fc = arg;
    struct witem *it;
    const char *field;
    enum change_kind kind;

    if (change_kind_parse(r->kind, &kind) != 0)
        kind = CHANGE_PROFILE;
    if (strcmp(r->origin, fc->d->conn->name) == 0) {
        /* Came from this CRM: never sent back (no echo). */
        if (r->seq > fc->w->read_seq)
            fc->w->read_seq = r->seq;
        fc->d->stats.skipped_origin++;
        return 0;
    }
    field = lane_field(fc->d, kind, r->field);
    if (kind == CHANGE_ERASE)
        drop_member(fc->d, r->member_key);
    /* One value per (member, field) across the lanes: a withdrawal (lane 0)
     * supersedes a grant still waiting in lane 2 and the other way round.
     * Without this a batch could carry both, or an old value could be sent
     * after a newer one. */
    for (int l = 0; l < N_LANES; l++) {
        struct witem *other;
        if (l == fc->lane)
            continue;
        other = window_find(&fc->d->lanes[l], r->member_key, field);
        if (other == NULL)
            continue;
        if (other->rec.seq > r->seq) {
            if (r->seq > fc->w->read_seq)
                fc->w->read_seq = r->seq;
            fc->d->stats.skipped_superseded++;
            return 0;
        }
        fc->d->stats.skipped_superseded++;
        window_remove(&fc->d->lanes[l], other);
    }
    it = window_add(fc->w, r->seq, r->member_key, kind, field, r->value, r->origin);
    if (it == NULL) {
        fc->failed = 1;
        return 1;
    }
    it->lane = fc->lane;
    it->received_at = r->received_at;
    return 0;
}

/* One read of up to 2,000 rows into a lane's window; returns the rows read
 * (0: the window is full or nothing more is there for now). */
static int fill_once(struct dest *d, int lane)
{
    struct window *w = &d->lanes[lane];
    struct fill_ctx fc = {d, w, lane, 0};
    struct error err = {""};
    /* Pending items only: a batch in flight does not hold the next one back
     * (a Salesforce Bulk batch is a whole window: counting it kept one job
     * out at a time). */
    long room = d->eng->opt.window_items - (long)window_pending(w);
    int64_t upto = 0;
    int n = 0;

    if (d->exhausted[lane] || room <= 0)
        return 0;
    if (room > 2000)
        room = 2000;
    /* Points read no further than the bulk lane has: a member's points and
     * profile then meet in one batch (one contact upsert, not two) during a
     * backfill. The priority lane is never held back. */
    if (lane == LANE_POINTS && !d->exhausted[LANE_BULK]) {
        upto = d->lanes[LANE_BULK].read_seq;
        if (upto <= w->read_seq)
            return 0;
    }
    if (store_push_read(d->eng->store, lane, w->read_seq, upto, (int)room, fill_row, &fc, &n,
                        &err) != 0) {
        log_error("engine", d->conn->name, "%s", err.msg);
        return 0;
    }
    if (upto > 0 && n < room) {
        /* Everything up to the bound was seen; the lane is not exhausted. */
        if (upto > w->read_seq)
            w->read_seq = upto;
        return 0;
    }
    if (n < room) {
        int64_t max = 0;
        /* Everything up to the log's end was seen (rows that are superseded
         * are filtered by the query, so move past them too). */
        if (store_max_seq(d->eng->store, &max, &err) == 0 && max > w->read_seq)
            w->read_seq = max;
        d->exhausted[lane] = 1;
        return 0;
    }
    return n;
}

/* Reads more of a lane into its window while there is room, until the
 * window is full or the lane is read to its end: one read a pass left a
 * Bulk-sized batch (a whole window) lingering until the next pass. A few
 * reads at most, so a pass stays short when most rows coalesce. */
static void fill(struct dest *d, int lane)
{
    for (int i = 0; i < 4 && fill_once(d, lane) > 0; i++)
        ;
}

/* The value as it will be sent: points become the member's balance now. */
static int finalize_value(struct dest *d, struct witem *it)
{
    char buf[64];
    int64_t balance = 0;
    struct error err = {""};

    if (it->rec.kind != CHANGE_POINTS || !points_as_balance(d->conn))
        return 0;
    if (store_points_balance(d->eng->store, it->member, (int64_t)time(NULL) * 1000, &balance,
                             &err) != 0) {
        log_error("engine", d->conn->name, "%s", err.msg);
        return -1;
    }
    snprintf(buf, sizeof(buf), "{\"balance\":%" PRId64 "}", balance);
    return window_set_value(it, buf);
}

/* 0 with the hash of what the CRM keeps of the value, or -1 with why it
 * cannot keep it (the connector's reason, "" when it gave none). */
static int projected_hash(struct dest *d, struct witem *it, char out[65], char *why, size_t whysize)
{
    char proj[1024];
    const char *text = it->value;

    if (d->conn->ops->project != NULL) {
        proj[0] = '\0';
        if (d->conn->ops->project(d->conn, it->rec.kind, it->field, it->value, proj,
                                  sizeof(proj)) != 0) {
            snprintf(why, whysize, "%s", proj);
            return -1;
        }
        text = proj;
    }
    sha256_hex(text, strlen(text), out);
    return 0;
}

/* The destination's copy of a class name (a few: contacts, subscriptions,
 * list:<id>), shared by the items of the class; NULL when out of memory. */
static const char *class_intern(struct dest *d, const char *name)
{
    char **grown, *copy;

    for (size_t i = 0; i < d->n_classes; i++) {
        if (strcmp(d->classes[i], name) == 0)
            return d->classes[i];
    }
    grown = realloc(d->classes, (d->n_classes + 1) * sizeof(*grown));
    if (grown == NULL)
        return NULL;
    d->classes = grown;
    copy = strdup(name);
    if (copy == NULL)
        return NULL;
    d->classes[d->n_classes++] = copy;
    return copy;
}

/* Sets it->class_key once; it stays NULL (the item is not planned) only
 * when out of memory. */
static void class_of(struct dest *d, struct witem *it)
{
    char name[64] = "";

    if (it->class_key != NULL)
        return;
    if (d->conn->ops->batch_class != NULL)
        d->conn->ops->batch_class(d->conn, &it->rec, name, sizeof(name));
    if (name[0] == '\0')
        snprintf(name, sizeof(name), "default");
    it->class_key = class_intern(d, name);
}

static void load_identity(struct dest *d, struct witem *it)
{
    int found = 0;
    struct error err;
    char id[64];

    if (it->remote_id != NULL)
        return;
    if (store_identity_get(d->eng->store, it->member, d->conn->name, id, sizeof(id), &found,
                           &err) == 0 &&
        found) {
        it->remote_id = strdup(id);
        it->rec.remote_id = it->remote_id;
    }
}

/* The member's records waiting in the windows (not in flight: a request
 * may be built from theirs) take the remote id a CRM answered for it. */
static void learn_identity(struct dest *d, const char *member, const char *remote_id)
{
    for (int l = 0; l < N_LANES; l++) {
        for (struct witem *x = window_member_first(&d->lanes[l], member); x != NULL; x = x->mnext) {
            char *id;
            if (x->inflight || strcmp(x->member, member) != 0 ||
                (x->remote_id != NULL && strcmp(x->remote_id, remote_id) == 0))
                continue;
            id = strdup(remote_id);
            if (id == NULL)
                continue;
            free(x->remote_id);
            x->remote_id = id;
            x->rec.remote_id = id;
        }
    }
}

static void dead_letter(struct dest *d, struct witem *it, const char *vendor_reason)
{
    struct error err = {""};
    char reason[512];

    /* The CRM's message may quote the value it refused (an address). */
    log_mask_emails(vendor_reason, reason, sizeof(reason));
    if (store_push_dead_letter(d->eng->store, d->conn->name, it->rec.seq, it->origin, it->member,
                               it->field, it->value, reason, it->attempts, &err) != 0)
        log_error("engine", d->conn->name, "%s", err.msg);
    /* Issue 19: "why did member X not sync?" starts from the member key. */
    log_warn_member("engine", d->conn->name, it->member, it->rec.seq,
                    "member %s seq %" PRId64 " %s: dead letter: %s", it->member, it->rec.seq,
                    it->field, reason);
}

/* Writes lane cursors that moved (the caller holds a transaction). */
static int write_cursors(struct dest *d, struct error *err)
{
    for (int lane = 0; lane < N_LANES; lane++) {
        struct window *w = &d->lanes[lane];
        int64_t c = window_cursor(w);
        if (c > w->committed) {
            if (store_push_cursor_set(d->eng->store, d->conn->name, lane, c, err) != 0)
                return -1;
        }
    }
    return 0;
}

static void cursors_committed(struct dest *d)
{
    for (int lane = 0; lane < N_LANES; lane++) {
        int64_t c = window_cursor(&d->lanes[lane]);
        if (c > d->lanes[lane].committed)
            d->lanes[lane].committed = c;
        d->stats.cursor[lane] = d->lanes[lane].committed;
    }
}

static void free_batch(struct sent_batch *sb)
{
    bookkeeping_free(&sb->bk);
    free(sb->items);
    free(sb->records);
    if (sb->pb.results != NULL)
        push_results_clear(sb->pb.results, sb->pb.n);
    free(sb->pb.results);
    for (size_t i = 0; sb->sib_owned != NULL && i < sb->sib_count; i++)
        free(sb->sib_owned[i]);
    free(sb->sib_owned);
    free(sb->sib);
    free(sb);
}

static void publish_metrics(struct dest *d, const struct sent_batch *sb, uint64_t now)
{
    uint64_t n[PUSH_STALE + 1] = {0};
    const char *name = d->conn->name;

    for (size_t i = 0; i < sb->pb.n; i++) {
        if ((unsigned)sb->pb.results[i].outcome <= PUSH_STALE)
            n[sb->pb.results[i].outcome]++;
    }
    if (n[PUSH_OK] + n[PUSH_STALE])
        metrics_counter_add(METRIC_RECORDS_PUSHED, (const char *[]){name, "ok"},
                            n[PUSH_OK] + n[PUSH_STALE]);
    if (n[PUSH_RETRY]) {
        metrics_counter_add(METRIC_RECORDS_PUSHED, (const char *[]){name, "retry"}, n[PUSH_RETRY]);
        metrics_counter_add(METRIC_PUSH_RETRIES, (const char *[]){name}, n[PUSH_RETRY]);
    }
    if (n[PUSH_REJECT]) {
        metrics_counter_add(METRIC_RECORDS_PUSHED, (const char *[]){name, "reject"},
                            n[PUSH_REJECT]);
        metrics_counter_add(METRIC_DEAD_LETTERS, (const char *[]){name}, n[PUSH_REJECT]);
    }
    /* One batch is one write request for most connectors (HubSpot lists and
     * first contacts can take two): the batch's round trip is the latency
     * an operator cares about. */
    metrics_observe(METRIC_PUSH_BATCH_DURATION, (const char *[]){name},
                    (double)(now - sb->sent_ms) / 1000.0);
}

/* A newer change of the item's (member, field) waits or flies in some lane.
 * The lanes' reading drops an older pending value when a newer one comes
 * in, but not one in flight: answered RETRY, it would otherwise be queued
 * again beside the newer one (a withdrawal in the urgent lane and its
 * grant back in the bulk lane), and a batch could carry both (Salesforce
 * refuses both items of one external id: the withdrawal was
 * dead-lettered) or send the grant after the withdrawal. */
static int superseded(struct dest *d, const struct witem *it)
{
    for (int l = 0; l < N_LANES; l++) {
        /* A later erasure of the member, waiting for this very record to
         * be answered (it goes only when nothing of the member is in
         * flight): a retry sent after it would re-create the member in
         * the CRM (chaos adobe-faults, SEED=9: a 429 on a batch out when
         * the erasure was loaded). */
        for (const struct witem *x = window_member_first(&d->lanes[l], it->member); x != NULL;
             x = x->mnext) {
            if (x != it && x->rec.kind == CHANGE_ERASE && x->rec.seq > it->rec.seq &&
                strcmp(x->member, it->member) == 0)
                return 1;
        }
    }
    for (int l = 0; l < N_LANES; l++) {
        const struct witem *o = window_find(&d->lanes[l], it->member, it->field);
        if (o != NULL && o != it && o->rec.seq > it->rec.seq)
            return 1;
        o = window_find_inflight(&d->lanes[l], it->member, it->field);
        if (o != NULL && o != it && o->rec.seq > it->rec.seq)
            return 1;
    }
    return 0;
}

/* A consent withdrawal or an erasure: never given up by a retry policy. */
static int is_urgent(const struct witem *it)
{
    return it->rec.kind == CHANGE_ERASE ||
           (it->rec.kind == CHANGE_CONSENT && it->lane == LANE_URGENT);
}

static void observe_optout(const struct dest *d, const struct witem *it)
{
    int64_t age = timefmt_now_ms() - it->received_at;

    metrics_observe(METRIC_OPTOUT_LATENCY, (const char *[]){d->conn->name},
                    age > 0 ? (double)age / 1000.0 : 0);
}

/* Tells /healthz and /metrics how many urgent records of the destination
 * are past the retry policy and kept: counted again after every batch while
 * any is (the items leave the windows by many paths). */
static void report_overdue(struct dest *d, int changed)
{
    size_t n = 0;

    if (!changed && d->overdue_reported == 0)
        return;
    for (int l = 0; l < N_LANES; l++) {
        for (const struct witem *x = d->lanes[l].head; x != NULL; x = x->next)
            n += x->overdue != 0;
    }
    if (n == d->overdue_reported)
        return;
    d->overdue_reported = n;
    metrics_gauge_set(METRIC_URGENT_OVERDUE, (const char *[]){d->conn->name}, (double)n);
    if (n == 0) {
        health_clear(HEALTH_URGENT_OVERDUE, d->conn->name);
        log_notice("engine", d->conn->name,
                   "no withdrawal or erasure is past the retry policy any more");
    } else {
        health_raise(HEALTH_URGENT_OVERDUE, d->conn->name,
                     "%zu consent withdrawal(s)/erasure(s) past the retry policy, kept pending", n);
    }
}

static int bookkeeping_write(struct dest *d, const struct bookkeeping *bk, struct error *err)
{
    struct store *st = d->eng->store;
    const char *name = d->conn->name;

    if (store_shadow_put_batch(st, name, bk->shadows, bk->n_shadows, err) != 0 ||
        store_identity_put_batch(st, name, bk->id_members, bk->id_remote, bk->n_ids, err) != 0 ||
        store_audit_ack_batch(st, bk->acks, bk->n_acks, name, err) != 0)
        return -1;
    return 0;
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
        free_batch(sb);
        sb = next;
    }
}

/* Applies the per-record results of one batch in one transaction. */
static void batch_done(struct push_batch *pb)
{
    struct sent_batch *sb = pb->engine;
    struct dest *d = sb->d;
    struct store *st = d->eng->store;
    struct error err = {""};
    uint64_t now = engine_now_ms();
    long outage_wait = -1;
    int pull_now = 0, overdue_changed = 0, planned = 0;
    uint64_t answered_us = now_us();
    struct bookkeeping *bk = &sb->bk;
    const char *outage_why = NULL;
    crashpoint("push.response"); /* answered, ack not yet committed */
    int db_ok = store_begin_relaxed(st, &err) == 0;

    idle_close(d, answered_us);
    d->inflight--;
    d->inflight_items -= pb->n;
    idle_open(d, answered_us);
    d->stats.batches++;
    for (size_t i = 0; i < pb->n; i++) {
        struct witem *it = sb->items[i];
        struct push_result *r = &pb->results[i];
        struct window *w = &d->lanes[it->lane]; /* riders come from other lanes */

        if (r->outcome == PUSH_OK) {
            /* Written below for the whole batch; the item leaves its
             * window after that (its strings are the keys). */
            d->stats.records_ok++;
            bk->shadows[bk->n_shadows++] = (struct push_key){it->member, it->field, it->hash};
            /* The identity is written when it is new or changed (a merge),
             * once per member of the batch (its records are side by side),
             * and the member's waiting records learn it now instead of
             * reading it back one by one. */
            if (r->remote_id[0] != '\0' &&
                (it->remote_id == NULL || strcmp(r->remote_id, it->remote_id) != 0)) {
                size_t k = bk->n_ids;
                if (k == 0 || strcmp(bk->id_members[k - 1], it->member) != 0 ||
                    strcmp(bk->id_remote[k - 1], r->remote_id) != 0) {
                    bk->id_members[k] = it->member;
                    bk->id_remote[k] = r->remote_id;
                    bk->n_ids++;
                }
                learn_identity(d, it->member, r->remote_id);
            }
            /* Issue 19: which CRM took which change, for every kind (member
             * export's acknowledged_by; compaction deletes a change's
             * acknowledgements with it, consent's stay with their audit). */
            bk->acks[bk->n_acks++] = it->rec.seq;
            /* Issue 19: the opt-out promise, measured where it is kept. */
            if (is_urgent(it) && it->received_at > 0)
                observe_optout(d, it);
            bk->done[bk->n_done++] = it;
            continue;
        }
        if (r->outcome == PUSH_STALE) {
            d->stats.records_stale++;
            pull_now = 1;
            window_remove(w, it);
            continue;
        }
        if (r->outcome == PUSH_RETRY) {
            long delay;
            d->stats.records_retry++;
            if (superseded(d, it)) {
                /* A newer value of the field came meanwhile: it goes
                 * instead; this one must never go after (or with) it. */
                d->stats.skipped_superseded++;
                window_remove(w, it);
                continue;
            }
            if (r->not_record_fault) {
                /* The destination failed, not the record: give the
                 * attempt back and back the destination off. */
                it->attempts--;
                if (outage_why == NULL)
                    outage_why = push_result_reason(r);
                if (r->retry_after_ms > outage_wait)
                    outage_wait = r->retry_after_ms;
                if (outage_wait < 0)
                    outage_wait = 0;
                window_requeue(w, it, now);
                continue;
            }
            {
                /* The record's own clock starts at its first own fault:
                 * an outage before it does not use up its time. */
                struct retry_state rs = {it->attempts, it->fault_ms ? it->fault_ms : now};
                if (it->fault_ms == 0)
                    it->fault_ms = now;
                delay = retry_next_delay(&d->eng->opt.retry, &rs, r->retry_after_ms, now);
            }
            if (delay >= 0) {
                window_requeue(w, it, now + (uint64_t)delay);
                continue;
            }
            if (is_urgent(it)) {
                /* A withdrawal or an erasure is never dead-lettered by a
                 * retry policy: it stays pending, tried again at the
                 * backoff cap, and goes when the CRM takes it. */
                long wait = d->eng->opt.retry.cap_ms;
                if (r->retry_after_ms > wait)
                    wait = r->retry_after_ms;
                if (!it->overdue) {
                    char masked[512];
                    it->overdue = 1;
                    overdue_changed = 1;
                    log_warn("engine", d->conn->name,
                             "seq %" PRId64 " %s: past the retry policy after %d attempts; a "
                             "withdrawal or erasure is kept pending, never dead-lettered: %s",
                             it->rec.seq, it->field, it->attempts,
                             log_mask_emails(push_result_reason(r), masked, sizeof(masked)));
                }
                window_requeue(w, it, now + (uint64_t)wait);
                continue;
            }
            push_result_set_reason(r, "gave up after %d attempts in %" PRIu64 " s: %s",
                                   it->attempts, (now - it->fault_ms) / 1000,
                                   r->reason != NULL ? r->reason : "retryable failure");
        }
        d->stats.records_rejected++;
        if (db_ok)
            dead_letter(d, it, r->reason != NULL ? r->reason : "rejected by the CRM");
        window_remove(w, it);
    }
    if (db_ok && bookkeeping_write(d, bk, &err) != 0)
        db_ok = 0;
    for (size_t i = 0; i < bk->n_done; i++)
        window_remove(&d->lanes[bk->done[i]->lane], bk->done[i]);
    if (outage_wait >= 0) {
        long wait = outage_wait;
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
        engine_note_outage(d, outage_why);
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
    if (db_ok && (write_cursors(d, &err) != 0 || store_commit(st, &err) != 0))
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
        cursors_committed(d);
        send_deferred(d);
    }
    push_phase(d, "request", (now - sb->sent_ms) * 1000);
    push_phase(d, "ack", now_us() - answered_us);
    report_overdue(d, overdue_changed);
    publish_metrics(d, sb, now);
    free_batch(sb);
    if (d->eng->stopping)
        return;
    if (pull_now && !d->pulling && d->resync == 0)
        engine_schedule_pull(d, 0);
    if (d->resync == 1 && d->inflight == 0) {
        engine_start_resync(d);
        return;
    }
    if (!planned)
        engine_pump(d);
}

struct plan {
    struct witem **items;
    size_t n, cap;
    char class_key[64];
    /* Members in the plan: an open-addressing set sized for max_batch, so a
     * large batch (Salesforce Bulk) is not quadratic. */
    const char **members;
    size_t members_cap; /* power of two, >= 2 * max members */
    size_t n_members;
    size_t cost;  /* request inputs the plan makes (connector_ops.record_cost) */
    uint64_t gen; /* stamps the items taken by this plan */
};

static size_t member_slot(const struct plan *p, const char *m)
{
    uint64_t h = 1469598103934665603ULL;
    size_t i;

    for (const char *c = m; *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ULL;
    for (i = (size_t)h & (p->members_cap - 1); p->members[i] != NULL;
         i = (i + 1) & (p->members_cap - 1)) {
        if (strcmp(p->members[i], m) == 0)
            break;
    }
    return i;
}

static int plan_has_member(const struct plan *p, const char *m)
{
    return p->members[member_slot(p, m)] != NULL;
}

static void plan_add_member(struct plan *p, const char *m)
{
    size_t i = member_slot(p, m);
    if (p->members[i] == NULL) {
        p->members[i] = m;
        p->n_members++;
    }
}

/* Sizes and empties the member set for up to max members. */
static int plan_reset_members(struct plan *p, size_t max)
{
    size_t cap = 16;

    while (cap < 2 * max)
        cap *= 2;
    if (cap != p->members_cap) {
        const char **m = calloc(cap, sizeof(*m));
        if (m == NULL)
            return -1;
        free(p->members);
        p->members = m;
        p->members_cap = cap;
    } else {
        memset(p->members, 0, cap * sizeof(*p->members));
    }
    p->n_members = 0;
    p->cost = 0;
    return 0;
}

/* The request inputs a record adds to a plan: the connector says
 * (record_cost), else one per member. */
static size_t record_cost(const struct dest *d, const struct witem *it, int member_new)
{
    if (d->conn->ops->record_cost != NULL)
        return d->conn->ops->record_cost(d->conn, &it->rec, member_new);
    return member_new ? 1 : 0;
}

enum consider { CONSIDER_SKIP, CONSIDER_ADDED, CONSIDER_FULL };

/* A resend addressed to this destination goes whatever the shadow says. */
static int resend_here(const struct dest *d, const struct witem *it)
{
    size_t n = strlen(STORE_RESEND_PREFIX);

    return strncmp(it->origin, STORE_RESEND_PREFIX, n) == 0 &&
           strcmp(it->origin + n, d->conn->name) == 0;
}

/* Looks at one window item for the plan: handles it on the spot when the CRM
 * holds its value already (or it cannot be represented), adds it when it is
 * of the plan's class (the first item sets the class), its member is in
 * the plan or there is room for one more (new_members), and the request
 * inputs it costs still fit in max_batch (max_members). */
static enum consider consider(struct dest *d, struct witem *it, uint64_t now, struct plan *p,
                              size_t max_members, int new_members, int may_remove, uint64_t *wake)
{
    struct window *w = &d->lanes[it->lane];
    char hash[65], cur[65], why[400];
    int found = 0, member_new;
    size_t cost;
    struct error err = {""};

    if (it->inflight || it->plan_gen == p->gen)
        return CONSIDER_SKIP;
    if (it->next_at > now) {
        if (it->next_at < *wake)
            *wake = it->next_at;
        return CONSIDER_SKIP;
    }
    class_of(d, it);
    if (it->class_key == NULL ||
        (p->class_key[0] != '\0' && strcmp(p->class_key, it->class_key) != 0))
        return CONSIDER_SKIP;
    /* An erasure goes only when nothing of the member is in flight: a write
     * answered after it could re-create the record. */
    if (it->rec.kind == CHANGE_ERASE && member_inflight(d, it->member))
        return CONSIDER_SKIP;
    /* Never two batches of one class with one member in flight: a class
     * writes one kind of CRM record, and a member's first write may create
     * it (a Contact upserted by external id, a LoyaltyProgramMember looked
     * up then created): two jobs doing that at once make two records or a
     * DUPLICATE_VALUE (chaos salesforce-crash lost 7 journals so). The
     * member's other records go when the batch is answered. */
    if (member_class_inflight(d, it))
        return CONSIDER_SKIP;
    /* Never two writes of one (member, field) in flight: the CRM could apply
     * them in either order. The newer one goes when the older is answered
     * (batch_done pumps again). */
    for (int l = 0; l < N_LANES; l++) {
        if (window_find_inflight(&d->lanes[l], it->member, it->field) != NULL)
            return CONSIDER_SKIP;
    }
    member_new = !plan_has_member(p, it->member);
    if (member_new && (!new_members || p->n_members == max_members))
        return p->n_members == max_members ? CONSIDER_FULL : CONSIDER_SKIP;
    cost = record_cost(d, it, member_new);
    if (p->cost + cost > max_members)
        return CONSIDER_FULL;
    if (it->first_ms == 0)
        it->first_ms = now;
    if (finalize_value(d, it) != 0)
        return CONSIDER_SKIP;
    /* A record is considered again by every plan that does not send it:
     * its hash is kept until its value changes. */
    if (!it->hash_ok && projected_hash(d, it, it->hash, why, sizeof(why)) == 0)
        it->hash_ok = 1;
    if (!it->hash_ok) {
        char reason[512];
        if (!may_remove)
            return CONSIDER_SKIP; /* handled when the scan reaches it */
        it->attempts++;
        snprintf(reason, sizeof(reason), "value cannot be represented in this CRM%s%s",
                 why[0] != '\0' ? ": " : "", why);
        dead_letter(d, it, reason);
        d->stats.records_rejected++;
        window_remove(w, it);
        return CONSIDER_SKIP;
    }
    memcpy(hash, it->hash, sizeof(hash));
    if (store_shadow_get(d->eng->store, d->conn->name, it->member, it->field, cur, &found, &err) ==
            0 &&
        found && strcmp(cur, hash) == 0 && !resend_here(d, it)) {
        /* The CRM holds this value already. */
        if (!may_remove)
            return CONSIDER_SKIP;
        d->stats.skipped_equal++;
        window_remove(w, it);
        return CONSIDER_SKIP;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 256;
        struct witem **items = realloc(p->items, cap * sizeof(*items));
        if (items == NULL)
            return CONSIDER_FULL;
        p->items = items;
        p->cap = cap;
    }
    plan_add_member(p, it->member);
    p->cost += cost;
    if (p->class_key[0] == '\0')
        snprintf(p->class_key, sizeof(p->class_key), "%s", it->class_key);
    load_identity(d, it);
    it->plan_gen = p->gen;
    p->items[p->n++] = it;
    return CONSIDER_ADDED;
}

/* A member joined the plan: its other records of the plan's class, in every
 * lane, come along (found through the member index, not by rescanning
 * windows). Every lane: a bulk batch that left out a member's points waiting
 * in the points lane cost a second upsert of the same contact. Items of the
 * lane being scanned are not removed here: the scan holds a pointer into
 * that list. */
static void gather_member(struct dest *d, const char *member, int lane, uint64_t now,
                          struct plan *p, size_t max_members, uint64_t *wake)
{
    for (int l = 0; l < N_LANES; l++) {
        struct witem *x = window_member_first(&d->lanes[l], member), *next;
        for (; x != NULL; x = next) {
            next = x->mnext;
            if (strcmp(x->member, member) != 0)
                continue;
            consider(d, x, now, p, max_members, 0, l != lane, wake);
        }
    }
}

/* How many times linger_ms a partial batch waits while requests are in
 * flight (50 ms -> 1 s by default). */
#define LINGER_BUSY_FACTOR 20

/* The lane holds all the pending records it may: lingering adds nothing to
 * a batch, the next read waits for room. */
static int window_full(const struct dest *d, int lane)
{
    return (long)window_pending(&d->lanes[lane]) >= d->eng->opt.window_items;
}

/* Records of every lane not in flight: an upper bound of the request
 * inputs of any one class that could go now. */
static size_t pending_records(const struct dest *d)
{
    size_t n = 0;

    for (int l = 0; l < N_LANES; l++)
        n += window_pending(&d->lanes[l]);
    return n;
}

/* The most inputs a batch of class should carry when `waiting` are ready
 * (connector_ops.batch_max), never above max. */
static size_t batch_max_of(const struct dest *d, const char *class_key, size_t waiting, size_t max)
{
    size_t cap;

    if (d->conn->ops->batch_max == NULL)
        return max;
    cap = d->conn->ops->batch_max(d->conn, class_key, waiting);
    return cap > 0 && cap < max ? cap : max;
}

/* Cuts a plan to its first max request inputs, in the order its records
 * joined (a member's records together): the ones left out stay pending
 * for the next plan. The first record always stays, so that a plan is
 * never emptied. */
static void plan_trim(const struct dest *d, struct plan *p, size_t max)
{
    size_t kept = 0;

    memset(p->members, 0, p->members_cap * sizeof(*p->members));
    p->n_members = 0;
    p->cost = 0;
    for (size_t i = 0; i < p->n; i++) {
        struct witem *it = p->items[i];
        int member_new = !plan_has_member(p, it->member);
        size_t cost = record_cost(d, it, member_new);
        if (kept > 0 && ((member_new && p->n_members == max) || p->cost + cost > max)) {
            it->plan_gen = 0;
            continue;
        }
        plan_add_member(p, it->member);
        p->cost += cost;
        p->items[kept++] = it;
    }
    p->n = kept;
}

/* Chooses the next batch of a lane: the class of its oldest due record, and
 * up to max_batch members of that class, or fewer when the connector says
 * their records cost more inputs (record_cost). Records of the same class and the
 * same members waiting in the other lanes ride along (a member's points
 * and profile go in one contact upsert, not two). Records whose value the
 * CRM holds already are handled on the way. Returns 1 with a plan to send,
 * 0 when nothing is ready (*wake: when to look again). */
static int plan_batch(struct dest *d, int lane, uint64_t now, struct plan *p, uint64_t *wake)
{
    static uint64_t generation;
    size_t max_members = d->conn->ops->max_batch ? d->conn->ops->max_batch : 100;
    size_t cap;
    uint64_t oldest = 0, due;
    struct witem *it, *next;

    p->n = 0;
    p->gen = ++generation;
    if (plan_reset_members(p, max_members) != 0)
        return 0;
    p->class_key[0] = '\0';
    for (it = d->lanes[lane].head;
         it != NULL && p->n_members < max_members && p->cost < max_members; it = next) {
        size_t had = p->n_members;
        next = it->next;
        if (consider(d, it, now, p, max_members, 1, 1, wake) != CONSIDER_ADDED)
            continue;
        if (p->n == 1) {
            oldest = it->first_ms;
            /* No larger than what the connector sends at once (issue 17):
             * a Salesforce batch under the Bulk threshold is one collections
             * request of 200, not a window cut into requests in series. */
            max_members = batch_max_of(d, p->class_key, pending_records(d), max_members);
        }
        if (p->n_members > had)
            gather_member(d, it->member, lane, now, p, max_members, wake);
    }
    if (p->n == 0)
        return 0;
    /* Fewer were found than the bound promised (in flight, equal to the
     * shadow, other classes): a batch that will not go as one job is cut
     * to one request. */
    cap = batch_max_of(d, p->class_key, p->cost, max_members);
    if (cap < p->cost) {
        plan_trim(d, p, cap);
        max_members = cap;
    }
    /* Send a full batch at once; a partial one when the lane has nothing
     * more to read, when it is urgent, or after lingering a little. While
     * requests are in flight, linger longer (bounded): their answers free
     * window room and pump again, and a partial batch sent meanwhile costs
     * an extra request for members whose records were not read yet. */
    if (p->n_members >= max_members || p->cost >= max_members || d->exhausted[lane] ||
        lane == LANE_URGENT || window_full(d, lane))
        return 1;
    due = oldest + (uint64_t)d->eng->opt.linger_ms * (d->inflight > 0 ? LINGER_BUSY_FACTOR : 1);
    if (now >= due)
        return 1;
    if (due < *wake)
        *wake = due;
    return 0;
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

/* The current local values of the sibling fields the connector declares
 * (connector_ops.push_siblings), for each record of the plan that wants
 * them: read once per member of the batch, inside the pass's snapshot.
 * 0, or -1 (out of memory, a state error: the batch is not taken). */
static int attach_siblings(struct dest *d, struct sent_batch *sb, const struct plan *p)
{
    const struct push_sibling *s = d->conn->ops->push_siblings;
    size_t ns = 0;
    unsigned char *read = NULL;
    int rc = -1;

    while (s != NULL && s[ns].field != NULL)
        ns++;
    if (ns == 0)
        return 0;
    sb->sib = calloc(p->n * ns, sizeof(*sb->sib));
    sb->sib_owned = calloc(p->n * ns, sizeof(*sb->sib_owned));
    read = calloc(p->n * ns, 1);
    if (sb->sib == NULL || sb->sib_owned == NULL || read == NULL)
        goto out;
    sb->sib_count = p->n * ns;
    sb->nsib = ns;
    for (size_t i = 0; i < p->n; i++) {
        const struct witem *it = p->items[i];
        for (size_t k = 0; k < ns; k++) {
            size_t j;
            struct error err = {""};
            if (!push_sibling_wanted(&s[k], it->field))
                continue;
            for (j = 0; j < i; j++) {
                if (read[j * ns + k] && strcmp(p->items[j]->member, it->member) == 0)
                    break;
            }
            if (j < i) {
                sb->sib[i * ns + k] = sb->sib[j * ns + k];
                continue;
            }
            if (store_current_get(d->eng->store, it->member, s[k].field, &sb->sib_owned[i * ns + k],
                                  &err) != 0) {
                log_warn("engine", d->conn->name, "cannot read %s of a member: %s", s[k].field,
                         err.msg);
                goto out;
            }
            sb->sib[i * ns + k] = sb->sib_owned[i * ns + k];
            read[i * ns + k] = 1;
        }
    }
    rc = 0;
out:
    free(read);
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
    sb->items = calloc(p->n, sizeof(*sb->items));
    sb->records = calloc(p->n, sizeof(*sb->records));
    sb->pb.results = calloc(p->n, sizeof(*sb->pb.results));
    if (sb->items == NULL || sb->records == NULL || sb->pb.results == NULL ||
        bookkeeping_init(&sb->bk, p->n) != 0 || attach_siblings(d, sb, p) != 0) {
        free_batch(sb);
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
    if (write_cursors(d, &err) != 0 || store_commit(d->eng->store, &err) != 0) {
        store_rollback(d->eng->store);
        log_error("engine", d->conn->name, "cannot record a planning pass: %s", err.msg);
        d->db_failed = 1;
        d->paused_until = now + 5000;
        return -1;
    }
    cursors_committed(d);
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
        fill(d, LANE_URGENT);
        fill(d, LANE_BULK);
        fill(d, LANE_POINTS);
        for (int lane = 0; lane < N_LANES; lane++) {
            long wait;
            /* The bulk lanes leave one request slot to the priority lane. */
            if (lane > 0 && max_inflight > 1 && d->inflight >= max_inflight - 1)
                break;
            if (!plan_batch(d, lane, now, &p, &wake))
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
            free_batch(sb);
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
