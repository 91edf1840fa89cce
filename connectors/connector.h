/* The one interface between the daemon and a CRM or input (DESIGN.md §5),
 * a static table of functions like SQLite's VFS. New hooks are appended,
 * never reordered.
 *
 * A connector never touches SQLite: what it pulls goes through the pull
 * sink, which applies one page in one transaction together with the new
 * watermark, so a crash re-reads at most one page and adds nothing twice. */
#ifndef CRMSYNC_CONNECTOR_H
#define CRMSYNC_CONNECTOR_H

#include <stddef.h>
#include <uv.h>

#include "change.h"
#include "config.h"
#include "error.h"
#include "store.h"

struct connector;

/* Where pulled changes go. All calls for one page happen inside one loop
 * callback: begin, then any number of change/reject, then commit or abort. */
struct pull_sink {
    void *ctx;
    int (*begin)(void *ctx, struct connector *conn, struct error *err);
    /* Applies one change; *res says what became of it. */
    int (*change)(void *ctx, struct connector *conn, const struct change *c,
                  enum apply_result *res, struct error *err);
    /* Files a record that could not be turned into a change. */
    int (*reject)(void *ctx, struct connector *conn, const struct dead_letter_in *dl,
                  struct error *err);
    /* Stores the watermark (may be NULL: unchanged) and commits. */
    int (*commit)(void *ctx, struct connector *conn, const char *watermark, struct error *err);
    void (*abort)(void *ctx, struct connector *conn);
    /* Bookkeeping of input files (spool), for status. */
    int (*file_begin)(void *ctx, struct connector *conn, const char *name, int64_t *id,
                      struct error *err);
    int (*file_finish)(void *ctx, struct connector *conn, int64_t id,
                       const struct ingest_stats *stats, const char *status, struct error *err);
};

struct connector_ops {
    int version;                      /* 1 */
    const char *type;                 /* "spool", "hubspot", "salesforce", ... */
    size_t max_batch;                 /* vendor maximum records per write request */
    const struct config_table *config; /* declared options of [connector.NAME] */
    /* Sets up the instance (conn->settings parsed already); may start
     * handles on conn->loop. */
    int (*open)(struct connector *conn, struct error *err);
    /* Starts (or continues) pulling from the watermark; results go to the
     * sink. Called by the daemon on its schedule; a connector that watches
     * its own input (spool) may also pull by itself. */
    void (*pull)(struct connector *conn);
    /* Stops work and closes handles; calls done(conn) once every handle is
     * closed (libuv close callbacks have run). */
    void (*close)(struct connector *conn, void (*done)(struct connector *conn));
    /* Resets the pull watermark for a full resync. */
    void (*resync)(struct connector *conn);
};

/* One configured instance. */
struct connector {
    const struct connector_ops *ops;
    char *name;                        /* NAME of [connector.NAME] */
    const void *settings;              /* parsed by ops->config, owned by the config */
    uv_loop_t *loop;
    struct pull_sink *sink;
    void *priv;                        /* the connector's own state */
    void *owner;                       /* the daemon's bookkeeping */
    int busy;                          /* set by the connector while a page is open */
    long page_max_changes;             /* most changes per page ([state] txn_max_changes) */
};

/* The registry of connector types. */
const struct connector_ops *connector_find_type(const char *type);
/* The i-th registered type (for listings); NULL past the end. */
const struct connector_ops *connector_type_at(size_t i);
/* config_lookup_fn for config_load(). */
const struct config_table *connector_config_lookup(const char *type);

#endif
