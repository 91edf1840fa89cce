/* The engine's lifecycle and its entry points (issue 18: they lived in
 * engine_pull.c): options, new/add/stop/free, the kick, what a connector
 * calls back (a pull done, ready to resume), a resync request, the sweep of
 * the dead letters an operator asked to retry, and the stats. The top of
 * the engine's files: it calls the pump (engine_pump.c) and the pull
 * timers (engine_pull.c); nothing below calls it. */
#include "engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health.h"
#include "http_result.h"
#include "log.h"
#include "store_holds.h"
#include "store_progress.h"
#include "store_push.h"
#include "timefmt.h"

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

static struct dest *find_dest(struct engine *e, struct connector *conn)
{
    for (size_t i = 0; i < e->n_dests; i++) {
        if (e->dests[i]->conn == conn)
            return e->dests[i];
    }
    return NULL;
}

void engine_pull_done(struct engine *e, struct connector *conn, int status)
{
    struct dest *d = find_dest(e, conn);

    if (d == NULL)
        return;
    d->pulling = 0;
    engine_note_pull(d, status == 0);
    if (d->resync == 2) {
        if (status == 0) {
            struct error err = {""};
            engine_set_resync(d, 0);
            log_notice("engine", conn->name, "resync: pull complete, pushing current state");
            if (store_resync_progress_pushing(e->store, conn->name, timefmt_now_ms(), &err) != 0)
                log_warn("engine", conn->name, "cannot record resync progress: %s", err.msg);
        } else {
            log_warn("engine", conn->name, "resync: pull failed; trying again");
        }
    }
    if (e->stopping)
        return;
    if (d->resync == 1 && d->inflight == 0)
        /* A resync waited for this pull (it read from the old watermark):
         * it starts now, with a pull of its own. */
        engine_start_resync(d);
    else
        engine_schedule_pull(d, status == 0 ? (uint64_t)conn->pull_interval_ms
                                            : (uint64_t)conn->pull_interval_ms / 2 + 1000);
    /* Pulled changes may be due elsewhere: wake every destination. */
    engine_kick(e);
}

/* A 429's Retry-After outlives the process: kept when the vendor sets it,
 * waited out when the destination starts again. */
static void hold_kept(void *arg, long ms)
{
    struct dest *d = arg;
    struct error err = {""};

    if (store_hold_save(d->eng->store, d->conn->name, "api", timefmt_now_ms() + ms, ms, &err) != 0)
        log_warn("engine", d->conn->name, "cannot keep a Retry-After hold: %s", err.msg);
}

static void keep_holds(struct dest *d, uint64_t now)
{
    struct error err = {""};
    long left = store_hold_left(d->eng->store, d->conn->name, "api", timefmt_now_ms(), &err);

    if (err.msg[0] != '\0')
        log_warn("engine", d->conn->name, "cannot read a kept Retry-After hold: %s", err.msg);
    if (left > http_retry_after_cap())
        left = http_retry_after_cap(); /* kept before the cap was lowered */
    if (left > 0) {
        log_info("engine", d->conn->name, "waiting out a Retry-After hold: %ld ms left", left);
        ratelimit_hold(&d->rl, left, now);
    }
    d->rl.on_hold = hold_kept;
    d->rl.hold_arg = d;
}

void engine_resume(struct engine *e, struct connector *conn)
{
    struct dest *d = find_dest(e, conn);

    /* A pause for a local database failure is not the connector's to end. */
    if (d == NULL || e->stopping || d->paused_until == 0 || d->db_failed)
        return;
    log_info("engine", conn->name, "destination ready: resuming");
    d->paused_until = 0;
    d->outage_streak = 0;
    engine_pump(d);
}

int engine_resync(struct engine *e, const char *name)
{
    int found = 0;

    for (size_t i = 0; i < e->n_dests; i++) {
        struct dest *d = e->dests[i];
        if (name != NULL && strcmp(name, d->conn->name) != 0)
            continue;
        found = 1;
        if (d->resync)
            continue; /* one at a time; a second request coalesces */
        engine_set_resync(d, 1);
        uv_timer_stop(&d->timer);
        if (d->inflight == 0 && !d->pulling)
            engine_start_resync(d);
        else if (d->pulling)
            log_notice("engine", d->conn->name, "resync: waiting for the running pull to end");
        else
            log_notice("engine", d->conn->name, "resync: waiting for %d batch(es) in flight",
                       d->inflight);
    }
    return found;
}

struct retry_ctx {
    struct engine *e;
    struct dest *d;
    int n;
};

static enum change_kind kind_of_field(const char *field)
{
    if (strncmp(field, "consent/", 8) == 0)
        return CHANGE_CONSENT;
    if (strncmp(field, "points/", 7) == 0)
        return CHANGE_POINTS;
    if (strncmp(field, "segment/", 8) == 0)
        return CHANGE_SEGMENT;
    if (strcmp(field, "tier") == 0)
        return CHANGE_TIER;
    if (strcmp(field, "erase") == 0)
        return CHANGE_ERASE;
    return CHANGE_PROFILE;
}

/* One dead letter to retry: the current value goes out again as a repair
 * change (to every destination whose shadow differs), and the dead letter
 * is removed, both in the sweep's transaction. */
static void retry_one(void *arg, int64_t id, const char *member, const char *field,
                      int64_t requested_at)
{
    struct retry_ctx *rc = arg;
    struct store *st = rc->e->store;
    enum change_kind kind = kind_of_field(field);
    struct error err = {""};
    char idem[160];
    char *value = NULL;
    int added = 0;
    int lane = kind == CHANGE_POINTS || kind == CHANGE_TIER ? LANE_POINTS
               : kind == CHANGE_ERASE                       ? LANE_URGENT
                                                            : LANE_BULK;

    if (kind == CHANGE_POINTS || kind == CHANGE_ERASE) {
        value = strdup("{}");
    } else if (store_current_get(st, member, field, &value, &err) != 0) {
        log_error("engine", rc->d->conn->name, "%s", err.msg);
        return;
    }
    if (value == NULL) {
        log_notice("engine", rc->d->conn->name,
                   "dead letter %lld: no current value any more; dropped", (long long)id);
    } else {
        if (kind == CHANGE_CONSENT && strstr(value, "\"status\":\"denied\"") != NULL)
            lane = LANE_URGENT;
        snprintf(idem, sizeof(idem), "dlretry:%lld:%lld", (long long)id, (long long)requested_at);
        if (store_append_repair(st, member, kind, field, value, lane, idem, &added, &err) != 0)
            log_error("engine", rc->d->conn->name, "%s", err.msg);
    }
    free(value);
    if (store_dead_letter_delete(st, id, &err) != 0)
        log_error("engine", rc->d->conn->name, "%s", err.msg);
    rc->n++;
}

void engine_sweep_retries(struct engine *e)
{
    struct error err = {""};
    int total = 0;

    if (e->stopping || e->n_dests == 0)
        return;
    if (store_begin_relaxed(e->store, &err) != 0) {
        log_error("engine", NULL, "dead-letter retries: %s", err.msg);
        return;
    }
    for (size_t i = 0; i < e->n_dests; i++) {
        struct retry_ctx rc = {e, e->dests[i], 0};
        if (store_dead_letter_retries(e->store, e->dests[i]->conn->name, retry_one, &rc, &err) !=
            0) {
            store_rollback(e->store);
            log_error("engine", NULL, "dead-letter retries: %s", err.msg);
            return;
        }
        if (rc.n > 0)
            log_notice("engine", e->dests[i]->conn->name, "%d dead letter(s) queued again", rc.n);
        total += rc.n;
    }
    if (store_commit(e->store, &err) != 0) {
        log_error("engine", NULL, "dead-letter retries: %s", err.msg);
        return;
    }
    if (total > 0)
        engine_kick(e);
}

static void maint_cb(uv_timer_t *t)
{
    struct engine *e = t->data;
    long held;

    engine_sweep_retries(e);
    for (size_t i = 0; i < e->n_dests; i++) {
        if (log_throttle_flush(&e->dests[i]->dead_log, &held))
            engine_dead_held(e->dests[i], held);
    }
}

static void maint_closed(uv_handle_t *h)
{
    free(h);
}

int engine_new(uv_loop_t *loop, struct store *store, const struct engine_options *opts,
               struct engine **out, struct error *err)
{
    struct engine *e = calloc(1, sizeof(*e));

    if (e == NULL)
        return error_set(err, "out of memory");
    e->maint = calloc(1, sizeof(*e->maint));
    if (e->maint == NULL) {
        free(e);
        return error_set(err, "out of memory");
    }
    uv_timer_init(loop, e->maint);
    e->maint->data = e;
    uv_timer_start(e->maint, maint_cb, 5000, 5000);
    e->loop = loop;
    e->store = store;
    if (opts != NULL)
        e->opt = *opts;
    else
        engine_options_defaults(&e->opt);
    *out = e;
    return 0;
}

int engine_add(struct engine *e, struct connector *conn, struct error *err)
{
    struct dest *d;
    struct dest **grown;
    uint64_t now = engine_now_ms();

    if (conn->ops->push == NULL && conn->pull_interval_ms <= 0)
        return 0;
    d = calloc(1, sizeof(*d));
    grown = realloc(e->dests, (e->n_dests + 1) * sizeof(*grown));
    if (d == NULL || grown == NULL) {
        free(d);
        return error_set(err, "out of memory");
    }
    e->dests = grown;
    e->dests[e->n_dests++] = d;
    d->eng = e;
    d->conn = conn;
    log_throttle_init_burst(&d->dead_log, DEAD_LOG_INTERVAL_MS, DEAD_LOG_BURST);
    for (int lane = 0; lane < N_LANES; lane++) {
        int64_t c = 0;
        if (store_push_cursor_get(e->store, conn->name, lane, &c, err) != 0)
            return -1;
        window_init(&d->lanes[lane], c);
        d->stats.cursor[lane] = c;
    }
    /* A resync cut short by a restart or reload does not resume its
     * re-pull phase: the re-push runs from the reset cursors right away. */
    {
        struct error perr = {""};
        if (store_resync_progress_restart(e->store, conn->name, timefmt_now_ms(), &perr) != 0)
            log_warn("engine", conn->name, "cannot record resync progress: %s", perr.msg);
    }
    ratelimit_init(&d->rl, conn->rate > 0 ? conn->rate : 10, conn->burst > 0 ? conn->burst : 10,
                   0.2, now);
    if (conn->rate_window_ms > 0)
        ratelimit_set_window(&d->rl, (int)d->rl.config_rate, conn->rate_window_ms);
    keep_holds(d, now);
    conn->ratelimit = &d->rl;
    if (conn->ops->push != NULL)
        health_set_backlog_bound(conn->name, e->opt.backlog_bound);
    uv_timer_init(e->loop, &d->timer);
    uv_timer_init(e->loop, &d->pull_timer);
    d->timer.data = d->pull_timer.data = d;
    d->timers_open = 1;
    if (conn->pull_interval_ms > 0) {
        d->pulling = 1;
        conn->ops->pull(conn);
    }
    engine_pump(d);
    return 0;
}

static void kick_cb(uv_timer_t *t)
{
    engine_pump(t->data);
}

void engine_kick(struct engine *e)
{
    for (size_t i = 0; i < e->n_dests; i++) {
        struct dest *d = e->dests[i];
        for (int lane = 0; lane < N_LANES; lane++)
            d->exhausted[lane] = 0;
        if (!e->stopping && !d->resync && d->conn->ops->push != NULL)
            uv_timer_start(&d->timer, kick_cb, 0, 0);
    }
}

void engine_stop(struct engine *e)
{
    long held;

    e->stopping = 1;
    uv_timer_stop(e->maint);
    for (size_t i = 0; i < e->n_dests; i++) {
        if (log_throttle_drain(&e->dests[i]->dead_log, &held))
            engine_dead_held(e->dests[i], held);
        uv_timer_stop(&e->dests[i]->timer);
        uv_timer_stop(&e->dests[i]->pull_timer);
    }
}

static void dest_closed(uv_handle_t *h)
{
    struct dest *d = h->data;
    if (--d->timers_open != 0)
        return;
    for (size_t i = 0; i < d->n_classes; i++)
        free(d->classes[i]);
    free(d->classes);
    log_throttle_destroy(&d->dead_log);
    free(d);
}

void engine_free(struct engine *e)
{
    if (e == NULL)
        return;
    for (size_t i = 0; i < e->n_dests; i++) {
        struct dest *d = e->dests[i];
        for (int lane = 0; lane < N_LANES; lane++)
            window_reset(&d->lanes[lane], 0);
        d->conn->ratelimit = NULL;
        d->timers_open = 2;
        uv_close((uv_handle_t *)&d->timer, dest_closed);
        uv_close((uv_handle_t *)&d->pull_timer, dest_closed);
    }
    uv_close((uv_handle_t *)e->maint, maint_closed);
    free(e->dests);
    free(e);
}

int engine_dest_stats(const struct engine *e, const char *name, struct engine_stats *out)
{
    for (size_t i = 0; i < e->n_dests; i++) {
        const struct dest *d = e->dests[i];
        if (strcmp(d->conn->name, name) == 0) {
            *out = d->stats;
            out->inflight = d->inflight;
            out->resyncing = d->resync != 0;
            out->paused_until_ms = d->paused_until;
            return 0;
        }
    }
    return -1;
}

uint64_t engine_batches(const struct engine *e)
{
    uint64_t n = 0;
    for (size_t i = 0; i < e->n_dests; i++)
        n += e->dests[i]->stats.batches;
    return n;
}
