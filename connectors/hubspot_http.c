/* The HubSpot connector's HTTP plumbing: the instance's accessors for the
 * other hubspot*.c files, the API paths with the configured versions, and
 * requests through the shared wrapper (crm_request.h) with HubSpot's 429
 * policy (its search window apart from the general budget). Moved out of
 * hubspot.c (issue 18): the push and pull files call these, hubspot.c
 * calls them, and nothing here calls back into those files. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubspot.h"
#include "log.h"
#include "ratelimit.h"
#include "strbuf.h"
#include "timefmt.h"

const struct hs_map *hs_map_of(const struct hubspot *hs)
{
    return &hs->map;
}
struct connector *hs_conn(const struct hubspot *hs)
{
    return hs->conn;
}
long hs_search_lag_ms(const struct hubspot *hs)
{
    return hs->cfg->search_lag_ms;
}
long hs_lookback_ms(const struct hubspot *hs)
{
    return hs->cfg->common.lookback_ms;
}
long hs_archived_sweep_ms(const struct hubspot *hs)
{
    return hs->cfg->archived_sweep_ms;
}
long hs_status_sweep_ms(const struct hubspot *hs)
{
    return hs->cfg->status_sweep_ms;
}
struct hs_pull_state *hs_pull_state(struct hubspot *hs)
{
    return &hs->pull;
}
int hs_closing(const struct hubspot *hs)
{
    return hs->closing;
}

const char *hs_version(const struct hubspot *hs, int family)
{
    switch (family) {
    case HS_V_OBJECTS:
        return hs->cfg->version_objects;
    case HS_V_PROPERTIES:
        return hs->cfg->version_properties;
    case HS_V_LISTS:
        return hs->cfg->version_lists;
    default:
        return hs->cfg->version_prefs;
    }
}

/* --- HTTP plumbing (the shared request wrapper, crm_request.h) --- */

enum { TAG_GENERAL = 0, TAG_SEARCH = 1 };

/* HubSpot's 429 policy, before the rate limiter sees the answer: a DAILY
 * 429 holds until UTC midnight (max_retry_after at most), HubSpot's own
 * 429s carry no Retry-After (its windows are per second for search,
 * rolling 10 s otherwise). Search
 * has its own per-second limit (and its answers carry no rate-limit
 * headers): its non-DAILY 429 holds the search window only, never the
 * general budget the pushes draw on. */
int hs_http_policy(void *ctx, int tag, struct http_result *res)
{
    struct hubspot *hs = ctx;
    char name[64];

    if (res->status != 429)
        return 0;
    hs_policy_name(res->body, name, sizeof(name));
    if (strcmp(name, "DAILY") == 0) {
        int64_t wall = timefmt_now_ms();
        long reset = (long)(86400000 - wall % 86400000);
        /* Held for max_retry_after at most (issue 14 item 10): then asked
         * again, not stopped for up to a day. */
        res->retry_after_ms = reset < http_retry_after_cap() ? reset : http_retry_after_cap();
        log_warn("hubspot", hs->conn->name,
                 "daily API budget spent (it resets at UTC midnight, in %ld s); holding %ld s "
                 "([daemon] max_retry_after)",
                 reset / 1000, res->retry_after_ms / 1000);
        return 0;
    }
    if (res->retry_after_ms < 0)
        res->retry_after_ms = 1000;
    if (tag != TAG_SEARCH)
        return 0;
    ratelimit_window_hold(&hs->search_rl, res->retry_after_ms, crm_mono_ms());
    return 1;
}

static int send_request(struct hubspot *hs, int tag, enum http_method method, const char *path,
                        const char *body, http_done_fn done, void *arg)
{
    struct crm_req rq = {0};

    if (path == NULL) {
        log_error("hubspot", hs->conn->name, "request path too long");
        return -1;
    }
    rq.method = method;
    rq.base = hs->base;
    rq.path = path;
    rq.body = body;
    rq.tag = tag;
    return crm_request(&hs->h, &rq, done, arg);
}

int hs_request(struct hubspot *hs, enum http_method method, const char *path, const char *body,
               http_done_fn done, void *arg)
{
    return send_request(hs, TAG_GENERAL, method, path, body, done, arg);
}

int hs_request_search(struct hubspot *hs, const char *path, const char *body, http_done_fn done,
                      void *arg)
{
    return send_request(hs, TAG_SEARCH, HTTP_POST, path, body, done, arg);
}

const char *hs_pathf(struct hubspot *hs, int family, const char *fmt, ...)
{
    va_list ap;
    int rc;

    strbuf_free(&hs->path);
    strbuf_init(&hs->path, HS_PATH_MAX);
    va_start(ap, fmt);
    rc = hs_api_pathv(&hs->path, family, hs_version(hs, family), fmt, ap);
    va_end(ap);
    return rc == 0 ? strbuf_str(&hs->path) : NULL;
}

const char *hs_path(struct hubspot *hs, int family, const char *tail)
{
    return hs_pathf(hs, family, "%s", tail);
}
