/* The token manager against a local HTTPS token endpoint and API: single
 * flight, refresh ahead of expiry (fake clock), 401 -> one refresh and one
 * resend, bad credentials back off, refresh token rotation is persisted,
 * and the JWT assertion verifies with the openssl CLI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oauth.h"
#include "oauth_grant.h"
#include "oauth_jwt.h"
#include "test_server.h"

static struct test_pki pki;

/* What the fake vendor does. Guarded by mu: handlers run on server threads. */
struct vendor {
    pthread_mutex_t mu;
    int token_requests;
    int api_requests;
    int api_401s;
    int next_token;
    int valid_from;      /* tokens "tok-N" with N >= valid_from are accepted */
    int reject_all;      /* API answers 401 to everything */
    int bad_credentials; /* token endpoint answers invalid_client */
    int rotate;          /* return refresh_token "rt-N" */
    int no_expires_in;   /* Salesforce-style response */
    long expires_in;
    long token_latency_ms; /* the fake clock moves this much while a token is issued */
    char last_form[8192];
};

static struct vendor v;
static uint64_t fake_ms;

static void vendor_reset(void)
{
    pthread_mutex_lock(&v.mu);
    v.token_requests = v.api_requests = v.api_401s = 0;
    v.next_token = 1;
    v.valid_from = 1;
    v.reject_all = v.bad_credentials = v.rotate = v.no_expires_in = 0;
    v.expires_in = 3600;
    v.token_latency_ms = 0;
    v.last_form[0] = '\0';
    pthread_mutex_unlock(&v.mu);
}

static void handler(void *ctx, const struct ts_request *req, struct ts_response *resp)
{
    char buf[512];

    (void)ctx;
    pthread_mutex_lock(&v.mu);
    if (strcmp(req->path, "/token") == 0) {
        int n = v.next_token++;
        v.token_requests++;
        fake_ms += (uint64_t)v.token_latency_ms; /* the client waits for us meanwhile */
        snprintf(v.last_form, sizeof(v.last_form), "%s", req->body);
        ts_response_header(resp, "Content-Type", "application/json");
        if (v.bad_credentials) {
            resp->status = 401;
            ts_response_body(resp, "{\"error\":\"invalid_client\","
                                   "\"error_description\":\"Invalid client credentials\"}");
        } else if (v.no_expires_in) {
            snprintf(buf, sizeof(buf),
                     "{\"access_token\":\"tok-%d\",\"instance_url\":"
                     "\"https://eu12.my.example.com\",\"token_type\":\"Bearer\"}",
                     n);
            ts_response_body(resp, buf);
        } else {
            snprintf(buf, sizeof(buf),
                     "{\"access_token\":\"tok-%d\",\"expires_in\":%ld,\"token_type\":"
                     "\"bearer\"%s%s%d%s}",
                     n, v.expires_in, v.rotate ? ",\"refresh_token\":" : "",
                     v.rotate ? "\"rt-" : "", v.rotate ? n + 1 : 0, v.rotate ? "\"" : "");
            if (!v.rotate)
                snprintf(buf, sizeof(buf),
                         "{\"access_token\":\"tok-%d\",\"expires_in\":%ld,\"token_type\":"
                         "\"bearer\"}",
                         n, v.expires_in);
            ts_response_body(resp, buf);
        }
    } else if (strcmp(req->path, "/api") == 0) {
        const char *auth = ts_request_header(req, "Authorization");
        int n = 0;
        v.api_requests++;
        if (auth != NULL && sscanf(auth, "Bearer tok-%d", &n) == 1 && n >= v.valid_from &&
            !v.reject_all) {
            snprintf(buf, sizeof(buf), "ok tok-%d", n);
            ts_response_body(resp, buf);
        } else if (auth != NULL && strcmp(auth, "Bearer static-secret-token") == 0) {
            ts_response_body(resp, "ok static");
        } else {
            v.api_401s++;
            resp->status = 401;
            ts_response_body(resp, "{\"message\":\"expired\"}");
        }
    } else {
        resp->status = 404;
    }
    pthread_mutex_unlock(&v.mu);
}

static int vget(int *field)
{
    int x = 0;
    pthread_mutex_lock(&v.mu);
    x = *field;
    pthread_mutex_unlock(&v.mu);
    return x;
}

static void vset(int *field, int x)
{
    pthread_mutex_lock(&v.mu);
    *field = x;
    pthread_mutex_unlock(&v.mu);
}

static uint64_t fake_now(void *arg)
{
    (void)arg;
    return fake_ms;
}

struct fx {
    uv_loop_t loop;
    struct http_client *http;
    struct oauth *tm;
    struct test_server *server;
    char base[64];
    char secret_file[300];
    int pending;
    char persisted[64];
    int persist_calls;
};

struct reply {
    struct fx *fx;
    int done;
    enum http_class cls;
    enum http_failure failure;
    long status;
    long retry_after_ms;
    char body[64];
    char error[256];
};

static void on_reply(struct http_result *res, void *arg)
{
    struct reply *r = arg;

    r->done++;
    r->cls = res->cls;
    r->failure = res->failure;
    r->status = res->status;
    r->retry_after_ms = res->retry_after_ms;
    snprintf(r->body, sizeof(r->body), "%s", res->body != NULL ? res->body : "");
    snprintf(r->error, sizeof(r->error), "%s", res->error);
    if (--r->fx->pending == 0)
        uv_stop(&r->fx->loop);
}

static void persist(void *ctx, const char *token)
{
    struct fx *f = ctx;
    f->persist_calls++;
    snprintf(f->persisted, sizeof(f->persisted), "%s", token);
}

static void write_secret(const char *path, const char *content, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static void fx_init(struct fx *f, struct oauth_options *o)
{
    struct http_options ho;
    struct oauth_hooks hooks;
    struct error err = {{0}};
    char url[128];

    memset(f, 0, sizeof(*f));
    vendor_reset();
    fake_ms = 1000000;
    assert_int_equal(uv_loop_init(&f->loop), 0);
    http_options_defaults(&ho);
    ho.ca_file = pki.ca_file;
    assert_int_equal(http_client_new(&f->loop, &ho, &f->http, &err), 0);
    f->server = test_server_start(pki.cert_pem, pki.key_pem, handler, NULL);
    assert_non_null(f->server);
    snprintf(f->base, sizeof(f->base), "https://127.0.0.1:%d", test_server_port(f->server));
    snprintf(url, sizeof(url), "%s/token", f->base);
    snprintf(f->secret_file, sizeof(f->secret_file), "%s/client_secret", pki.dir);
    write_secret(f->secret_file, "s3cr&t=value\n", 0600);
    if (o->token_url == NULL)
        o->token_url = url;
    if (o->client_secret_file == NULL && o->grant != OAUTH_JWT_BEARER)
        o->client_secret_file = f->secret_file;
    if (o->client_id == NULL)
        o->client_id = "my-client";
    memset(&hooks, 0, sizeof(hooks));
    hooks.persist_refresh_token = persist;
    hooks.ctx = f;
    hooks.clock.now_ms = fake_now;
    assert_int_equal(oauth_new(f->http, &f->loop, "test", o, &hooks, &f->tm, &err), 0);
}

static void fx_close(struct fx *f)
{
    oauth_close(f->tm);
    http_client_close(f->http, NULL, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    test_server_stop(f->server);
}

/* Sends n API requests and runs the loop until all completed. */
static void send_n(struct fx *f, struct reply *r, int n)
{
    struct error err = {{0}};
    char url[128];
    int i = 0;

    snprintf(url, sizeof(url), "%s/api", f->base);
    f->pending += n;
    for (i = 0; i < n; i++) {
        struct http_request *req = http_request_new(f->http, HTTP_GET, url, &err);
        assert_non_null(req);
        memset(&r[i], 0, sizeof(r[i]));
        r[i].fx = f;
        oauth_send(f->tm, req, on_reply, &r[i]);
        assert_int_equal(r[i].done, 0);
    }
    uv_run(&f->loop, UV_RUN_DEFAULT);
    for (i = 0; i < n; i++)
        assert_int_equal(r[i].done, 1);
}

static void single_flight_with_100_waiting(void **state)
{
    struct oauth_options o;
    struct fx f;
    struct reply r[100];
    int i = 0;

    (void)state;
    oauth_options_defaults(&o);
    o.grant = OAUTH_CLIENT_CREDENTIALS;
    o.scope = "read write";
    fx_init(&f, &o);
    send_n(&f, r, 100);
    assert_int_equal(vget(&v.token_requests), 1);
    assert_int_equal(oauth_refresh_count(f.tm), 1);
    for (i = 0; i < 100; i++) {
        assert_int_equal(r[i].cls, HTTP_CLASS_OK);
        assert_string_equal(r[i].body, "ok tok-1");
    }
    pthread_mutex_lock(&v.mu);
    /* client_secret_post, percent-encoded, newline of the file stripped. */
    assert_string_equal(v.last_form, "grant_type=client_credentials&client_id=my-client"
                                     "&client_secret=s3cr%26t%3Dvalue&scope=read%20write");
    pthread_mutex_unlock(&v.mu);
    fx_close(&f);
}

static void expiry_and_refresh_ahead(void **state)
{
    struct oauth_options o;
    struct fx f;
    struct reply r[3];

    (void)state;
    oauth_options_defaults(&o);
    o.refresh_ahead_ms = 10000;
    fx_init(&f, &o);
    pthread_mutex_lock(&v.mu);
    v.expires_in = 100;
    pthread_mutex_unlock(&v.mu);
    send_n(&f, r, 1);
    assert_string_equal(r[0].body, "ok tok-1");
    /* Half way: the token is used as is. */
    fake_ms += 50000;
    send_n(&f, r, 1);
    assert_string_equal(r[0].body, "ok tok-1");
    assert_int_equal(vget(&v.token_requests), 1);
    /* Inside the refresh-ahead window: this request goes with the still
     * valid token while a refresh runs beside it. */
    fake_ms += 41000;
    send_n(&f, r, 1);
    assert_string_equal(r[0].body, "ok tok-1");
    /* The refresh may still be in flight when the API reply came. */
    assert_int_equal(oauth_refresh_count(f.tm), 2);
    while (oauth_refresh_pending(f.tm))
        uv_run(&f.loop, UV_RUN_ONCE);
    assert_int_equal(vget(&v.token_requests), 2);
    send_n(&f, r, 1);
    assert_string_equal(r[0].body, "ok tok-2");
    /* Past expiry of tok-2 (obtained at +91 s, lives 100 s): wait, refresh. */
    fake_ms += 200000;
    send_n(&f, r, 2);
    assert_string_equal(r[0].body, "ok tok-3");
    assert_string_equal(r[1].body, "ok tok-3");
    assert_int_equal(vget(&v.token_requests), 3);
    fx_close(&f);
}

/* A token's lifetime counts from when it was asked for: the server issued
 * it then, and its answer may come much later (round trip, a busy loop).
 * Counted from the answer, a token 30 s late lived 30 s past the server's
 * expiry and went out with requests the server refuses (401). */
static void expiry_counts_from_the_request(void **state)
{
    struct oauth_options o;
    struct fx f;
    struct reply r[1];

    (void)state;
    oauth_options_defaults(&o);
    o.refresh_ahead_ms = 10000;
    fx_init(&f, &o);
    pthread_mutex_lock(&v.mu);
    v.expires_in = 100;
    v.token_latency_ms = 30000;
    pthread_mutex_unlock(&v.mu);
    send_n(&f, r, 1); /* asked at t, answered at t + 30 s */
    assert_string_equal(r[0].body, "ok tok-1");
    vset(&v.next_token, 2);
    pthread_mutex_lock(&v.mu);
    v.token_latency_ms = 0;
    pthread_mutex_unlock(&v.mu);
    /* t + 105 s: the server's tok-1 expired at t + 100 s. */
    fake_ms += 75000;
    send_n(&f, r, 1);
    assert_string_equal(r[0].body, "ok tok-2");
    assert_int_equal(vget(&v.token_requests), 2);
    fx_close(&f);
}

static void on_nudge(struct http_result *res, void *arg)
{
    (void)res;
    *(int *)arg = 1;
}

/* Ends a long hold now. The client looks at its delayed list again when a
 * request joins it, so a short-delayed request (to a path the vendor does
 * not know) is started: the held ones go with it, whatever the machine's
 * speed (a short real hold raced a loaded CI machine). */
static void hold_end(struct fx *f, uint64_t *hold_until)
{
    static int nudged;
    struct error err = {{0}};
    char url[128];
    struct http_request *req = NULL;

    *hold_until = uv_hrtime() / 1000000;
    snprintf(url, sizeof(url), "%s/nudge", f->base);
    req = http_request_new(f->http, HTTP_GET, url, &err);
    assert_non_null(req);
    http_request_set_delay(req, 1);
    assert_int_equal(http_request_start(req, on_nudge, &nudged, &err), 0);
}

/* The daemon's token manager with tok-1 (valid 100 s, refreshed 10 s
 * ahead) used once: the set-up of the held-request tests. */
static void fx_with_first_token(struct fx *f, struct reply *first)
{
    struct oauth_options o;

    oauth_options_defaults(&o);
    o.refresh_ahead_ms = 10000;
    fx_init(f, &o);
    pthread_mutex_lock(&v.mu);
    v.expires_in = 100;
    pthread_mutex_unlock(&v.mu);
    send_n(f, first, 1);
    assert_string_equal(first->body, "ok tok-1");
}

/* Sends a request to /api through the token manager, held by the HTTP
 * client until *HOLD_UNTIL unless that is NULL (not counted in
 * f->pending). */
static void send_api(struct fx *f, uint64_t *hold_until, struct reply *r)
{
    struct error err = {{0}};
    char url[128];
    struct http_request *req = NULL;

    snprintf(url, sizeof(url), "%s/api", f->base);
    req = http_request_new(f->http, HTTP_GET, url, &err);
    assert_non_null(req);
    if (hold_until != NULL)
        http_request_set_hold(req, hold_until);
    memset(r, 0, sizeof(*r));
    r->fx = f;
    oauth_send(f->tm, req, on_reply, r);
}

/* A request held by the HTTP client (a vendor's Retry-After) goes out with
 * the token that is valid when the hold ends, not the one it was built
 * with. Sent with the expired one, the vendor answered 401 and the request
 * went again after a refresh (chaos clock-jump counted that 401). */
static void a_held_request_goes_with_the_current_token(void **state)
{
    struct fx f;
    struct reply r[2];
    uint64_t hold_until = uv_hrtime() / 1000000 + 600000;

    (void)state;
    fx_with_first_token(&f, &r[0]);
    for (int i = 0; i < 2; i++) {
        f.pending++;
        send_api(&f, &hold_until, &r[i]);
    }
    /* Both wait in the client with tok-1; it expires meanwhile and the
     * vendor stops taking it. */
    fake_ms += 150000;
    vset(&v.valid_from, 2);
    hold_end(&f, &hold_until);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(r[i].done, 1);
        assert_int_equal(r[i].cls, HTTP_CLASS_OK);
        assert_string_equal(r[i].body, "ok tok-2");
    }
    assert_int_equal(vget(&v.api_401s), 0);
    assert_int_equal(vget(&v.token_requests), 2);
    assert_int_equal(vget(&v.api_requests), 3);
    fx_close(&f);
}

/* A held request whose token is still valid but was replaced meanwhile
 * goes with the newer one (the older may be revoked by the refresh). The
 * hold lasts until the refresh is done, whatever the machine's speed. */
static void a_held_request_takes_a_newer_token(void **state)
{
    struct fx f;
    struct reply r[2];
    uint64_t hold_until = uv_hrtime() / 1000000 + 600000;

    (void)state;
    fx_with_first_token(&f, &r[0]);
    send_api(&f, &hold_until, &r[1]); /* counted in pending below */
    /* Inside the refresh-ahead window: an unheld request goes with tok-1
     * and a refresh brings tok-2 while the first one is still held. */
    fake_ms += 95000;
    f.pending++;
    send_api(&f, NULL, &r[0]);
    uv_run(&f.loop, UV_RUN_DEFAULT); /* stops when r[0] is answered */
    /* Not UV_RUN_ONCE: it would block on the held request's timer after a
     * completion that ran in the timer phase. */
    while (oauth_refresh_pending(f.tm))
        uv_run(&f.loop, UV_RUN_NOWAIT);
    assert_string_equal(r[0].body, "ok tok-1");
    assert_int_equal(r[1].done, 0);
    vset(&v.valid_from, 2);
    f.pending++; /* r[1] */
    hold_end(&f, &hold_until);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    assert_int_equal(r[1].done, 1);
    assert_string_equal(r[1].body, "ok tok-2");
    assert_int_equal(vget(&v.api_401s), 0);
    assert_int_equal(vget(&v.token_requests), 2);
    fx_close(&f);
}

static void on_401_one_refresh_one_resend(void **state)
{
    struct oauth_options o;
    struct fx f;
    struct reply r[20];
    int i = 0;

    (void)state;
    oauth_options_defaults(&o);
    fx_init(&f, &o);
    send_n(&f, r, 1);
    assert_string_equal(r[0].body, "ok tok-1");
    /* The vendor revokes tok-1 (before its expiry). */
    vset(&v.valid_from, 2);
    send_n(&f, r, 20);
    for (i = 0; i < 20; i++) {
        assert_int_equal(r[i].cls, HTTP_CLASS_OK);
        assert_string_equal(r[i].body, "ok tok-2");
    }
    /* Twenty 401s, one refresh. */
    assert_int_equal(vget(&v.token_requests), 2);
    assert_int_equal(vget(&v.api_401s), 20);
    assert_int_equal(vget(&v.api_requests), 41);

    /* Nothing is accepted any more: one refresh, one resend, then the 401
     * reaches the caller. */
    vset(&v.reject_all, 1);
    send_n(&f, r, 1);
    assert_int_equal(r[0].cls, HTTP_CLASS_UNAUTHORIZED);
    assert_int_equal(r[0].status, 401);
    assert_int_equal(vget(&v.token_requests), 3);
    assert_int_equal(vget(&v.api_requests), 43);
    fx_close(&f);
}

static void bad_credentials_back_off(void **state)
{
    struct oauth_options o;
    struct fx f;
    struct reply r[5];
    int i = 0;

    (void)state;
    oauth_options_defaults(&o);
    o.backoff_max_ms = 60000;
    fx_init(&f, &o);
    vset(&v.bad_credentials, 1);
    send_n(&f, r, 5);
    for (i = 0; i < 5; i++) {
        assert_int_equal(r[i].cls, HTTP_CLASS_UNAUTHORIZED);
        assert_int_equal(r[i].failure, HTTP_FAIL_AUTH);
        assert_non_null(strstr(r[i].error, "invalid_client: Invalid client credentials"));
        /* A rejected credential waits 15..30 s before the next try. */
        assert_in_range(r[i].retry_after_ms, 15000, 30000);
    }
    assert_int_equal(vget(&v.token_requests), 1);
    assert_non_null(strstr(oauth_last_error(f.tm), "invalid_client"));
    /* Within the back-off: no new token request, fail fast. */
    fake_ms += 5000;
    send_n(&f, r, 3);
    assert_int_equal(r[0].failure, HTTP_FAIL_AUTH);
    assert_int_equal(vget(&v.token_requests), 1);
    assert_int_equal(vget(&v.api_requests), 0);
    /* After it: one new attempt, which now succeeds. */
    vset(&v.bad_credentials, 0);
    fake_ms += 60000;
    send_n(&f, r, 2);
    assert_int_equal(r[0].cls, HTTP_CLASS_OK);
    assert_int_equal(r[1].cls, HTTP_CLASS_OK);
    assert_int_equal(vget(&v.token_requests), 2);
    assert_string_equal(oauth_last_error(f.tm), "");
    fx_close(&f);
}

static void refresh_token_rotation_is_persisted(void **state)
{
    struct oauth_options o;
    struct fx f;
    struct reply r[1];
    char rt_file[320];

    (void)state;
    oauth_options_defaults(&o);
    o.grant = OAUTH_REFRESH_TOKEN;
    snprintf(rt_file, sizeof(rt_file), "%s/refresh_token", pki.dir);
    write_secret(rt_file, "rt-1\n", 0600);
    o.refresh_token_file = rt_file;
    fx_init(&f, &o);
    pthread_mutex_lock(&v.mu);
    v.rotate = 1;
    v.expires_in = 100;
    pthread_mutex_unlock(&v.mu);
    send_n(&f, r, 1);
    assert_string_equal(r[0].body, "ok tok-1");
    pthread_mutex_lock(&v.mu);
    assert_string_equal(v.last_form, "grant_type=refresh_token&refresh_token=rt-1"
                                     "&client_id=my-client&client_secret=s3cr%26t%3Dvalue");
    pthread_mutex_unlock(&v.mu);
    assert_int_equal(f.persist_calls, 1);
    assert_string_equal(f.persisted, "rt-2");
    /* The next refresh uses the rotated token. */
    fake_ms += 200000;
    send_n(&f, r, 1);
    assert_string_equal(r[0].body, "ok tok-2");
    pthread_mutex_lock(&v.mu);
    assert_non_null(strstr(v.last_form, "refresh_token=rt-2&"));
    pthread_mutex_unlock(&v.mu);
    assert_int_equal(f.persist_calls, 2);
    assert_string_equal(f.persisted, "rt-3");
    fx_close(&f);
}

static void secret_file_open_to_others_is_refused(void **state)
{
    struct oauth_options o;
    struct fx f;
    struct reply r[1];

    (void)state;
    oauth_options_defaults(&o);
    fx_init(&f, &o);
    assert_int_equal(chmod(f.secret_file, 0644), 0);
    send_n(&f, r, 1);
    assert_int_equal(r[0].cls, HTTP_CLASS_UNAUTHORIZED);
    assert_int_equal(r[0].failure, HTTP_FAIL_AUTH);
    assert_non_null(strstr(r[0].error, "group or others"));
    /* Refused before any request went out. */
    assert_int_equal(vget(&v.token_requests), 0);
    fx_close(&f);
}

static void static_token(void **state)
{
    struct oauth_options o;
    struct fx f;
    struct reply r[2];
    char tok_file[320];

    (void)state;
    oauth_options_defaults(&o);
    o.grant = OAUTH_STATIC;
    snprintf(tok_file, sizeof(tok_file), "%s/static_token", pki.dir);
    write_secret(tok_file, "static-secret-token\n", 0600);
    o.token_file = tok_file;
    fx_init(&f, &o);
    send_n(&f, r, 2);
    assert_int_equal(r[0].cls, HTTP_CLASS_OK);
    assert_string_equal(r[1].body, "ok static");
    assert_int_equal(vget(&v.token_requests), 0);
    fx_close(&f);
}

/* Decodes base64url with the openssl CLI into path. */
static void b64url_to_file(const char *b64url, size_t len, const char *path)
{
    char tmp[600];
    FILE *fp = NULL;
    size_t i = 0;

    snprintf(tmp, sizeof(tmp), "%s.b64", path);
    fp = fopen(tmp, "w");
    assert_non_null(fp);
    for (i = 0; i < len; i++)
        fputc(b64url[i] == '-' ? '+' : b64url[i] == '_' ? '/' : b64url[i], fp);
    for (i = len; i % 4 != 0; i++)
        fputc('=', fp);
    fputc('\n', fp);
    fclose(fp);
    assert_int_equal(test_sh("openssl base64 -d -A -in %s -out %s", tmp, path), 0);
}

static time_t fixed_wall(void *ctx)
{
    (void)ctx;
    return 1795514400; /* 2026-11-24 10:00:00 UTC */
}

static void jwt_bearer_verified_by_openssl(void **state)
{
    struct oauth_options o;
    struct fx f;
    struct reply r[1];
    char key_file[320], pub_file[320], in_file[320], sig_file[320], claims_file[320];
    char *form = NULL;
    char *assertion = NULL;
    char *dot1 = NULL, *dot2 = NULL;
    char *claims_text = NULL;
    json_t *claims = NULL;
    json_error_t jerr;
    FILE *fp = NULL;

    (void)state;
    snprintf(key_file, sizeof(key_file), "%s/jwt.key", pki.dir);
    snprintf(pub_file, sizeof(pub_file), "%s/jwt.pub", pki.dir);
    snprintf(in_file, sizeof(in_file), "%s/jwt.in", pki.dir);
    snprintf(sig_file, sizeof(sig_file), "%s/jwt.sig", pki.dir);
    snprintf(claims_file, sizeof(claims_file), "%s/jwt.claims", pki.dir);
    assert_int_equal(test_sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
                             "-out %s 2>/dev/null && chmod 600 %s && "
                             "openssl pkey -in %s -pubout -out %s",
                             key_file, key_file, key_file, pub_file),
                     0);
    oauth_options_defaults(&o);
    o.grant = OAUTH_JWT_BEARER;
    o.client_id = "3MVG9consumerkey";
    o.jwt_subject = "integration@example.com";
    o.jwt_audience = "https://login.salesforce.com";
    o.private_key_file = key_file;
    o.default_lifetime_ms = 600000;
    fx_init(&f, &o);
    vset(&v.no_expires_in, 1);
    send_n(&f, r, 1);
    assert_int_equal(r[0].cls, HTTP_CLASS_OK);
    assert_string_equal(r[0].body, "ok tok-1");
    assert_string_equal(oauth_instance_url(f.tm), "https://eu12.my.example.com");
    /* No expires_in: the configured lifetime applies. */
    fake_ms += 590000;
    send_n(&f, r, 1);
    assert_string_equal(r[0].body, "ok tok-1");
    /* Refresh-ahead window (60 s before the 600 s lifetime) hit. */
    while (oauth_refresh_pending(f.tm))
        uv_run(&f.loop, UV_RUN_ONCE);
    assert_int_equal(vget(&v.token_requests), 2);

    pthread_mutex_lock(&v.mu);
    form = strdup(v.last_form);
    pthread_mutex_unlock(&v.mu);
    assert_non_null(form);
    assertion = strstr(form, "&assertion=");
    assert_non_null(assertion);
    *assertion = '\0';
    assertion += strlen("&assertion=");
    assert_string_equal(form, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer");
    dot1 = strchr(assertion, '.');
    assert_non_null(dot1);
    dot2 = strchr(dot1 + 1, '.');
    assert_non_null(dot2);
    /* The signing input and the signature, checked by openssl. */
    fp = fopen(in_file, "w");
    assert_non_null(fp);
    fwrite(assertion, 1, (size_t)(dot2 - assertion), fp);
    fclose(fp);
    b64url_to_file(dot2 + 1, strlen(dot2 + 1), sig_file);
    assert_int_equal(test_sh("openssl dgst -sha256 -verify %s -signature %s %s >/dev/null",
                             pub_file, sig_file, in_file),
                     0);
    /* A changed input must not verify (the check can fail). */
    assert_int_equal(test_sh("printf x >> %s", in_file), 0);
    assert_int_not_equal(test_sh("openssl dgst -sha256 -verify %s -signature %s %s >/dev/null",
                                 pub_file, sig_file, in_file),
                         0);
    /* The claims. */
    b64url_to_file(dot1 + 1, (size_t)(dot2 - dot1 - 1), claims_file);
    claims_text = test_read_file(claims_file, NULL);
    assert_non_null(claims_text);
    claims = json_loads(claims_text, 0, &jerr);
    assert_non_null(claims);
    assert_string_equal(json_string_value(json_object_get(claims, "iss")), "3MVG9consumerkey");
    assert_string_equal(json_string_value(json_object_get(claims, "sub")),
                        "integration@example.com");
    assert_string_equal(json_string_value(json_object_get(claims, "aud")),
                        "https://login.salesforce.com");
    {
        time_t now = time(NULL);
        json_int_t exp = json_integer_value(json_object_get(claims, "exp"));
        assert_true(exp > now - 60 && exp <= now + 180 + 5);
    }
    json_decref(claims);
    free(claims_text);
    free(form);
    fx_close(&f);
}

/* The signer alone, on a fixed clock: exp is exactly now + lifetime. */
static void jwt_claims_exact(void **state)
{
    struct error err = {{0}};
    char key_file[320];
    char *key = NULL;
    char *jwt = NULL;
    char *dot1 = NULL;
    char *dot2 = NULL;

    (void)state;
    snprintf(key_file, sizeof(key_file), "%s/jwt2.key", pki.dir);
    assert_int_equal(
        test_sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out %s 2>/dev/null",
                key_file),
        0);
    key = test_read_file(key_file, NULL);
    assert_non_null(key);
    jwt = oauth_jwt_rs256(key, strlen(key), "i", "s", "a", fixed_wall(NULL), 180, &err);
    assert_non_null(jwt);
    dot1 = strchr(jwt, '.');
    dot2 = strchr(dot1 + 1, '.');
    /* {"alg":"RS256","typ":"JWT"} */
    assert_memory_equal(jwt, "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9", 36);
    /* {"iss":"i","sub":"s","aud":"a","exp":1795514580,"iat":1795514400} */
    {
        char *want =
            oauth_base64url((const unsigned char *)"{\"iss\":\"i\",\"sub\":\"s\",\"aud\":\"a\","
                                                   "\"exp\":1795514580,\"iat\":1795514400}",
                            strlen("{\"iss\":\"i\",\"sub\":\"s\",\"aud\":\"a\",\"exp\":1795514580,"
                                   "\"iat\":1795514400}"));
        assert_int_equal((size_t)(dot2 - dot1 - 1), strlen(want));
        assert_memory_equal(dot1 + 1, want, strlen(want));
        free(want);
    }
    free(jwt);
    /* An EC key is refused: RS256 needs RSA. */
    jwt = oauth_jwt_rs256(pki.key_pem, strlen(pki.key_pem), "i", "s", "a", 0, 180, &err);
    assert_null(jwt);
    assert_non_null(strstr(err.msg, "not an RSA key"));
    free(key);
}

static void token_response_parsing(void **state)
{
    struct oauth_token_response t;

    (void)state;
    assert_int_equal(
        oauth_parse_token_response(200, "{\"access_token\":\"a\",\"expires_in\":\"1799\"}", &t), 0);
    assert_string_equal(t.access_token, "a");
    assert_int_equal(t.expires_in_s, 1799);
    assert_null(t.refresh_token);
    oauth_token_response_clear(&t);
    assert_int_equal(oauth_parse_token_response(400,
                                                "{\"error\":\"invalid_grant\","
                                                "\"error_description\":\"expired access/refresh "
                                                "token\"}",
                                                &t),
                     -1);
    assert_string_equal(t.error, "HTTP 400: invalid_grant: expired access/refresh token");
    assert_int_equal(t.credentials_rejected, 1);
    oauth_token_response_clear(&t);
    assert_int_equal(oauth_parse_token_response(503, "<html>", &t), -1);
    assert_string_equal(t.error, "HTTP 503");
    assert_int_equal(t.credentials_rejected, 0);
    assert_int_equal(oauth_parse_token_response(200, "{\"token_type\":\"x\"}", &t), -1);
    assert_string_equal(t.error, "token response has no access_token");
}

static int group_setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    pthread_mutex_init(&v.mu, NULL);
    return test_pki_make(&pki);
}

static int group_teardown(void **state)
{
    (void)state;
    test_pki_free(&pki);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(token_response_parsing),
        cmocka_unit_test(jwt_claims_exact),
        cmocka_unit_test(single_flight_with_100_waiting),
        cmocka_unit_test(expiry_and_refresh_ahead),
        cmocka_unit_test(expiry_counts_from_the_request),
        cmocka_unit_test(a_held_request_goes_with_the_current_token),
        cmocka_unit_test(a_held_request_takes_a_newer_token),
        cmocka_unit_test(on_401_one_refresh_one_resend),
        cmocka_unit_test(bad_credentials_back_off),
        cmocka_unit_test(refresh_token_rotation_is_persisted),
        cmocka_unit_test(secret_file_open_to_others_is_refused),
        cmocka_unit_test(static_token),
        cmocka_unit_test(jwt_bearer_verified_by_openssl),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
