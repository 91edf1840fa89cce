/* The audit chain's periodic walk (src/daemon/audit_check.c) waits while
 * the pushes have a backlog (issue 17) and runs once it has drained. The
 * test holds the backlog (busy) and releases it itself: it waits on what
 * the walk does (its gauge), not on a time window. */
#include "cmocka_setup.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "audit_check.h"
#include "metrics.h"
#include "tmp_store.h"

struct hold {
    uv_loop_t *loop;
    int busy;    /* what busy() answers */
    int asked;   /* how many times the walk asked */
    int stop_at; /* stop the loop when asked reaches this (0: never) */
};

static int busy(void *arg)
{
    struct hold *h = arg;

    h->asked++;
    if (h->stop_at > 0 && h->asked >= h->stop_at)
        uv_stop(h->loop);
    return h->busy;
}

/* The value of crmsyncd_audit_chain_verified_timestamp_seconds. */
static long verified(void)
{
    static const char key[] = "\ncrmsyncd_audit_chain_verified_timestamp_seconds ";
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    const char *at;
    long v = -1;

    assert_non_null(m);
    metrics_write(m);
    fclose(m);
    at = strstr(text, key);
    if (at != NULL)
        v = strtol(at + strlen(key), NULL, 10);
    free(text);
    return v;
}

static void watch_cb(uv_timer_t *t)
{
    if (verified() > 0)
        uv_stop(t->loop);
}

static void deadline_cb(uv_timer_t *t)
{
    uv_stop(t->loop);
}

/* Due every second (the first after one: the interval is below the 5 s
 * first delay), the walk asks three times while busy and does not run;
 * released, it runs and sets the gauge. */
static void a_walk_waits_for_the_backlog(void **state)
{
    char dir[64], path[128];
    struct store *st = NULL;
    uv_loop_t loop;
    uv_timer_t watch, deadline;
    struct hold h = {&loop, 1, 0, 3};
    struct audit_check *ac;
    (void)state;

    assert_int_equal(metrics_init(), 0);
    tmp_store_open(dir, path, "audit-check", &st);
    store_close(st);
    assert_int_equal(uv_loop_init(&loop), 0);
    ac = audit_check_new(&loop, path, 1000, 1000);
    assert_non_null(ac);
    audit_check_set_busy(ac, busy, &h);
    uv_timer_init(&loop, &watch);
    uv_timer_init(&loop, &deadline);
    /* Until busy() was asked 3 times; the deadline is a failure, not a
     * window (a walk that does not wait is seen by the watch). */
    uv_timer_start(&watch, watch_cb, 20, 20);
    uv_timer_start(&deadline, deadline_cb, 60000, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(verified(), 0);
    assert_int_equal(h.asked, 3);

    h.busy = 0;
    h.stop_at = 0;
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(verified() > 0);
    assert_int_equal(h.asked, 4);

    uv_close((uv_handle_t *)&watch, NULL);
    uv_close((uv_handle_t *)&deadline, NULL);
    audit_check_close(ac);
    uv_run(&loop, UV_RUN_DEFAULT); /* the closes and a walk in flight */
    assert_int_equal(uv_loop_close(&loop), 0);
    tmp_store_remove(dir, NULL);
    metrics_shutdown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_walk_waits_for_the_backlog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
