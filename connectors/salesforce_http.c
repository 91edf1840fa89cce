/* The Salesforce connector's HTTP plumbing: the instance's accessors for
 * the other salesforce*.c files, data paths and queries, the daily API
 * budget and auth bookkeeping read from every response (the policy hook),
 * and requests through the shared wrapper, held behind the bootstrap call
 * until the instance URL is known. Moved out of salesforce.c (issue 18):
 * the push, pull and bulk files call these, salesforce.c calls them, and
 * nothing here calls back into those files. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health.h"
#include "log.h"
#include "metrics.h"
#include "oauth.h"
#include "ratelimit.h"
#include "salesforce_int.h"
#include "strbuf.h"

struct req_ctx {
    struct salesforce *sf;
    enum http_method method;
    char *path; /* absolute URL when it starts with http */
    char *content_type;
    char *body;
    http_done_fn done;
    void *arg;
    struct req_ctx *next; /* waiting for the instance URL */
};

const struct sf_map *sf_map_of(const struct salesforce *sf)
{
    return &sf->map;
}
struct connector *sf_conn(const struct salesforce *sf)
{
    return sf->conn;
}
int sf_closing(const struct salesforce *sf)
{
    return sf->closing;
}
long sf_lookback_ms(const struct salesforce *sf)
{
    return sf->cfg->common.lookback_ms;
}
struct sf_pull_state *sf_pull_state(struct salesforce *sf)
{
    return &sf->pull;
}

const char *sf_data_path(struct salesforce *sf, const char *tail)
{
    strbuf_free(&sf->path);
    strbuf_init(&sf->path, SF_PATH_MAX);
    strbuf_addf(&sf->path, "/services/data/%s%s", sf->cfg->api_version, tail);
    return strbuf_str(&sf->path);
}

int sf_query(struct salesforce *sf, const char *verb, const char *soql, http_done_fn done,
             void *arg)
{
    char *path = soql != NULL ? sf_query_path(sf->cfg->api_version, verb, soql) : NULL;
    int rc = path != NULL ? sf_request(sf, HTTP_GET, path, NULL, NULL, done, arg) : -1;

    free(path);
    return rc;
}

/* --- quota and auth bookkeeping, from every response --- */

static void note_refreshes(struct salesforce *sf)
{
    unsigned long n = oauth_refresh_count(sf->h.oauth);

    if (n > sf->refreshes_seen) {
        const char *res = oauth_last_error(sf->h.oauth)[0] == '\0' ? "ok" : "failed";
        metrics_counter_add(METRIC_TOKEN_REFRESHES, (const char *[]){sf->conn->name, res},
                            n - sf->refreshes_seen);
        sf->refreshes_seen = n;
    }
}

/* Salesforce's policy on every answer (the request wrapper's hook, before
 * the rate limiter sees it, which reads only the status and the headers):
 * token refresh metrics, the daily budget from Sforce-Limit-Info, a 403
 * REQUEST_LIMIT_EXCEEDED kept as a retry (concurrent: seconds; daily:
 * quota_retry), the health of auth. */
int sf_http_policy(void *ctx, int tag, struct http_result *res)
{
    struct salesforce *sf = ctx;
    struct connector *conn = sf->conn;
    const char *info = http_result_header(res, "Sforce-Limit-Info");
    long used, limit;

    (void)tag;
    note_refreshes(sf);
    if (info != NULL && ratelimit_parse_sforce(info, &used, &limit) == 0 && limit > 0) {
        sf->api_used = used;
        sf->api_limit = limit;
        metrics_gauge_set(METRIC_QUOTA_REMAINING, (const char *[]){conn->name},
                          (double)(limit > used ? limit - used : 0));
    }
    if (res->status == 403) {
        char code[64], msg[200];
        sf_error_of(res->body, code, sizeof(code), msg, sizeof(msg));
        if (strcmp(code, "REQUEST_LIMIT_EXCEEDED") == 0 && !sf_limit_is_daily(msg)) {
            /* The concurrent long-running request limit, not the day's
             * budget: seconds, not an hour. */
            res->cls = HTTP_CLASS_RETRY;
            res->retry_after_ms = SF_CONCURRENT_RETRY_MS;
            log_warn("salesforce", conn->name,
                     "concurrent request limit reached (%s): retry in %d s", msg,
                     SF_CONCURRENT_RETRY_MS / 1000);
        } else if (strcmp(code, "REQUEST_LIMIT_EXCEEDED") == 0) {
            /* Not the records' fault: keep everything queued, back off the
             * destination until the budget can have room again. */
            res->cls = HTTP_CLASS_RETRY;
            res->retry_after_ms = sf->cfg->quota_retry_ms;
            if (!sf->quota_exhausted) {
                log_warn("salesforce", conn->name,
                         "daily API request budget spent (%ld/%ld): no requests for %ld s",
                         sf->api_used, sf->api_limit, sf->cfg->quota_retry_ms / 1000);
                health_raise(HEALTH_QUOTA_EXHAUSTED, conn->name,
                             "Salesforce REQUEST_LIMIT_EXCEEDED: daily API budget spent "
                             "(%ld/%ld); changes stay queued",
                             sf->api_used, sf->api_limit);
                sf->quota_exhausted = 1;
            }
        }
    } else if (res->cls == HTTP_CLASS_OK && sf->quota_exhausted) {
        sf->quota_exhausted = 0;
        log_info("salesforce", conn->name, "API budget available again (%ld/%ld)", sf->api_used,
                 sf->api_limit);
        health_clear(HEALTH_QUOTA_EXHAUSTED, conn->name);
    }
    if (res->cls == HTTP_CLASS_UNAUTHORIZED) {
        if (!sf->auth_failing) {
            log_warn("salesforce", conn->name, "not authorised: %s",
                     oauth_last_error(sf->h.oauth)[0] ? oauth_last_error(sf->h.oauth)
                                                      : "INVALID_SESSION_ID after a new session");
            health_raise(HEALTH_AUTH_FAILING, conn->name, "Salesforce: %s",
                         oauth_last_error(sf->h.oauth)[0] ? oauth_last_error(sf->h.oauth)
                                                          : "session refused");
            sf->auth_failing = 1;
        }
    } else if (res->status != 0 && sf->auth_failing) {
        sf->auth_failing = 0;
        health_clear(HEALTH_AUTH_FAILING, conn->name);
    }
    return 0;
}

/* 1 while the bulk lanes must leave the rest of the day's budget to the
 * priority lane. */
int sf_inside_reserve(const struct salesforce *sf)
{
    long left;

    if (sf->api_limit <= 0)
        return 0;
    left = sf->api_limit - sf->api_used;
    return left * 100 <= sf->api_limit * sf->cfg->daily_reserve;
}

/* --- HTTP plumbing --- */

static void req_free(struct req_ctx *rc)
{
    free(rc->path);
    free(rc->content_type);
    free(rc->body);
    free(rc);
}

static void request_done(struct http_result *res, void *arg)
{
    struct req_ctx *rc = arg;

    rc->done(res, rc->arg);
    req_free(rc);
}

/* Through the shared request wrapper: the URL sized to the path (a query
 * for 200 keys is several kB; a fixed buffer cut it into a
 * MALFORMED_QUERY), the policy hook, one rate-limit observe. */
static int start(struct salesforce *sf, struct req_ctx *rc)
{
    struct crm_req rq = {0};

    rq.method = rc->method;
    rq.base = strncmp(rc->path, "http", 4) == 0 ? "" : oauth_instance_url(sf->h.oauth);
    rq.path = rc->path;
    rq.content_type = rc->content_type;
    rq.body = rc->body;
    return crm_request(&sf->h, &rq, request_done, rc);
}

static void bootstrap_done(struct http_result *res, void *arg)
{
    struct salesforce *sf = arg;
    struct req_ctx *q = sf->waiting;

    sf->bootstrapping = 0;
    sf->waiting = NULL;
    while (q != NULL) {
        struct req_ctx *rc = q;
        q = q->next;
        if (sf->closing || oauth_instance_url(sf->h.oauth) == NULL || start(sf, rc) != 0) {
            /* No session: complete the waiting call with this result. */
            enum http_class cls = res->cls;
            if (!sf->closing && cls == HTTP_CLASS_OK)
                cls = HTTP_CLASS_RETRY;
            res->cls = sf->closing ? HTTP_CLASS_CANCELLED
                       : oauth_instance_url(sf->h.oauth) == NULL && cls != HTTP_CLASS_RETRY
                           ? HTTP_CLASS_UNAUTHORIZED
                           : cls;
            rc->done(res, rc->arg);
            req_free(rc);
        }
    }
}

/* Mints a session with a call every user may make on the login host
 * (userinfo); only the token response's instance_url matters. */
static void bootstrap(struct salesforce *sf)
{
    struct crm_req rq = {0};

    if (sf->bootstrapping)
        return;
    rq.method = HTTP_GET;
    rq.base = sf->login;
    rq.path = "/services/oauth2/userinfo";
    sf->bootstrapping = 1;
    if (crm_request(&sf->h, &rq, bootstrap_done, sf) != 0)
        sf->bootstrapping = 0;
}

static void hold_cb(uv_timer_t *t);

/* Milliseconds left of the destination's Retry-After hold (0: none). */
static long hold_left(struct salesforce *sf)
{
    return (long)crm_held_ms(sf->conn);
}

/* Completes the held requests with cls (closing) or sends them when the
 * hold is over. */
void sf_http_release_held(struct salesforce *sf, enum http_class cls)
{
    struct req_ctx *q = sf->held;
    long left = hold_left(sf);

    if (cls == HTTP_CLASS_OK && left > 0) {
        uv_timer_start(&sf->hold_timer, hold_cb, (uint64_t)left + 1, 0);
        return;
    }
    sf->held = NULL;
    while (q != NULL) {
        struct req_ctx *rc = q;
        q = q->next;
        rc->next = NULL;
        if (cls != HTTP_CLASS_OK || start(sf, rc) != 0) {
            struct http_result res;
            memset(&res, 0, sizeof(res));
            res.cls = cls != HTTP_CLASS_OK ? cls : HTTP_CLASS_RETRY;
            rc->done(&res, rc->arg);
            req_free(rc);
        }
    }
}

static void hold_cb(uv_timer_t *t)
{
    sf_http_release_held(t->data, HTTP_CLASS_OK);
}

int sf_request(struct salesforce *sf, enum http_method method, const char *path,
               const char *content_type, const char *body, http_done_fn done, void *arg)
{
    struct req_ctx *rc;

    if (sf->closing || path == NULL)
        return -1;
    rc = calloc(1, sizeof(*rc));
    if (rc == NULL)
        return -1;
    rc->sf = sf;
    rc->method = method;
    rc->path = strdup(path);
    rc->content_type = strdup(content_type ? content_type : "application/json");
    rc->body = body ? strdup(body) : NULL;
    rc->done = done;
    rc->arg = arg;
    if (rc->path == NULL || rc->content_type == NULL || (body != NULL && rc->body == NULL)) {
        req_free(rc);
        return -1;
    }
    if (oauth_instance_url(sf->h.oauth) == NULL && strncmp(path, "http", 4) != 0) {
        struct req_ctx **tail = &sf->waiting;
        while (*tail != NULL)
            tail = &(*tail)->next;
        *tail = rc;
        bootstrap(sf);
        return 0;
    }
    /* Inside a Retry-After hold (told by another request's 429): wait it
     * out; the engine holds new batches, this keeps the next steps of the
     * jobs in flight from going out meanwhile. */
    if (hold_left(sf) > 0) {
        struct req_ctx **tail = &sf->held;
        while (*tail != NULL)
            tail = &(*tail)->next;
        *tail = rc;
        if (!uv_is_active((uv_handle_t *)&sf->hold_timer))
            uv_timer_start(&sf->hold_timer, hold_cb, (uint64_t)hold_left(sf) + 1, 0);
        return 0;
    }
    if (start(sf, rc) != 0) {
        req_free(rc);
        return -1;
    }
    return 0;
}
