/* The admin endpoint: /healthz and /metrics over HTTP on a loopback address
 * or a Unix socket ([daemon] admin_listen), served by libmicrohttpd on its
 * own thread so a slow scrape never stalls the event loop.
 *
 * It reads the state through its own read-only SQLite connection (opened on
 * the first request, in that thread) and the metrics and health registries,
 * which are thread-safe. It never writes. */
#ifndef CRMSYNC_ADMIN_H
#define CRMSYNC_ADMIN_H

#include "error.h"

struct admin;

/* What one client may take (issue 14 item 11); 0 picks the default. */
struct admin_limits {
    int allow_remote;            /* serve on a non-loopback address (off: refused) */
    long max_connections;        /* at once, all clients (16) */
    long per_ip_connections;     /* at once, one client address (4) */
    long request_timeout_ms;     /* whole request, first byte to answer (10 s) */
    long connections_per_minute; /* new connections per client address; 0: no limit */
};

struct admin_options {
    const char *listen;     /* "127.0.0.1:9187", "[::1]:9187", "localhost:9187", or "/path.sock" */
    const char *state_path; /* the state database */
    long busy_timeout_ms;
    struct admin_limits limits;
};

/* Binds and starts serving. The options are copied. */
int admin_start(const struct admin_options *opts, struct admin **out, struct error *err);
/* Stops the thread, closes the socket (and removes a Unix socket file). */
void admin_stop(struct admin *a);

/* Reload: serves with opts instead (listen address or limits changed;
 * state_path and busy_timeout_ms are taken from opts too). If the new
 * address cannot be bound the old endpoint keeps serving, *a is unchanged
 * and err names the address. Only when the new address may conflict with
 * the old one (EADDRINUSE on the old one's port) is the old one stopped
 * first and, if the new one still fails, started again; should neither
 * bind then, *a is NULL. */
int admin_rebind(struct admin **a, const struct admin_options *opts, struct error *err);
/* 1 when a serves exactly what opts asks for (no rebind needed). */
int admin_same_options(const struct admin *a, const struct admin_options *opts);

/* admin_listen as configured (compare with a reloaded configuration). */
const char *admin_listen_spec(const struct admin *a);

/* Where it listens, e.g. "127.0.0.1:41235" (a port of 0 is resolved). */
const char *admin_address(const struct admin *a);

#endif
