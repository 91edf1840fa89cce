/* Private to src/daemon/engine*.c. The files call downwards only (issue 18;
 * tests/integration/file_circles.sh):
 *   engine.c (lifecycle, entry points)
 *     -> engine_pump.c (pump, batch answers, resync start)
 *       -> engine_plan.c -> engine_ack.c
 *       -> engine_pull.c (pull timers, backpressure)
 *   and all of them -> engine_window.c, engine_health.c. */
#ifndef CRMSYNC_ENGINE_INTERNAL_H
#define CRMSYNC_ENGINE_INTERNAL_H

#include "engine.h"
#include "engine_window.h"
#include "log_throttle.h"
#include "ratelimit.h"
#include "store_push.h"

#define N_LANES 3
/* Dead letters logged one by one per destination, per interval. */
#define DEAD_LOG_BURST 10
#define DEAD_LOG_INTERVAL_MS 60000

struct sent_batch;

struct dest {
    struct engine *eng;
    struct connector *conn;
    struct window lanes[N_LANES];
    int exhausted[N_LANES]; /* the last read found nothing more */
    int inflight;
    struct ratelimit rl;
    uv_timer_t timer; /* next pump: retry due, rate limit, linger */
    uv_timer_t pull_timer;
    int timers_open;
    int pulling;
    int resync;            /* 1: draining before reset, 2: re-pulling */
    int db_failed;         /* a result commit failed: reload windows when idle */
    uint64_t paused_until; /* destination-wide backoff (outage, auth, quota) */
    int outage_streak;
    size_t overdue_reported; /* urgent items kept past the policy, as last told */
    size_t inflight_items;   /* window items in the batches out */
    uint64_t idle_since_us;  /* request slots free while records wait, since */
    long idle_slots;         /* how many were free then */
    /* Batches planned inside a result's transaction (batch_done): sent
     * once it commits, in planning order. */
    int defer_sends;
    struct sent_batch *deferred;
    /* Issue 19 (engine_health.c): the outage as /healthz and crmsyncctl
     * status tell it: since when (wall clock ms, 0: none), the last error. */
    int64_t outage_since_ms;
    char outage_error[200];
    int unreachable_raised;
    /* Pulls count too (a CRM nothing is pushed to was never reported): the
     * first failed pull of the current run of failures, the last push that
     * went through (wall clock ms), and whether the pulls raised it. */
    int64_t pull_fail_since_ms;
    int64_t push_ok_ms;
    int pull_unreachable_raised;
    struct engine_stats stats;
    /* The log's end when the last resync cleared the shadow: a resend up to
     * it is judged by the shadow the resync's pull rebuilt (engine_plan.c
     * resend_here). */
    int64_t resync_seq;
    /* The connector's request classes, one copy each for every item of the
     * class (engine.c class_of); freed with the destination. */
    char **classes;
    size_t n_classes;
    /* Dead-letter log lines: a few whole ones a minute, then a count (a
     * bulk of members without an address made one line each, tens of
     * thousands a run; the dead_letters table keeps every one). */
    struct log_throttle dead_log;
};

struct engine {
    uv_loop_t *loop;
    struct store *store;
    struct engine_options opt;
    struct dest **dests;
    size_t n_dests;
    int stopping;
    uv_timer_t *maint; /* dead-letter retries; own allocation, freed on close */
};

/* The engine's clock (ms, monotonic): window items' due times and the
 * batches' send times. */
static inline uint64_t engine_now_ms(void)
{
    return uv_hrtime() / 1000000;
}

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

/* engine_ack.c: what a batch's answers write and report. */
/* What a batch's answers add up to, for the pump once they are applied. */
struct ack_tally {
    long outage_wait;       /* >= 0: back the destination off (0: no hint) */
    const char *outage_why; /* the first such answer's reason */
    int pull_now;           /* an answer said the CRM holds something newer */
    int overdue_changed;    /* an urgent record went past the retry policy */
};
void engine_ack_record(struct dest *d, struct sent_batch *sb, size_t i, uint64_t now, int db_ok,
                       struct ack_tally *t);
int engine_bookkeeping_init(struct bookkeeping *bk, size_t n);
void engine_learn_identity(struct dest *d, const char *member, const char *remote_id);
/* d->resync changes only here: the gauge crmsyncd_resync_phase follows it. */
void engine_set_resync(struct dest *d, int phase);
/* The count of dead letters not logged one by one (the throttle's summary). */
void engine_dead_held(struct dest *d, long held);
void engine_dead_letter(struct dest *d, struct witem *it, const char *vendor_reason);
int engine_write_cursors(struct dest *d, struct error *err);
void engine_cursors_committed(struct dest *d);
void engine_free_batch(struct sent_batch *sb);
void engine_publish_metrics(struct dest *d, const struct sent_batch *sb, uint64_t now);
int engine_superseded(struct dest *d, const struct witem *it);
int engine_is_urgent(const struct witem *it);
void engine_observe_optout(const struct dest *d, const struct witem *it);
void engine_report_overdue(struct dest *d, int changed);
int engine_bookkeeping_write(struct dest *d, const struct bookkeeping *bk, struct error *err);

/* engine_plan.c: reading the lanes and choosing the next batch. */
void engine_fill(struct dest *d, int lane);
int engine_plan_batch(struct dest *d, int lane, uint64_t now, struct plan *p, uint64_t *wake);
/* Reads the remote ids of the plan's members not known yet, in one
 * statement, before the plan is taken. */
void engine_plan_identities(struct dest *d, struct plan *p);

/* engine_health.c: a batch failed as a destination fault (why: the
 * vendor's or the transport's text) or went through. */
void engine_note_outage(struct dest *d, const char *why);
void engine_note_reachable(struct dest *d);
/* After each pull of a destination: ok 1, failed 0 (engine_health.c). */
void engine_note_pull(struct dest *d, int ok);
void engine_pump(struct dest *d);
void engine_schedule_pull(struct dest *d, uint64_t delay_ms);
void engine_start_resync(struct dest *d);
/* Re-offers the dead letters an operator asked to retry (engine.c). */
void engine_sweep_retries(struct engine *e);

#endif
