/* The HTTP client's timeouts, transport failures and shutdown against the
 * local HTTPS server (http_fixture.h): what is retryable and what is
 * indeterminate, a thousand requests at once, a clean shutdown with
 * requests in flight (split out of test_http.c, issue 18). */
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
#include "http_fixture.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(total_timeout_get_retry_post_indeterminate),
        cmocka_unit_test(reset_after_body_is_indeterminate),
        cmocka_unit_test(low_speed_abort),
        cmocka_unit_test(connect_timeout_is_retryable_even_for_post),
        cmocka_unit_test(connection_refused_is_retryable),
        cmocka_unit_test(thousand_concurrent_requests),
        cmocka_unit_test(shutdown_with_requests_in_flight),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
