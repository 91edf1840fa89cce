/* The HTTP client against a local HTTPS server whose CA is made here: what
 * each outcome is classified as, that connections are reused, that limits
 * hold, and that shutdown with requests in flight is clean. No assertion
 * depends on how long something took. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http.h"
#include "retry.h"
#include "test_server.h"

static struct test_pki pki;

struct got {
    int done;
    enum http_class cls;
    enum http_failure failure;
    long status;
    long retry_after_ms;
    long num_connects;
    int http_version;
    int request_sent;
    char *body;
    size_t body_len;
    char header[128];
};

struct fixture {
    uv_loop_t loop;
    struct http_client *client;
    struct test_server *server;
    int pending;
    int closed;
    char base[64];
};

static const char *header_to_capture = "X-Test";
static atomic_int flaky_calls;

static void on_done(struct http_result *res, void *arg)
{
    struct got *g = arg;
    const char *h = http_result_header(res, header_to_capture);

    g->done++;
    g->cls = res->cls;
    g->failure = res->failure;
    g->status = res->status;
    g->retry_after_ms = res->retry_after_ms;
    g->num_connects = res->num_connects;
    g->http_version = res->http_version;
    g->request_sent = res->request_sent;
    g->body = http_result_take_body(res, &g->body_len);
    snprintf(g->header, sizeof(g->header), "%s", h != NULL ? h : "");
}

struct counted {
    struct fixture *fx;
    struct got got;
};

static void on_done_count(struct http_result *res, void *arg)
{
    struct counted *c = arg;

    on_done(res, &c->got);
    c->fx->pending--;
    if (c->fx->pending == 0)
        uv_stop(&c->fx->loop);
}

static void on_closed(void *arg)
{
    struct fixture *fx = arg;
    fx->closed = 1;
}

/* Handler used by most tests: the path picks the behaviour. */
static void handler(void *ctx, const struct ts_request *req, struct ts_response *resp)
{
    const char *arg = NULL;

    (void)ctx;
    if (strcmp(req->path, "/hello") == 0) {
        ts_response_body(resp, "hello");
        ts_response_header(resp, "X-Test", "  yes  ");
    } else if (strcmp(req->path, "/echo") == 0) {
        ts_response_body(resp, req->body);
    } else if (strcmp(req->path, "/status") == 0) {
        arg = ts_request_arg(req, "code");
        resp->status = arg != NULL ? atoi(arg) : 500;
        arg = ts_request_arg(req, "retry_after");
        if (arg != NULL)
            ts_response_header(resp, "Retry-After", arg);
        arg = ts_request_arg(req, "date");
        if (arg != NULL)
            ts_response_header(resp, "Date", arg);
        ts_response_body(resp, "{\"error\":\"status\"}");
    } else if (strcmp(req->path, "/flaky") == 0) {
        /* 503, 503, 429 (Retry-After: 7), then 200. */
        int n = atomic_fetch_add(&flaky_calls, 1);
        if (n < 2) {
            resp->status = 503;
        } else if (n == 2) {
            resp->status = 429;
            ts_response_header(resp, "Retry-After", "7");
        } else {
            ts_response_body(resp, "done");
        }
    } else if (strcmp(req->path, "/big") == 0) {
        resp->body_len = 200000;
        resp->body = malloc(resp->body_len);
        memset(resp->body, 'b', resp->body_len);
    } else if (strcmp(req->path, "/chunked") == 0) {
        resp->action = TS_CHUNKED;
        resp->body_len = 200000;
    } else if (strcmp(req->path, "/slow") == 0) {
        resp->delay_ms = 200;
        ts_response_body(resp, "slow");
    } else if (strcmp(req->path, "/hang") == 0) {
        resp->action = TS_HANG;
    } else if (strcmp(req->path, "/drop") == 0) {
        resp->action = TS_DROP;
    } else if (strcmp(req->path, "/stall") == 0) {
        resp->action = TS_STALL;
        resp->stall_after = 100;
    } else if (strcmp(req->path, "/auth") == 0) {
        const char *a = ts_request_header(req, "Authorization");
        ts_response_body(resp, a != NULL ? a : "none");
    } else {
        resp->status = 404;
    }
}

static void fixture_init(struct fixture *fx, const struct http_options *opts, int tls)
{
    struct http_options o;
    struct error err = {{0}};

    memset(fx, 0, sizeof(*fx));
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    if (opts != NULL) {
        o = *opts;
    } else {
        http_options_defaults(&o);
        o.ca_file = pki.ca_file;
    }
    assert_int_equal(http_client_new(&fx->loop, &o, &fx->client, &err), 0);
    fx->server =
        test_server_start(tls ? pki.cert_pem : NULL, tls ? pki.key_pem : NULL, handler, NULL);
    assert_non_null(fx->server);
    snprintf(fx->base, sizeof(fx->base), "%s://127.0.0.1:%d", tls ? "https" : "http",
             test_server_port(fx->server));
}

static void fixture_close(struct fixture *fx)
{
    if (fx->client != NULL) {
        http_client_close(fx->client, on_closed, fx);
        uv_run(&fx->loop, UV_RUN_DEFAULT);
        assert_int_equal(fx->closed, 1);
    }
    /* Every handle is closed: the client left nothing behind. */
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    test_server_stop(fx->server);
}

/* Runs one request to completion and fills g. */
static void run_one(struct fixture *fx, enum http_method m, const char *path, const char *body,
                    const struct http_limits *limits, struct got *g)
{
    struct counted c;
    struct http_request *r = NULL;
    struct error err = {{0}};
    char url[256];

    memset(&c, 0, sizeof(c));
    c.fx = fx;
    snprintf(url, sizeof(url), "%s%s", fx->base, path);
    r = http_request_new(fx->client, m, url, &err);
    assert_non_null(r);
    if (body != NULL)
        assert_int_equal(http_request_set_body(r, "application/json", body, strlen(body)), 0);
    if (limits != NULL)
        http_request_set_limits(r, limits);
    fx->pending = 1;
    assert_int_equal(http_request_start(r, on_done_count, &c, &err), 0);
    /* The completion never comes from inside start. */
    assert_int_equal(c.got.done, 0);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(c.got.done, 1);
    *g = c.got;
}

static void classify_table(void **state)
{
    (void)state;
    assert_int_equal(http_classify(1, 200, HTTP_FAIL_NONE, 1), HTTP_CLASS_OK);
    assert_int_equal(http_classify(0, 204, HTTP_FAIL_NONE, 1), HTTP_CLASS_OK);
    assert_int_equal(http_classify(0, 429, HTTP_FAIL_STATUS, 1), HTTP_CLASS_RETRY);
    assert_int_equal(http_classify(0, 503, HTTP_FAIL_STATUS, 1), HTTP_CLASS_RETRY);
    assert_int_equal(http_classify(0, 500, HTTP_FAIL_STATUS, 1), HTTP_CLASS_RETRY);
    assert_int_equal(http_classify(0, 401, HTTP_FAIL_STATUS, 1), HTTP_CLASS_UNAUTHORIZED);
    assert_int_equal(http_classify(0, 400, HTTP_FAIL_STATUS, 1), HTTP_CLASS_PERMANENT);
    assert_int_equal(http_classify(0, 404, HTTP_FAIL_STATUS, 1), HTTP_CLASS_PERMANENT);
    assert_int_equal(http_classify(0, 409, HTTP_FAIL_STATUS, 1), HTTP_CLASS_PERMANENT);
    assert_int_equal(http_classify(0, 0, HTTP_FAIL_CONNECT, 0), HTTP_CLASS_RETRY);
    assert_int_equal(http_classify(0, 0, HTTP_FAIL_TIMEOUT, 0), HTTP_CLASS_RETRY);
    assert_int_equal(http_classify(0, 0, HTTP_FAIL_TIMEOUT, 1), HTTP_CLASS_INDETERMINATE);
    assert_int_equal(http_classify(1, 0, HTTP_FAIL_TIMEOUT, 1), HTTP_CLASS_RETRY);
    assert_int_equal(http_classify(0, 0, HTTP_FAIL_RESET, 1), HTTP_CLASS_INDETERMINATE);
    assert_int_equal(http_classify(0, 0, HTTP_FAIL_RESET, 0), HTTP_CLASS_RETRY);
    /* Destination faults (issue 14 item 3): an answer over the cap and a
     * redirect are the destination's doing, never the records'. */
    assert_int_equal(http_classify(0, 200, HTTP_FAIL_TOO_LARGE, 1), HTTP_CLASS_RETRY);
    assert_int_equal(http_classify(0, 302, HTTP_FAIL_STATUS, 1), HTTP_CLASS_RETRY);
    assert_int_equal(http_classify(1, 301, HTTP_FAIL_STATUS, 1), HTTP_CLASS_RETRY);
    assert_int_equal(http_classify(0, 307, HTTP_FAIL_STATUS, 1), HTTP_CLASS_RETRY);
    assert_int_equal(http_classify(0, 0, HTTP_FAIL_TLS_VERIFY, 0), HTTP_CLASS_PERMANENT);
}

/* A vendor's Retry-After is believed up to the configured cap ([daemon]
 * max_retry_after, issue 14 item 10): one "Fri, 31 Dec 9999" used to stop a
 * destination for a day. */
static void retry_after_is_capped(void **state)
{
    long ms = 0;
    (void)state;
    http_retry_after_cap_set(3600000);
    assert_int_equal(http_parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", 1795514400, &ms), 0);
    assert_int_equal(ms, 3600000);
    assert_int_equal(http_parse_retry_after("86400", 1795514400, &ms), 0);
    assert_int_equal(ms, 3600000);
    assert_int_equal(http_parse_retry_after("120", 1795514400, &ms), 0);
    assert_int_equal(ms, 120000);
    http_retry_after_cap_set(0); /* back to the default: one day */
    assert_int_equal(http_retry_after_cap(), 86400000);
    assert_int_equal(http_parse_retry_after("172800", 1795514400, &ms), 0);
    assert_int_equal(ms, 86400000);
}

static void retry_after_both_forms(void **state)
{
    /* 2026-11-24 10:00:00 UTC */
    time_t now = 1795514400;
    long ms = -5;

    (void)state;
    assert_int_equal(http_parse_retry_after("120", now, &ms), 0);
    assert_int_equal(ms, 120000);
    assert_int_equal(http_parse_retry_after(" 0 ", now, &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(http_parse_retry_after("Tue, 24 Nov 2026 10:00:30 GMT", now, &ms), 0);
    assert_int_equal(ms, 30000);
    assert_int_equal(http_parse_retry_after("Tuesday, 24-Nov-26 10:01:00 GMT", now, &ms), 0);
    assert_int_equal(ms, 60000);
    assert_int_equal(http_parse_retry_after("Tue Nov 24 10:00:05 2026", now, &ms), 0);
    assert_int_equal(ms, 5000);
    /* A date in the past means "now". */
    assert_int_equal(http_parse_retry_after("Tue, 24 Nov 2026 09:00:00 GMT", now, &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(http_parse_retry_after("soon", now, &ms), -1);
    assert_int_equal(http_parse_retry_after("12abc", now, &ms), -1);
    assert_int_equal(http_parse_retry_after("-3", now, &ms), -1);
    assert_int_equal(http_parse_retry_after("", now, &ms), -1);
    /* Capped at a day. */
    assert_int_equal(http_parse_retry_after("99999999999", now, &ms), 0);
    assert_int_equal(ms, 24L * 3600 * 1000);
}

static void get_over_tls_with_test_ca(void **state)
{
    struct fixture fx;
    struct got g;

    (void)state;
    fixture_init(&fx, NULL, 1);
    run_one(&fx, HTTP_GET, "/hello", NULL, NULL, &g);
    assert_int_equal(g.cls, HTTP_CLASS_OK);
    assert_int_equal(g.status, 200);
    assert_int_equal(g.http_version, 1);
    assert_int_equal(g.body_len, 5);
    assert_string_equal(g.body, "hello");
    assert_string_equal(g.header, "yes  ");
    free(g.body);
    fixture_close(&fx);
}

static void post_body_round_trip(void **state)
{
    struct fixture fx;
    struct got g;
    char body[4096];
    size_t off = 0;
    int i = 0;

    (void)state;
    off += (size_t)snprintf(body + off, sizeof(body) - off, "[");
    for (i = 0; i < 100; i++)
        off += (size_t)snprintf(body + off, sizeof(body) - off, "%s{\"id\":%d}", i ? "," : "", i);
    snprintf(body + off, sizeof(body) - off, "]");
    fixture_init(&fx, NULL, 1);
    run_one(&fx, HTTP_POST, "/echo", body, NULL, &g);
    assert_int_equal(g.cls, HTTP_CLASS_OK);
    assert_string_equal(g.body, body);
    assert_int_equal(g.request_sent, 1);
    free(g.body);
    fixture_close(&fx);
}

static void tls_verification_is_on(void **state)
{
    struct fixture fx;
    struct http_options o;
    struct got g;

    (void)state;
    /* No CA file: the system store does not know our test CA. */
    http_options_defaults(&o);
    fixture_init(&fx, &o, 1);
    run_one(&fx, HTTP_GET, "/hello", NULL, NULL, &g);
    assert_int_equal(g.cls, HTTP_CLASS_PERMANENT);
    assert_int_equal(g.failure, HTTP_FAIL_TLS_VERIFY);
    assert_int_equal(g.status, 0);
    free(g.body);
    fixture_close(&fx);
}

static void https_only_except_loopback(void **state)
{
    struct fixture fx;
    struct http_options o;
    struct error err = {{0}};
    struct got g;
    char url[128];

    (void)state;
    http_options_defaults(&o);
    fixture_init(&fx, &o, 0);
    assert_null(http_request_new(fx.client, HTTP_GET, "http://example.com/x", &err));
    assert_non_null(strstr(err.msg, "not allowed"));
    snprintf(url, sizeof(url), "%s/hello", fx.base);
    assert_null(http_request_new(fx.client, HTTP_GET, url, &err));
    assert_null(http_request_new(fx.client, HTTP_GET, "ftp://127.0.0.1/x", &err));
    assert_null(http_request_new(fx.client, HTTP_GET, "file:///etc/passwd", &err));
    fixture_close(&fx);

    o.allow_loopback_http = 1;
    fixture_init(&fx, &o, 0);
    assert_null(http_request_new(fx.client, HTTP_GET, "http://example.com/x", &err));
    assert_null(http_request_new(fx.client, HTTP_GET, "http://10.0.0.1/x", &err));
    run_one(&fx, HTTP_GET, "/hello", NULL, NULL, &g);
    assert_int_equal(g.cls, HTTP_CLASS_OK);
    free(g.body);
    fixture_close(&fx);
}

static void status_classes_and_retry_after(void **state)
{
    struct fixture fx;
    struct got g;
    char path[128];
    char date[64];
    time_t when = time(NULL) + 3600;
    struct tm tm;

    (void)state;
    fixture_init(&fx, NULL, 1);
    run_one(&fx, HTTP_GET, "/status?code=429&retry_after=7", NULL, NULL, &g);
    assert_int_equal(g.cls, HTTP_CLASS_RETRY);
    assert_int_equal(g.failure, HTTP_FAIL_STATUS);
    assert_int_equal(g.status, 429);
    assert_int_equal(g.retry_after_ms, 7000);
    assert_string_equal(g.body, "{\"error\":\"status\"}");
    free(g.body);

    /* An HTTP-date an hour ahead: between 59 and 60 minutes from now
     * whatever the time the request took. */
    gmtime_r(&when, &tm);
    strftime(date, sizeof(date), "%a,%%20%d%%20%b%%20%Y%%20%H:%M:%S%%20GMT", &tm);
    snprintf(path, sizeof(path), "/status?code=503&retry_after=%s", date);
    run_one(&fx, HTTP_GET, path, NULL, NULL, &g);
    assert_int_equal(g.cls, HTTP_CLASS_RETRY);
    assert_int_equal(g.status, 503);
    assert_in_range(g.retry_after_ms, 3540000, 3600000);
    free(g.body);

    /* A server whose clock is years off ours (or ours was stepped): the
     * date counts from the response's Date, not from our clock, so the wait
     * is the 30 s the server meant (ours alone gave 0: it is in the past). */
    run_one(&fx, HTTP_GET,
            "/status?code=429&date=Sat,%2001%20Jan%202000%2000:00:00%20GMT"
            "&retry_after=Sat,%2001%20Jan%202000%2000:00:30%20GMT",
            NULL, NULL, &g);
    assert_int_equal(g.status, 429);
    assert_int_equal(g.retry_after_ms, 30000);
    free(g.body);

    run_one(&fx, HTTP_GET, "/status?code=500", NULL, NULL, &g);
    assert_int_equal(g.cls, HTTP_CLASS_RETRY);
    assert_int_equal(g.retry_after_ms, -1);
    free(g.body);
    run_one(&fx, HTTP_POST, "/status?code=422", "{}", NULL, &g);
    assert_int_equal(g.cls, HTTP_CLASS_PERMANENT);
    free(g.body);
    run_one(&fx, HTTP_GET, "/status?code=401", NULL, NULL, &g);
    assert_int_equal(g.cls, HTTP_CLASS_UNAUTHORIZED);
    free(g.body);
    fixture_close(&fx);
}

static uint64_t fake_ms;

static uint64_t fake_now(void *arg)
{
    (void)arg;
    return fake_ms;
}

static double half(void *arg)
{
    (void)arg;
    return 0.5;
}

/* The retry helper drives resends of a 5xx/429 on a fake clock: the waits
 * are the jittered backoff (fixed draw 0.5: 250, 500 ms), then Retry-After
 * (7 s) where it exceeds the backoff (1000 ms). */
static void backoff_after_5xx_on_fake_clock(void **state)
{
    struct fixture fx;
    struct retry_policy p;
    struct retry_state rs;
    struct retry_clock clock = {fake_now, NULL};
    long delays[8];
    int n = 0;
    struct got g;

    (void)state;
    fake_ms = 50000;
    atomic_store(&flaky_calls, 0);
    retry_policy_defaults(&p);
    p.random = half;
    retry_state_init(&rs);
    fixture_init(&fx, NULL, 1);
    for (;;) {
        long d = 0;
        retry_note_attempt(&rs, retry_clock_now(&clock));
        run_one(&fx, HTTP_POST, "/flaky", "{}", NULL, &g);
        free(g.body);
        if (g.cls != HTTP_CLASS_RETRY)
            break;
        d = retry_next_delay(&p, &rs, g.retry_after_ms, retry_clock_now(&clock));
        assert_true(d >= 0 && n < 8);
        delays[n++] = d;
        fake_ms += (uint64_t)d;
    }
    assert_int_equal(g.cls, HTTP_CLASS_OK);
    assert_int_equal(n, 3);
    assert_int_equal(delays[0], 250);
    assert_int_equal(delays[1], 500);
    assert_int_equal(delays[2], 7000);
    assert_int_equal(fake_ms, 50000 + 7750);
    assert_int_equal(rs.attempts, 4);
    fixture_close(&fx);
}

static void keep_alive_reuses_one_connection(void **state)
{
    struct fixture fx;
    struct got g;
    long connects = 0;
    int i = 0;

    (void)state;
    fixture_init(&fx, NULL, 1);
    for (i = 0; i < 20; i++) {
        run_one(&fx, HTTP_GET, "/hello", NULL, NULL, &g);
        assert_int_equal(g.cls, HTTP_CLASS_OK);
        connects += g.num_connects;
        free(g.body);
    }
    assert_int_equal(connects, 1);
    assert_int_equal(test_server_connections(fx.server), 1);
    assert_int_equal(test_server_requests(fx.server), 20);
    fixture_close(&fx);
}

static void response_size_cap(void **state)
{
    struct fixture fx;
    struct http_limits lim;
    struct got g;

    (void)state;
    fixture_init(&fx, NULL, 1);
    lim = (struct http_limits){10000, 60000, 1, 30, 100000};
    /* With a Content-Length: refused by curl before reading. */
    run_one(&fx, HTTP_GET, "/big", NULL, &lim, &g);
    assert_int_equal(g.failure, HTTP_FAIL_TOO_LARGE);
    assert_int_equal(g.cls, HTTP_CLASS_RETRY);
    assert_null(g.body);
    /* Chunked, no length: stopped by the write callback. */
    run_one(&fx, HTTP_GET, "/chunked", NULL, &lim, &g);
    assert_int_equal(g.failure, HTTP_FAIL_TOO_LARGE);
    assert_int_equal(g.cls, HTTP_CLASS_RETRY);
    assert_true(g.body_len <= 100000);
    free(g.body);
    /* Under the cap both go through. */
    lim.max_response_bytes = 300000;
    run_one(&fx, HTTP_GET, "/chunked", NULL, &lim, &g);
    assert_int_equal(g.cls, HTTP_CLASS_OK);
    assert_int_equal(g.body_len, 200000);
    free(g.body);
    fixture_close(&fx);
}

static void total_timeout_get_retry_post_indeterminate(void **state)
{
    struct fixture fx;
    struct http_limits lim = {10000, 300, 1, 30, 1 << 20};
    struct got g;

    (void)state;
    fixture_init(&fx, NULL, 1);
    run_one(&fx, HTTP_GET, "/hang", NULL, &lim, &g);
    assert_int_equal(g.failure, HTTP_FAIL_TIMEOUT);
    assert_int_equal(g.cls, HTTP_CLASS_RETRY);
    free(g.body);
    /* The body was sent; the server may have applied it. */
    run_one(&fx, HTTP_POST, "/hang", "{\"points\":10}", &lim, &g);
    assert_int_equal(g.failure, HTTP_FAIL_TIMEOUT);
    assert_int_equal(g.request_sent, 1);
    assert_int_equal(g.cls, HTTP_CLASS_INDETERMINATE);
    free(g.body);
    fixture_close(&fx);
}

static void reset_after_body_is_indeterminate(void **state)
{
    struct fixture fx;
    struct got g;

    (void)state;
    fixture_init(&fx, NULL, 1);
    run_one(&fx, HTTP_POST, "/drop", "{\"points\":10}", NULL, &g);
    assert_int_equal(g.failure, HTTP_FAIL_RESET);
    assert_int_equal(g.cls, HTTP_CLASS_INDETERMINATE);
    free(g.body);
    run_one(&fx, HTTP_GET, "/drop", NULL, NULL, &g);
    assert_int_equal(g.failure, HTTP_FAIL_RESET);
    assert_int_equal(g.cls, HTTP_CLASS_RETRY);
    free(g.body);
    fixture_close(&fx);
}

static void low_speed_abort(void **state)
{
    struct fixture fx;
    struct http_limits lim = {10000, 60000, 1000, 1, 1 << 22};
    struct got g;

    (void)state;
    fixture_init(&fx, NULL, 1);
    run_one(&fx, HTTP_GET, "/stall", NULL, &lim, &g);
    assert_int_equal(g.failure, HTTP_FAIL_TIMEOUT);
    assert_int_equal(g.cls, HTTP_CLASS_RETRY);
    free(g.body);
    fixture_close(&fx);
}

/* A listener that completes TCP handshakes (kernel backlog) but never
 * speaks TLS: the handshake, part of connection setup, times out. */
static void connect_timeout_is_retryable_even_for_post(void **state)
{
    struct fixture fx;
    struct http_limits lim = {300, 60000, 1, 30, 1 << 20};
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct got g;

    (void)state;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    fixture_init(&fx, NULL, 1);
    snprintf(fx.base, sizeof(fx.base), "https://127.0.0.1:%d", ntohs(a.sin_port));
    run_one(&fx, HTTP_POST, "/x", "{}", &lim, &g);
    assert_int_equal(g.failure, HTTP_FAIL_TIMEOUT);
    assert_int_equal(g.request_sent, 0);
    assert_int_equal(g.cls, HTTP_CLASS_RETRY);
    free(g.body);
    fixture_close(&fx);
    close(fd);
}

static void connection_refused_is_retryable(void **state)
{
    struct fixture fx;
    struct got g;
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    (void)state;
    /* A port that was just free and has no listener. */
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    fixture_init(&fx, NULL, 1);
    snprintf(fx.base, sizeof(fx.base), "https://127.0.0.1:%d", ntohs(a.sin_port));
    run_one(&fx, HTTP_POST, "/x", "{}", NULL, &g);
    assert_int_equal(g.failure, HTTP_FAIL_CONNECT);
    assert_int_equal(g.cls, HTTP_CLASS_RETRY);
    free(g.body);
    fixture_close(&fx);
    close(fd);
}

static void thousand_concurrent_requests(void **state)
{
    enum { N = 1000 };
    struct fixture fx;
    struct counted *c = calloc(N, sizeof(*c));
    struct error err = {{0}};
    char url[128];
    long connects = 0;
    int i = 0;

    (void)state;
    assert_non_null(c);
    fixture_init(&fx, NULL, 1);
    snprintf(url, sizeof(url), "%s/hello", fx.base);
    fx.pending = N;
    for (i = 0; i < N; i++) {
        struct http_request *r = http_request_new(fx.client, HTTP_GET, url, &err);
        assert_non_null(r);
        c[i].fx = &fx;
        assert_int_equal(http_request_start(r, on_done_count, &c[i], &err), 0);
    }
    assert_int_equal(http_client_inflight(fx.client), N);
    uv_run(&fx.loop, UV_RUN_DEFAULT);
    assert_int_equal(fx.pending, 0);
    for (i = 0; i < N; i++) {
        assert_int_equal(c[i].got.done, 1);
        assert_int_equal(c[i].got.cls, HTTP_CLASS_OK);
        assert_string_equal(c[i].got.body, "hello");
        connects += c[i].got.num_connects;
        free(c[i].got.body);
    }
    assert_int_equal(http_client_inflight(fx.client), 0);
    assert_int_equal(test_server_requests(fx.server), N);
    /* The per-host cap (8 by default) bounds the connections. */
    assert_in_range(connects, 1, 8);
    assert_in_range(test_server_connections(fx.server), 1, 8);
    fixture_close(&fx);
    free(c);
}

struct shutdown_ctx {
    struct fixture *fx;
    int cancelled;
    int other;
    int start_after_close_failed;
};

static void on_done_shutdown(struct http_result *res, void *arg)
{
    struct shutdown_ctx *s = arg;
    struct error err = {{0}};
    struct http_request *r = NULL;
    char url[128];

    if (res->cls == HTTP_CLASS_CANCELLED && res->failure == HTTP_FAIL_CANCELLED)
        s->cancelled++;
    else
        s->other++;
    /* Starting a request from a cancellation must fail cleanly. */
    snprintf(url, sizeof(url), "%s/hello", s->fx->base);
    r = http_request_new(s->fx->client, HTTP_GET, url, &err);
    if (r != NULL && http_request_start(r, on_done_shutdown, s, &err) < 0)
        s->start_after_close_failed++;
}

static void on_server_saw_all(uv_timer_t *t)
{
    struct fixture *fx = t->data;

    /* Close once the server has accepted the requests (they hang there). */
    if (test_server_connections(fx->server) >= 8) {
        uv_timer_stop(t);
        uv_close((uv_handle_t *)t, NULL);
        http_client_close(fx->client, on_closed, fx);
        fx->client = NULL;
    }
}

static void shutdown_with_requests_in_flight(void **state)
{
    struct fixture fx;
    struct shutdown_ctx s;
    struct error err = {{0}};
    uv_timer_t poll_timer;
    char url[128];
    int i = 0;

    (void)state;
    fixture_init(&fx, NULL, 1);
    memset(&s, 0, sizeof(s));
    s.fx = &fx;
    snprintf(url, sizeof(url), "%s/hang", fx.base);
    for (i = 0; i < 20; i++) {
        struct http_request *r = http_request_new(fx.client, HTTP_GET, url, &err);
        assert_non_null(r);
        assert_int_equal(http_request_start(r, on_done_shutdown, &s, &err), 0);
    }
    uv_timer_init(&fx.loop, &poll_timer);
    poll_timer.data = &fx;
    uv_timer_start(&poll_timer, on_server_saw_all, 10, 10);
    /* Runs until the client is closed and every handle is gone. */
    uv_run(&fx.loop, UV_RUN_DEFAULT);
    assert_int_equal(fx.closed, 1);
    assert_int_equal(s.cancelled, 20);
    assert_int_equal(s.other, 0);
    assert_int_equal(s.start_after_close_failed, 20);
    fixture_close(&fx);
}

/* A delayed request (a Retry-After hold) waits in the client: a request
 * started after it without delay goes and is answered, the delayed one never
 * reaches the server, and a close completes it as cancelled. */
static void a_delayed_request_waits_and_is_cancelled_by_close(void **state)
{
    struct fixture fx;
    struct counted now_c, later_c;
    struct error err = {{0}};
    struct http_request *r = NULL;
    char url[128];

    (void)state;
    fixture_init(&fx, NULL, 1);
    memset(&now_c, 0, sizeof(now_c));
    memset(&later_c, 0, sizeof(later_c));
    now_c.fx = later_c.fx = &fx;
    snprintf(url, sizeof(url), "%s/hello", fx.base);
    r = http_request_new(fx.client, HTTP_GET, url, &err);
    assert_non_null(r);
    http_request_set_delay(r, 60000);
    assert_int_equal(http_request_start(r, on_done_count, &later_c, &err), 0);
    r = http_request_new(fx.client, HTTP_GET, url, &err);
    assert_non_null(r);
    fx.pending = 1; /* the loop stops when the undelayed one is answered */
    assert_int_equal(http_request_start(r, on_done_count, &now_c, &err), 0);
    uv_run(&fx.loop, UV_RUN_DEFAULT);
    assert_int_equal(now_c.got.done, 1);
    assert_int_equal(now_c.got.cls, HTTP_CLASS_OK);
    assert_int_equal(later_c.got.done, 0);
    assert_int_equal(test_server_connections(fx.server), 1);
    fx.pending = 2; /* no uv_stop from the cancellation: the close runs on */
    http_client_close(fx.client, on_closed, &fx);
    fx.client = NULL;
    assert_int_equal(later_c.got.done, 1);
    assert_int_equal(later_c.got.cls, HTTP_CLASS_CANCELLED);
    assert_int_equal(later_c.got.failure, HTTP_FAIL_CANCELLED);
    uv_run(&fx.loop, UV_RUN_DEFAULT);
    assert_int_equal(fx.closed, 1);
    free(now_c.got.body);
    free(later_c.got.body);
    fixture_close(&fx);
}

/* A request delayed by a moment goes once the moment has passed. */
static void a_delayed_request_goes_after_its_delay(void **state)
{
    struct fixture fx;
    struct counted c;
    struct error err = {{0}};
    struct http_request *r = NULL;
    char url[128];

    (void)state;
    fixture_init(&fx, NULL, 1);
    memset(&c, 0, sizeof(c));
    c.fx = &fx;
    snprintf(url, sizeof(url), "%s/hello", fx.base);
    r = http_request_new(fx.client, HTTP_GET, url, &err);
    assert_non_null(r);
    http_request_set_delay(r, 50);
    fx.pending = 1;
    assert_int_equal(http_request_start(r, on_done_count, &c, &err), 0);
    uv_run(&fx.loop, UV_RUN_DEFAULT);
    assert_int_equal(c.got.done, 1);
    assert_int_equal(c.got.cls, HTTP_CLASS_OK);
    assert_string_equal(c.got.body, "hello");
    free(c.got.body);
    fixture_close(&fx);
}

struct held {
    struct fixture *fx;
    uint64_t *hold;
    uint64_t done_ms[2];
    int n;
};

static uint64_t test_mono_ms(void)
{
    return uv_hrtime() / 1000000;
}

static void on_done_held(struct http_result *res, void *arg)
{
    struct held *h = arg;

    assert_int_equal(res->cls, HTTP_CLASS_OK);
    h->done_ms[h->n++] = test_mono_ms();
    if (--h->fx->pending == 0)
        uv_stop(&h->fx->loop);
}

/* The 429 arrives (here: the hold is set) while a second request waits in
 * curl for the one connection: it is not sent before the hold ends. */
static void on_hold_begins(uv_timer_t *t)
{
    struct held *h = t->data;
    *h->hold = test_mono_ms() + 400;
}

static void a_hold_that_begins_while_queued_is_kept(void **state)
{
    struct fixture fx;
    struct http_options o;
    struct held h;
    struct error err = {{0}};
    struct http_request *r = NULL;
    uv_timer_t begin;
    uint64_t hold = 0;
    char url[128];

    (void)state;
    http_options_defaults(&o);
    o.max_host_connections = 1;
    o.allow_loopback_http = 1;
    o.max_total_connections = 1;
    fixture_init(&fx, &o, 0);
    memset(&h, 0, sizeof(h));
    h.fx = &fx;
    h.hold = &hold;
    snprintf(url, sizeof(url), "%s/slow", fx.base);
    r = http_request_new(fx.client, HTTP_GET, url, &err);
    assert_non_null(r);
    http_request_set_hold(r, &hold);
    assert_int_equal(http_request_start(r, on_done_held, &h, &err), 0);
    snprintf(url, sizeof(url), "%s/hello", fx.base);
    r = http_request_new(fx.client, HTTP_GET, url, &err);
    assert_non_null(r);
    http_request_set_hold(r, &hold);
    assert_int_equal(http_request_start(r, on_done_held, &h, &err), 0);
    fx.pending = 2;
    uv_timer_init(&fx.loop, &begin);
    begin.data = &h;
    uv_timer_start(&begin, on_hold_begins, 50, 0);
    uv_run(&fx.loop, UV_RUN_DEFAULT);
    assert_int_equal(h.n, 2);
    assert_true(hold > 0);
    /* The slow one was on the wire already; the queued one waited. */
    assert_true(h.done_ms[0] < hold);
    assert_true(h.done_ms[1] >= hold);
    assert_int_equal(test_server_requests(fx.server), 2);
    uv_close((uv_handle_t *)&begin, NULL);
    fixture_close(&fx);
}

struct rebearer {
    struct fixture *fx;
    uint64_t *hold;
    int refuse; /* the hook keeps the request unsent */
    int hook_calls;
    int done;
    enum http_class cls;
    enum http_failure failure;
    char body[128];
};

static int on_before_send(struct http_request *r, void *arg)
{
    struct rebearer *b = arg;

    b->hook_calls++;
    if (b->refuse)
        return -1;
    return http_request_set_bearer(r, "new-token");
}

static void on_done_rebearer(struct http_result *res, void *arg)
{
    struct rebearer *b = arg;

    b->done++;
    b->cls = res->cls;
    b->failure = res->failure;
    snprintf(b->body, sizeof(b->body), "%s", res->body != NULL ? res->body : "");
    if (--b->fx->pending == 0)
        uv_stop(&b->fx->loop);
}

static void on_slow_done(struct http_result *res, void *arg)
{
    struct fixture *fx = arg;

    assert_int_equal(res->cls, HTTP_CLASS_OK);
    if (--fx->pending == 0)
        uv_stop(&fx->loop);
}

/* The hold outlasts the slow request by far: if /slow were answered after
 * the hold (CI under load once took over 200 ms more), the queued request
 * would go without being held and the hook would not be called. */
static void on_rebearer_hold_begins(uv_timer_t *t)
{
    struct rebearer *b = t->data;
    *b->hold = test_mono_ms() + 1500;
}

/* A request taken back from curl inside a hold (it had been prepared, its
 * Authorization line merged into its headers) gets the bearer its owner
 * gives when the hold ends, once: the server sees only the new one. A hook
 * that refuses keeps it unsent. */
static void held_request_bearer(int refuse)
{
    struct fixture fx;
    struct http_options o;
    struct rebearer b;
    struct error err = {{0}};
    struct http_request *r = NULL;
    uv_timer_t begin;
    uint64_t hold = 0;
    char url[128];

    http_options_defaults(&o);
    o.max_host_connections = 1;
    o.allow_loopback_http = 1;
    o.max_total_connections = 1;
    fixture_init(&fx, &o, 0);
    memset(&b, 0, sizeof(b));
    b.fx = &fx;
    b.hold = &hold;
    b.refuse = refuse;
    snprintf(url, sizeof(url), "%s/slow", fx.base);
    r = http_request_new(fx.client, HTTP_GET, url, &err);
    assert_non_null(r);
    http_request_set_hold(r, &hold);
    assert_int_equal(http_request_start(r, on_slow_done, &fx, &err), 0);
    snprintf(url, sizeof(url), "%s/auth", fx.base);
    r = http_request_new(fx.client, HTTP_GET, url, &err);
    assert_non_null(r);
    http_request_set_hold(r, &hold);
    assert_int_equal(http_request_set_bearer(r, "old-token"), 0);
    http_request_set_before_send(r, on_before_send, &b);
    assert_int_equal(http_request_start(r, on_done_rebearer, &b, &err), 0);
    fx.pending = 2;
    uv_timer_init(&fx.loop, &begin);
    begin.data = &b;
    uv_timer_start(&begin, on_rebearer_hold_begins, 50, 0);
    uv_run(&fx.loop, UV_RUN_DEFAULT);
    assert_int_equal(b.done, 1);
    assert_int_equal(b.hook_calls, 1);
    if (refuse) {
        assert_int_equal(b.cls, HTTP_CLASS_UNAUTHORIZED);
        assert_int_equal(b.failure, HTTP_FAIL_AUTH);
        assert_int_equal(test_server_requests(fx.server), 1);
    } else {
        assert_int_equal(b.cls, HTTP_CLASS_OK);
        assert_string_equal(b.body, "Bearer new-token");
        assert_int_equal(test_server_requests(fx.server), 2);
    }
    uv_close((uv_handle_t *)&begin, NULL);
    fixture_close(&fx);
}

static void a_held_back_request_takes_the_new_bearer(void **state)
{
    (void)state;
    held_request_bearer(0);
}

static void a_held_back_request_can_be_kept_unsent(void **state)
{
    (void)state;
    held_request_bearer(1);
}

struct closer {
    struct fixture *fx;
    int done[2];
    enum http_class cls[2];
};

static int refuse_send(struct http_request *r, void *arg)
{
    (void)r;
    (void)arg;
    return -1;
}

static void on_done_close(struct http_result *res, void *arg)
{
    struct closer *c = arg;

    c->done[0]++;
    c->cls[0] = res->cls;
    http_client_close(c->fx->client, on_closed, c->fx);
    c->fx->client = NULL;
}

static void on_done_second(struct http_result *res, void *arg)
{
    struct closer *c = arg;

    c->done[1]++;
    c->cls[1] = res->cls;
}

/* Two delayed requests fall due together; the first one's callback closes
 * the client: the second is completed as cancelled, not forgotten. */
static void a_close_while_due_requests_go_cancels_the_rest(void **state)
{
    struct fixture fx;
    struct closer c;
    struct error err = {{0}};
    struct http_request *r = NULL;
    char url[128];

    (void)state;
    fixture_init(&fx, NULL, 1);
    memset(&c, 0, sizeof(c));
    c.fx = &fx;
    snprintf(url, sizeof(url), "%s/hello", fx.base);
    r = http_request_new(fx.client, HTTP_GET, url, &err);
    assert_non_null(r);
    http_request_set_delay(r, 20);
    http_request_set_before_send(r, refuse_send, NULL);
    assert_int_equal(http_request_start(r, on_done_close, &c, &err), 0);
    r = http_request_new(fx.client, HTTP_GET, url, &err);
    assert_non_null(r);
    http_request_set_delay(r, 20);
    assert_int_equal(http_request_start(r, on_done_second, &c, &err), 0);
    uv_run(&fx.loop, UV_RUN_DEFAULT);
    assert_int_equal(fx.closed, 1);
    assert_int_equal(c.done[0], 1);
    assert_int_equal(c.cls[0], HTTP_CLASS_UNAUTHORIZED);
    assert_int_equal(c.done[1], 1);
    assert_int_equal(c.cls[1], HTTP_CLASS_CANCELLED);
    assert_int_equal(test_server_requests(fx.server), 0);
    fixture_close(&fx);
}

/* nghttpd (nghttp2-server) offers h2 by ALPN: requests multiplex on one
 * connection. */
static void http2_when_offered(void **state)
{
    enum { N = 20 };
    struct fixture fx;
    struct counted c[N];
    struct error err = {{0}};
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    char url[128];
    char docroot[300];
    long connects = 0;
    pid_t pid = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port = 0;
    int i = 0;

    (void)state;
    memset(c, 0, sizeof(c));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    port = ntohs(a.sin_port);
    close(fd);
    snprintf(docroot, sizeof(docroot), "%s/www", pki.dir);
    assert_int_equal(test_sh("mkdir -p %s && printf h2body > %s/file", docroot, docroot), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char portbuf[16];
        snprintf(portbuf, sizeof(portbuf), "%d", port);
        execlp("nghttpd", "nghttpd", "-a", "127.0.0.1", "-d", docroot, portbuf, pki.key_file,
               pki.cert_file, (char *)NULL);
        _exit(127);
    }
    /* Wait (bounded) until it listens. */
    for (i = 0; i < 200; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        int ok = connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
        close(s);
        if (ok)
            break;
        usleep(20000);
    }
    assert_true(i < 200);
    fixture_init(&fx, NULL, 1);
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/file", port);
    fx.pending = N;
    for (i = 0; i < N; i++) {
        struct http_request *r = http_request_new(fx.client, HTTP_GET, url, &err);
        assert_non_null(r);
        c[i].fx = &fx;
        assert_int_equal(http_request_start(r, on_done_count, &c[i], &err), 0);
    }
    uv_run(&fx.loop, UV_RUN_DEFAULT);
    for (i = 0; i < N; i++) {
        assert_int_equal(c[i].got.cls, HTTP_CLASS_OK);
        assert_int_equal(c[i].got.http_version, 2);
        assert_string_equal(c[i].got.body, "h2body");
        connects += c[i].got.num_connects;
        free(c[i].got.body);
    }
    /* PIPEWAIT: all twenty waited for and shared one connection. */
    assert_int_equal(connects, 1);
    fixture_close(&fx);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

static int group_setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    return test_pki_make(&pki);
}

static int group_teardown(void **state)
{
    (void)state;
    test_pki_free(&pki);
    return 0;
}

/* Issue 19: no answer is not "HTTP 0" in a log line. */
static void result_label_says_transport_error(void **state)
{
    struct http_result res;
    char buf[32];
    (void)state;
    memset(&res, 0, sizeof(res));
    assert_string_equal(http_result_label(&res, buf, sizeof(buf)), "transport error:");
    res.status = 503;
    assert_string_equal(http_result_label(&res, buf, sizeof(buf)), "HTTP 503");
    assert_string_equal(http_result_label(NULL, buf, sizeof(buf)), "no request:");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(result_label_says_transport_error),
        cmocka_unit_test(classify_table),
        cmocka_unit_test(retry_after_both_forms),
        cmocka_unit_test(retry_after_is_capped),
        cmocka_unit_test(get_over_tls_with_test_ca),
        cmocka_unit_test(post_body_round_trip),
        cmocka_unit_test(tls_verification_is_on),
        cmocka_unit_test(https_only_except_loopback),
        cmocka_unit_test(status_classes_and_retry_after),
        cmocka_unit_test(backoff_after_5xx_on_fake_clock),
        cmocka_unit_test(keep_alive_reuses_one_connection),
        cmocka_unit_test(response_size_cap),
        cmocka_unit_test(total_timeout_get_retry_post_indeterminate),
        cmocka_unit_test(reset_after_body_is_indeterminate),
        cmocka_unit_test(low_speed_abort),
        cmocka_unit_test(connect_timeout_is_retryable_even_for_post),
        cmocka_unit_test(connection_refused_is_retryable),
        cmocka_unit_test(thousand_concurrent_requests),
        cmocka_unit_test(shutdown_with_requests_in_flight),
        cmocka_unit_test(a_delayed_request_waits_and_is_cancelled_by_close),
        cmocka_unit_test(a_delayed_request_goes_after_its_delay),
        cmocka_unit_test(a_hold_that_begins_while_queued_is_kept),
        cmocka_unit_test(a_held_back_request_takes_the_new_bearer),
        cmocka_unit_test(a_held_back_request_can_be_kept_unsent),
        cmocka_unit_test(a_close_while_due_requests_go_cancels_the_rest),
        cmocka_unit_test(http2_when_offered),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
