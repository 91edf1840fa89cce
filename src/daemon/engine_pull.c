/* Pull scheduling and backpressure (the lifecycle and resync moved to
 * engine.c and engine_pump.c, issue 18). */
#include "engine_internal.h"

#include <stdlib.h>
#include <string.h>

#include "health.h"
#include "http_result.h"
#include "log.h"
#include "store_holds.h"
#include "store_progress.h"
#include "store_push.h"
#include "timefmt.h"

static int64_t backlog(struct dest *d)
{
    int64_t max = 0, min_cursor = INT64_MAX;
    struct error err;

    if (d->conn->ops->push == NULL || store_max_seq(d->eng->store, &max, &err) != 0)
        return 0;
    for (int lane = 0; lane < N_LANES; lane++) {
        if (d->lanes[lane].committed < min_cursor)
            min_cursor = d->lanes[lane].committed;
    }
    return max - min_cursor;
}

static void pull_timer_cb(uv_timer_t *t)
{
    struct dest *d = t->data;
    struct engine *e = d->eng;

    if (e->stopping || d->pulling || d->resync == 1)
        return;
    /* The vendor asked us to wait (429 with Retry-After, outage): pulls
     * wait too, they spend the same budget. */
    {
        uint64_t now = engine_now_ms();
        uint64_t until =
            d->paused_until > d->rl.hold_until_ms ? d->paused_until : d->rl.hold_until_ms;
        if (until > now) {
            uv_timer_start(&d->pull_timer, pull_timer_cb, until - now, 0);
            return;
        }
    }
    /* Backpressure: while any destination is far behind, stop taking in
     * more from this CRM; the change-log would only grow. */
    for (size_t i = 0; i < e->n_dests; i++) {
        if (backlog(e->dests[i]) > e->opt.backlog_bound) {
            log_info("engine", d->conn->name, "pull paused: %s has a backlog over %ld",
                     e->dests[i]->conn->name, e->opt.backlog_bound);
            engine_schedule_pull(d, (uint64_t)d->conn->pull_interval_ms);
            return;
        }
    }
    d->pulling = 1;
    d->conn->ops->pull(d->conn);
}

int64_t engine_max_backlog(struct engine *e, const char **name)
{
    int64_t most = 0;

    *name = NULL;
    for (size_t i = 0; i < e->n_dests; i++) {
        int64_t b;
        if (e->dests[i]->conn->ops->push == NULL)
            continue;
        b = backlog(e->dests[i]);
        if (*name == NULL || b > most) {
            most = b;
            *name = e->dests[i]->conn->name;
        }
    }
    return most;
}

void engine_schedule_pull(struct dest *d, uint64_t delay_ms)
{
    if (d->eng->stopping || d->conn->pull_interval_ms <= 0)
        return;
    uv_timer_start(&d->pull_timer, pull_timer_cb, delay_ms, 0);
}
