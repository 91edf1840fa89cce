/* The HTTP client unit tests' fixture (test_http*.c): a local HTTPS server
 * whose CA is made here, a client on a loop, what each request got, and
 * the group setup that makes the PKI. Header only, its functions inline:
 * each unit test is one executable built from one test_*.c. */
#ifndef CRMSYNC_TEST_HTTP_FIXTURE_H
#define CRMSYNC_TEST_HTTP_FIXTURE_H

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

static inline void on_done(struct http_result *res, void *arg)
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

static inline void on_done_count(struct http_result *res, void *arg)
{
    struct counted *c = arg;

    on_done(res, &c->got);
    c->fx->pending--;
    if (c->fx->pending == 0)
        uv_stop(&c->fx->loop);
}

static inline void on_closed(void *arg)
{
    struct fixture *fx = arg;
    fx->closed = 1;
}

/* Handler used by most tests: the path picks the behaviour. */
static inline void handler(void *ctx, const struct ts_request *req, struct ts_response *resp)
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

static inline void fixture_init(struct fixture *fx, const struct http_options *opts, int tls)
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

static inline void fixture_close(struct fixture *fx)
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
static inline void run_one(struct fixture *fx, enum http_method m, const char *path,
                           const char *body, const struct http_limits *limits, struct got *g)
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

static inline int group_setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    return test_pki_make(&pki);
}

static inline int group_teardown(void **state)
{
    (void)state;
    test_pki_free(&pki);
    return 0;
}

#endif
