/* The spool connector gives the loop back between pages (connectors/spool.c
 * work_cb): one page per loop iteration, so that HTTP requests in flight,
 * signals and the watchdog run while a large file is read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "connector.h"
#include "spool_int.h"

struct pages {
    int commits;
    int changes;
};

static int sink_begin(void *ctx, struct connector *conn, struct error *err)
{
    (void)ctx;
    (void)conn;
    (void)err;
    return 0;
}

static int sink_change(void *ctx, struct connector *conn, const struct change *c,
                       enum apply_result *res, struct error *err)
{
    struct pages *p = ctx;

    (void)conn;
    (void)c;
    (void)err;
    p->changes++;
    *res = APPLY_APPLIED;
    return 0;
}

static int sink_reject(void *ctx, struct connector *conn, const struct dead_letter_in *dl,
                       struct error *err)
{
    (void)ctx;
    (void)conn;
    (void)dl;
    (void)err;
    fail_msg("a line of the test file was rejected");
    return -1;
}

static int sink_commit(void *ctx, struct connector *conn, const char *wm, struct error *err)
{
    struct pages *p = ctx;

    (void)conn;
    (void)wm;
    (void)err;
    p->commits++;
    return 0;
}

static void sink_abort(void *ctx, struct connector *conn)
{
    (void)ctx;
    (void)conn;
}

static int sink_file_begin(void *ctx, struct connector *conn, const char *name, int64_t *id,
                           struct error *err)
{
    (void)ctx;
    (void)conn;
    (void)name;
    (void)err;
    *id = 1;
    return 0;
}

static int sink_file_finish(void *ctx, struct connector *conn, int64_t id,
                            const struct ingest_stats *stats, const char *status, struct error *err)
{
    (void)ctx;
    (void)conn;
    (void)id;
    (void)stats;
    (void)status;
    (void)err;
    return 0;
}

static void closed(struct connector *conn)
{
    (void)conn;
}

/* libuv before 1.48 (Debian 12: 1.44) runs a timer started with timeout 0
 * from its own callback again in the same pass over the timers, without
 * polling for I/O in between (libuv issue 4245): a work callback that asked
 * for the next page that way read the whole file in one loop iteration.
 * The 10M soak's slices (1M lines, 141 s of ingest) saw the HubSpot
 * requests in flight time out after 120-141 s and the engine pause the
 * destination. Here: 6 lines, 2 a page, and the iteration that commits the
 * first page commits only that one. */
static void one_page_per_loop_iteration(void **state)
{
    char dir[] = "/tmp/crmsync-spool-pages.XXXXXX";
    char path[256];
    struct spool_settings cfg = {0};
    struct pages p = {0, 0};
    struct pull_sink sink = {0};
    struct connector conn = {0};
    struct error err = {""};
    uv_loop_t loop;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/a.jsonl", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 6; i++)
        fprintf(f,
                "{\"event_id\":\"e%d\",\"type\":\"erasure\",\"member\":\"M%d\","
                "\"occurred_at\":\"2026-11-24T10:00:00Z\"}\n",
                i, i);
    assert_int_equal(fclose(f), 0);
    cfg.dir = dir;
    cfg.scan_interval_ms = 10;
    cfg.settle_ms = 0;
    cfg.max_line = 4096;
    cfg.max_rejected = 100;
    cfg.keep_done_ms = 0;
    sink =
        (struct pull_sink){&p,         sink_begin,      sink_change,      sink_reject, sink_commit,
                           sink_abort, sink_file_begin, sink_file_finish, NULL};
    assert_int_equal(uv_loop_init(&loop), 0);
    conn.ops = connector_find_type("spool");
    assert_non_null(conn.ops);
    conn.name = "shop";
    conn.settings = &cfg;
    conn.loop = &loop;
    conn.sink = &sink;
    conn.page_max_changes = 2;
    assert_int_equal(conn.ops->open(&conn, &err), 0);
    for (int i = 0; i < 1000 && p.commits == 0; i++)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(p.commits, 1);
    for (int i = 0; i < 1000 && p.changes < 6; i++)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(p.changes, 6);
    assert_int_equal(p.commits, 3);
    conn.ops->close(&conn, closed);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    assert_int_equal(system(path), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_page_per_loop_iteration),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
