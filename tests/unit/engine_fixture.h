/* The engine unit tests' fixture (test_engine*.c): a fake connector with
 * programmable answers on a real loop and a real SQLite file, changes added
 * to the store, and the loop run until the engine is idle. Header only, its
 * functions inline: each unit test is one executable built from one
 * test_*.c (tests/CMakeLists.txt). */
#ifndef CRMSYNC_TEST_ENGINE_FIXTURE_H
#define CRMSYNC_TEST_ENGINE_FIXTURE_H

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "change_json.h"
#include "engine.h"
#include "engine_internal.h"
#include "store.h"
#include "timefmt.h"

#define MAX_BATCHES 512

struct fake {
    uv_timer_t t;
    struct push_batch *pending[64];
    size_t n_pending;
    /* what the fake CRM received */
    size_t batches;
    size_t batch_sizes[MAX_BATCHES];
    int batch_lanes[MAX_BATCHES];
    char batch_class[MAX_BATCHES][64];
    char first_field[MAX_BATCHES][64];
    char first_member[MAX_BATCHES][64];
    char first_value[MAX_BATCHES][256];
    /* programmable answers */
    int reject_member_m2;    /* M2's records are rejected */
    int stale_member_m3;     /* the CRM holds a newer value for M3 */
    int retry_first_n;       /* first n results RETRY (record fault) */
    int outage_batches;      /* first n batches fail as an outage */
    long outage_retry_ms;    /* the outage's retry hint; default 1 */
    long retry_after_ms;     /* for record-fault retries; default 1 */
    int hold;                /* batches wait unanswered until released */
    const char *reject_text; /* reason of M2's rejection; default INVALID_EMAIL */
    long give_up_ms;         /* retry policy (run() sets it when not 0) */
    int max_attempts;        /* -1: 0 (no attempt limit) */
    long window_items;       /* engine option when not 0 */
    size_t records_received;
    size_t with_remote_id; /* records sent with a remote id */
    /* "member field=sibling;" per record that carried a profile/email */
    char siblings_seen[1024];
};

static struct fake fk;

static inline void answer(uv_timer_t *t)
{
    (void)t;
    for (size_t b = 0; b < fk.n_pending; b++) {
        struct push_batch *pb = fk.pending[b];
        int outage = fk.outage_batches > 0;
        if (outage)
            fk.outage_batches--;
        for (size_t i = 0; i < pb->n; i++) {
            struct push_result *r = &pb->results[i];
            if (outage) {
                r->outcome = PUSH_RETRY;
                r->not_record_fault = 1;
                r->retry_after_ms = fk.outage_retry_ms ? fk.outage_retry_ms : 1;
            } else if (fk.reject_member_m2 && strcmp(pb->records[i].member_key, "M2") == 0) {
                r->outcome = PUSH_REJECT;
                push_result_set_reason(
                    r, "%s", fk.reject_text ? fk.reject_text : "INVALID_EMAIL: bad address");
            } else if (fk.stale_member_m3 && strcmp(pb->records[i].member_key, "M3") == 0) {
                r->outcome = PUSH_STALE;
            } else if (fk.retry_first_n > 0) {
                fk.retry_first_n--;
                r->outcome = PUSH_RETRY;
                r->retry_after_ms = fk.retry_after_ms ? fk.retry_after_ms : 1;
            } else {
                r->outcome = PUSH_OK;
                snprintf(r->remote_id, sizeof(r->remote_id), "hs-%s", pb->records[i].member_key);
                fk.records_received++;
            }
        }
    }
    {
        size_t n = fk.n_pending;
        struct push_batch *copy[64];
        memcpy(copy, fk.pending, n * sizeof(copy[0]));
        fk.n_pending = 0;
        for (size_t b = 0; b < n; b++)
            copy[b]->done(copy[b]);
    }
}

static inline void fake_push(struct connector *conn, struct push_batch *pb)
{
    if (fk.batches < MAX_BATCHES) {
        fk.batch_sizes[fk.batches] = pb->n;
        fk.batch_lanes[fk.batches] = pb->lane;
        snprintf(fk.batch_class[fk.batches], 64, "%s", pb->class_key);
        snprintf(fk.first_field[fk.batches], 64, "%s", pb->records[0].field);
        snprintf(fk.first_member[fk.batches], 64, "%s", pb->records[0].member_key);
        snprintf(fk.first_value[fk.batches], 256, "%s", pb->records[0].value_json);
    }
    for (size_t i = 0; i < pb->n; i++) {
        const char *sib = push_record_sibling(conn, &pb->records[i], "profile/email");
        if (pb->records[i].remote_id != NULL)
            fk.with_remote_id++;
        size_t len = strlen(fk.siblings_seen);
        snprintf(fk.siblings_seen + len, sizeof(fk.siblings_seen) - len, "%s %s=%s;",
                 pb->records[i].member_key, pb->records[i].field, sib ? sib : "(none)");
    }
    fk.batches++;
    fk.pending[fk.n_pending++] = pb;
    if (!fk.hold)
        uv_timer_start(&fk.t, answer, 0, 0);
}

static inline void fake_class(struct connector *conn, const struct push_record *rec, char *out,
                              size_t outsize)
{
    (void)conn;
    snprintf(out, outsize, "%s", strncmp(rec->field, "segment/", 8) == 0 ? "lists" : "contacts");
}

static inline int fake_open(struct connector *c, struct error *e)
{
    (void)c;
    (void)e;
    return 0;
}
static inline void fake_pull(struct connector *c)
{
    (void)c;
}
static inline void fake_close(struct connector *c, void (*done)(struct connector *))
{
    done(c);
}

static const struct connector_ops fake_ops = {
    .version = 1,
    .type = "fake",
    .max_batch = 10,
    .open = fake_open,
    .pull = fake_pull,
    .close = fake_close,
    .push = fake_push,
    .batch_class = fake_class,
    .points_as_balance = 1,
};

struct fixture {
    char dir[64];
    uv_loop_t loop;
    struct store *st;
    struct engine *eng;
    struct connector conn;
    int seq;
};

static inline int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct store_options o = {0};
    char path[128];
    struct error err;

    memset(&fk, 0, sizeof(fk));
    snprintf(f->dir, sizeof(f->dir), "/tmp/crmsync-engine-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(path, sizeof(path), "%s/state.db", f->dir);
    o.path = path;
    o.synchronous_normal = 1;
    assert_int_equal(store_open(&o, &f->st, &err), 0);
    uv_loop_init(&f->loop);
    uv_timer_init(&f->loop, &fk.t);
    f->conn.ops = &fake_ops;
    f->conn.name = "crm";
    f->conn.loop = &f->loop;
    f->conn.max_inflight = 2;
    f->conn.rate = 1000;
    f->conn.burst = 1000;
    *state = f;
    return 0;
}

static inline void close_cb(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static inline int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];

    if (f->eng != NULL) {
        engine_stop(f->eng);
        engine_free(f->eng);
    }
    uv_walk(&f->loop, close_cb, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    store_close(f->st);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static inline void add(struct fixture *f, const char *origin, const char *member, const char *field,
                       enum consent_status status)
{
    struct merge_policy pol = {NULL, 0, 300000, timefmt_now_ms()};
    struct change c;
    char idem[64], *json;
    enum apply_result r;
    struct error err;

    memset(&c, 0, sizeof(c));
    snprintf(idem, sizeof(idem), "%s:%d", origin, ++f->seq);
    c.origin = origin;
    c.member_key = member;
    c.kind = CHANGE_CONSENT;
    c.field = field;
    c.idem_key = idem;
    c.occurred_at = 1790000000000LL + f->seq;
    c.consent = (struct consent_value){status, "consent", "web", NULL, c.occurred_at};
    json = consent_value_to_json(&c.consent);
    c.value_json = json;
    assert_int_equal(store_begin(f->st, &err), 0);
    assert_int_equal(store_apply(f->st, &c, &pol, &r, &err), 0);
    assert_int_equal(store_commit(f->st, &err), 0);
    free(json);
}

static inline void add_points(struct fixture *f, const char *member, const char *txn, int64_t delta)
{
    struct merge_policy pol = {NULL, 0, 300000, timefmt_now_ms()};
    struct change c;
    char idem[64], field[64], *json;
    enum apply_result r;
    struct error err;

    memset(&c, 0, sizeof(c));
    snprintf(idem, sizeof(idem), "shop:%d", ++f->seq);
    snprintf(field, sizeof(field), "points/%s", txn);
    c.origin = "shop";
    c.member_key = member;
    c.kind = CHANGE_POINTS;
    c.field = field;
    c.idem_key = idem;
    c.occurred_at = 1790000000000LL + f->seq;
    c.points = (struct points_txn){txn, delta, "earn", c.occurred_at, 0};
    json = points_txn_to_json(&c.points);
    c.value_json = json;
    assert_int_equal(store_begin(f->st, &err), 0);
    assert_int_equal(store_apply(f->st, &c, &pol, &r, &err), 0);
    assert_int_equal(store_commit(f->st, &err), 0);
    free(json);
}

/* Runs the loop until the engine has nothing in flight and nothing has
 * happened for 100 ms (a retry due much later keeps its item waiting). */
static inline void start_engine(struct fixture *f)
{
    struct error err;
    struct engine_options o;

    engine_options_defaults(&o);
    o.linger_ms = 0;
    o.retry.base_ms = 1;
    o.retry.cap_ms = 2;
    if (fk.give_up_ms != 0)
        o.retry.max_elapsed_ms = fk.give_up_ms;
    if (fk.max_attempts != 0)
        o.retry.max_attempts = fk.max_attempts < 0 ? 0 : fk.max_attempts;
    if (fk.window_items != 0)
        o.window_items = fk.window_items;
    assert_int_equal(engine_new(&f->loop, f->st, &o, &f->eng, &err), 0);
    assert_int_equal(engine_add(f->eng, &f->conn, &err), 0);
}

static inline void run(struct fixture *f)
{
    int idle = 0;
    size_t last_batches = (size_t)-1;

    if (f->eng == NULL)
        start_engine(f);
    else
        engine_kick(f->eng);
    for (int i = 0; i < 10000 && idle < 100; i++) {
        struct engine_stats s;
        uv_run(&f->loop, UV_RUN_NOWAIT);
        engine_dest_stats(f->eng, "crm", &s);
        if ((s.inflight == 0 || fk.hold) && !uv_is_active((uv_handle_t *)&fk.t) &&
            fk.batches == last_batches)
            idle++;
        else
            idle = 0;
        last_batches = fk.batches;
        uv_sleep(1);
    }
}

/* Runs the loop for about ms milliseconds (a record retried forever never
 * lets run() see the engine idle). */
static inline void run_for(struct fixture *f, long ms)
{
    uint64_t end = uv_hrtime() / 1000000 + (uint64_t)ms;
    if (f->eng == NULL)
        start_engine(f);
    else
        engine_kick(f->eng);
    while (uv_hrtime() / 1000000 < end) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        uv_sleep(1);
    }
}

static inline long count(struct fixture *f, const char *sql)
{
    sqlite3_stmt *q;
    long n = -1;
    assert_int_equal(sqlite3_prepare_v2(store_db(f->st), sql, -1, &q, NULL), SQLITE_OK);
    if (sqlite3_step(q) == SQLITE_ROW)
        n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return n;
}

#endif
