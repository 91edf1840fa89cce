/* The HTTP client against a local HTTPS server whose CA is made here
 * (http_fixture.h): what each outcome is classified as, that connections
 * are reused, that limits hold, HTTP/2 when offered (timeouts, transport
 * failures and shutdown: test_http_faults.c; delayed and held requests:
 * test_http_hold.c). No assertion depends on how long something took. */
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
        cmocka_unit_test(http2_when_offered),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
