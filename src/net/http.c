/* The glue between one libcurl multi handle and the libuv loop.
 *
 * curl tells us which sockets to watch (socket callback) and when to call it
 * back at the latest (timer callback); we tell curl what happened with
 * curl_multi_socket_action(). See docs/http.md for the rules this follows
 * and why:
 *   - one struct http_sock per socket, attached with curl_multi_assign(), so
 *     no table indexed by fd (fds are reused as soon as curl closes them);
 *   - the poll handle is stopped inside the CURL_POLL_REMOVE callback, before
 *     curl closes the fd, and freed from its close callback;
 *   - curl is never called back from inside one of its own callbacks: a 0 ms
 *     timeout only arms the uv timer, which fires on a later loop turn;
 *   - a poll error (UV_EBADF, ...) closes that poll handle and is reported to
 *     curl as CURL_CSELECT_ERR so the transfer fails instead of hanging. */
#include "http_internal.h"

#include <stdlib.h>
#include <string.h>

#include "http_verdict.h"
#include "log.h"
#include "metrics.h"

#define HTTP_EASY_POOL_MAX 64

struct http_sock {
    uv_poll_t poll;
    struct http_client *client;
    curl_socket_t fd;
    struct http_sock *prev, *next; /* the client's open sockets, for shutdown */
};

void http_options_defaults(struct http_options *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->limits.connect_timeout_ms = 10000;
    opts->limits.timeout_ms = 60000;
    opts->limits.low_speed_bytes = 1;
    opts->limits.low_speed_secs = 30;
    opts->limits.max_response_bytes = 16u * 1024 * 1024;
    opts->max_host_connections = 8;
    opts->max_total_connections = 32;
    opts->http2 = 1;
    opts->allow_loopback_http = 0;
    opts->follow_redirects = 0;
    opts->ca_file = NULL;
    opts->user_agent = NULL;
}

size_t http_client_inflight(const struct http_client *c)
{
    return c->n_inflight;
}

static void maybe_free_client(struct http_client *c)
{
    void (*cb)(void *) = NULL;
    void *arg = NULL;

    if (!c->closing || c->open_handles > 0 || c->multi != NULL)
        return;
    cb = c->on_closed;
    arg = c->on_closed_arg;
    free(c->ca_file);
    free(c->user_agent);
    free(c->easy_pool);
    free(c);
    curl_global_cleanup();
    if (cb != NULL)
        cb(arg);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct http_client *c = NULL;

    if (h->type == UV_POLL) {
        struct http_sock *s = h->data;
        c = s->client;
        free(s);
    } else {
        c = h->data;
    }
    c->open_handles--;
    maybe_free_client(c);
}

static void sock_close(struct http_sock *s)
{
    struct http_client *c = s->client;

    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        c->socks = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, on_handle_closed);
}

static void unlink_request(struct http_client *c, struct http_request *r)
{
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        c->inflight = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
    c->n_inflight--;
}

/* Returns the easy handle to the pool (reset: options gone, but curl keeps
 * its internal buffers, which saves allocations per request). */
static void release_easy(struct http_client *c, struct http_request *r)
{
    CURL *easy = r->easy;

    r->easy = NULL;
    if (easy == NULL)
        return;
    if (!c->closing && c->n_pool < HTTP_EASY_POOL_MAX) {
        curl_easy_reset(easy);
        c->easy_pool[c->n_pool++] = easy;
    } else {
        curl_easy_cleanup(easy);
    }
}

static void log_done(const struct http_request *r)
{
    const struct http_result *res = &r->result;
    const char *q = NULL;
    int pathlen = 0;

    if (log_get_level() < LOG_LVL_DEBUG)
        return;
    /* The query string may hold personal data (a search by email): log the
     * URL up to it only. */
    q = strchr(r->url, '?');
    pathlen = q != NULL ? (int)(q - r->url) : (int)strlen(r->url);
    log_debug("http", r->conn[0] != '\0' ? r->conn : NULL, "%s %.*s -> %ld %s/%s in %lld us%s%s",
              http_method_name(r->method), pathlen, r->url, res->status, http_class_name(res->cls),
              http_failure_name(res->failure), (long long)res->timing.total_us,
              res->error[0] != '\0' ? ": " : "", res->error);
}

/* Every request is timed (issue 19: only push batches were, 4 where the
 * CRM saw 48 requests), by connector, code and endpoint; failures are
 * counted by class. */
static void count_request(const struct http_request *r)
{
    const struct http_result *res = &r->result;
    const char *conn = r->conn[0] != '\0' ? r->conn : "none";
    char code[16], endpoint[METRIC_LABEL_MAX];
    const char *cls = NULL;

    /* Cancelled at close, or never sent (no token, a refused URL): not a
     * request the CRM saw. */
    if (res->failure == HTTP_FAIL_CANCELLED || res->failure == HTTP_FAIL_AUTH ||
        res->failure == HTTP_FAIL_INVALID || res->failure == HTTP_FAIL_INTERNAL)
        return;
    if (res->status == 0)
        snprintf(code, sizeof(code), "transport");
    else
        snprintf(code, sizeof(code), "%ld", res->status);
    metrics_endpoint_of(r->url, endpoint, sizeof(endpoint));
    metrics_observe(METRIC_REQUEST_DURATION, (const char *[]){conn, code, endpoint},
                    (double)res->timing.total_us / 1e6);
    if (res->status == 0)
        cls = "transport";
    else if (res->status == 429)
        cls = "429";
    else if (res->status >= 500)
        cls = "5xx";
    else if (res->status >= 400)
        cls = "4xx";
    if (cls != NULL) {
        metrics_counter_add(METRIC_HTTP_ERRORS, (const char *[]){conn, cls}, 1);
        /* Unreachable or rejecting: the engine asks when it fails. */
        if (r->conn[0] != '\0')
            http_verdict_note(r->conn, res->status, endpoint);
    }
}

/* Completes r: its callback runs, then it is freed. */
static void complete(struct http_client *c, struct http_request *r)
{
    log_done(r);
    count_request(r);
    c->dispatching++;
    r->done(&r->result, r->done_arg);
    c->dispatching--;
    http_request_free(r);
    if (c->close_pending && c->dispatching == 0) {
        c->close_pending = 0;
        http_client_close(c, c->on_closed, c->on_closed_arg);
    }
}

/* Collects finished transfers. Called after every curl_multi_socket_action,
 * never from inside a curl callback, so callbacks may start new requests. */
static void keep_delayed(struct http_client *c, struct http_request *r);

static void check_done(struct http_client *c)
{
    CURLMsg *msg = NULL;
    int left = 0;

    for (;;) {
        msg = curl_multi_info_read(c->multi, &left);
        if (msg == NULL)
            break;
        struct http_request *r = NULL;
        CURL *easy = msg->easy_handle;
        CURLcode code = msg->data.result;

        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
        curl_multi_remove_handle(c->multi, easy);
        if (r->held_back) {
            /* Not sent: a hold began while it waited for a connection. */
            r->held_back = 0;
            r->errbuf[0] = '\0';
            unlink_request(c, r);
            release_easy(c, r);
            keep_delayed(c, r);
            continue;
        }
        http_request_finish(r, code);
        unlink_request(c, r);
        release_easy(c, r);
        complete(c, r);
        /* The callback may have closed the client: the multi is gone. */
        if (c->closing)
            break;
    }
}

static void on_poll(uv_poll_t *handle, int status, int events)
{
    struct http_sock *s = handle->data;
    struct http_client *c = s->client;
    curl_socket_t fd = s->fd;
    int flags = 0;
    int running = 0;

    if (status < 0) {
        /* The fd went bad under us (UV_EBADF) or the poll failed: stop
         * watching it for good and let curl fail whatever uses it. */
        if (status == UV_EBADF)
            log_debug("http", NULL, "socket %d closed under its poll handle", (int)fd);
        else
            log_warn("http", NULL, "poll error on socket %d: %s", (int)fd, uv_strerror(status));
        curl_multi_assign(c->multi, fd, NULL);
        sock_close(s);
        flags = CURL_CSELECT_ERR;
    } else {
        if (events & (UV_READABLE | UV_DISCONNECT))
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    curl_multi_socket_action(c->multi, fd, flags, &running);
    check_done(c);
}

static void on_timeout(uv_timer_t *t)
{
    struct http_client *c = t->data;
    int running = 0;

    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(c);
}

/* CURLMOPT_SOCKETFUNCTION. Only adjusts the watch; never calls curl. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct http_client *c = userp;
    struct http_sock *s = socketp;
    int events = 0;
    int rc = 0;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        /* Stop now: curl closes the fd right after we return, and the number
         * may be reused by the next connect before the loop turns. */
        if (s != NULL)
            sock_close(s);
        return 0;
    }
    if (s == NULL) {
        /* curl 7.88 may close a socket of a failed connect attempt without
         * a CURL_POLL_REMOVE. If its number comes back, the old poll handle
         * must go first: two handles on one fd confuse epoll. */
        struct http_sock *stale = c->socks;
        while (stale != NULL && stale->fd != fd)
            stale = stale->next;
        if (stale != NULL)
            sock_close(stale);
        s = calloc(1, sizeof(*s));
        if (s == NULL)
            return -1;
        rc = uv_poll_init_socket(c->loop, &s->poll, fd);
        if (rc < 0) {
            log_error("http", NULL, "cannot watch socket %d: %s", (int)fd, uv_strerror(rc));
            free(s);
            return -1;
        }
        s->poll.data = s;
        s->client = c;
        s->fd = fd;
        s->next = c->socks;
        if (c->socks != NULL)
            c->socks->prev = s;
        c->socks = s;
        c->open_handles++;
        curl_multi_assign(c->multi, fd, s);
    }
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    rc = uv_poll_start(&s->poll, events, on_poll);
    if (rc < 0) {
        log_error("http", NULL, "cannot poll socket %d: %s", (int)fd, uv_strerror(rc));
        return -1;
    }
    return 0;
}

/* CURLMOPT_TIMERFUNCTION. A 0 ms timeout also goes through the uv timer: it
 * fires from the loop, never re-entering curl from here. */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct http_client *c = userp;

    (void)multi;
    if (c->closing)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

int http_client_new(uv_loop_t *loop, const struct http_options *opts, struct http_client **out,
                    struct error *err)
{
    struct http_client *c = NULL;
    int global = 0;
    int rc = -1;

    *out = NULL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        error_set(err, "curl_global_init failed");
        goto out;
    }
    global = 1;
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        error_set(err, "out of memory");
        goto out;
    }
    c->loop = loop;
    c->opts = *opts;
    c->easy_pool = calloc(HTTP_EASY_POOL_MAX, sizeof(*c->easy_pool));
    c->user_agent =
        strdup(opts->user_agent != NULL ? opts->user_agent : "crmsyncd/" CRMSYNC_VERSION);
    if (opts->ca_file != NULL)
        c->ca_file = strdup(opts->ca_file);
    c->opts.ca_file = c->ca_file;
    c->opts.user_agent = c->user_agent;
    if (c->easy_pool == NULL || c->user_agent == NULL ||
        (opts->ca_file != NULL && c->ca_file == NULL)) {
        error_set(err, "out of memory");
        goto out;
    }
    c->share = curl_share_init();
    c->multi = curl_multi_init();
    if (c->share == NULL || c->multi == NULL) {
        error_set(err, "cannot create curl handles");
        goto out;
    }
    /* One loop thread: no lock callbacks needed. */
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, opts->max_host_connections);
    curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, opts->max_total_connections);
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, opts->max_total_connections);
    if (uv_timer_init(loop, &c->timer) < 0) {
        error_set(err, "cannot create timer");
        goto out;
    }
    c->timer.data = c;
    if (uv_timer_init(loop, &c->hold_timer) < 0) {
        uv_close((uv_handle_t *)&c->timer, NULL);
        error_set(err, "cannot create timer");
        goto out;
    }
    c->hold_timer.data = c;
    c->open_handles = 2;
    *out = c;
    rc = 0;
out:
    if (rc < 0 && c != NULL) {
        if (c->multi != NULL)
            curl_multi_cleanup(c->multi);
        if (c->share != NULL)
            curl_share_cleanup(c->share);
        free(c->ca_file);
        free(c->user_agent);
        free(c->easy_pool);
        free(c);
    }
    if (rc < 0 && global)
        curl_global_cleanup();
    return rc;
}

static void on_hold_timer(uv_timer_t *t);

/* Hands r to curl: 0, or -1 with err (r not linked, not freed). */
static int start_transfer(struct http_client *c, struct http_request *r, struct error *err)
{
    CURL *easy = NULL;
    CURLMcode mc;

    easy = c->n_pool > 0 ? c->easy_pool[--c->n_pool] : curl_easy_init();
    if (easy == NULL)
        return error_set(err, "cannot create curl handle");
    if (http_request_prepare(r, easy, err) < 0) {
        curl_easy_cleanup(easy);
        return -1;
    }
    r->next = c->inflight;
    r->prev = NULL;
    if (c->inflight != NULL)
        c->inflight->prev = r;
    c->inflight = r;
    c->n_inflight++;
    /* Adding only arms the timer (0 ms): the transfer starts from the loop,
     * so done is never called from here. */
    mc = curl_multi_add_handle(c->multi, easy);
    if (mc != CURLM_OK) {
        error_set(err, "curl_multi_add_handle: %s", curl_multi_strerror(mc));
        unlink_request(c, r);
        return -1;
    }
    return 0;
}

static uint64_t mono_ms(void)
{
    return uv_hrtime() / 1000000;
}

static void hold_arm(struct http_client *c)
{
    uint64_t first = UINT64_MAX, now = mono_ms();

    for (struct http_request *r = c->delayed; r != NULL; r = r->next) {
        uint64_t t = http_request_not_before(r);
        if (t < first)
            first = t;
    }
    if (first == UINT64_MAX)
        uv_timer_stop(&c->hold_timer);
    else
        uv_timer_start(&c->hold_timer, on_hold_timer, first > now ? first - now : 0, 0);
}

/* Delayed requests whose time has come go to curl, in the order started. */
static void on_hold_timer(uv_timer_t *t)
{
    struct http_client *c = t->data;
    uint64_t now = mono_ms();
    struct http_request *due = NULL, **tail = &due, **pp = &c->delayed;

    while (*pp != NULL) {
        struct http_request *r = *pp;
        if (http_request_not_before(r) <= now) {
            *pp = r->next;
            r->next = NULL;
            *tail = r;
            tail = &r->next;
        } else {
            pp = &r->next;
        }
    }
    hold_arm(c);
    while (due != NULL) {
        struct http_request *r = due;
        struct error err = {""};
        due = r->next;
        r->next = NULL;
        /* A callback below may have closed the client: the rest are
         * cancelled as the delayed list was (they are off it). */
        if (c->closing)
            http_request_fail(r, r->done, r->done_arg, HTTP_CLASS_CANCELLED, HTTP_FAIL_CANCELLED,
                              -1, "HTTP client closed");
        else if (r->before_send != NULL && r->before_send(r, r->before_send_arg) != 0)
            http_request_fail(r, r->done, r->done_arg, HTTP_CLASS_UNAUTHORIZED, HTTP_FAIL_AUTH, -1,
                              "its token expired while it waited; not sent");
        else if (start_transfer(c, r, &err) != 0)
            http_request_fail(r, r->done, r->done_arg, HTTP_CLASS_RETRY, HTTP_FAIL_INTERNAL, -1,
                              err.msg);
    }
}

/* Kept in start order: appended. */
static void keep_delayed(struct http_client *c, struct http_request *r)
{
    struct http_request **pp = &c->delayed;

    while (*pp != NULL)
        pp = &(*pp)->next;
    r->next = NULL;
    r->prev = NULL;
    *pp = r;
    hold_arm(c);
}

int http_request_start(struct http_request *r, http_done_fn done, void *arg, struct error *err)
{
    struct http_client *c = r->client;

    if (c->closing) {
        error_set(err, "HTTP client is shutting down");
        goto fail;
    }
    r->done = done;
    r->done_arg = arg;
    if (http_request_not_before(r) > mono_ms()) {
        keep_delayed(c, r);
        return 0;
    }
    if (start_transfer(c, r, err) != 0)
        goto fail;
    return 0;
fail:
    http_request_free(r);
    return -1;
}

void http_request_fail(struct http_request *r, http_done_fn done, void *arg, enum http_class cls,
                       enum http_failure failure, long retry_after_ms, const char *msg)
{
    struct http_result *res = &r->result;

    res->cls = cls;
    res->failure = failure;
    res->retry_after_ms = retry_after_ms;
    snprintf(res->error, sizeof(res->error), "%s", msg != NULL ? msg : "");
    r->done = done;
    r->done_arg = arg;
    complete(r->client, r);
}

void http_client_close(struct http_client *c, void (*on_closed)(void *arg), void *arg)
{
    struct http_request *r = NULL;
    size_t i = 0;

    if (c->closing)
        return;
    c->on_closed = on_closed;
    c->on_closed_arg = arg;
    if (c->dispatching > 0) {
        /* Inside a completion callback, check_done() is iterating curl's
         * message queue: finish there. */
        c->close_pending = 1;
        return;
    }
    c->closing = 1;
    uv_timer_stop(&c->timer);
    /* Every request in flight gets its completion now, as "cancelled".
     * Removing the handle may make curl close sockets (socket callback with
     * CURL_POLL_REMOVE): that stops their poll handles. */
    while (c->inflight != NULL) {
        r = c->inflight;
        unlink_request(c, r);
        curl_multi_remove_handle(c->multi, r->easy);
        curl_easy_cleanup(r->easy);
        r->easy = NULL;
        r->result.cls = HTTP_CLASS_CANCELLED;
        r->result.failure = HTTP_FAIL_CANCELLED;
        r->result.status = 0;
        snprintf(r->result.error, sizeof(r->result.error), "HTTP client shut down");
        complete(c, r);
    }
    /* Delayed requests never went: cancelled the same way. */
    uv_timer_stop(&c->hold_timer);
    while (c->delayed != NULL) {
        r = c->delayed;
        c->delayed = r->next;
        r->next = NULL;
        r->result.cls = HTTP_CLASS_CANCELLED;
        r->result.failure = HTTP_FAIL_CANCELLED;
        r->result.status = 0;
        snprintf(r->result.error, sizeof(r->result.error), "HTTP client shut down");
        complete(c, r);
    }
    for (i = 0; i < c->n_pool; i++)
        curl_easy_cleanup(c->easy_pool[i]);
    c->n_pool = 0;
    /* Closes the cached connections; their sockets come back through the
     * socket callback as CURL_POLL_REMOVE and their poll handles close. The
     * share handle goes after every easy handle that used it. */
    curl_multi_cleanup(c->multi);
    c->multi = NULL;
    curl_share_cleanup(c->share);
    c->share = NULL;
    /* curl reports every socket it closes, but do not bet the loop's
     * shutdown on it: whatever is still watched is closed here. */
    while (c->socks != NULL)
        sock_close(c->socks);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->hold_timer, on_handle_closed);
}
