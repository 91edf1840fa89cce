/* The sync engine (DESIGN.md §4): for every destination connector, reads the
 * change-log after its push cursors (one per priority lane), coalesces,
 * batches per request class, sends, and applies per-record results: shadow
 * and cursor on success, backoff on retry, dead letter on reject. Also runs
 * each connector's pull timer and full resyncs. Single-threaded, on the
 * daemon's loop. */
#ifndef CRMSYNC_ENGINE_H
#define CRMSYNC_ENGINE_H

#include <stdint.h>
#include <uv.h>

#include "connector.h"
#include "retry.h"
#include "store.h"

struct engine;

struct engine_options {
    long window_items;         /* per lane and destination in memory; default 4000 */
    long linger_ms;            /* wait this long to fill a batch; default 50 ms */
    long backlog_bound;        /* pulls pause above this many pending changes */
    long quiet_pull_ms;        /* default pull interval when a connector sets none */
    long unreachable_after_ms; /* /healthz destination_unreachable after this long
                                  without a successful request (issue 19) */
    struct retry_policy retry;
};

void engine_options_defaults(struct engine_options *o);

int engine_new(uv_loop_t *loop, struct store *store, const struct engine_options *opts,
               struct engine **out, struct error *err);
/* Takes part: conn pushes (ops->push) and/or pulls on a timer. */
int engine_add(struct engine *e, struct connector *conn, struct error *err);
/* New changes were committed: wake every destination. */
void engine_kick(struct engine *e);
/* Full resync of one destination (name) or all (NULL). Returns 1 when a
 * destination of that name takes part in the engine, else 0. */
int engine_resync(struct engine *e, const char *name);
/* Stops dispatching and pulling. Batches in flight still complete (the
 * connectors' close cancels them); call engine_free after the connectors
 * are closed. */
void engine_stop(struct engine *e);
/* Frees everything; handles are closed, so run the loop afterwards. */
void engine_free(struct engine *e);

/* Hooks the ingest sink forwards to the engine. */
void engine_pull_done(struct engine *e, struct connector *conn, int status);
/* The connector is ready for writes again (see pull_sink.resume). */
void engine_resume(struct engine *e, struct connector *conn);

/* Per-destination figures for status and metrics. */
struct engine_stats {
    uint64_t batches, records_ok, records_retry, records_rejected, records_stale, skipped_equal,
        skipped_origin, skipped_superseded, requests_failed;
    int inflight;
    int64_t cursor[3];
    int resyncing;
    uint64_t paused_until_ms;
};
int engine_dest_stats(const struct engine *e, const char *name, struct engine_stats *out);

/* The largest push backlog of any destination (changes after its slowest
 * lane's cursor), and which destination (*name, NULL when none pushes):
 * the HTTP ingest answers 429 above its bound. On the loop thread. */
int64_t engine_max_backlog(struct engine *e, const char **name);

/* Test hook: total batches dispatched by all destinations. */
uint64_t engine_batches(const struct engine *e);

#endif
