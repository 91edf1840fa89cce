/* The token manager: single flight, waiters, refresh ahead, 401 handling,
 * back-off. See oauth.h for the contract and docs/oauth.md for the why. */
#include "oauth.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "health.h"
#include "log.h"
#include "metrics.h"
#include "oauth_grant.h"

/* One request sent on the caller's behalf. */
struct oauth_call {
    struct oauth *o;
    struct http_request *req; /* unstarted template, cloned for each send */
    http_done_fn done;
    void *arg;
    unsigned gen;             /* token generation it was last sent with */
    int resent;               /* already resent after a 401 */
    enum http_class fail_cls; /* when deferred to fail */
    enum http_failure fail_failure;
    char fail_msg[128];
    struct oauth_call *next;
};

struct oauth {
    struct http_client *http;
    char conn[48];
    struct oauth_options opts; /* strings point into the copies below */
    char *strings[10];
    struct oauth_hooks hooks;
    uv_timer_t timer; /* deferred failures */
    char *access_token;
    uint64_t expires_at_ms;
    uint64_t refresh_at_ms;
    uint64_t requested_ms; /* when the token request in flight was started */
    unsigned gen;
    char *refresh_token;
    char *instance_url;
    int refreshing;
    unsigned failures;
    uint64_t retry_at_ms; /* no token request before this */
    unsigned long refreshes;
    char last_error[256];
    struct oauth_call *waiting, *waiting_tail; /* need a token */
    struct oauth_call *failing;                /* to fail from the timer */
    unsigned refs;                             /* owner + calls in flight + token request +
                                                  open timer */
    int closing;
};

static uint64_t now_ms(const struct oauth *o)
{
    return retry_clock_now(&o->hooks.clock);
}

static time_t wall_now(const struct oauth *o)
{
    return o->hooks.wall_now != NULL ? o->hooks.wall_now(o->hooks.ctx) : time(NULL);
}

void oauth_options_defaults(struct oauth_options *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->grant = OAUTH_CLIENT_CREDENTIALS;
    opts->jwt_lifetime_s = 180;
    opts->default_lifetime_ms = 15L * 60 * 1000;
    opts->refresh_ahead_ms = 60L * 1000;
    opts->backoff_base_ms = 1000;
    opts->backoff_max_ms = 5L * 60 * 1000;
}

static void unref(struct oauth *o)
{
    if (--o->refs > 0)
        return;
    for (size_t i = 0; i < sizeof(o->strings) / sizeof(o->strings[0]); i++)
        free(o->strings[i]);
    oauth_wipe_free(o->access_token);
    oauth_wipe_free(o->refresh_token);
    free(o->instance_url);
    free(o);
}

static void call_free(struct oauth_call *call)
{
    http_request_free(call->req);
    free(call);
}

/* Completes a call that could not be sent. */
static void call_fail(struct oauth_call *call, enum http_class cls, enum http_failure f,
                      long retry_after_ms, const char *msg)
{
    struct http_request *r = call->req;

    call->req = NULL;
    http_request_fail(r, call->done, call->arg, cls, f, retry_after_ms, msg);
    free(call);
}

static void start_refresh(struct oauth *o);
static void send_call(struct oauth_call *call);
static void defer_fail(struct oauth *o, struct oauth_call *call, enum http_class cls,
                       enum http_failure failure, const char *msg);

static void on_timer(uv_timer_t *t)
{
    struct oauth *o = t->data;
    struct oauth_call *list = o->failing;
    uint64_t now = now_ms(o);
    long wait = o->retry_at_ms > now ? (long)(o->retry_at_ms - now) : 0;

    o->failing = NULL;
    while (list != NULL) {
        struct oauth_call *call = list;
        list = call->next;
        if (call->fail_failure == HTTP_FAIL_AUTH)
            call_fail(call, HTTP_CLASS_UNAUTHORIZED, HTTP_FAIL_AUTH, wait, o->last_error);
        else
            call_fail(call, call->fail_cls, call->fail_failure, -1, call->fail_msg);
    }
}

static void on_timer_closed(uv_handle_t *h)
{
    unref(h->data);
}

/* Queues a call to fail from the loop, so that no completion runs inside
 * oauth_send(). HTTP_FAIL_AUTH failures carry the token error and the time
 * left in the back-off, computed when they fire. */
static void defer_fail(struct oauth *o, struct oauth_call *call, enum http_class cls,
                       enum http_failure failure, const char *msg)
{
    if (o->closing) {
        call_fail(call, HTTP_CLASS_CANCELLED, HTTP_FAIL_CANCELLED, -1, "token manager closed");
        return;
    }
    call->fail_cls = cls;
    call->fail_failure = failure;
    snprintf(call->fail_msg, sizeof(call->fail_msg), "%s", msg != NULL ? msg : "");
    call->next = o->failing;
    o->failing = call;
    uv_timer_start(&o->timer, on_timer, 0, 0);
}

static void wait_for_token(struct oauth *o, struct oauth_call *call)
{
    call->next = NULL;
    if (o->waiting_tail != NULL)
        o->waiting_tail->next = call;
    else
        o->waiting = call;
    o->waiting_tail = call;
}

static int token_valid(const struct oauth *o, uint64_t now)
{
    return o->access_token != NULL && now < o->expires_at_ms;
}

/* Sends waiting calls (token arrived) or fails them (refresh failed). */
static void drain_waiting(struct oauth *o, int ok)
{
    struct oauth_call *list = o->waiting;

    o->waiting = o->waiting_tail = NULL;
    while (list != NULL) {
        struct oauth_call *call = list;
        list = call->next;
        call->next = NULL;
        if (ok)
            send_call(call);
        else
            defer_fail(o, call, HTTP_CLASS_UNAUTHORIZED, HTTP_FAIL_AUTH, NULL);
    }
}

/* A static token has no grant to refresh it: on a 401 its file is read
 * again (an operator may have rotated it). Returns 1 when the token changed.
 * The token is never dropped: the CRM may accept it again later. */
static int static_reload(struct oauth *o)
{
    struct error err = {{0}};
    char *secret = config_secret_read(o->opts.token_file, &err);
    char *copy = NULL;

    if (secret == NULL) {
        log_error("oauth", o->conn, "cannot read the token file again: %s", err.msg);
        return 0;
    }
    if (o->access_token != NULL && strcmp(secret, o->access_token) == 0) {
        config_secret_free(secret);
        return 0;
    }
    copy = strdup(secret);
    config_secret_free(secret);
    if (copy == NULL)
        return 0;
    oauth_wipe_free(o->access_token);
    o->access_token = copy;
    o->gen++;
    log_info("oauth", o->conn, "token file changed; using the new token");
    return 1;
}

/* A request the HTTP client held (a vendor's Retry-After) goes with the
 * token valid now, not the one it was built with, which may have expired
 * while it waited (chaos clock-jump: 4-second tokens, a 401 0.28 s after
 * expiry). Without a valid token it stays unsent and waits for one. */
static int before_held_send(struct http_request *r, void *arg)
{
    struct oauth_call *call = arg;
    struct oauth *o = call->o;
    uint64_t now = now_ms(o);

    if (o->closing || o->access_token == NULL)
        return -1;
    if (o->opts.grant != OAUTH_STATIC) {
        if (!token_valid(o, now))
            return -1;
        if (now >= o->refresh_at_ms)
            start_refresh(o); /* in the background; this one goes now */
    }
    if (call->gen != o->gen) {
        if (http_request_set_bearer(r, o->access_token) < 0)
            return -1;
        call->gen = o->gen;
    }
    return 0;
}

static void on_call_done(struct http_result *res, void *arg)
{
    struct oauth_call *call = arg;
    struct oauth *o = call->o;
    int refused = res->status == 401 ||
                  (o->hooks.token_refused != NULL && o->hooks.token_refused(o->hooks.ctx, res));

    if (res->failure == HTTP_FAIL_AUTH && !o->closing) {
        /* Not sent (before_held_send): it waits for the next token like
         * any other call; not the one resend a 401 allows. */
        o->refs--;
        wait_for_token(o, call);
        start_refresh(o);
        return;
    }

    if (res->status == 401 && !call->resent && !o->closing && o->opts.grant == OAUTH_STATIC) {
        call->resent = 1;
        if (static_reload(o)) {
            o->refs--; /* the call is ours again, not in flight */
            send_call(call);
            return;
        }
        /* The same token: the 401 goes to the caller, which backs off. */
    } else if (refused && !call->resent && !o->closing) {
        /* The token may have been revoked or expired early: drop it (unless
         * a newer one replaced it meanwhile), refresh once, resend once. */
        call->resent = 1;
        if (call->gen == o->gen && o->access_token != NULL) {
            log_info("oauth", o->conn, "access token rejected (401); refreshing");
            oauth_wipe_free(o->access_token);
            o->access_token = NULL;
        }
        o->refs--; /* the call is ours again, not in flight */
        if (token_valid(o, now_ms(o))) {
            send_call(call);
        } else {
            wait_for_token(o, call);
            start_refresh(o);
        }
        return;
    }
    /* Health is decided where authentication is known: a 401 that a fresh
     * token did not cure means the credentials are bad; any success means
     * they are good again. */
    if (refused)
        health_raise(HEALTH_AUTH_FAILING, o->conn, "the API rejects our credentials (401)");
    else if (res->cls == HTTP_CLASS_OK)
        health_clear(HEALTH_AUTH_FAILING, o->conn);
    call->done(res, call->arg);
    call_free(call);
    unref(o);
}

static void send_call(struct oauth_call *call)
{
    struct oauth *o = call->o;
    struct http_request *r = NULL;
    struct error err = {{0}};

    /* The template stays unsent so that a 401 can be answered by a resend. */
    if (o->access_token == NULL) {
        defer_fail(o, call, HTTP_CLASS_UNAUTHORIZED, HTTP_FAIL_AUTH, "no access token");
        return;
    }
    r = http_request_clone(call->req);
    if (r == NULL || http_request_set_bearer(r, o->access_token) < 0) {
        http_request_free(r);
        defer_fail(o, call, HTTP_CLASS_PERMANENT, HTTP_FAIL_INTERNAL, "out of memory");
        return;
    }
    call->gen = o->gen;
    http_request_set_before_send(r, before_held_send, call);
    o->refs++;
    if (http_request_start(r, on_call_done, call, &err) < 0) {
        o->refs--;
        log_warn("oauth", o->conn, "cannot send: %s", err.msg);
        defer_fail(o, call, HTTP_CLASS_CANCELLED, HTTP_FAIL_CANCELLED, err.msg);
    }
}

/* Back-off after a failed token request: doubling window, "equal jitter"
 * (half fixed, half random) so the wait never shrinks to nothing. A
 * rejected credential starts at 30 s: an operator has to act. */
static void schedule_retry(struct oauth *o, long retry_after_ms, int rejected)
{
    struct retry_policy p;
    long base = o->opts.backoff_base_ms;
    long window = 0;
    long wait = 0;

    retry_policy_defaults(&p);
    if (rejected && base < 30000)
        base = 30000;
    if (base > o->opts.backoff_max_ms)
        base = o->opts.backoff_max_ms;
    p.base_ms = base;
    p.cap_ms = o->opts.backoff_max_ms;
    o->failures++;
    window = retry_backoff_ms(&p, (int)(o->failures < 30 ? o->failures : 30), 0.999999) + 1;
    wait = window / 2 + retry_backoff_ms(&p, (int)(o->failures < 30 ? o->failures : 30),
                                         (double)rand() / ((double)RAND_MAX + 1.0)) /
                            2;
    if (retry_after_ms > wait)
        wait = retry_after_ms;
    o->retry_at_ms = now_ms(o) + (uint64_t)wait;
    log_error("oauth", o->conn, "token request failed (%s); next attempt in %ld ms", o->last_error,
              wait);
}

static void on_token_done(struct http_result *res, void *arg)
{
    struct oauth *o = arg;
    struct oauth_token_response tr;
    uint64_t now = now_ms(o);
    long lifetime = 0;
    long ahead = 0;
    int ok = 0;

    o->refreshing = 0;
    if (o->closing) {
        unref(o);
        return;
    }
    if (res->cls == HTTP_CLASS_OK || res->failure == HTTP_FAIL_STATUS) {
        ok = oauth_parse_token_response(res->status, res->body, &tr) == 0;
    } else {
        memset(&tr, 0, sizeof(tr));
        snprintf(tr.error, sizeof(tr.error), "%s: %s", http_failure_name(res->failure), res->error);
    }
    if (ok) {
        oauth_wipe_free(o->access_token);
        o->access_token = tr.access_token;
        tr.access_token = NULL;
        lifetime = tr.expires_in_s > 0 ? tr.expires_in_s * 1000 : o->opts.default_lifetime_ms;
        ahead = o->opts.refresh_ahead_ms < lifetime / 2 ? o->opts.refresh_ahead_ms : lifetime / 2;
        /* The lifetime runs from when the server issued the token, which is
         * before its answer reached us (by the round trip, and by however
         * long our loop was busy): counted from when we asked, the token is
         * never used after the server's expiry (the chaos scenario
         * clock-jump, 4-second tokens, saw a 401 from counting from the
         * answer). */
        o->expires_at_ms = o->requested_ms + (uint64_t)lifetime;
        o->refresh_at_ms = o->expires_at_ms - (uint64_t)ahead;
        o->gen++;
        o->failures = 0;
        o->retry_at_ms = 0;
        o->last_error[0] = '\0';
        if (tr.instance_url != NULL) {
            free(o->instance_url);
            o->instance_url = tr.instance_url;
            tr.instance_url = NULL;
        }
        if (tr.refresh_token != NULL &&
            (o->refresh_token == NULL || strcmp(tr.refresh_token, o->refresh_token) != 0)) {
            /* Rotated: the old one may already be dead at the vendor, so the
             * new one must survive a restart. */
            if (o->hooks.persist_refresh_token != NULL)
                o->hooks.persist_refresh_token(o->hooks.ctx, tr.refresh_token);
            oauth_wipe_free(o->refresh_token);
            o->refresh_token = tr.refresh_token;
            tr.refresh_token = NULL;
        }
        log_info("oauth", o->conn, "access token obtained, valid %ld s", lifetime / 1000);
        metrics_counter_add(METRIC_TOKEN_REFRESHES, (const char *[]){o->conn, "ok"}, 1);
    } else {
        snprintf(o->last_error, sizeof(o->last_error), "token endpoint: %s", tr.error);
        schedule_retry(o, res->retry_after_ms, tr.credentials_rejected);
        metrics_counter_add(METRIC_TOKEN_REFRESHES, (const char *[]){o->conn, "failed"}, 1);
        health_raise(HEALTH_AUTH_FAILING, o->conn, "%s", o->last_error);
    }
    oauth_token_response_clear(&tr);
    /* A call that waits either goes now or fails now; with a still-valid
     * token nobody was waiting, except after a 401. */
    drain_waiting(o, ok || token_valid(o, now));
    unref(o);
}

static void start_refresh(struct oauth *o)
{
    struct http_request *r = NULL;
    struct error err = {{0}};
    char *body = NULL;
    size_t len = 0;
    uint64_t now = now_ms(o);

    if (o->refreshing || o->closing)
        return;
    if (now < o->retry_at_ms) {
        if (!token_valid(o, now))
            drain_waiting(o, 0);
        return;
    }
    body = oauth_grant_body(&o->opts, o->refresh_token, wall_now(o), &len, &err);
    if (body == NULL)
        goto fail;
    r = http_request_new(o->http, HTTP_POST, o->opts.token_url, &err);
    if (r == NULL)
        goto fail;
    http_request_set_conn(r, o->conn);
    http_request_set_sensitive(r);
    if (http_request_set_body(r, "application/x-www-form-urlencoded", body, len) < 0 ||
        http_request_add_header(r, "Accept", "application/json") < 0) {
        error_set(&err, "out of memory");
        goto fail;
    }
    oauth_wipe_free(body);
    body = NULL;
    o->refreshing = 1;
    o->requested_ms = now;
    o->refreshes++;
    o->refs++;
    if (http_request_start(r, on_token_done, o, &err) < 0) {
        r = NULL;
        o->refreshing = 0;
        o->refs--;
        goto fail;
    }
    return;
fail:
    oauth_wipe_free(body);
    http_request_free(r);
    snprintf(o->last_error, sizeof(o->last_error), "token request: %s", err.msg);
    schedule_retry(o, -1, 1);
    if (!token_valid(o, now))
        drain_waiting(o, 0);
}

void oauth_send(struct oauth *o, struct http_request *r, http_done_fn done, void *arg)
{
    struct oauth_call *call = NULL;
    uint64_t now = now_ms(o);

    call = calloc(1, sizeof(*call));
    if (call == NULL) {
        /* Without memory the loop will not last long; fail the request. */
        http_request_free(r);
        log_error("oauth", o->conn, "out of memory");
        return;
    }
    call->o = o;
    call->req = r;
    call->done = done;
    call->arg = arg;
    if (o->closing) {
        call_fail(call, HTTP_CLASS_CANCELLED, HTTP_FAIL_CANCELLED, -1, "token manager closed");
        return;
    }
    if (o->opts.grant == OAUTH_STATIC || token_valid(o, now)) {
        if (o->opts.grant != OAUTH_STATIC && now >= o->refresh_at_ms)
            start_refresh(o); /* in the background; this one goes now */
        send_call(call);
        return;
    }
    if (now < o->retry_at_ms) {
        defer_fail(o, call, HTTP_CLASS_UNAUTHORIZED, HTTP_FAIL_AUTH, NULL);
        return;
    }
    wait_for_token(o, call);
    start_refresh(o);
}

static char *dup_opt(struct oauth *o, size_t i, const char *s)
{
    if (s == NULL)
        return NULL;
    o->strings[i] = strdup(s);
    return o->strings[i];
}

int oauth_new(struct http_client *http, uv_loop_t *loop, const char *conn,
              const struct oauth_options *opts, const struct oauth_hooks *hooks, struct oauth **out,
              struct error *err)
{
    struct oauth *o = NULL;
    char *secret = NULL;

    *out = NULL;
    if (opts->grant != OAUTH_STATIC && opts->token_url == NULL)
        return error_set(err, "token_url is required");
    if (opts->grant == OAUTH_JWT_BEARER && (opts->jwt_lifetime_s < 1 || opts->jwt_lifetime_s > 180))
        return error_set(err, "jwt lifetime must be 1..180 s");
    o = calloc(1, sizeof(*o));
    if (o == NULL)
        return error_set(err, "out of memory");
    o->http = http;
    snprintf(o->conn, sizeof(o->conn), "%s", conn != NULL ? conn : "");
    o->opts = *opts;
    o->opts.token_url = dup_opt(o, 0, opts->token_url);
    o->opts.client_id = dup_opt(o, 1, opts->client_id);
    o->opts.client_secret_file = dup_opt(o, 2, opts->client_secret_file);
    o->opts.refresh_token_file = dup_opt(o, 3, opts->refresh_token_file);
    o->opts.token_file = dup_opt(o, 4, opts->token_file);
    o->opts.private_key_file = dup_opt(o, 5, opts->private_key_file);
    o->opts.jwt_subject = dup_opt(o, 6, opts->jwt_subject);
    o->opts.jwt_audience = dup_opt(o, 7, opts->jwt_audience);
    o->opts.scope = dup_opt(o, 8, opts->scope);
    if ((opts->token_url != NULL && o->opts.token_url == NULL) ||
        (opts->client_id != NULL && o->opts.client_id == NULL) ||
        (opts->client_secret_file != NULL && o->opts.client_secret_file == NULL) ||
        (opts->refresh_token_file != NULL && o->opts.refresh_token_file == NULL) ||
        (opts->token_file != NULL && o->opts.token_file == NULL) ||
        (opts->private_key_file != NULL && o->opts.private_key_file == NULL) ||
        (opts->jwt_subject != NULL && o->opts.jwt_subject == NULL) ||
        (opts->jwt_audience != NULL && o->opts.jwt_audience == NULL) ||
        (opts->scope != NULL && o->opts.scope == NULL)) {
        for (size_t i = 0; i < sizeof(o->strings) / sizeof(o->strings[0]); i++)
            free(o->strings[i]);
        free(o);
        return error_set(err, "out of memory");
    }
    if (hooks != NULL)
        o->hooks = *hooks;
    o->refs = 1;
    uv_timer_init(loop, &o->timer);
    o->timer.data = o;
    o->refs++;
    *out = o;
    if (opts->grant == OAUTH_STATIC) {
        secret = config_secret_read(opts->token_file, err);
        if (secret == NULL)
            goto fail;
        o->access_token = strdup(secret);
        config_secret_free(secret);
        if (o->access_token == NULL) {
            error_set(err, "out of memory");
            goto fail;
        }
    } else if (opts->grant == OAUTH_REFRESH_TOKEN && opts->refresh_token_file != NULL) {
        secret = config_secret_read(opts->refresh_token_file, err);
        if (secret == NULL)
            goto fail;
        o->refresh_token = strdup(secret);
        config_secret_free(secret);
    }
    return 0;
fail:
    *out = NULL;
    oauth_close(o);
    return -1;
}

int oauth_set_refresh_token(struct oauth *o, const char *token)
{
    char *copy = strdup(token);

    if (copy == NULL)
        return -1;
    oauth_wipe_free(o->refresh_token);
    o->refresh_token = copy;
    return 0;
}

const char *oauth_current_token(const struct oauth *o)
{
    return o->opts.grant != OAUTH_STATIC && token_valid(o, now_ms(o)) ? o->access_token : NULL;
}

const char *oauth_instance_url(const struct oauth *o)
{
    return o->instance_url;
}

const char *oauth_last_error(const struct oauth *o)
{
    return o->last_error;
}

unsigned long oauth_refresh_count(const struct oauth *o)
{
    return o->refreshes;
}

int oauth_refresh_pending(const struct oauth *o)
{
    return o->refreshing;
}

void oauth_close(struct oauth *o)
{
    struct oauth_call *list = NULL;

    if (o == NULL || o->closing)
        return;
    o->closing = 1;
    list = o->waiting;
    o->waiting = o->waiting_tail = NULL;
    while (list != NULL) {
        struct oauth_call *call = list;
        list = call->next;
        call_fail(call, HTTP_CLASS_CANCELLED, HTTP_FAIL_CANCELLED, -1, "token manager closed");
    }
    list = o->failing;
    o->failing = NULL;
    while (list != NULL) {
        struct oauth_call *call = list;
        list = call->next;
        call_fail(call, HTTP_CLASS_CANCELLED, HTTP_FAIL_CANCELLED, -1, "token manager closed");
    }
    uv_close((uv_handle_t *)&o->timer, on_timer_closed);
    unref(o);
}
