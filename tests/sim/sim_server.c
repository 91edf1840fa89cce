/* The HTTP side of crmsim: libmicrohttpd (internal polling thread pool on
 * epoll), request body accumulation, dispatch to the control endpoint or a
 * flavour route, fault injection, counters and the request log. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"
#include "sim_store.h"
#include "sim_time.h"

#define CONTROL_PREFIX "/__sim/"

struct conn_ctx {
    char *body;
    size_t len;
    size_t cap;
    bool too_large;
    int64_t arrived_us; /* wall clock when the request's headers were in */
};

/* Response body that declares its full length but delivers only `cut`
 * bytes, then makes MHD close the connection (the "truncate" fault). */
struct trunc_body {
    char *data;
    size_t cut;
};

/* --- helpers for flavours --- */

int64_t sim_now_ms(struct sim *sim)
{
    int64_t frozen = atomic_load(&sim->clock_frozen_ms);

    return (frozen ? frozen : sim_time_wall_ms()) + atomic_load(&sim->clock_offset_ms);
}

const char *sim_req_query(const struct sim_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *sim_req_header(const struct sim_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

void sim_resp_reset(struct sim_response *resp)
{
    json_decref(resp->json);
    free(resp->text);
    memset(resp, 0, sizeof(*resp));
}

void sim_resp_json(struct sim_response *resp, int status, json_t *body_take)
{
    json_decref(resp->json);
    free(resp->text);
    resp->text = NULL;
    resp->status = status;
    resp->json = body_take;
}

void sim_resp_empty(struct sim_response *resp, int status)
{
    sim_resp_json(resp, status, NULL);
}

void sim_resp_header(struct sim_response *resp, const char *name, const char *fmt, ...)
{
    va_list ap;

    for (size_t i = 0; i < resp->nheaders; i++) {
        if (strcasecmp(resp->headers[i].name, name) == 0) {
            va_start(ap, fmt);
            vsnprintf(resp->headers[i].value, sizeof(resp->headers[i].value), fmt, ap);
            va_end(ap);
            return;
        }
    }
    if (resp->nheaders == SIM_MAX_RESP_HEADERS)
        return;
    snprintf(resp->headers[resp->nheaders].name, sizeof(resp->headers[0].name), "%s", name);
    va_start(ap, fmt);
    vsnprintf(resp->headers[resp->nheaders].value, sizeof(resp->headers[0].value), fmt, ap);
    va_end(ap);
    resp->nheaders++;
}

void sim_resp_error(struct sim *sim, struct sim_response *resp, int status, const char *category,
                    const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sim->flavor->error(resp, status, category, msg);
}

json_t *sim_req_json(struct sim *sim, const struct sim_request *req, struct sim_response *resp)
{
    json_error_t jerr;
    json_t *j;

    if (req->body_json != NULL)
        return json_incref(req->body_json);
    if (req->body_len == 0) {
        sim_resp_error(sim, resp, 400, "VALIDATION_ERROR", "Request body is required");
        return NULL;
    }
    j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL) {
        sim_resp_error(sim, resp, 400, "VALIDATION_ERROR", "Invalid input JSON on line %d: %s",
                       jerr.line, jerr.text);
        return NULL;
    }
    return j;
}

/* --- lifecycle --- */

int sim_init(struct sim *sim, const struct sim_flavor_ops *flavor, char *err, size_t errlen)
{
    sim->flavor = flavor;
    if (pthread_mutex_init(&sim->lock, NULL) != 0) {
        snprintf(err, errlen, "mutex init failed");
        return -1;
    }
    sim->store = sim_store_new();
    sim->stats = calloc(flavor->nroutes ? flavor->nroutes : 1, sizeof(*sim->stats));
    if (sim->store == NULL || sim->stats == NULL || sim_auth_init(&sim->auth) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < sim->opt.ntokens; i++)
        sim_auth_add_static(&sim->auth, sim->opt.tokens[i]);
    for (size_t i = 0; i < sim->opt.nrefresh_tokens; i++)
        sim_auth_add_refresh(&sim->auth, sim->opt.refresh_tokens[i]);
    sim_rng_seed(&sim->rng, (uint64_t)sim->opt.seed);
    sim_fault_clear(&sim->faults);
    if (sim_fault_parse_rates(&sim->faults, sim->opt.faults, err, errlen) != 0 ||
        sim_fault_parse_script(&sim->faults, sim->opt.fault_script, err, errlen) != 0)
        return -1;
    snprintf(sim->faults.match, sizeof(sim->faults.match), "%s", sim->opt.fault_match);
    return flavor->init(sim, err, errlen);
}

void sim_fini(struct sim *sim)
{
    if (sim->flavor != NULL && sim->flavor->fini != NULL)
        sim->flavor->fini(sim);
    sim_store_free(sim->store);
    sim->store = NULL;
    sim_auth_fini(&sim->auth);
    free(sim->stats);
    sim->stats = NULL;
    pthread_mutex_destroy(&sim->lock);
}

/* --- request log --- */

/* Masks the local part of anything that looks like an email in the path
 * ("/contacts/j***@example.com"); nothing else of a request is logged that
 * could hold personal data or a secret (no query string, no headers). */
static void mask_path(const char *path, char *out, size_t outlen)
{
    size_t o = 0;

    for (size_t i = 0; path[i] != '\0' && o + 1 < outlen; i++) {
        char c = path[i];

        if (c != '/' && c != '@' && i > 0 && path[i - 1] != '/') {
            const char *seg_end = path + i + strcspn(path + i, "/");
            const char *at = memchr(path + i, '@', (size_t)(seg_end - (path + i)));

            if (at != NULL) {
                out[o++] = '*';
                continue;
            }
        }
        out[o++] = c;
    }
    out[o] = '\0';
}

static int64_t wall_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The client closed its end (a client never half-closes: it gave up on
 * the request, e.g. its timeout fired while a stalled server thread held
 * this connection). Whatever we answer now, nobody reads it. */
static bool client_gone(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct pollfd p;

    if (ci == NULL)
        return false;
    p.fd = ci->connect_fd;
    p.events = POLLRDHUP;
    p.revents = 0;
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

/* One line per request. `arrived=` (the wall clock when its headers were
 * read) and `answered=` (when the answer was handed to the server) let a
 * checker order requests by when they reached us, not by when their line
 * was written; a 429 adds `retry_until=`, the wall-clock end of the hold
 * its Retry-After asks for (seconds form: answered + N s; date form: the
 * date). Times are s.us since the epoch. `client_gone` marks an answer the
 * client cannot receive (it closed the connection first): a checker must
 * not hold the client to a Retry-After it never saw. */
static void log_request(const struct sim_request *req, int status, const struct sim_response *resp,
                        enum sim_fault_kind fault, int64_t start_ns, int64_t arrived_us,
                        int64_t hold_ms)
{
    struct timespec ts;
    char path[256], until[48] = "";
    int64_t dur_us, answered_us = wall_us();
    bool gone = client_gone(req->conn);

    clock_gettime(CLOCK_MONOTONIC, &ts);
    dur_us = ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - start_ns) / 1000;
    mask_path(req->path, path, sizeof(path));
    if (hold_ms >= 0)
        snprintf(until, sizeof(until), " retry_until=%lld.%06lld",
                 (long long)((answered_us + hold_ms * 1000) / 1000000),
                 (long long)((answered_us + hold_ms * 1000) % 1000000));
    fprintf(stderr,
            "<7>crmsim: %s %s %d in=%zu written=%zu %lld.%03lldms%s%s%s%s arrived=%lld.%06lld"
            " answered=%lld.%06lld%s%s\n",
            req->method, path, status, resp->records_in, resp->written, (long long)(dur_us / 1000),
            (long long)(dur_us % 1000), fault != SIM_FAULT_NONE ? " fault=" : "",
            fault != SIM_FAULT_NONE ? sim_fault_name(fault) : "", resp->note[0] ? " op=" : "",
            resp->note, (long long)(arrived_us / 1000000), (long long)(arrived_us % 1000000),
            (long long)(answered_us / 1000000), (long long)(answered_us % 1000000), until,
            gone ? " client_gone" : "");
}

/* --- dispatch --- */

static const struct sim_route *find_route(struct sim *sim, struct sim_request *req, char *buf,
                                          size_t bufsize, size_t *index, bool *wrong_method)
{
    const struct sim_flavor_ops *fl = sim->flavor;
    const char *path = req->path;
    char aliased[512];

    *wrong_method = false;
    for (const struct sim_alias *a = fl->aliases; a != NULL && a->from != NULL; a++) {
        size_t n = strlen(a->from);

        if (strncmp(path, a->from, n) == 0) {
            snprintf(aliased, sizeof(aliased), "%s%s", a->to, path + n);
            path = aliased;
            break;
        }
    }
    for (size_t i = 0; i < fl->nroutes; i++) {
        const struct sim_route *r = &fl->routes[i];

        if (!sim_route_match(r->pattern, path, fl->families, buf, bufsize, req->caps, &req->ncaps))
            continue;
        if (strcmp(r->method, req->method) != 0) {
            *wrong_method = true;
            continue;
        }
        *index = i;
        return r;
    }
    req->ncaps = 0;
    return NULL;
}

/* *hold_ms: how long from now a 429's Retry-After asks the client to wait
 * (-1 for other faults), for the request log. */
static void fault_response(struct sim *sim, enum sim_fault_kind fault, int64_t now, int retry_after,
                           struct sim_response *resp, int64_t *hold_ms)
{
    char date[40];
    int64_t until;

    switch (fault) {
    case SIM_FAULT_500:
        sim_resp_error(sim, resp, 500, "INTERNAL_ERROR", "internal error (injected)");
        break;
    case SIM_FAULT_502:
        sim_resp_error(sim, resp, 502, "BAD_GATEWAY", "bad gateway (injected)");
        break;
    case SIM_FAULT_503:
        sim_resp_error(sim, resp, 503, "SERVICE_UNAVAILABLE", "service unavailable (injected)");
        break;
    case SIM_FAULT_429:
        sim_resp_error(sim, resp, 429, "RATE_LIMITS", "rate limited (injected)");
        sim_resp_header(resp, "Retry-After", "%d", retry_after);
        *hold_ms = (int64_t)retry_after * 1000;
        break;
    case SIM_FAULT_429_DATE:
        sim_resp_error(sim, resp, 429, "RATE_LIMITS", "rate limited (injected)");
        /* HTTP-date has one-second resolution: round up so a client that
         * honours it never retries early. */
        until = ((now + 999) / 1000 + retry_after) * 1000;
        sim_resp_header(resp, "Retry-After", "%s", sim_time_http_date(until, date, sizeof(date)));
        *hold_ms = until - now;
        break;
    case SIM_FAULT_TOKEN_EXPIRY:
        sim->flavor->expired(sim, resp);
        break;
    case SIM_FAULT_403:
        sim_resp_error(sim, resp, 403, "MISSING_SCOPES",
                       "This app hasn't been granted all required scopes (injected)");
        break;
    case SIM_FAULT_404:
        sim_resp_error(sim, resp, 404, "OBJECT_NOT_FOUND", "Resource not found (injected)");
        break;
    case SIM_FAULT_PROXY_PAGE:
        /* What a captive portal or a misconfigured proxy answers. */
        resp->status = 200;
        resp->text = strdup("<html><body><h1>Access denied</h1>Contact your administrator "
                            "(admin@proxy.example.net).</body></html>\n");
        resp->text_len = resp->text ? strlen(resp->text) : 0;
        resp->content_type = "text/html";
        break;
    case SIM_FAULT_REDIRECT:
        resp->status = 302;
        resp->text = strdup("moved\n");
        resp->text_len = resp->text ? strlen(resp->text) : 0;
        resp->content_type = "text/plain";
        sim_resp_header(resp, "Location", "%s", "https://login.proxy.example.net/");
        break;
    default:
        break;
    }
}

static void count(struct sim *sim, struct sim_route_stats *st, int status,
                  const struct sim_response *resp)
{
    atomic_fetch_add(&sim->requests_total, 1);
    atomic_fetch_add(&st->requests, 1);
    if (status >= 400 || status == 0)
        atomic_fetch_add(&st->errors, 1);
    atomic_fetch_add(&st->records_in, resp->records_in);
    atomic_fetch_add(&st->written, resp->written);
    atomic_fetch_add(&sim->written_total, resp->written);
}

static ssize_t trunc_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct trunc_body *t = cls;
    size_t n;

    if (pos >= t->cut)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    n = t->cut - (size_t)pos;
    if (n > max)
        n = max;
    memcpy(buf, t->data + pos, n);
    return (ssize_t)n;
}

static void trunc_free(void *cls)
{
    struct trunc_body *t = cls;

    free(t->data);
    free(t);
}

static enum MHD_Result send_response(struct MHD_Connection *conn, struct sim_response *resp,
                                     enum sim_fault_kind fault)
{
    struct MHD_Response *r;
    enum MHD_Result ret;
    char *body = NULL;
    size_t len = 0;
    const char *ctype = resp->content_type;

    if (resp->json != NULL) {
        body = json_dumps(resp->json, JSON_COMPACT);
        len = body ? strlen(body) : 0;
        if (ctype == NULL)
            ctype = "application/json;charset=utf-8";
    } else if (resp->text != NULL) {
        body = resp->text;
        len = resp->text_len;
        resp->text = NULL;
    }
    if (fault == SIM_FAULT_BAD_JSON && len > 0) {
        len = len / 2 > 0 ? len / 2 : 1; /* a consistent length, half a document */
    }
    if (fault == SIM_FAULT_TRUNCATE && len > 1) {
        struct trunc_body *t = malloc(sizeof(*t));

        if (t == NULL) {
            free(body);
            return MHD_NO;
        }
        t->data = body;
        t->cut = len / 2;
        r = MHD_create_response_from_callback(len, 4096, trunc_reader, t, trunc_free);
        if (r == NULL) {
            trunc_free(t);
            return MHD_NO;
        }
    } else {
        r = MHD_create_response_from_buffer(len, body,
                                            body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
        if (r == NULL) {
            free(body);
            return MHD_NO;
        }
    }
    if (ctype != NULL && len > 0)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    for (size_t i = 0; i < resp->nheaders; i++)
        MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
    ret = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

static const char *bearer_of(struct MHD_Connection *conn)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");

    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    return h;
}

static bool is_json(struct MHD_Connection *conn)
{
    const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");

    return ct != NULL && strncasecmp(ct, "application/json", 16) == 0;
}

static enum MHD_Result handle(struct sim *sim, struct MHD_Connection *conn, const char *url,
                              const char *method, struct conn_ctx *ctx)
{
    int64_t hold_ms = -1;
    struct sim_request req;
    struct sim_response resp;
    const struct sim_route *route;
    struct sim_route_stats *st;
    char buf[1024];
    size_t index = 0;
    bool wrong_method;
    enum sim_fault_kind fault;
    int64_t slow_ms, stall_ms;
    int retry_after;
    bool log;
    struct timespec ts;
    int64_t start_ns;
    enum MHD_Result ret;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    start_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    req.method = method;
    req.path = url;
    req.body = ctx->body ? ctx->body : "";
    req.body_len = ctx->len;
    req.bearer = bearer_of(conn);
    req.conn = conn;
    req.now_ms = sim_now_ms(sim);

    if (strncmp(url, CONTROL_PREFIX, strlen(CONTROL_PREFIX)) == 0) {
        sim_control(sim, &req, &resp);
        ret = send_response(conn, &resp, SIM_FAULT_NONE);
        sim_resp_reset(&resp);
        return ret;
    }

    route = find_route(sim, &req, buf, sizeof(buf), &index, &wrong_method);
    st = route ? &sim->stats[index] : &sim->unmatched;

    pthread_mutex_lock(&sim->lock);
    fault = route ? sim_fault_pick(&sim->faults, &sim->rng, url) : SIM_FAULT_NONE;
    slow_ms = sim->opt.slow_ms;
    stall_ms = sim->opt.stall_ms;
    retry_after = (int)sim->opt.retry_after_s;
    log = sim->opt.log_requests;
    pthread_mutex_unlock(&sim->lock);
    if (fault != SIM_FAULT_NONE)
        atomic_fetch_add(&sim->faults_injected[fault], 1);

    if (fault == SIM_FAULT_SLOW)
        usleep((useconds_t)(slow_ms * 1000));
    if (fault == SIM_FAULT_DROP) {
        count(sim, st, 0, &resp);
        if (log)
            log_request(&req, 0, &resp, fault, start_ns, ctx->arrived_us, -1);
        return MHD_NO;
    }

    if (ctx->too_large) {
        sim_resp_error(sim, &resp, 413, "VALIDATION_ERROR", "Request body too large");
    } else if (fault == SIM_FAULT_500 || fault == SIM_FAULT_502 || fault == SIM_FAULT_503 ||
               fault == SIM_FAULT_429 || fault == SIM_FAULT_429_DATE ||
               fault == SIM_FAULT_TOKEN_EXPIRY || fault == SIM_FAULT_PROXY_PAGE ||
               fault == SIM_FAULT_REDIRECT || fault == SIM_FAULT_403 || fault == SIM_FAULT_404) {
        pthread_mutex_lock(&sim->lock);
        fault_response(sim, fault, req.now_ms, retry_after, &resp, &hold_ms);
        pthread_mutex_unlock(&sim->lock);
    } else if (route == NULL) {
        if (wrong_method)
            sim_resp_error(sim, &resp, 405, "VALIDATION_ERROR", "Method %s not allowed on %s",
                           method, url);
        else
            sim_resp_error(sim, &resp, 404, "OBJECT_NOT_FOUND", "Resource not found");
    } else {
        /* Parsing a batch body is a good share of a request's CPU and needs
         * no shared state: do it before taking the lock so that two server
         * threads parse in parallel: the flavour's prepare hook when it
         * takes the body, jansson otherwise. A body that does not parse is
         * left for sim_req_json() to report, exactly as before. */
        const struct sim_flavor_ops *fl = sim->flavor;
        bool json_body = req.body_len > 0 && is_json(conn);

        if (json_body && fl->version >= 2 && fl->prepare != NULL)
            req.prepared = fl->prepare(route, &req);
        if (json_body && req.prepared == NULL)
            req.body_json = json_loadb(req.body, req.body_len, JSON_REJECT_DUPLICATES, NULL);
        pthread_mutex_lock(&sim->lock);
        if (fl->admit(sim, route, &req, &resp) == 0)
            route->handler(sim, &req, &resp);
        pthread_mutex_unlock(&sim->lock);
        json_decref(req.body_json);
        req.body_json = NULL;
        if (req.prepared != NULL)
            fl->release(route, req.prepared);
        req.prepared = NULL;
    }

    count(sim, st,
          (fault == SIM_FAULT_APPLY_DROP || fault == SIM_FAULT_APPLY_STALL) ? 0 : resp.status,
          &resp);
    if (log)
        log_request(&req, resp.status, &resp, fault, start_ns, ctx->arrived_us, hold_ms);
    if (fault == SIM_FAULT_APPLY_DROP || fault == SIM_FAULT_APPLY_STALL) {
        if (fault == SIM_FAULT_APPLY_STALL)
            usleep((useconds_t)(stall_ms * 1000));
        sim_resp_reset(&resp);
        return MHD_NO;
    }
    ret = send_response(conn, &resp, fault);
    sim_resp_reset(&resp);
    return ret;
}

/* Room for the whole body at once when Content-Length announces it (batch
 * bodies are tens of KB, so growing from 4 KB meant several copies). */
static size_t initial_body_cap(struct MHD_Connection *conn, size_t max)
{
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    unsigned long long n = cl ? strtoull(cl, NULL, 10) : 0;

    if (n < 4096 || n >= max)
        return 4096;
    return (size_t)n + 1;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct sim *sim = cls;
    struct conn_ctx *ctx = *con_cls;

    (void)version;
    if (ctx == NULL) {
        ctx = calloc(1, sizeof(*ctx));
        if (ctx == NULL)
            return MHD_NO;
        ctx->arrived_us = wall_us();
        *con_cls = ctx;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t max = (size_t)sim->opt.max_body_kb * 1024;

        if (!ctx->too_large && ctx->len + *upload_data_size > max) {
            ctx->too_large = true;
        } else if (!ctx->too_large) {
            if (ctx->len + *upload_data_size + 1 > ctx->cap) {
                size_t cap = ctx->cap ? ctx->cap : initial_body_cap(conn, max);
                char *grown;

                while (cap < ctx->len + *upload_data_size + 1)
                    cap *= 2;
                grown = realloc(ctx->body, cap);
                if (grown == NULL)
                    return MHD_NO;
                ctx->body = grown;
                ctx->cap = cap;
            }
            memcpy(ctx->body + ctx->len, upload_data, *upload_data_size);
            ctx->len += *upload_data_size;
            ctx->body[ctx->len] = '\0';
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    return handle(sim, conn, url, method, ctx);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct conn_ctx *ctx = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (ctx != NULL) {
        free(ctx->body);
        free(ctx);
        *con_cls = NULL;
    }
}

static char *read_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    long size;

    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (size >= 0 && fseek(f, 0, SEEK_SET) == 0)
        data = malloc((size_t)size + 1);
    if (data == NULL || fread(data, 1, (size_t)size, f) != (size_t)size) {
        snprintf(err, errlen, "%s: cannot read", path);
        free(data);
        fclose(f);
        return NULL;
    }
    data[size] = '\0';
    fclose(f);
    return data;
}

static int parse_listen(const char *listen, struct sockaddr_in *sa, char *err, size_t errlen)
{
    char host[64];
    const char *colon = strrchr(listen, ':');
    char *end;
    long port;

    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    if (colon == NULL || (size_t)(colon - listen) >= sizeof(host)) {
        snprintf(err, errlen, "--listen '%s': expected IPV4:PORT", listen);
        return -1;
    }
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || end == colon + 1 || port < 0 || port > 65535 ||
        inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
        snprintf(err, errlen, "--listen '%s': expected IPV4:PORT", listen);
        return -1;
    }
    sa->sin_port = htons((uint16_t)port);
    return 0;
}

/* TLS material must outlive the daemon; kept here (one daemon per process). */
static char *tls_cert_pem;
static char *tls_key_pem;

int sim_start(struct sim *sim, char *err, size_t errlen)
{
    struct sockaddr_in sa;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    const union MHD_DaemonInfo *info;
    struct MHD_Daemon *d;

    if (parse_listen(sim->opt.listen, &sa, err, errlen) != 0)
        return -1;
    /* --threads 0: a thread per connection. A `slow` or `apply-stall` fault
     * then holds only its own connection; in a pool it also holds every
     * other connection of its thread, whose requests are read (and logged
     * as arrived) only when the stall ends. */
    if (sim->opt.threads == 0)
        flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
    if ((sim->opt.tls_cert[0] != '\0') != (sim->opt.tls_key[0] != '\0')) {
        snprintf(err, errlen, "--tls-cert and --tls-key go together");
        return -1;
    }
    if (sim->opt.tls_cert[0] != '\0') {
        tls_cert_pem = read_file(sim->opt.tls_cert, err, errlen);
        tls_key_pem = tls_cert_pem ? read_file(sim->opt.tls_key, err, errlen) : NULL;
        if (tls_key_pem == NULL)
            return -1;
        flags |= MHD_USE_TLS;
        d = MHD_start_daemon(
            flags, 0, NULL, NULL, on_request, sim, MHD_OPTION_SOCK_ADDR, &sa,
            MHD_OPTION_THREAD_POOL_SIZE, (unsigned)sim->opt.threads, MHD_OPTION_NOTIFY_COMPLETED,
            on_completed, sim, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
            MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_HTTPS_MEM_CERT,
            tls_cert_pem, MHD_OPTION_HTTPS_MEM_KEY, tls_key_pem, MHD_OPTION_END);
    } else {
        d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, sim, MHD_OPTION_SOCK_ADDR, &sa,
                             MHD_OPTION_THREAD_POOL_SIZE, (unsigned)sim->opt.threads,
                             MHD_OPTION_NOTIFY_COMPLETED, on_completed, sim,
                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
                             MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
    }
    if (d == NULL) {
        snprintf(err, errlen, "cannot start the HTTP server on %s", sim->opt.listen);
        return -1;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    sim->port = info ? info->port : ntohs(sa.sin_port);
    sim->mhd = d;
    return 0;
}

void sim_stop(struct sim *sim)
{
    if (sim->mhd != NULL)
        MHD_stop_daemon(sim->mhd);
    sim->mhd = NULL;
    free(tls_cert_pem);
    free(tls_key_pem);
    tls_cert_pem = NULL;
    tls_key_pem = NULL;
}
