/* Planning (issue 18: split out of engine.c): reading the lanes' windows
 * from the change-log, and choosing the next batch of a lane: its class,
 * its members, the records that ride along, the ones the CRM holds
 * already. Called by the pump (engine_pump.c); calls the ack side only to
 * dead-letter a value a CRM cannot represent. */
#include "engine_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hash.h"
#include "log.h"
#include "store_push.h"

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
    if (store_push_read(d->eng->store, d->conn->name, lane, w->read_seq, upto, (int)room, fill_row,
                        &fc, &n, &err) != 0) {
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
void engine_fill(struct dest *d, int lane)
{
    for (int i = 0; i < 4 && fill_once(d, lane) > 0; i++)
        ;
}

/* Points become the member's balance when the plan goes (finalize_value). */
static int sent_as_balance(const struct dest *d, const struct witem *it)
{
    return it->rec.kind == CHANGE_POINTS && points_as_balance(d->conn);
}

/* The value as it will be sent: points become the member's balance now. */
static int finalize_value(struct dest *d, struct witem *it)
{
    char buf[64];
    int64_t balance = 0;
    struct error err = {""};

    if (!sent_as_balance(d, it))
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

/* The remote ids of the plan's members not known yet, read in one
 * statement for the batch (issue 17: one read per record was a statement
 * per record). Out of memory or a read error leaves them unknown, as a miss
 * does: the connector addresses the member by its key. */
void engine_plan_identities(struct dest *d, struct plan *p)
{
    const char **members = calloc(p->n ? p->n : 1, sizeof(*members));
    struct witem **items = calloc(p->n ? p->n : 1, sizeof(*items));
    char(*ids)[64] = calloc(p->n ? p->n : 1, sizeof(*ids));
    int *found = calloc(p->n ? p->n : 1, sizeof(*found));
    size_t n = 0;
    struct error err = {""};

    if (members == NULL || items == NULL || ids == NULL || found == NULL)
        goto out;
    for (size_t i = 0; i < p->n; i++) {
        if (p->items[i]->remote_id != NULL)
            continue;
        items[n] = p->items[i];
        members[n++] = p->items[i]->member;
    }
    if (n == 0)
        goto out;
    if (store_identity_get_batch(d->eng->store, d->conn->name, members, n, ids, found, &err) != 0) {
        log_warn("engine", d->conn->name, "cannot read identities: %s", err.msg);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (!found[i] || items[i]->remote_id != NULL)
            continue;
        items[i]->remote_id = strdup(ids[i]);
        items[i]->rec.remote_id = items[i]->remote_id;
    }
out:
    free(members);
    free(items);
    free(ids);
    free(found);
}

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

/* A resend addressed to this destination goes whatever the shadow says,
 * unless a resync came after it: the resync's pull rebuilt the shadow from
 * what the CRM holds now. A resend stays the current value of its field
 * until the next change, so without that every resync wrote it again
 * (issue 15: 670 of the 670 statuses a soak's resync wrote). */
static int resend_here(const struct dest *d, const struct witem *it)
{
    size_t n = strlen(STORE_RESEND_PREFIX);

    return strncmp(it->origin, STORE_RESEND_PREFIX, n) == 0 &&
           strcmp(it->origin + n, d->conn->name) == 0 && it->rec.seq > d->resync_seq;
}

/* Looks at one window item for the plan: handles it on the spot when it
 * cannot be represented, adds it when it is of the plan's class (the first
 * item sets the class), its member is in the plan or there is room for one
 * more (new_members), and the request inputs it costs still fit in
 * max_batch (max_members). Whether the CRM holds its value already is
 * asked for the whole plan at once (plan_drop_equal). Long: the checks are
 * in the order each must come (a cheap skip before a state read), and each
 * is a few lines with the reason beside it; cut apart they would need the
 * same six arguments and an out-parameter each. */
static enum consider consider(struct dest *d, struct witem *it, uint64_t now, struct plan *p,
                              size_t max_members, int new_members, int may_remove, uint64_t *wake)
{
    struct window *w = &d->lanes[it->lane];
    char why[400];
    int member_new;
    size_t cost;

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
    /* A record is considered again by every plan that does not send it:
     * its hash is kept until its value changes. A balance is read, and
     * hashed, only once the plan goes (plan_settle): a plan that lingers
     * read each one again (22,395 reads for 10,000 points records). */
    if (!sent_as_balance(d, it) && !it->hash_ok &&
        projected_hash(d, it, it->hash, why, sizeof(why)) == 0)
        it->hash_ok = 1;
    if (!sent_as_balance(d, it) && !it->hash_ok) {
        char reason[512];
        if (!may_remove)
            return CONSIDER_SKIP; /* handled when the scan reaches it */
        it->attempts++;
        snprintf(reason, sizeof(reason), "value cannot be represented in this CRM%s%s",
                 why[0] != '\0' ? ": " : "", why);
        engine_dead_letter(d, it, reason);
        d->stats.records_rejected++;
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

/* Recounts the plan's members and inputs after records left it. */
static void plan_recount(const struct dest *d, struct plan *p)
{
    memset(p->members, 0, p->members_cap * sizeof(*p->members));
    p->n_members = 0;
    p->cost = 0;
    for (size_t i = 0; i < p->n; i++) {
        int member_new = !plan_has_member(p, p->items[i]->member);
        p->cost += record_cost(d, p->items[i], member_new);
        plan_add_member(p, p->items[i]->member);
    }
}

/* The balances of the plan's points records, read when the plan goes (one
 * read each in the pass that sends them: the ledger's value at plan time),
 * and their hashes. A balance that cannot be read leaves the plan (it
 * stays pending); one the CRM cannot represent is dead-lettered, as
 * consider() does with other values. Returns how many left the plan. */
static size_t plan_settle(struct dest *d, struct plan *p)
{
    size_t kept = 0, removed = 0;

    for (size_t i = 0; i < p->n; i++) {
        struct witem *it = p->items[i];
        char why[400];
        if (!sent_as_balance(d, it)) {
            p->items[kept++] = it;
            continue;
        }
        if (finalize_value(d, it) != 0) {
            removed++;
            continue;
        }
        if (!it->hash_ok && projected_hash(d, it, it->hash, why, sizeof(why)) == 0)
            it->hash_ok = 1;
        if (!it->hash_ok) {
            char reason[512];
            it->attempts++;
            snprintf(reason, sizeof(reason), "value cannot be represented in this CRM%s%s",
                     why[0] != '\0' ? ": " : "", why);
            engine_dead_letter(d, it, reason);
            d->stats.records_rejected++;
            window_remove(&d->lanes[it->lane], it);
            removed++;
            continue;
        }
        p->items[kept++] = it;
    }
    p->n = kept;
    if (removed > 0)
        plan_recount(d, p);
    return removed;
}

/* The plan's records whose value the CRM holds already (the shadow's hash
 * equals theirs) are handled: removed from the window, never sent. One
 * statement for the plan (issue 17: a shadow read per record was 12.9 %
 * of a bulk push's CPU). Asked once the scan is over, so a record of the
 * lane being scanned can go at once (the scan no longer holds a pointer
 * into its list). Returns how many were removed; a read error removes
 * none (they are sent: a write of a value held is harmless). */
static size_t plan_drop_equal(struct dest *d, struct plan *p)
{
    struct push_key *k = calloc(p->n ? p->n : 1, sizeof(*k));
    char(*cur)[65] = calloc(p->n ? p->n : 1, sizeof(*cur));
    int *found = calloc(p->n ? p->n : 1, sizeof(*found));
    size_t kept = 0, dropped = 0;
    struct error err = {""};

    if (k == NULL || cur == NULL || found == NULL)
        goto out;
    for (size_t i = 0; i < p->n; i++) {
        k[i].member = p->items[i]->member;
        k[i].field = p->items[i]->field;
        k[i].hash = p->items[i]->hash;
    }
    if (store_shadow_get_batch(d->eng->store, d->conn->name, k, p->n, cur, found, &err) != 0) {
        log_warn("engine", d->conn->name, "cannot read shadows: %s", err.msg);
        goto out;
    }
    for (size_t i = 0; i < p->n; i++) {
        struct witem *it = p->items[i];
        if (found[i] && strcmp(cur[i], it->hash) == 0 && !resend_here(d, it)) {
            /* The CRM holds this value already. */
            d->stats.skipped_equal++;
            window_remove(&d->lanes[it->lane], it);
            dropped++;
            continue;
        }
        p->items[kept++] = it;
    }
    p->n = kept;
    if (dropped > 0)
        plan_recount(d, p);
out:
    free(k);
    free(cur);
    free(found);
    return dropped;
}

/* 1 when the plan goes now: full, its lane read to the end or urgent, the
 * lane's window full, or lingered long enough; else 0 with *wake. Send a
 * full batch at once; a partial one when the lane has nothing more to
 * read, when it is urgent, or after lingering a little. While requests
 * are in flight, linger longer (bounded): their answers free window room
 * and pump again, and a partial batch sent meanwhile costs an extra
 * request for members whose records were not read yet. */
static int plan_goes(const struct dest *d, int lane, const struct plan *p, size_t max_members,
                     uint64_t oldest, uint64_t now, uint64_t *wake)
{
    uint64_t due;

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

/* One scan of a lane for the plan (see engine_plan_batch); *oldest is set
 * by the plan's first record. */
static void plan_scan(struct dest *d, int lane, uint64_t now, struct plan *p, size_t *max_members,
                      uint64_t *oldest, uint64_t *wake)
{
    struct witem *it, *next;

    for (it = d->lanes[lane].head;
         it != NULL && p->n_members < *max_members && p->cost < *max_members; it = next) {
        size_t had = p->n_members;
        next = it->next;
        if (consider(d, it, now, p, *max_members, 1, 1, wake) != CONSIDER_ADDED)
            continue;
        if (p->n == 1) {
            *oldest = it->first_ms;
            /* No larger than what the connector sends at once (issue 17):
             * a Salesforce batch under the Bulk threshold is one collections
             * request of 200, not a window cut into requests in series. */
            *max_members = batch_max_of(d, p->class_key, pending_records(d), *max_members);
        }
        if (p->n_members > had)
            gather_member(d, it->member, lane, now, p, *max_members, wake);
    }
}

/* Chooses the next batch of a lane: the class of its oldest due record, and
 * up to max_batch members of that class, or fewer when the connector says
 * their records cost more inputs (record_cost). Records of the same class and the
 * same members waiting in the other lanes ride along (a member's points
 * and profile go in one contact upsert, not two). Records whose value the
 * CRM holds already are handled on the way. Returns 1 with a plan to send,
 * 0 when nothing is ready (*wake: when to look again). */
int engine_plan_batch(struct dest *d, int lane, uint64_t now, struct plan *p, uint64_t *wake)
{
    static uint64_t generation;
    size_t max_members = d->conn->ops->max_batch ? d->conn->ops->max_batch : 100;
    size_t cap;
    uint64_t oldest = 0;

    p->n = 0;
    p->gen = ++generation;
    if (plan_reset_members(p, max_members) != 0)
        return 0;
    p->class_key[0] = '\0';
    /* Records the CRM holds already leave the plan after each scan; the
     * next scan fills their room (records taken stay: plan_gen). Each
     * round removes records from the window, so the rounds end. */
    for (;;) {
        size_t before = p->n;
        plan_scan(d, lane, now, p, &max_members, &oldest, wake);
        if (p->n == before)
            break;
        /* A partial plan that lingers is planned again when it is due:
         * its balances and the shadows are read then, once (records only
         * leave a plan below, so it would linger all the same; the ones
         * the CRM holds already leave it when it goes). */
        if (before == 0 && batch_max_of(d, p->class_key, p->cost, max_members) >= p->cost &&
            !plan_goes(d, lane, p, max_members, oldest, now, wake))
            return 0;
        if (plan_settle(d, p) + plan_drop_equal(d, p) == 0)
            break;
        if (p->n == 0) {
            /* Every record held already: the next one found may be of
             * another class, with its own bound. */
            p->class_key[0] = '\0';
            max_members = d->conn->ops->max_batch ? d->conn->ops->max_batch : 100;
        } else {
            oldest = p->items[0]->first_ms;
        }
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
    return plan_goes(d, lane, p, max_members, oldest, now, wake);
}
