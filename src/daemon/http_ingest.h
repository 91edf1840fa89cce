/* HTTP ingest (issue 16): POST /v1/events and GET /v1/members/{key} on
 * their own libmicrohttpd listener, authenticated by OAuth 2.0 bearer
 * tokens (src/http_ingest_auth.c). Off unless [ingest] listen is set.
 *
 * Threads: libmicrohttpd runs one thread per connection (bounded by
 * ingest_max_connections and a per-address limit). Each thread reads the
 * request, verifies the token and parses the body; the events then go to
 * the event loop through a queue and a uv_async_t. The loop applies
 * everything queued since its last turn in one transaction through the
 * same pull sink as the spool (group commit: concurrent requests share one
 * fsync), and wakes the waiting threads, which answer only then. So an
 * event answered "applied" is durable. */
#ifndef CRMSYNC_HTTP_INGEST_H
#define CRMSYNC_HTTP_INGEST_H

#include <uv.h>

#include "error.h"
#include "http_ingest_auth.h"

struct ingest;

enum ingest_scope_kind {
    INGEST_SCOPE_CONSENT = 0,
    INGEST_SCOPE_POINTS,
    INGEST_SCOPE_PROFILE, /* profile and segment events */
    INGEST_SCOPE_ERASURE,
    INGEST_SCOPE_MEMBERS, /* GET /v1/members/{key} */
    INGEST_SCOPE_N
};

struct http_ingest_options {
    const char *listen;
    const char *tls_cert; /* PEM files; required for a non-loopback address */
    const char *tls_key;
    const char *origin;   /* origin of the changes ("http") */
    long max_connections; /* threads, too */
    long per_ip_connections;
    long timeout_s;          /* idle connection */
    long header_timeout_ms;  /* a request's head must arrive within this (408); 0: no bound */
    long request_timeout_ms; /* a request must arrive whole within this; 0: no bound */
    long max_body;
    long max_pending;     /* events queued for the loop before 429 */
    long max_backlog;     /* a destination's backlog above which 429; 0: none */
    long max_group;       /* events per transaction */
    long bad_token_limit; /* bad tokens per address per minute; 0: no limit */
    const char *scopes[INGEST_SCOPE_N];
    struct ingest_auth_options auth;
    const char *state_path; /* read-only connection for GET /v1/members */
    long busy_timeout_ms;
};

struct http_ingest;

/* On the loop thread. ing is the daemon's pull sink, borrowed. */
int http_ingest_start(uv_loop_t *loop, struct ingest *ing, const struct http_ingest_options *opts,
                      struct http_ingest **out, struct error *err);
/* On the loop thread: answers what is still queued with 503, stops the
 * server (joins its threads) and frees. NULL is fine. */
void http_ingest_stop(struct http_ingest *h);
/* On the loop thread, at a reload: next's limits, timeouts, scopes and
 * token verification apply to the requests whose headers arrive from now
 * on (one in progress keeps the settings it started with). listen, the
 * TLS files and the connection limits stay as started (logged when they
 * differ): libmicrohttpd takes them only at its start. Returns -1 with
 * err when the new settings cannot be made (a key file that cannot be
 * read, a key changed too often: see ingest_auth_renew); the listener
 * then keeps all of its current settings. */
int http_ingest_reload(struct http_ingest *h, const struct http_ingest_options *next,
                       struct error *err);
const char *http_ingest_address(const struct http_ingest *h);
/* The options in effect (its own copies; changed by a reload). */
const struct http_ingest_options *http_ingest_options(const struct http_ingest *h);

#endif
