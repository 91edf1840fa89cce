/* Private to the HTTP ingest (src/http_ingest*.c): the listener's state and
 * a request's job, shared by the request side (src/http_ingest.c: the
 * libmicrohttpd threads that read, authenticate, parse and answer) and the
 * group-commit side (src/http_ingest_commit.c: the event loop that applies
 * the queued jobs in one transaction and wakes their threads). */
#ifndef CRMSYNC_HTTP_INGEST_INTERNAL_H
#define CRMSYNC_HTTP_INGEST_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>
#include <uv.h>

#include "addr_limit.h"
#include "connector.h"
#include "http_ingest.h"
#include "http_ingest_body.h"
#include "listen_socket.h"

enum event_result { RES_APPLIED = 0, RES_UNCHANGED, RES_DUPLICATE, RES_REJECTED, RES_N };

/* Result names as answered, by enum event_result (http_ingest_commit.c). */
extern const char *const ingest_result_names[RES_N];

struct item_result {
    enum event_result result;
    int replayed; /* the answer kept from the event's first sending */
    int conflict; /* the event id came before with another body */
    char reason[256];
};

/* One request's events on their way to the loop and back. */
struct job {
    struct job *next;
    struct ingest_body body;
    const unsigned char *permitted; /* per item: the token has its scope */
    const char *source_ref;         /* "client:<id>", the audit's origin detail */
    struct item_result *res;
    int done;
    int status; /* 0, or 503 when the group could not be committed */
    /* Signalled, under http_ingest.lock, when done is set: each waiting
     * request thread has its own, so that a commit wakes only the threads
     * of its group (one condition for all woke every waiting thread at
     * every commit). */
    pthread_cond_t done_cond;
};

/* What a reload changes (http_ingest_reload), as one immutable set: a
 * request takes the current one when its headers are in and keeps it to
 * its end, so that a reload never changes a request halfway; the last
 * request to drop an old set frees it. */
struct ingest_live {
    int refs;                     /* under http_ingest.lock */
    struct http_ingest_options o; /* its own strings */
    struct ingest_auth *auth;
    struct addr_limit *bad_tokens;
};

struct http_ingest {
    struct http_ingest_options o; /* as started: what only a restart changes */
    struct MHD_Daemon *mhd;
    struct listen_socket ls;
    /* The settings in effect: the loop (which swaps it at a reload) reads
     * it freely, the request threads under lock (a reference each). */
    struct ingest_live *live;
    struct ingest *ing;
    struct connector conn; /* how the sink sees us: name = origin */
    uv_async_t async;
    uv_timer_t backlog_timer;
    int handles_open; /* async and timer: freed when both are closed */
    char *tls_cert, *tls_key;

    pthread_mutex_t lock; /* the queue, pending, stopping, jobs' done */
    struct job *head, *tail;
    long pending; /* events queued, not yet taken by the loop */
    int stopping;
    /* The destinations' backlog as the loop last saw it (backlog_cb). */
    int over_backlog;
    int64_t backlog;
    char backlog_dest[64];

    struct head_watch *heads; /* the deadline on request heads (http_ingest_head.h) */

    pthread_mutex_t store_lock; /* the read-only connection for GET */
    struct store *ro;
};

/* How often the loop looks at the destinations' backlog for the 429 (a
 * query per destination: not per request), and how long a client refused
 * for it is told to wait. */
#define BACKLOG_CHECK_MS 500
#define BACKLOG_RETRY_AFTER_S 5

/* --- the settings in effect (http_ingest_live.c) ------------------------- */

struct ingest_auth;
struct error;

/* Replaces the options' strings by copies of their own (the configuration
 * they came from is freed by a reload), or frees those copies. */
int http_ingest_options_copy(struct http_ingest_options *o);
void http_ingest_options_free(struct http_ingest_options *o);
/* A set for o (copied), its verifier made next to prev's (NULL at the
 * start: see ingest_auth_renew). One reference. */
struct ingest_live *http_ingest_live_new(const struct http_ingest_options *o,
                                         const struct ingest_auth *prev, struct error *err);
/* On a request thread, once its headers are in: a reference to the set in
 * effect, kept to the request's end. */
struct ingest_live *http_ingest_live_take(struct http_ingest *h);
/* Drops a reference (L may be NULL); the last one frees the set. */
void http_ingest_live_drop(struct http_ingest *h, struct ingest_live *L);

/* --- the group-commit side (on the loop; http_ingest_commit.c) ----------- */

/* h->async's callback: applies the queued jobs, whole requests up to
 * max_group events, in one transaction, then wakes their threads. */
void http_ingest_commit_cb(uv_async_t *a);
/* h->backlog_timer's callback: the destinations' backlog for the 429. */
void http_ingest_backlog_cb(uv_timer_t *t);
/* Marks the jobs of group done with status (0, or an HTTP status) and
 * wakes the threads waiting on them. Any thread. */
void http_ingest_finish_jobs(struct http_ingest *h, struct job *group, int status);

#endif
