#include "audit_check.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "store_audit_check.h"
#include "timefmt.h"

/* The first walk soon after start, so the gauges say something true
 * before the first full interval has passed. */
#define FIRST_DELAY_MS 5000
/* A walk due while the pushes have a backlog waits for it to drain,
 * looking again every second, but never longer than this. */
#define BUSY_POLL_MS 1000
#define BUSY_MAX_MS (10 * 60 * 1000)

struct audit_check {
    uv_timer_t timer;
    uv_work_t work;
    char *state_path;
    long busy_timeout_ms;
    long interval_ms;
    int working;            /* a walk is on the thread pool */
    int closing;            /* audit_check_close() was called */
    int timer_closed;       /* the timer's close callback ran */
    int (*busy)(void *arg); /* audit_check_set_busy() */
    void *busy_arg;
    uint64_t due_since; /* loop time a walk fell due while busy, else 0 */
    /* Written by the walk (thread pool), read in after_walk (loop). */
    int failed; /* the database could not be read: err says why */
    int64_t rows, bad_id;
    struct error err;
};

static void maybe_free(struct audit_check *ac)
{
    if (!ac->closing || !ac->timer_closed || ac->working)
        return;
    free(ac->state_path);
    free(ac);
}

/* Thread pool: a connection of its own, opened and closed per walk (once
 * a day by default; the cost is the walk, not the open). */
static void walk(uv_work_t *w)
{
    struct audit_check *ac = w->data;
    struct store_options so = {0};
    struct store *st = NULL;

    ac->failed = 1;
    ac->rows = ac->bad_id = 0;
    memset(&ac->err, 0, sizeof(ac->err));
    so.path = ac->state_path;
    so.busy_timeout_ms = ac->busy_timeout_ms;
    so.readonly = 1;
    if (store_open(&so, &st, &ac->err) != 0)
        return;
    if (store_audit_verify_snapshot(st, &ac->rows, &ac->bad_id, &ac->err) == 0)
        ac->failed = 0;
    store_close(st);
}

static void timer_cb(uv_timer_t *t);

static void after_walk(uv_work_t *w, int status)
{
    struct audit_check *ac = w->data;

    ac->working = 0;
    if (status == 0 && ac->failed) {
        log_warn("audit", NULL,
                 "audit chain verification could not read the state: %s (tried again "
                 "in audit_verify_interval)",
                 ac->err.msg);
    } else if (status == 0) {
        metrics_gauge_set(METRIC_AUDIT_CHAIN_BROKEN, NULL, ac->bad_id != 0 ? 1 : 0);
        metrics_gauge_set(METRIC_AUDIT_CHAIN_ROWS, NULL, (double)ac->rows);
        metrics_gauge_set(METRIC_AUDIT_CHAIN_VERIFIED, NULL, (double)(timefmt_now_ms() / 1000));
        if (ac->bad_id > 0)
            log_error("audit", NULL,
                      "consent audit chain BROKEN at row %" PRId64 ": %s; the consent history "
                      "was changed outside crmsyncd (`crmsyncctl audit verify` repeats the check)",
                      ac->bad_id, ac->err.msg);
        else if (ac->bad_id < 0)
            log_error("audit", NULL,
                      "consent audit chain BROKEN in its archive file: %s (`crmsyncctl audit "
                      "verify` repeats the check)",
                      ac->err.msg);
        else
            log_info("audit", NULL, "consent audit chain holds: %" PRId64 " rows verified",
                     ac->rows);
    }
    if (ac->closing) {
        maybe_free(ac);
        return;
    }
    if (ac->interval_ms > 0)
        uv_timer_start(&ac->timer, timer_cb, (uint64_t)ac->interval_ms, 0);
}

static void timer_cb(uv_timer_t *t)
{
    struct audit_check *ac = t->data;

    if (ac->working || ac->closing)
        return;
    /* Issue 17: the walk reads and hashes the whole chain on a second
     * thread (4 % of the daemon's CPU in a bulk push profiled at load 6,
     * where the 5 s first walk fell inside the push), on machines where
     * the push and the CRM share the cores. It waits for the backlog to
     * drain, up to BUSY_MAX_MS. */
    if (ac->busy != NULL && ac->busy(ac->busy_arg)) {
        uint64_t now = uv_now(t->loop);
        if (ac->due_since == 0)
            ac->due_since = now;
        if (now - ac->due_since < BUSY_MAX_MS) {
            uv_timer_start(&ac->timer, timer_cb, BUSY_POLL_MS, 0);
            return;
        }
    }
    ac->due_since = 0;
    ac->working = 1;
    ac->work.data = ac;
    if (uv_queue_work(t->loop, &ac->work, walk, after_walk) != 0) {
        ac->working = 0;
        log_warn("audit", NULL, "audit chain verification could not be queued");
        if (ac->interval_ms > 0)
            uv_timer_start(&ac->timer, timer_cb, (uint64_t)ac->interval_ms, 0);
    }
}

struct audit_check *audit_check_new(uv_loop_t *loop, const char *state_path, long busy_timeout_ms,
                                    long interval_ms)
{
    struct audit_check *ac = calloc(1, sizeof(*ac));

    if (ac == NULL)
        return NULL;
    ac->state_path = strdup(state_path);
    if (ac->state_path == NULL) {
        free(ac);
        return NULL;
    }
    ac->busy_timeout_ms = busy_timeout_ms;
    uv_timer_init(loop, &ac->timer);
    ac->timer.data = ac;
    audit_check_set_interval(ac, interval_ms);
    return ac;
}

void audit_check_set_interval(struct audit_check *ac, long interval_ms)
{
    long before;

    if (ac == NULL || ac->closing)
        return;
    before = ac->interval_ms;
    ac->interval_ms = interval_ms;
    if (interval_ms <= 0) {
        uv_timer_stop(&ac->timer);
        return;
    }
    /* At 0 from the start, so an alert on the series has something to
     * evaluate (absent series never fire). */
    if (before <= 0) {
        metrics_gauge_set(METRIC_AUDIT_CHAIN_BROKEN, NULL, 0);
        metrics_gauge_set(METRIC_AUDIT_CHAIN_ROWS, NULL, 0);
        metrics_gauge_set(METRIC_AUDIT_CHAIN_VERIFIED, NULL, 0);
    }
    if (before == interval_ms || ac->working)
        return;
    ac->due_since = 0;
    uv_timer_start(
        &ac->timer, timer_cb,
        (uint64_t)(interval_ms < FIRST_DELAY_MS || before > 0 ? interval_ms : FIRST_DELAY_MS), 0);
}

void audit_check_set_busy(struct audit_check *ac, int (*busy)(void *arg), void *arg)
{
    if (ac == NULL)
        return;
    ac->busy = busy;
    ac->busy_arg = arg;
}

static void timer_closed_cb(uv_handle_t *h)
{
    struct audit_check *ac = h->data;

    ac->timer_closed = 1;
    maybe_free(ac);
}

void audit_check_close(struct audit_check *ac)
{
    if (ac == NULL || ac->closing)
        return;
    ac->closing = 1;
    uv_close((uv_handle_t *)&ac->timer, timer_closed_cb);
}
