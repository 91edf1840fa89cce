/* Private to src/engine*.c. */
#ifndef CRMSYNC_ENGINE_INTERNAL_H
#define CRMSYNC_ENGINE_INTERNAL_H

#include "engine.h"
#include "engine_window.h"
#include "ratelimit.h"

#define N_LANES 3

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
    /* The connector's request classes, one copy each for every item of the
     * class (engine.c class_of); freed with the destination. */
    char **classes;
    size_t n_classes;
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

uint64_t engine_now_ms(void);

/* engine_health.c: a batch failed as a destination fault (why: the
 * vendor's or the transport's text) or went through. */
void engine_note_outage(struct dest *d, const char *why);
void engine_note_reachable(struct dest *d);
/* After each pull of a destination: ok 1, failed 0 (engine_health.c). */
void engine_note_pull(struct dest *d, int ok);
void engine_pump(struct dest *d);
void engine_schedule_pull(struct dest *d, uint64_t delay_ms);
void engine_start_resync(struct dest *d);
/* Re-offers the dead letters an operator asked to retry (src/engine_pull.c). */
void engine_sweep_retries(struct engine *e);

#endif
