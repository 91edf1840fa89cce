/* The request wrapper of the CRM connectors (crm_request.h). */
#include "crm_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connector.h"
#include "log.h"
#include "oauth.h"
#include "ratelimit.h"

struct req_ctx {
    struct crm_http *h;
    http_done_fn done;
    void *arg;
    int tag;
};

uint64_t crm_mono_ms(void)
{
    return uv_hrtime() / 1000000;
}

uint64_t crm_held_ms(const struct connector *conn)
{
    const struct ratelimit *rl = conn->ratelimit;
    uint64_t now = crm_mono_ms();

    return rl != NULL && rl->hold_until_ms > now ? rl->hold_until_ms - now : 0;
}

char *crm_url_join(const char *base, const char *path)
{
    size_t lb = strlen(base), lp = strlen(path);
    char *url = malloc(lb + lp + 1);

    if (url == NULL)
        return NULL;
    memcpy(url, base, lb);
    memcpy(url + lb, path, lp + 1);
    return url;
}

char *crm_base_url(const char *url)
{
    char *base = strdup(url);
    size_t len = base != NULL ? strlen(base) : 0;

    while (len > 0 && base[len - 1] == '/')
        base[--len] = '\0';
    return base;
}

void crm_life_release(struct crm_life *l)
{
    struct connector *conn = l->conn;
    void (*closed)(struct connector *) = l->closed;

    if (--l->open > 0)
        return;
    l->free_priv(l->priv); /* l lives in priv: nothing of it after this */
    conn->priv = NULL;
    if (closed != NULL)
        closed(conn);
}

int crm_close_nothing(struct connector *conn, void (*done)(struct connector *conn))
{
    if (conn->priv != NULL)
        return 0;
    if (done != NULL)
        done(conn);
    return 1;
}

static void life_http_closed(void *arg)
{
    crm_life_release(arg);
}

int crm_host_check(const struct connector *conn, struct error *err)
{
    if (conn->host == NULL || conn->host->version >= HOST_SERVICES_VERSION)
        return 0;
    return error_set(err, "the host offers services of version %d; this connector needs %d",
                     conn->host->version, HOST_SERVICES_VERSION);
}

int crm_http_open(struct crm_http *h, struct connector *conn, const char *subsystem,
                  const struct http_options *hopts, crm_policy_fn policy, void *policy_ctx,
                  struct error *err)
{
    if (crm_host_check(conn, err) != 0)
        return -1;
    h->conn = conn;
    h->subsystem = subsystem;
    h->limits = hopts->limits;
    h->policy = policy;
    h->policy_ctx = policy_ctx;
    h->closing = 0;
    return http_client_new(conn->loop, hopts, &h->http, err);
}

void crm_http_close(struct crm_http *h, struct crm_life *l)
{
    h->closing = 1;
    if (h->oauth != NULL)
        oauth_close(h->oauth);
    l->open++;
    http_client_close(h->http, life_http_closed, l);
}

static void request_done(struct http_result *res, void *arg)
{
    struct req_ctx *rc = arg;
    struct crm_http *h = rc->h;
    struct connector *conn = h->conn;
    int own = 0;

    if (h->policy != NULL)
        own = h->policy(h->policy_ctx, rc->tag, res);
    if (!own && conn->ratelimit != NULL && res->status != 0)
        ratelimit_observe(conn->ratelimit, res, crm_mono_ms());
    rc->done(res, rc->arg);
    free(rc);
}

int crm_request(struct crm_http *h, const struct crm_req *rq, http_done_fn done, void *arg)
{
    struct error err;
    struct http_request *r = NULL;
    struct req_ctx *rc = NULL;
    char *url = NULL;
    int rc_ok = -1;

    if (h->closing)
        return -1;
    url = crm_url_join(rq->base ? rq->base : "", rq->path);
    if (url == NULL)
        goto out;
    r = http_request_new(h->http, rq->method, url, &err);
    if (r == NULL) {
        log_error(h->subsystem, h->conn->name, "%s", err.msg);
        goto out;
    }
    rc = calloc(1, sizeof(*rc));
    if (rc == NULL)
        goto out;
    http_request_set_conn(r, h->conn->name);
    http_request_set_limits(r, &h->limits);
    /* A 429's Retry-After holds every request of the connector: the engine
     * plans no batch inside it, and the steps of a job already out (a Bulk
     * poll, the next collections chunk, a consent object after its
     * Contact), a pull page or a setup call wait in the client until it
     * ends (chaos salesforce-faults saw such steps inside the hold). The
     * client reads the hold again when the request is about to be sent: one
     * made before the 429 arrived, still queued for a connection, waits too. */
    if (h->conn->ratelimit != NULL)
        http_request_set_hold(r, &h->conn->ratelimit->hold_until_ms);
    if (http_request_add_header(r, "Accept", rq->accept ? rq->accept : "application/json") != 0)
        goto out;
    for (size_t i = 0; i < rq->nheaders; i++) {
        if (http_request_add_header(r, rq->headers[i].name, rq->headers[i].value) != 0)
            goto out;
    }
    if (rq->body != NULL &&
        http_request_set_body(r, rq->content_type ? rq->content_type : "application/json", rq->body,
                              rq->body_len ? rq->body_len : strlen(rq->body)) != 0)
        goto out;
    rc->h = h;
    rc->done = done;
    rc->arg = arg;
    rc->tag = rq->tag;
    if (h->oauth != NULL) {
        oauth_send(h->oauth, r, request_done, rc);
    } else if (http_request_start(r, request_done, rc, &err) != 0) {
        log_error(h->subsystem, h->conn->name, "%s", err.msg);
        r = NULL; /* the client owns it from start, even when refused */
        goto out;
    }
    r = NULL;
    rc = NULL;
    rc_ok = 0;
out:
    if (r != NULL)
        http_request_free(r);
    free(rc);
    free(url);
    return rc_ok;
}
