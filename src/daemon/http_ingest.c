/* HTTP ingest listener, the request side (see http_ingest.h): the
 * libmicrohttpd threads read, authenticate, parse, queue a job for the
 * group commit (http_ingest_commit.c) and answer once it is durable. */
#include "http_ingest.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "addr_limit.h"
#include "config.h"
#include "connector.h"
#include "engine.h"
#include "http_ingest_body.h"
#include "http_ingest_head.h"
#include "http_ingest_internal.h"
#include "ingest.h"
#include "listen_socket.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "store_answer.h"
#include "store_ctl.h"

static const struct connector_ops http_ops = {.version = 1, .type = "http"};

struct request {
    int is_events;
    char *body;
    size_t len, cap;
    int too_large;
    enum ingest_body_type type;
    struct ingest_token tok;
    struct ingest_live *live; /* the settings it runs with, a reference */
    char source_ref[INGEST_CLIENT_ID_MAX + 16];
    struct timespec started;
};

/* --- responses ------------------------------------------------------------- */

static double elapsed_s(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static enum MHD_Result respond_json(struct MHD_Connection *conn, unsigned status, json_t *doc,
                                    long retry_after, const char *www_auth)
{
    struct MHD_Response *r;
    enum MHD_Result ret;
    char *body = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    char code[16], ra[24];

    json_decref(doc);
    if (body == NULL)
        return MHD_NO;
    r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (retry_after > 0) {
        snprintf(ra, sizeof(ra), "%ld", retry_after);
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    if (www_auth != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, www_auth);
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    snprintf(code, sizeof(code), "%u", status);
    metrics_counter_add(METRIC_HTTP_INGEST_REQUESTS, (const char *[]){code}, 1);
    return ret;
}

static enum MHD_Result respond_error(struct MHD_Connection *conn, unsigned status,
                                     const char *error, const char *detail, long retry_after)
{
    json_t *doc = json_pack("{s:s,s:s}", "error", error, "detail", detail ? detail : "");
    const char *www = NULL;

    if (status == MHD_HTTP_UNAUTHORIZED)
        www = "Bearer error=\"invalid_token\"";
    else if (status == MHD_HTTP_FORBIDDEN)
        www = "Bearer error=\"insufficient_scope\"";
    return respond_json(conn, status, doc, retry_after, www);
}

/* --- authentication -------------------------------------------------------- */

static const char *bearer_of(struct MHD_Connection *conn)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");

    if (v == NULL || strncasecmp(v, "Bearer ", 7) != 0)
        return NULL;
    v += 7;
    while (*v == ' ')
        v++;
    return v;
}

static const struct sockaddr *client_addr(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return ci != NULL ? ci->client_addr : NULL;
}

/* Returns AUTH_FAIL_NONE, or the reason the request is refused (401, or
 * 429 for an address that sent too many bad tokens: the library is never
 * asked, so a flood of forged tokens cannot make it fetch the JWKS again
 * and again). */
static enum ingest_auth_failure authenticate(const struct ingest_live *L,
                                             struct MHD_Connection *conn, struct ingest_token *tok,
                                             long *retry_after)
{
    const struct sockaddr *sa = client_addr(conn);
    const char *token = bearer_of(conn);
    enum ingest_auth_failure f;
    struct timespec t0;

    *retry_after = 0;
    if (addr_limit_blocked(L->bad_tokens, sa, retry_after))
        f = AUTH_FAIL_RATE_LIMITED;
    else if (token == NULL || token[0] == '\0')
        f = AUTH_FAIL_MISSING;
    else {
        clock_gettime(CLOCK_MONOTONIC, &t0);
        f = ingest_auth_verify(L->auth, token, tok);
        metrics_observe(METRIC_HTTP_INGEST_VERIFY_DURATION, NULL, elapsed_s(&t0));
        if (f != AUTH_FAIL_NONE)
            addr_limit_fail(L->bad_tokens, sa);
    }
    if (f != AUTH_FAIL_NONE) {
        metrics_counter_add(METRIC_HTTP_INGEST_AUTH_FAILURES,
                            (const char *[]){ingest_auth_failure_name(f)}, 1);
        log_info("ingest", NULL, "bearer token refused: %s", ingest_auth_failure_name(f));
    }
    return f;
}

static enum MHD_Result refuse_auth(struct MHD_Connection *conn, enum ingest_auth_failure f,
                                   long retry_after)
{
    if (f == AUTH_FAIL_RATE_LIMITED)
        return respond_error(conn, MHD_HTTP_TOO_MANY_REQUESTS, "too_many_bad_tokens",
                             "too many invalid tokens from this address", retry_after);
    return respond_error(conn, MHD_HTTP_UNAUTHORIZED, "invalid_token", ingest_auth_failure_name(f),
                         0);
}

/* 1 when every well-formed event of the body is in the first lane
 * (consent withdrawals, erasures): those are taken however far behind a
 * destination is, so that an opt-out is never held up by a backfill
 * (DESIGN.md §4). */
static int urgent_only(const struct ingest_body *b)
{
    for (size_t i = 0; i < b->n; i++) {
        const struct ingest_item *it = &b->items[i];
        if (!it->ok)
            continue;
        for (size_t k = 0; k < it->ev.n; k++) {
            if (change_lane_of(&it->ev.changes[k]) != LANE_URGENT)
                return 0;
        }
    }
    return 1;
}

/* --- POST /v1/events ------------------------------------------------------- */

static int scope_kind_of(const struct ingest_item *it)
{
    switch (it->ev.changes[0].kind) {
    case CHANGE_CONSENT:
        return INGEST_SCOPE_CONSENT;
    case CHANGE_POINTS:
        return INGEST_SCOPE_POINTS;
    case CHANGE_ERASE:
        return INGEST_SCOPE_ERASURE;
    default:
        return INGEST_SCOPE_PROFILE;
    }
}

static int any_write_scope(const struct ingest_live *L, const char *scope)
{
    for (int k = 0; k < INGEST_SCOPE_N; k++) {
        if (k != INGEST_SCOPE_MEMBERS && ingest_scope_has(scope, L->o.scopes[k]))
            return 1;
    }
    return 0;
}

static json_t *results_json(const struct job *j, int *malformed, int *conflicts)
{
    json_t *arr = json_array();
    long counts[RES_N] = {0};
    json_t *doc;

    *malformed = 0;
    *conflicts = 0;
    for (size_t i = 0; arr != NULL && i < j->body.n; i++) {
        const struct ingest_item *it = &j->body.items[i];
        const struct item_result *r = &j->res[i];
        json_t *o = json_pack("{s:i,s:s}", "index", (json_int_t)i, "result",
                              ingest_result_names[r->result]);
        const char *id = it->ev.root != NULL
                             ? json_string_value(json_object_get(it->ev.root, "event_id"))
                             : NULL;

        if (o == NULL)
            continue;
        if (id != NULL)
            json_object_set_new(o, "event_id", json_string(id));
        if (r->reason[0] != '\0')
            json_object_set_new(o, "reason", json_string(r->reason));
        if (!it->ok) {
            *malformed = 1;
            json_object_set_new(o, "field", it->field[0] ? json_string(it->field) : json_null());
        }
        if (r->conflict) {
            *conflicts = 1;
            json_object_set_new(o, "error", json_string("conflict"));
        }
        if (r->replayed)
            json_object_set_new(o, "replayed", json_true());
        counts[r->result]++;
        metrics_counter_add(METRIC_HTTP_INGEST_EVENTS,
                            (const char *[]){!it->ok       ? "invalid"
                                             : r->conflict ? "conflict"
                                                           : ingest_result_names[r->result]},
                            1);
        json_array_append_new(arr, o);
    }
    doc = json_pack("{s:o,s:i,s:i,s:i,s:i}", "results", arr, "applied",
                    (json_int_t)counts[RES_APPLIED], "unchanged", (json_int_t)counts[RES_UNCHANGED],
                    "duplicate", (json_int_t)counts[RES_DUPLICATE], "rejected",
                    (json_int_t)counts[RES_REJECTED]);
    return doc;
}

/* Hashes each well-formed event and marks whether the token's scopes let
 * it be written; an event refused gets the scope it needs as its reason. */
static void permit_items(struct job *j, unsigned char *permitted, const struct request *rq)
{
    for (size_t i = 0; i < j->body.n; i++) {
        struct ingest_item *it = &j->body.items[i];
        const char *need;
        if (!it->ok)
            continue;
        it->hash = store_event_hash(it->ev.changes, it->ev.n);
        it->change_hash = store_change_hash(&it->ev.changes[0]);
        need = rq->live->o.scopes[scope_kind_of(it)];
        permitted[i] = (unsigned char)ingest_scope_has(rq->tok.scope, need);
        if (!permitted[i])
            snprintf(j->res[i].reason, sizeof(j->res[i].reason),
                     "insufficient_scope: a %s event needs scope %s", it->type, need);
    }
}

/* Hands j to the loop thread, which stores it, and waits until it has
 * (0; j->status says how it went). Refuses it while crmsyncd stops or
 * while the backlog is over its bounds: -1, *ret the answer sent. */
static int store_job(struct http_ingest *h, struct MHD_Connection *conn, const struct request *rq,
                     struct job *j, enum MHD_Result *ret)
{
    pthread_mutex_lock(&h->lock);
    if (h->stopping) {
        pthread_mutex_unlock(&h->lock);
        *ret = respond_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "stopping", "crmsyncd is stopping",
                             5);
        return -1;
    }
    if (h->over_backlog && !urgent_only(&j->body)) {
        char detail[192];
        snprintf(detail, sizeof(detail),
                 "destination %s has %" PRId64
                 " changes waiting to be pushed, over [ingest] max_backlog; nothing of this "
                 "request was stored",
                 h->backlog_dest, h->backlog);
        pthread_mutex_unlock(&h->lock);
        *ret = respond_error(conn, MHD_HTTP_TOO_MANY_REQUESTS, "backlog", detail,
                             BACKLOG_RETRY_AFTER_S);
        return -1;
    }
    if (h->pending > 0 && h->pending + (long)j->body.n > rq->live->o.max_pending) {
        pthread_mutex_unlock(&h->lock);
        *ret = respond_error(conn, MHD_HTTP_TOO_MANY_REQUESTS, "backlog",
                             "too many events waiting to be stored", 1);
        return -1;
    }
    pthread_cond_init(&j->done_cond, NULL);
    if (h->tail != NULL)
        h->tail->next = j;
    else
        h->head = j;
    h->tail = j;
    h->pending += (long)j->body.n;
    uv_async_send(&h->async);
    while (!j->done)
        pthread_cond_wait(&j->done_cond, &h->lock);
    pthread_mutex_unlock(&h->lock);
    pthread_cond_destroy(&j->done_cond);
    return 0;
}

static enum MHD_Result post_events(struct http_ingest *h, struct MHD_Connection *conn,
                                   struct request *rq)
{
    struct job j = {0};
    unsigned char *permitted = NULL;
    struct error err = {""};
    enum MHD_Result ret;
    int malformed = 0, conflicts = 0;
    json_t *doc;

    if (!any_write_scope(rq->live, rq->tok.scope))
        return respond_error(conn, MHD_HTTP_FORBIDDEN, "insufficient_scope",
                             "the token has none of the ingest write scopes", 0);
    if (ingest_body_parse(rq->body ? rq->body : "", rq->len, rq->type, &spool_default_vocab,
                          h->o.origin, rq->source_ref, &j.body, &err) != 0)
        return respond_error(conn, MHD_HTTP_BAD_REQUEST, "invalid_body", err.msg, 0);
    permitted = calloc(j.body.n, 1);
    j.res = calloc(j.body.n, sizeof(*j.res));
    if (permitted == NULL || j.res == NULL) {
        ret = respond_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory", 0);
        goto out;
    }
    permit_items(&j, permitted, rq);
    j.permitted = permitted;
    j.source_ref = rq->source_ref;
    if (store_job(h, conn, rq, &j, &ret) != 0)
        goto out;
    if (j.status != 0) {
        ret = respond_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "not_stored",
                            "the state store cannot be written; nothing of this request was "
                            "stored",
                            5);
        goto out;
    }
    doc = results_json(&j, &malformed, &conflicts);
    /* A malformed event makes it a 400, else an event id reused with
     * another body a 409; the other events are applied either way. */
    ret = respond_json(conn,
                       malformed   ? MHD_HTTP_BAD_REQUEST
                       : conflicts ? MHD_HTTP_CONFLICT
                                   : MHD_HTTP_OK,
                       doc, 0, NULL);
    log_debug("ingest", NULL, "%zu event(s) from client %s: %s", j.body.n, rq->tok.client_id,
              malformed ? "some malformed" : "stored");
out:
    ingest_body_release(&j.body);
    free(permitted);
    free(j.res);
    return ret;
}

/* --- GET /v1/members/{key} --------------------------------------------------- */

static enum MHD_Result get_member(struct http_ingest *h, struct MHD_Connection *conn,
                                  const struct request *rq, const char *key)
{
    struct store_options so = {0};
    struct error err = {""};
    json_t *doc = NULL;
    int r;

    if (!ingest_scope_has(rq->tok.scope, rq->live->o.scopes[INGEST_SCOPE_MEMBERS]))
        return respond_error(conn, MHD_HTTP_FORBIDDEN, "insufficient_scope",
                             rq->live->o.scopes[INGEST_SCOPE_MEMBERS], 0);
    if (key[0] == '\0' || strlen(key) > SPOOL_MAX_KEY || strchr(key, '/') != NULL)
        return respond_error(conn, MHD_HTTP_NOT_FOUND, "not_found", "no such member", 0);
    pthread_mutex_lock(&h->store_lock);
    if (h->ro == NULL) {
        so.path = h->o.state_path;
        so.readonly = 1;
        so.busy_timeout_ms = h->o.busy_timeout_ms;
        if (store_open(&so, &h->ro, &err) != 0)
            h->ro = NULL;
    }
    r = h->ro != NULL ? store_ctl_member_export(h->ro, key, &doc, &err) : -1;
    if (r != 0 && r != STORE_CTL_NOT_FOUND && h->ro != NULL) {
        store_close(h->ro); /* reopened by the next request */
        h->ro = NULL;
    }
    pthread_mutex_unlock(&h->store_lock);
    if (r == STORE_CTL_NOT_FOUND)
        return respond_error(conn, MHD_HTTP_NOT_FOUND, "not_found", "no such member", 0);
    if (r != 0) {
        log_warn("ingest", NULL, "member read failed: %s", err.msg);
        return respond_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "state_unreadable",
                             "the state store cannot be read", 5);
    }
    return respond_json(conn, MHD_HTTP_OK, doc, 0, NULL);
}

/* --- request dispatch -------------------------------------------------------- */

static int content_type_of(struct MHD_Connection *conn, enum ingest_body_type *type)
{
    const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    size_t n;

    if (ct == NULL)
        return -1;
    n = strcspn(ct, "; ");
    if (n == strlen("application/json") && strncasecmp(ct, "application/json", n) == 0) {
        *type = INGEST_BODY_JSON;
        return 0;
    }
    if ((n == strlen("application/x-ndjson") && strncasecmp(ct, "application/x-ndjson", n) == 0) ||
        (n == strlen("application/jsonl") && strncasecmp(ct, "application/jsonl", n) == 0)) {
        *type = INGEST_BODY_NDJSON;
        return 0;
    }
    return -1;
}

/* The whole-request deadline (slow clients): libmicrohttpd's timeout is
 * per idle gap, so a client that sends a byte now and then would hold a
 * thread for ever. From its headers on, a request has request_timeout to
 * arrive whole; the connection's idle timeout is cut to what is left, so a
 * client that goes quiet is dropped at the deadline too. Returns 1 when it
 * is past. */
static int past_deadline(struct MHD_Connection *conn, const struct request *rq)
{
    const struct http_ingest_options *o = &rq->live->o;
    double left;
    unsigned secs;

    if (o->request_timeout_ms <= 0)
        return 0;
    left = (double)o->request_timeout_ms / 1000.0 - elapsed_s(&rq->started);
    if (left <= 0)
        return 1;
    secs = (unsigned)left + 1;
    if ((long)secs < o->timeout_s)
        MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, secs);
    return 0;
}

/* The connection's entry in the head deadline's watch (NULL: none). */
static struct head_conn *head_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci != NULL ? ci->socket_context : NULL;
}

static void connection_notice(void *cls, struct MHD_Connection *conn, void **socket_context,
                              enum MHD_ConnectionNotificationCode toe)
{
    struct http_ingest *h = cls;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        long idle_s;

        *socket_context = ci != NULL ? head_watch_open(h->heads, ci->connect_fd) : NULL;
        /* libmicrohttpd's idle timeout for new connections is the one it
         * started with; a reloaded one is set here. */
        pthread_mutex_lock(&h->lock);
        idle_s = h->live->o.timeout_s;
        pthread_mutex_unlock(&h->lock);
        if (idle_s != h->o.timeout_s)
            MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned)idle_s);
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        head_watch_close(h->heads, *socket_context);
        *socket_context = NULL;
    }
}

/* The request line is in: the head of a later request on a keep-alive
 * connection is due from now. */
static void *request_line(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct http_ingest *h = cls;

    (void)uri;
    head_watch_request_line(h->heads, head_of(conn));
    return NULL; /* the handler makes the request's state */
}

static void completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct http_ingest *h = cls;
    struct request *rq = *req_cls;

    if (rq == NULL)
        return;
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
        head_watch_next(h->heads, head_of(conn), rq->live->o.timeout_s * 1000);
    if (toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED) {
        metrics_counter_add(METRIC_HTTP_INGEST_REQUESTS, (const char *[]){"timeout"}, 1);
        log_info("ingest", NULL, "a client sent nothing for too long: connection closed");
    } else if (rq->live->o.request_timeout_ms > 0 || rq->live->o.timeout_s != h->o.timeout_s) {
        /* The next request on this keep-alive connection starts with the
         * configured idle timeout again. */
        MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT,
                                  (unsigned)rq->live->o.timeout_s);
    }
    metrics_observe(METRIC_HTTP_INGEST_DURATION,
                    (const char *[]){rq->is_events ? "events" : "members"},
                    elapsed_s(&rq->started));
    http_ingest_live_drop(h, rq->live);
    free(rq->body);
    free(rq);
    *req_cls = NULL;
}

/* The head of a request has come: routes it, authenticates it and, for
 * POST /v1/events, checks what can be checked before the body. */
static enum MHD_Result begin_request(struct http_ingest *h, struct MHD_Connection *conn,
                                     const char *url, const char *method, void **req_cls)
{
    struct request *rq;
    enum ingest_auth_failure f;
    long retry_after = 0;
    const char *cl;
    int is_events = strcmp(url, "/v1/events") == 0;
    int is_member = strncmp(url, "/v1/members/", 12) == 0;

    /* The head came too late: answered 408 already. */
    if (head_watch_headers_in(h->heads, head_of(conn)) != 0)
        return MHD_NO;
    rq = calloc(1, sizeof(*rq));
    if (rq == NULL)
        return MHD_NO;
    rq->live = http_ingest_live_take(h);
    clock_gettime(CLOCK_MONOTONIC, &rq->started);
    rq->is_events = is_events;
    *req_cls = rq;
    if (!is_events && !is_member)
        return respond_error(conn, MHD_HTTP_NOT_FOUND, "not_found",
                             "try POST /v1/events or GET /v1/members/{key}", 0);
    if (is_events && strcmp(method, "POST") != 0)
        return respond_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method", "POST only", 0);
    if (is_member && strcmp(method, "GET") != 0)
        return respond_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method", "GET only", 0);
    f = authenticate(rq->live, conn, &rq->tok, &retry_after);
    if (f != AUTH_FAIL_NONE)
        return refuse_auth(conn, f, retry_after);
    snprintf(rq->source_ref, sizeof(rq->source_ref), "client:%s",
             rq->tok.client_id[0] ? rq->tok.client_id : "?");
    if (is_member)
        return get_member(h, conn, rq, url + 12);
    (void)past_deadline(conn, rq); /* arms the cut idle timeout */
    if (content_type_of(conn, &rq->type) != 0)
        return respond_error(conn, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                             "use application/json or application/x-ndjson", 0);
    cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (cl != NULL && strtoll(cl, NULL, 10) > rq->live->o.max_body)
        return respond_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
                             "the body is larger than [ingest] max_body", 0);
    return MHD_YES;
}

/* A piece of the body: kept, unless the body has grown past max_body (then
 * the rest is read and dropped, and the request answered 413 at its end). */
static enum MHD_Result take_upload(struct request *rq, const char *upload_data,
                                   size_t *upload_data_size)
{
    size_t n = *upload_data_size;

    *upload_data_size = 0;
    if (rq->too_large || rq->len + n > (size_t)rq->live->o.max_body) {
        rq->too_large = 1;
        return MHD_YES;
    }
    if (rq->len + n + 1 > rq->cap) {
        size_t cap = rq->cap ? rq->cap : 4096;
        char *grown;
        while (cap < rq->len + n + 1)
            cap *= 2;
        grown = realloc(rq->body, cap);
        if (grown == NULL)
            return MHD_NO;
        rq->body = grown;
        rq->cap = cap;
    }
    memcpy(rq->body + rq->len, upload_data, n);
    rq->len += n;
    rq->body[rq->len] = '\0';
    return MHD_YES;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **req_cls)
{
    struct http_ingest *h = cls;
    struct request *rq = *req_cls;

    (void)version;
    if (rq == NULL)
        return begin_request(h, conn, url, method, req_cls);
    if (past_deadline(conn, rq)) {
        metrics_counter_add(METRIC_HTTP_INGEST_REQUESTS, (const char *[]){"timeout"}, 1);
        log_info("ingest", NULL,
                 "a request did not arrive whole within request_timeout (%ld ms): connection "
                 "closed",
                 rq->live->o.request_timeout_ms);
        return MHD_NO;
    }
    if (*upload_data_size > 0)
        return take_upload(rq, upload_data, upload_data_size);
    if (rq->too_large)
        return respond_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
                             "the body is larger than [ingest] max_body", 0);
    return post_events(h, conn, rq);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_warn("ingest", NULL, "libmicrohttpd: %s", msg);
}

/* --- start and stop ---------------------------------------------------------- */

static char *read_file(const char *path, struct error *err)
{
    FILE *f = fopen(path, "re");
    char *buf = NULL;
    size_t len = 0, cap = 0;

    if (f == NULL) {
        error_set(err, "ingest: cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    for (;;) {
        size_t n;
        if (len + 4096 + 1 > cap) {
            char *g = realloc(buf, cap + 65536);
            if (g == NULL) {
                free(buf);
                fclose(f);
                error_set(err, "out of memory");
                return NULL;
            }
            buf = g;
            cap += 65536;
        }
        n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

static void free_ingest(struct http_ingest *h)
{
    http_ingest_live_drop(h, h->live);
    head_watch_free(h->heads); /* libmicrohttpd has stopped: no connection left */
    store_close(h->ro);
    listen_socket_close(&h->ls);
    pthread_mutex_destroy(&h->lock);
    pthread_mutex_destroy(&h->store_lock);
    if (h->tls_key != NULL)
        config_secret_free(h->tls_key);
    free(h->tls_cert);
    http_ingest_options_free(&h->o);
    free(h);
}

static void handle_closed(uv_handle_t *hd)
{
    struct http_ingest *h = hd->data;

    if (--h->handles_open == 0)
        free_ingest(h);
}

/* A listener off loopback needs TLS: bearer tokens must not cross the
 * network in clear. Reads the certificate and the key when set. */
static int load_tls(struct http_ingest *h, struct error *err)
{
    const struct http_ingest_options *opts = &h->o;

    if (!h->ls.loopback && (opts->tls_cert == NULL || opts->tls_key == NULL))
        return error_set(err,
                         "[ingest] listen %s is not a loopback address: set tls_cert and "
                         "tls_key (bearer tokens must not cross the network in clear)",
                         h->ls.address);
    if (opts->tls_cert == NULL || opts->tls_key == NULL)
        return 0;
    h->tls_cert = read_file(opts->tls_cert, err);
    if (h->tls_cert == NULL)
        return -1;
    h->tls_key = config_secret_read(opts->tls_key, err);
    if (h->tls_key == NULL)
        return -1;
    return 0;
}

/* libmicrohttpd on the socket already bound, a thread per connection,
 * with the limits and timeouts of [ingest]. */
static struct MHD_Daemon *start_mhd(struct http_ingest *h, unsigned flags)
{
    const struct http_ingest_options *opts = &h->o;

    return MHD_start_daemon(flags, 0, NULL, NULL, handle, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
                            NULL, MHD_OPTION_LISTEN_SOCKET, h->ls.fd, MHD_OPTION_CONNECTION_LIMIT,
                            (unsigned)opts->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                            (unsigned)opts->per_ip_connections, MHD_OPTION_CONNECTION_TIMEOUT,
                            (unsigned)opts->timeout_s, MHD_OPTION_NOTIFY_COMPLETED, completed, h,
                            MHD_OPTION_NOTIFY_CONNECTION, connection_notice, h,
                            MHD_OPTION_URI_LOG_CALLBACK, request_line, h,
                            MHD_OPTION_THREAD_STACK_SIZE, (size_t)(512 * 1024),
                            MHD_OPTION_HTTPS_MEM_CERT, h->tls_cert, MHD_OPTION_HTTPS_MEM_KEY,
                            h->tls_key, MHD_OPTION_END);
}

int http_ingest_start(uv_loop_t *loop, struct ingest *ing, const struct http_ingest_options *opts,
                      struct http_ingest **out, struct error *err)
{
    struct http_ingest *h = calloc(1, sizeof(*h));
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ERROR_LOG | MHD_USE_POLL;
    int rc = -1;

    *out = NULL;
    if (h == NULL)
        return error_set(err, "out of memory");
    h->o = *opts;
    h->ls.fd = -1;
    h->ing = ing;
    pthread_mutex_init(&h->lock, NULL);
    pthread_mutex_init(&h->store_lock, NULL);
    if (http_ingest_options_copy(&h->o) != 0) {
        error_set(err, "out of memory");
        goto out;
    }
    opts = &h->o;
    h->conn.ops = &http_ops;
    h->conn.name = (char *)opts->origin;
    h->conn.loop = loop;
    h->conn.sink = &ing->sink;
    h->live = http_ingest_live_new(opts, NULL, err);
    if (h->live == NULL)
        goto out;
    if (listen_socket_open(opts->listen, "[ingest] listen", 64, &h->ls, err) != 0)
        goto out;
    if (load_tls(h, err) != 0)
        goto out;
    if (h->tls_cert != NULL)
        flags |= MHD_USE_TLS;
    h->heads = head_watch_new(opts->header_timeout_ms, h->tls_cert != NULL);
    if (h->heads == NULL) {
        error_set(err, "ingest: cannot start the header deadline's thread");
        goto out;
    }
    if (uv_async_init(loop, &h->async, http_ingest_commit_cb) != 0) {
        error_set(err, "ingest: uv_async_init failed");
        goto out;
    }
    h->async.data = h;
    h->handles_open++;
    uv_timer_init(loop, &h->backlog_timer);
    h->backlog_timer.data = h;
    h->handles_open++;
    if (opts->max_backlog > 0)
        uv_timer_start(&h->backlog_timer, http_ingest_backlog_cb, 0, BACKLOG_CHECK_MS);
    h->mhd = start_mhd(h, flags);
    if (h->mhd == NULL) {
        error_set(err, "ingest: cannot start the HTTP server on %s", h->ls.address);
        goto out;
    }
    h->ls.fd = -1; /* MHD_stop_daemon() closes it */
    log_notice("ingest", NULL, "HTTP ingest listening on %s%s (POST /v1/events, GET /v1/members)",
               h->ls.address, h->tls_cert ? " with TLS" : "");
    *out = h;
    h = NULL;
    rc = 0;
out:
    if (h != NULL) {
        if (h->handles_open > 0) {
            uv_close((uv_handle_t *)&h->async, handle_closed);
            uv_close((uv_handle_t *)&h->backlog_timer, handle_closed);
        } else {
            free_ingest(h);
        }
    }
    return rc;
}

void http_ingest_stop(struct http_ingest *h)
{
    struct job *queued;

    if (h == NULL)
        return;
    pthread_mutex_lock(&h->lock);
    h->stopping = 1;
    queued = h->head;
    h->head = h->tail = NULL;
    h->pending = 0;
    pthread_mutex_unlock(&h->lock);
    /* Nothing of these was begun: they are answered 503 and the clients
     * send them again to the next run. */
    http_ingest_finish_jobs(h, queued, MHD_HTTP_SERVICE_UNAVAILABLE);
    if (h->mhd != NULL)
        MHD_stop_daemon(h->mhd);
    h->mhd = NULL;
    log_notice("ingest", NULL, "HTTP ingest on %s stopped", h->ls.address);
    uv_close((uv_handle_t *)&h->async, handle_closed);
    uv_close((uv_handle_t *)&h->backlog_timer, handle_closed);
}
