/* What a batch's answers write and report (issue 18: split out of
 * engine.c): the shadows, identities and audit acknowledgements of the
 * records answered, dead letters, the lane cursors, and the metrics and
 * health of a destination's results. Called by the pump (engine_pump.c,
 * batch_done) and the planner (engine_plan.c); calls neither. */
#include "engine_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health.h"
#include "log.h"
#include "metrics.h"
#include "store_push.h"
#include "timefmt.h"

int engine_bookkeeping_init(struct bookkeeping *bk, size_t n)
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

/* The member's records waiting in the windows (not in flight: a request
 * may be built from theirs) take the remote id a CRM answered for it. */
void engine_learn_identity(struct dest *d, const char *member, const char *remote_id)
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

void engine_dead_held(struct dest *d, long held)
{
    log_warn("engine", d->conn->name,
             "%ld more dead letter(s) not logged one by one; `crmsyncctl dead-letters list` shows "
             "them",
             held);
}

void engine_dead_letter(struct dest *d, struct witem *it, const char *vendor_reason)
{
    struct error err = {""};
    char reason[512];
    long held;

    /* The CRM's message may quote the value it refused (an address). */
    log_mask_emails(vendor_reason, reason, sizeof(reason));
    if (store_push_dead_letter(d->eng->store, d->conn->name, it->rec.seq, it->origin, it->member,
                               it->field, it->value, reason, it->attempts, &err) != 0)
        log_error("engine", d->conn->name, "%s", err.msg);
    /* Issue 19: "why did member X not sync?" starts from the member key;
     * past the burst, crmsyncctl member/dead-letters answer it. */
    if (!log_throttle_allow(&d->dead_log, &held))
        return;
    if (held > 0)
        engine_dead_held(d, held);
    log_warn_member("engine", d->conn->name, it->member, it->rec.seq,
                    "member %s seq %" PRId64 " %s: dead letter: %s", it->member, it->rec.seq,
                    it->field, reason);
}

/* Writes lane cursors that moved (the caller holds a transaction). */
int engine_write_cursors(struct dest *d, struct error *err)
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

void engine_cursors_committed(struct dest *d)
{
    for (int lane = 0; lane < N_LANES; lane++) {
        int64_t c = window_cursor(&d->lanes[lane]);
        if (c > d->lanes[lane].committed)
            d->lanes[lane].committed = c;
        d->stats.cursor[lane] = d->lanes[lane].committed;
    }
}

void engine_free_batch(struct sent_batch *sb)
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

void engine_publish_metrics(struct dest *d, const struct sent_batch *sb, uint64_t now)
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
int engine_superseded(struct dest *d, const struct witem *it)
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
int engine_is_urgent(const struct witem *it)
{
    return it->rec.kind == CHANGE_ERASE ||
           (it->rec.kind == CHANGE_CONSENT && it->lane == LANE_URGENT);
}

void engine_observe_optout(const struct dest *d, const struct witem *it)
{
    int64_t age = timefmt_now_ms() - it->received_at;

    metrics_observe(METRIC_OPTOUT_LATENCY, (const char *[]){d->conn->name},
                    age > 0 ? (double)age / 1000.0 : 0);
}

/* Tells /healthz and /metrics how many urgent records of the destination
 * are past the retry policy and kept: counted again after every batch while
 * any is (the items leave the windows by many paths). */
void engine_report_overdue(struct dest *d, int changed)
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

int engine_bookkeeping_write(struct dest *d, const struct bookkeeping *bk, struct error *err)
{
    struct store *st = d->eng->store;
    const char *name = d->conn->name;

    if (store_shadow_put_batch(st, name, bk->shadows, bk->n_shadows, err) != 0 ||
        store_identity_put_batch(st, name, bk->id_members, bk->id_remote, bk->n_ids, err) != 0 ||
        store_audit_ack_batch(st, bk->acks, bk->n_acks, name, err) != 0)
        return -1;
    return 0;
}

/* A RETRY answer: 1 when the record stays (queued again, or superseded
 * and dropped), 0 when it is past the retry policy and goes to the dead
 * letters with the reason set here. */
static int ack_retry(struct dest *d, struct witem *it, struct push_result *r, struct window *w,
                     uint64_t now, struct ack_tally *t)
{
    long delay;
    d->stats.records_retry++;
    if (engine_superseded(d, it)) {
        /* A newer value of the field came meanwhile: it goes
         * instead; this one must never go after (or with) it. */
        d->stats.skipped_superseded++;
        window_remove(w, it);
        return 1;
    }
    if (r->not_record_fault) {
        /* The destination failed, not the record: give the
         * attempt back and back the destination off. */
        it->attempts--;
        if (t->outage_why == NULL)
            t->outage_why = push_result_reason(r);
        if (r->retry_after_ms > t->outage_wait)
            t->outage_wait = r->retry_after_ms;
        if (t->outage_wait < 0)
            t->outage_wait = 0;
        window_requeue(w, it, now);
        return 1;
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
        return 1;
    }
    if (engine_is_urgent(it)) {
        /* A withdrawal or an erasure is never dead-lettered by a
         * retry policy: it stays pending, tried again at the
         * backoff cap, and goes when the CRM takes it. */
        long wait = d->eng->opt.retry.cap_ms;
        if (r->retry_after_ms > wait)
            wait = r->retry_after_ms;
        if (!it->overdue) {
            char masked[512];
            it->overdue = 1;
            t->overdue_changed = 1;
            log_warn("engine", d->conn->name,
                     "seq %" PRId64 " %s: past the retry policy after %d attempts; a "
                     "withdrawal or erasure is kept pending, never dead-lettered: %s",
                     it->rec.seq, it->field, it->attempts,
                     log_mask_emails(push_result_reason(r), masked, sizeof(masked)));
        }
        window_requeue(w, it, now + (uint64_t)wait);
        return 1;
    }
    push_result_set_reason(r, "gave up after %d attempts in %" PRIu64 " s: %s", it->attempts,
                           (now - it->fault_ms) / 1000,
                           r->reason != NULL ? r->reason : "retryable failure");
    return 0;
}

/* One record's answer in a batch's transaction (db_ok: it is open): an ok
 * goes to the bookkeeping written for the whole batch, a stale answer asks
 * for a pull, a retry is queued again (or the destination backed off when
 * it was not the record's fault), a rejection or a retry past the policy
 * is dead-lettered, except a withdrawal or an erasure, kept pending. */
void engine_ack_record(struct dest *d, struct sent_batch *sb, size_t i, uint64_t now, int db_ok,
                       struct ack_tally *t)
{
    struct witem *it = sb->items[i];
    struct push_result *r = &sb->pb.results[i];
    struct bookkeeping *bk = &sb->bk;
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
            engine_learn_identity(d, it->member, r->remote_id);
        }
        /* Issue 19: which CRM took which change, for every kind (member
         * export's acknowledged_by; compaction deletes a change's
         * acknowledgements with it, consent's stay with their audit). */
        bk->acks[bk->n_acks++] = it->rec.seq;
        /* Issue 19: the opt-out promise, measured where it is kept. */
        if (engine_is_urgent(it) && it->received_at > 0)
            engine_observe_optout(d, it);
        bk->done[bk->n_done++] = it;
        return;
    }
    if (r->outcome == PUSH_STALE) {
        d->stats.records_stale++;
        t->pull_now = 1;
        window_remove(w, it);
        return;
    }
    if (r->outcome == PUSH_RETRY && ack_retry(d, it, r, w, now, t))
        return;
    d->stats.records_rejected++;
    if (db_ok)
        engine_dead_letter(d, it, r->reason != NULL ? r->reason : "rejected by the CRM");
    window_remove(w, it);
}
