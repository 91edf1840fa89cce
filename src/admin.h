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

struct admin_options {
    const char *listen;     /* "127.0.0.1:9187", "[::1]:9187", "localhost:9187", or "/path.sock" */
    const char *state_path; /* the state database */
    long busy_timeout_ms;
};

/* Binds and starts serving. The options are copied. */
int admin_start(const struct admin_options *opts, struct admin **out, struct error *err);
/* Stops the thread, closes the socket (and removes a Unix socket file). */
void admin_stop(struct admin *a);

/* Reload: serves on listen_on instead (same state and timeout). If the new
 * address cannot be bound the old endpoint keeps serving, *a is unchanged
 * and err names the address. Only when the new address may conflict with
 * the old one (EADDRINUSE on the old one's port) is the old one stopped
 * first and, if the new one still fails, started again; should neither
 * bind then, *a is NULL. */
int admin_rebind(struct admin **a, const char *listen_on, struct error *err);

/* admin_listen as configured (compare with a reloaded configuration). */
const char *admin_listen_spec(const struct admin *a);

/* Where it listens, e.g. "127.0.0.1:41235" (a port of 0 is resolved). */
const char *admin_address(const struct admin *a);

#endif
