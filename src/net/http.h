/* Asynchronous HTTP client: one libcurl multi handle driven by the libuv loop.
 *
 * Use:
 *
 *     struct http_options opts;
 *     http_options_defaults(&opts);
 *     opts.ca_file = "/etc/crmsyncd/sim-ca.pem";     // optional
 *     http_client_new(loop, &opts, &client, &err);
 *
 *     struct http_request *r = http_request_new(client, HTTP_POST, url, &err);
 *     http_request_set_conn(r, "hubspot");            // for log lines
 *     http_request_add_header(r, "Accept", "application/json");
 *     http_request_set_body(r, "application/json", json, len);
 *     http_request_start(r, on_done, ctx, &err);      // the client owns r now
 *
 *     static void on_done(struct http_result *res, void *ctx)
 *     {
 *         switch (res->cls) { case HTTP_CLASS_OK: ... }
 *     }
 *
 * Every started request gets exactly one completion callback, on the loop
 * thread, never from inside http_request_start(). The result (and the
 * request) are freed when the callback returns; take the body with
 * http_result_take_body() to keep it.
 *
 * Security rules that are not options: TLS peer and host verification are
 * always on; only https URLs are accepted, except plain http to a loopback
 * address when allow_loopback_http is set (the simulators); redirects are
 * not followed unless asked for, and never to another protocol than https.
 * Authorization headers and request bodies are never logged.
 *
 * Outcome classes are documented in http_result.h. */
#ifndef CRMSYNC_HTTP_H
#define CRMSYNC_HTTP_H

#include <stddef.h>
#include <uv.h>

#include "error.h"
#include "http_result.h"

struct http_client;
struct http_request;

enum http_method {
    HTTP_GET = 0,
    HTTP_POST,
    HTTP_PUT,
    HTTP_PATCH,
    HTTP_DELETE,
};

/* Per-request limits. A request starts with the client's defaults and may
 * override them with http_request_set_limits(). */
struct http_limits {
    long connect_timeout_ms;   /* TCP + TLS handshake; default 10 s */
    long timeout_ms;           /* whole transfer; default 60 s */
    long low_speed_bytes;      /* abort when slower than this many bytes/s ... */
    long low_speed_secs;       /* ... for this many seconds; default 1 B/s for 30 s */
    size_t max_response_bytes; /* response body cap; default 16 MiB */
};

/* Client-wide options. Plain struct with defaults, so the config module can
 * declare them in a table later (offsetof into this struct). */
struct http_options {
    struct http_limits limits;  /* defaults for every request */
    const char *ca_file;        /* PEM bundle to trust instead of the system
                                   store (simulators); NULL: system store.
                                   Copied. */
    long max_host_connections;  /* per host:port; default 8 */
    long max_total_connections; /* whole client; default 32 */
    int http2;                  /* offer h2 by ALPN and multiplex; default 1 */
    int allow_loopback_http;    /* accept http:// to 127.0.0.0/8, ::1 and
                                   localhost; default 0 (https only) */
    int follow_redirects;       /* default 0; when set, at most 3 and only to
                                   https */
    const char *user_agent;     /* default "crmsyncd/<version>"; copied */
};

void http_options_defaults(struct http_options *opts);

/* Creates the client on loop. Returns 0, or -1 with err set. */
int http_client_new(uv_loop_t *loop, const struct http_options *opts, struct http_client **out,
                    struct error *err);

/* Shuts the client down: every request in flight completes now with
 * HTTP_CLASS_CANCELLED, curl is cleaned up, and the libuv handles are closed.
 * The memory is freed from the last close callback, so the owner must run the
 * loop (uv_run) before uv_loop_close(); on_closed (may be NULL) is called
 * then. Safe to call from a completion callback. Requests cannot be started
 * once this was called. */
void http_client_close(struct http_client *c, void (*on_closed)(void *arg), void *arg);

/* Number of requests started and not yet completed. */
size_t http_client_inflight(const struct http_client *c);

/* Creates a request. url is copied; it must be https (or loopback http, see
 * http_options). Returns NULL with err set on a bad URL or out of memory. */
struct http_request *http_request_new(struct http_client *c, enum http_method method,
                                      const char *url, struct error *err);

/* The rule http_request_new() applies, alone (crmsyncd --check-config uses
 * it): https, or plain http to a loopback address written as an address
 * (127.0.0.0/8, ::1; never the name localhost) when allow_loopback_http.
 * Returns 0, or -1 with the reason in err. */
int http_url_allowed(const char *url, int allow_loopback_http, struct error *err);

/* Connector name used in log lines (copied, truncated to 47 bytes). */
void http_request_set_conn(struct http_request *r, const char *conn);

/* Adds a request header (both copied). Authorization must go through
 * http_request_set_bearer(), which is wiped and never logged. 0 or -1. */
int http_request_add_header(struct http_request *r, const char *name, const char *value);

/* Sets "Authorization: Bearer <token>", replacing a previous one (also in a
 * request the client took back from curl, see http_request_set_hold). The
 * copy is wiped when the request is freed. 0 or -1. */
int http_request_set_bearer(struct http_request *r, const char *token);

/* Sets the body (copied) and its Content-Type (may be NULL). 0 or -1. */
int http_request_set_body(struct http_request *r, const char *content_type, const void *body,
                          size_t len);

/* Marks the request as carrying secrets (a token request's form body): its
 * body and its response body are wiped when freed. */
void http_request_set_sensitive(struct http_request *r);

void http_request_set_limits(struct http_request *r, const struct http_limits *limits);

/* A new, unstarted request with the same method, URL, headers, body, limits
 * and connector name; not the bearer token. NULL on out of memory. Used to
 * resend (after a token refresh, for instance). */
struct http_request *http_request_clone(const struct http_request *r);

typedef void (*http_done_fn)(struct http_result *res, void *arg);

/* The transfer starts no sooner than delay_ms from now (a vendor's
 * Retry-After that holds every request of a connector, not only those the
 * engine schedules): started, it waits in the client, and a close completes
 * it as cancelled like a request in flight. */
void http_request_set_delay(struct http_request *r, uint64_t delay_ms);

/* The transfer is not sent while *hold_until_ms (uv_hrtime() in ms) is in
 * the future. Unlike a delay, the hold is read when the request is handed
 * to curl and again when curl is about to send it on a connection: a
 * request queued behind busy connections or waiting for a token when a 429
 * arrives waits too (chaos salesforce-faults saw one sent 58 ms into a
 * hold). The clock must outlive the client's requests; clones share it. */
void http_request_set_hold(struct http_request *r, const uint64_t *hold_until_ms);

/* Called on the loop when a request that waited in the client (its delay,
 * or its connector's hold, above) is about to be handed to curl, and only
 * then: whoever gave it its bearer token may replace it with
 * http_request_set_bearer(), since the token it was built with may have
 * expired while it waited (chaos clock-jump: a 4-second token outlived by a
 * Retry-After hold went out and got a 401). Returning nonzero keeps it
 * unsent: it completes with HTTP_CLASS_UNAUTHORIZED, failure HTTP_FAIL_AUTH,
 * status 0. Not copied by http_request_clone(). */
typedef int (*http_before_send_fn)(struct http_request *r, void *arg);
void http_request_set_before_send(struct http_request *r, http_before_send_fn fn, void *arg);

/* Starts the request; the client owns r from here, whatever the return
 * value. On 0 done will be called exactly once, later, from the loop. On -1
 * (client closing, curl refused the handle) r is freed, done is never called,
 * and err says why. */
int http_request_start(struct http_request *r, http_done_fn done, void *arg, struct error *err);

/* Completes an unstarted request without sending it: done is called now with
 * a synthetic result (status 0) of class cls and failure kind, then r is
 * freed. For layers above (the token manager) that must answer a request
 * they cannot send. retry_after_ms -1 when none. */
void http_request_fail(struct http_request *r, http_done_fn done, void *arg, enum http_class cls,
                       enum http_failure failure, long retry_after_ms, const char *msg);

/* Frees an unstarted request (one never passed to start/fail). */
void http_request_free(struct http_request *r);

enum http_method http_request_method(const struct http_request *r);
const char *http_method_name(enum http_method m);

#endif
