/* One request: building it, turning it into a configured curl easy handle,
 * collecting the response, and filling in the result.
 *
 * Everything security-relevant is set here for every request, not left to
 * callers: protocols, TLS verification, redirect policy, size cap. */
#include "http_internal.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

/* Response headers kept per request; past this they are dropped (the ones we
 * need come early and are short). */
#define HTTP_HEADER_BYTES_MAX (32 * 1024)

static const char *const method_names[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};

const char *http_method_name(enum http_method m)
{
    if ((size_t)m < sizeof(method_names) / sizeof(method_names[0]))
        return method_names[m];
    return "?";
}

enum http_method http_request_method(const struct http_request *r)
{
    return r->method;
}

/* A loopback address, written as one: a name ("localhost") is not trusted,
 * since what it resolves to is up to /etc/hosts and the resolver. */
static int host_is_loopback(const char *host)
{
    struct in_addr a4;
    size_t len = strlen(host);

    if (strcmp(host, "[::1]") == 0 || strcmp(host, "::1") == 0)
        return 1;
    if (len > 0 && len < 16 && inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return 0;
}

static int check_url_rule(int allow_loopback_http, const char *url, int *loopback_http,
                          struct error *err);

int http_url_allowed(const char *url, int allow_loopback_http, struct error *err)
{
    int loopback = 0;

    return check_url_rule(allow_loopback_http, url, &loopback, err);
}

/* Checks the URL against the protocol rule. Sets *loopback_http. */
static int check_url(const struct http_client *c, const char *url, int *loopback_http,
                     struct error *err)
{
    return check_url_rule(c->opts.allow_loopback_http, url, loopback_http, err);
}

static int check_url_rule(int allow_loopback_http, const char *url, int *loopback_http,
                          struct error *err)
{
    CURLU *u = NULL;
    char *scheme = NULL;
    char *host = NULL;
    int rc = -1;

    u = curl_url();
    if (u == NULL) {
        error_set(err, "out of memory");
        goto out;
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        error_set(err, "invalid URL");
        goto out;
    }
    *loopback_http = 0;
    if (strcmp(scheme, "https") == 0) {
        rc = 0;
    } else if (strcmp(scheme, "http") == 0 && allow_loopback_http && host_is_loopback(host)) {
        *loopback_http = 1;
        rc = 0;
    } else {
        error_set(err, "URL scheme %s%s not allowed (https only%s)", scheme,
                  strcmp(scheme, "http") == 0 ? " to this host" : "",
                  allow_loopback_http ? "; http to a loopback address, not a name" : "");
    }
out:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

struct http_request *http_request_new(struct http_client *c, enum http_method method,
                                      const char *url, struct error *err)
{
    struct http_request *r = NULL;
    int loopback = 0;

    if ((size_t)method >= sizeof(method_names) / sizeof(method_names[0])) {
        error_set(err, "unknown HTTP method");
        return NULL;
    }
    if (check_url(c, url, &loopback, err) < 0)
        return NULL;
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        goto oom;
    r->url = strdup(url);
    if (r->url == NULL)
        goto oom;
    r->client = c;
    r->method = method;
    r->loopback_http = loopback;
    r->limits = c->opts.limits;
    r->result.retry_after_ms = -1;
    return r;
oom:
    http_request_free(r);
    error_set(err, "out of memory");
    return NULL;
}

void http_request_set_conn(struct http_request *r, const char *conn)
{
    snprintf(r->conn, sizeof(r->conn), "%s", conn != NULL ? conn : "");
}

int http_request_add_header(struct http_request *r, const char *name, const char *value)
{
    struct curl_slist *l = NULL;
    char *line = NULL;
    size_t len = strlen(name) + strlen(value) + 3;

    if (strcasecmp(name, "Authorization") == 0 || strchr(name, ':') != NULL ||
        strpbrk(value, "\r\n") != NULL)
        return -1;
    line = malloc(len);
    if (line == NULL)
        return -1;
    snprintf(line, len, "%s: %s", name, value);
    l = curl_slist_append(r->headers, line);
    free(line);
    if (l == NULL)
        return -1;
    r->headers = l;
    return 0;
}

static void wipe_free(char *s, size_t len)
{
    if (s == NULL)
        return;
    OPENSSL_cleanse(s, len);
    free(s);
}

static void wipe_auth_header(struct http_request *r);

/* A request prepared once (then taken back from curl inside a hold) has its
 * Authorization line in the header list already: the list is built again
 * without it, plus line, and the old one is wiped. */
static int replace_auth_line(struct http_request *r, const char *line)
{
    struct curl_slist *l = NULL, *n = NULL;

    for (const struct curl_slist *h = r->headers; h != NULL; h = h->next) {
        if (strncasecmp(h->data, "Authorization:", 14) == 0)
            continue;
        n = curl_slist_append(l, h->data);
        if (n == NULL)
            goto fail;
        l = n;
    }
    n = curl_slist_append(l, line);
    if (n == NULL)
        goto fail;
    wipe_auth_header(r);
    curl_slist_free_all(r->headers);
    r->headers = n;
    return 0;
fail:
    curl_slist_free_all(l);
    return -1;
}

int http_request_set_bearer(struct http_request *r, const char *token)
{
    static const char prefix[] = "Authorization: Bearer ";
    size_t len = sizeof(prefix) + strlen(token);
    char *line = NULL;

    if (strpbrk(token, "\r\n") != NULL)
        return -1;
    line = malloc(len);
    if (line == NULL)
        return -1;
    snprintf(line, len, "%s%s", prefix, token);
    if (r->prepared) {
        int rc = replace_auth_line(r, line);
        wipe_free(line, strlen(line));
        return rc;
    }
    if (r->bearer != NULL)
        wipe_free(r->bearer, strlen(r->bearer));
    r->bearer = line;
    return 0;
}

int http_request_set_body(struct http_request *r, const char *content_type, const void *body,
                          size_t len)
{
    char *copy = NULL;

    copy = malloc(len + 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, body, len);
    copy[len] = '\0';
    if (content_type != NULL && http_request_add_header(r, "Content-Type", content_type) < 0) {
        free(copy);
        return -1;
    }
    if (r->body != NULL)
        wipe_free(r->body, r->body_len);
    r->body = copy;
    r->body_len = len;
    return 0;
}

void http_request_set_sensitive(struct http_request *r)
{
    r->sensitive = 1;
}

void http_request_set_delay(struct http_request *r, uint64_t delay_ms)
{
    r->not_before_ms = delay_ms > 0 ? uv_hrtime() / 1000000 + delay_ms : 0;
}

void http_request_set_before_send(struct http_request *r, http_before_send_fn fn, void *arg)
{
    r->before_send = fn;
    r->before_send_arg = arg;
}

void http_request_set_hold(struct http_request *r, const uint64_t *hold_until_ms)
{
    r->hold = hold_until_ms;
}

uint64_t http_request_not_before(const struct http_request *r)
{
    uint64_t held = r->hold != NULL ? *r->hold : 0;
    return held > r->not_before_ms ? held : r->not_before_ms;
}

/* CURLOPT_PREREQFUNCTION: the connection is ready and the request about to
 * be sent. Inside the hold it is not: the client takes it back and keeps it
 * until the hold ends (http.c check_done). */
static int on_prereq(void *arg, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port,
                     int conn_local_port)
{
    struct http_request *r = arg;

    (void)conn_primary_ip;
    (void)conn_local_ip;
    (void)conn_primary_port;
    (void)conn_local_port;
    if (r->hold != NULL && *r->hold > uv_hrtime() / 1000000) {
        r->held_back = 1;
        return CURL_PREREQFUNC_ABORT;
    }
    return CURL_PREREQFUNC_OK;
}

void http_request_set_limits(struct http_request *r, const struct http_limits *limits)
{
    r->limits = *limits;
}

struct http_request *http_request_clone(const struct http_request *r)
{
    struct http_request *n = NULL;
    const struct curl_slist *h = NULL;

    n = calloc(1, sizeof(*n));
    if (n == NULL)
        return NULL;
    n->client = r->client;
    n->method = r->method;
    n->loopback_http = r->loopback_http;
    n->limits = r->limits;
    n->sensitive = r->sensitive;
    n->hold = r->hold;
    n->result.retry_after_ms = -1;
    memcpy(n->conn, r->conn, sizeof(n->conn));
    n->url = strdup(r->url);
    if (n->url == NULL)
        goto fail;
    for (h = r->headers; h != NULL; h = h->next) {
        struct curl_slist *l = curl_slist_append(n->headers, h->data);
        if (l == NULL)
            goto fail;
        n->headers = l;
    }
    if (r->body != NULL) {
        n->body = malloc(r->body_len + 1);
        if (n->body == NULL)
            goto fail;
        memcpy(n->body, r->body, r->body_len + 1);
        n->body_len = r->body_len;
    }
    return n;
fail:
    http_request_free(n);
    return NULL;
}

void http_result_release(struct http_result *res, int wipe)
{
    if (wipe && res->body != NULL)
        OPENSSL_cleanse(res->body, res->body_len);
    free(res->body);
    res->body = NULL;
    res->body_len = 0;
    free(res->hdr_buf);
    res->hdr_buf = NULL;
    res->hdr_len = res->hdr_cap = 0;
}

void http_request_free(struct http_request *r)
{
    if (r == NULL)
        return;
    if (r->easy != NULL)
        curl_easy_cleanup(r->easy);
    free(r->url);
    curl_slist_free_all(r->headers);
    if (r->bearer != NULL)
        wipe_free(r->bearer, strlen(r->bearer));
    if (r->body != NULL) {
        if (r->sensitive)
            OPENSSL_cleanse(r->body, r->body_len);
        free(r->body);
    }
    http_result_release(&r->result, r->sensitive);
    free(r);
}

/* curl write callback: appends to the body, enforcing the cap here too (a
 * chunked or lying response has no usable Content-Length for
 * CURLOPT_MAXFILESIZE to check). Returning less than asked aborts the
 * transfer with CURLE_WRITE_ERROR. */
static size_t on_write(char *data, size_t size, size_t nmemb, void *userp)
{
    struct http_request *r = userp;
    struct http_result *res = &r->result;
    size_t n = size * nmemb;
    size_t need = res->body_len + n + 1;
    char *grown = NULL;

    if (res->body_len + n > r->limits.max_response_bytes) {
        r->too_large = 1;
        return 0;
    }
    if (need > r->body_cap) {
        size_t cap = r->body_cap != 0 ? r->body_cap : 1024;
        while (cap < need)
            cap *= 2;
        grown = realloc(res->body, cap);
        if (grown == NULL)
            return 0;
        res->body = grown;
        r->body_cap = cap;
    }
    memcpy(res->body + res->body_len, data, n);
    res->body_len += n;
    res->body[res->body_len] = '\0';
    return n;
}

/* curl header callback: keeps "Name: value" lines of the last response
 * (a 100 Continue or a followed redirect starts a new block). */
static size_t on_header(char *data, size_t size, size_t nitems, void *userp)
{
    struct http_request *r = userp;
    struct http_result *res = &r->result;
    size_t n = size * nitems;
    size_t len = n;
    char *grown = NULL;

    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        res->hdr_len = 0;
        return n;
    }
    while (len > 0 && (data[len - 1] == '\r' || data[len - 1] == '\n'))
        len--;
    if (len == 0 || memchr(data, ':', len) == NULL)
        return n;
    if (res->hdr_len + len + 1 > HTTP_HEADER_BYTES_MAX)
        return n;
    if (res->hdr_len + len + 1 > res->hdr_cap) {
        size_t cap = res->hdr_cap != 0 ? res->hdr_cap : 512;
        while (cap < res->hdr_len + len + 1)
            cap *= 2;
        grown = realloc(res->hdr_buf, cap);
        if (grown == NULL)
            return n;
        res->hdr_buf = grown;
        res->hdr_cap = cap;
    }
    memcpy(res->hdr_buf + res->hdr_len, data, len);
    res->hdr_buf[res->hdr_len + len] = '\0';
    res->hdr_len += len + 1;
    return n;
}

#define SETOPT(opt, val)                                                                           \
    do {                                                                                           \
        if (curl_easy_setopt(easy, opt, val) != CURLE_OK) {                                        \
            error_set(err, "curl refused option " #opt);                                           \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

/* The headers only the first preparation adds: the bearer (moved out of
 * r->bearer, which is wiped) and, for a body, an empty Expect. */
static int add_headers(struct http_request *r, struct error *err)
{
    struct curl_slist *l;

    if (r->bearer != NULL) {
        l = curl_slist_append(r->headers, r->bearer);
        if (l == NULL)
            return error_set(err, "out of memory");
        r->headers = l;
        /* The slist now holds its own copy; wipe ours, the slist copy is
         * wiped in http_request_finish(). */
        wipe_free(r->bearer, strlen(r->bearer));
        r->bearer = NULL;
    }
    /* A POST body over 1 KiB makes curl wait for "100 Continue"; our servers
     * answer at once, so the wait is pure latency. */
    if (r->body != NULL) {
        l = curl_slist_append(r->headers, "Expect:");
        if (l == NULL)
            return error_set(err, "out of memory");
        r->headers = l;
    }
    return 0;
}

/* How the request travels: protocols, TLS, time and size limits, HTTP
 * version and connection reuse. */
static int set_transport(const struct http_request *r, CURL *easy, struct error *err)
{
    const struct http_client *c = r->client;
    int rc = -1;

    SETOPT(CURLOPT_PROTOCOLS_STR, r->loopback_http ? "http" : "https");
    SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "https");
    SETOPT(CURLOPT_FOLLOWLOCATION, c->opts.follow_redirects ? 1L : 0L);
    SETOPT(CURLOPT_MAXREDIRS, 3L);
    SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
    SETOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (c->ca_file != NULL)
        SETOPT(CURLOPT_CAINFO, c->ca_file);
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, r->limits.connect_timeout_ms);
    SETOPT(CURLOPT_TIMEOUT_MS, r->limits.timeout_ms);
    SETOPT(CURLOPT_LOW_SPEED_LIMIT, r->limits.low_speed_bytes);
    SETOPT(CURLOPT_LOW_SPEED_TIME, r->limits.low_speed_secs);
    SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->limits.max_response_bytes);
    SETOPT(CURLOPT_HTTP_VERSION,
           c->opts.http2 ? (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_1_1);
    /* Wait for an h2 connection being set up rather than opening a second
     * one, so concurrent requests multiplex on one connection. */
    SETOPT(CURLOPT_PIPEWAIT, 1L);
    SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
    SETOPT(CURLOPT_ACCEPT_ENCODING, "");
    SETOPT(CURLOPT_USERAGENT, c->user_agent);
    rc = 0;
out:
    return rc;
}

/* What is asked: the method, the body, the headers, and the hold's hook. */
static int set_method(struct http_request *r, CURL *easy, struct error *err)
{
    int rc = -1;

    switch (r->method) {
    case HTTP_GET:
        SETOPT(CURLOPT_HTTPGET, 1L);
        break;
    case HTTP_POST:
        SETOPT(CURLOPT_POST, 1L);
        break;
    case HTTP_PUT:
    case HTTP_PATCH:
    case HTTP_DELETE:
        SETOPT(CURLOPT_CUSTOMREQUEST, http_method_name(r->method));
        break;
    }
    if (r->body != NULL || r->method == HTTP_POST) {
        SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
        SETOPT(CURLOPT_POSTFIELDS, r->body != NULL ? r->body : "");
    }
    SETOPT(CURLOPT_HTTPHEADER, r->headers);
    if (r->hold != NULL) {
        SETOPT(CURLOPT_PREREQFUNCTION, on_prereq);
        SETOPT(CURLOPT_PREREQDATA, r);
    }
    rc = 0;
out:
    return rc;
}

/* Configures easy for r. Called by http.c with a fresh or reset handle. */
int http_request_prepare(struct http_request *r, CURL *easy, struct error *err)
{
    const struct http_client *c = r->client;
    int rc = -1;

    if (!r->prepared && add_headers(r, err) != 0)
        goto out;
    SETOPT(CURLOPT_URL, r->url);
    SETOPT(CURLOPT_PRIVATE, r);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_ERRORBUFFER, r->errbuf);
    SETOPT(CURLOPT_WRITEFUNCTION, on_write);
    SETOPT(CURLOPT_WRITEDATA, r);
    SETOPT(CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(CURLOPT_HEADERDATA, r);
    SETOPT(CURLOPT_SHARE, c->share);
    if (set_transport(r, easy, err) != 0 || set_method(r, easy, err) != 0)
        goto out;
    r->prepared = 1;
    r->easy = easy;
    rc = 0;
out:
    return rc;
}

static enum http_failure failure_of(CURLcode code)
{
    switch (code) {
    case CURLE_OK:
        return HTTP_FAIL_NONE;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return HTTP_FAIL_RESOLVE;
    case CURLE_COULDNT_CONNECT:
        return HTTP_FAIL_CONNECT;
    case CURLE_SSL_CONNECT_ERROR:
        return HTTP_FAIL_TLS;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
        return HTTP_FAIL_TLS_VERIFY;
    case CURLE_OPERATION_TIMEDOUT:
        return HTTP_FAIL_TIMEOUT;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING:
        return HTTP_FAIL_RESET;
    case CURLE_FILESIZE_EXCEEDED:
        return HTTP_FAIL_TOO_LARGE;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_TOO_MANY_REDIRECTS:
        return HTTP_FAIL_INVALID;
    default:
        return HTTP_FAIL_INTERNAL;
    }
}

/* Wipes the Authorization line kept in the header list. */
static void wipe_auth_header(struct http_request *r)
{
    struct curl_slist *h = NULL;

    for (h = r->headers; h != NULL; h = h->next) {
        if (strncasecmp(h->data, "Authorization:", 14) == 0)
            OPENSSL_cleanse(h->data, strlen(h->data));
    }
}

/* Fills r->result from the finished transfer. */
/* "Now" for an HTTP-date Retry-After: the response's Date, i.e. the
 * server's clock, which the date was written on. Measured against our own
 * wall clock, a clock that is off or was stepped turned the date into no
 * wait at all (ours ahead: a request inside the window) or into hours (ours
 * behind: capped at a day); the chaos scenario clock-jump showed both. Date
 * has whole seconds and is truncated, so the wait can only come out longer,
 * never shorter. Our own clock when the response has no usable Date. */
static time_t server_now(const struct http_result *res)
{
    const char *date = http_result_header(res, "Date");
    time_t t = date != NULL ? curl_getdate(date, NULL) : (time_t)-1;

    return t != (time_t)-1 ? t : time(NULL);
}

void http_request_finish(struct http_request *r, CURLcode code)
{
    struct http_result *res = &r->result;
    CURL *easy = r->easy;
    curl_off_t t = 0;
    curl_off_t uploaded = 0;
    long version = 0;
    long status = 0;
    int complete = 0;

    wipe_auth_header(r);
    res->curl_code = (int)code;
    res->failure = failure_of(code);
    if (code == CURLE_WRITE_ERROR && r->too_large)
        res->failure = HTTP_FAIL_TOO_LARGE;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &version);
    curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &res->num_connects);
    if (curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &t) == CURLE_OK)
        res->timing.connect_us = t;
    if (curl_easy_getinfo(easy, CURLINFO_APPCONNECT_TIME_T, &t) == CURLE_OK)
        res->timing.tls_us = t;
    if (curl_easy_getinfo(easy, CURLINFO_STARTTRANSFER_TIME_T, &t) == CURLE_OK)
        res->timing.ttfb_us = t;
    if (curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &t) == CURLE_OK)
        res->timing.total_us = t;
    /* "Sent" means the server had everything it needs to act: the whole body
     * (curl counts body bytes written), or for a bodyless request, the
     * transfer got past connection setup. */
    if (r->body_len > 0) {
        curl_easy_getinfo(easy, CURLINFO_SIZE_UPLOAD_T, &uploaded);
        res->request_sent = uploaded >= (curl_off_t)r->body_len;
    } else {
        curl_easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T, &t);
        res->request_sent = t > 0;
    }
    complete = code == CURLE_OK;
    res->http_version = version == CURL_HTTP_VERSION_2_0 ? 2 : (version != 0 ? 1 : 0);
    res->status = complete || res->failure == HTTP_FAIL_TOO_LARGE ? status : 0;
    if (complete && !(status >= 200 && status < 300))
        res->failure = HTTP_FAIL_STATUS;
    res->cls = http_classify(r->method == HTTP_GET, res->status, res->failure, res->request_sent);
    if (res->status != 0) {
        const char *ra = http_result_header(res, "Retry-After");
        long ms = 0;
        if (ra != NULL && http_parse_retry_after(ra, server_now(res), &ms) == 0)
            res->retry_after_ms = ms;
    }
    if (res->failure == HTTP_FAIL_TOO_LARGE)
        snprintf(res->error, sizeof(res->error), "response larger than %zu bytes",
                 r->limits.max_response_bytes);
    else if (code != CURLE_OK)
        snprintf(res->error, sizeof(res->error), "%s",
                 r->errbuf[0] != '\0' ? r->errbuf : curl_easy_strerror(code));
    else if (res->failure == HTTP_FAIL_STATUS)
        snprintf(res->error, sizeof(res->error), "HTTP %ld", status);
    if (r->sensitive && res->hdr_buf != NULL)
        OPENSSL_cleanse(res->hdr_buf, res->hdr_cap);
    if (r->sensitive) {
        /* Keep headers of a token response out of reach: nothing needs them. */
        free(res->hdr_buf);
        res->hdr_buf = NULL;
        res->hdr_len = res->hdr_cap = 0;
    }
}
