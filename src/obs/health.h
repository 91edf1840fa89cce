/* The health registry: what the engine, the connectors and the ingest sink
 * know to be wrong right now, read by the admin endpoint's /healthz.
 *
 * A problem is raised with health_raise() when it starts and cleared with
 * health_clear() when it is over; raising the same (reason, connector) again
 * only updates its detail. Thread-safe and allocation-free after the first
 * call (a fixed table; when it is full the oldest entry of the same reason
 * is replaced).
 *
 * Besides what is raised here, /healthz computes at request time what the
 * database and the filesystem say: backlog over a connector's bound
 * (health_set_backlog_bound), disk full, state directory read-only. */
#ifndef CRMSYNC_HEALTH_H
#define CRMSYNC_HEALTH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum health_reason {
    HEALTH_AUTH_FAILING,       /* connector: the CRM rejects our credentials */
    HEALTH_QUOTA_EXHAUSTED,    /* connector: no requests left until the window resets */
    HEALTH_STATE_NOT_WRITABLE, /* the state database refused a write (locked, full, I/O) */
    HEALTH_DISK_FULL,          /* the state directory's filesystem is (nearly) full */
    HEALTH_BACKLOG_OVER_BOUND, /* connector: pending changes above its bound */
    HEALTH_CONNECTOR_FAILED,   /* connector: could not start */
    HEALTH_URGENT_OVERDUE,     /* connector: withdrawals/erasures past the retry policy, kept */
    /* Issue 19: */
    HEALTH_DESTINATION_UNREACHABLE, /* connector: no request has succeeded for a while */
    HEALTH_URGENT_OLD, /* connector: a withdrawal/erasure pending longer than urgent_max_age */
    /* connector: reachable, but it has refused our requests (401 after a
     * new token, 403, 404, another 4xx) for a while: the configuration */
    HEALTH_DESTINATION_REJECTING,
    HEALTH_REASON_COUNT
};

/* "auth_failing", "quota_exhausted", ... as /healthz names them. */
const char *health_reason_name(enum health_reason r);

/* connector may be NULL for daemon-wide problems. detail is copied
 * (truncated to 255 bytes); it must not contain secrets. */
void health_raise(enum health_reason r, const char *connector, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void health_clear(enum health_reason r, const char *connector);
/* Clears every entry of one reason (e.g. before connectors are reopened). */
void health_clear_reason(enum health_reason r);

/* The configured connectors, declared by the daemon at start and after each
 * reload. A destination is a connector that receives pushes (the engine
 * keeps push cursors for it); backlog is computed for destinations only. The
 * list replaces the previous one; bounds set for connectors that are still
 * listed are kept. */
struct health_connector {
    const char *name;
    const char *type;
    int destination;
};
void health_set_connectors(const struct health_connector *list, size_t n);

/* The engine's backpressure bound for one destination: /healthz reports
 * backlog_over_bound while its pending changes exceed it. 0 = no bound. */
void health_set_backlog_bound(const char *connector, int64_t bound);

/* How long a consent withdrawal or an erasure may wait for a destination
 * before /healthz reports urgent_change_old ([daemon] urgent_max_age);
 * 0 = never. */
void health_set_urgent_max_age(int64_t ms);
int64_t health_urgent_max_age(void);

/* A copy of the registry for a reader. */
#define HEALTH_MAX_CONNECTORS 64
#define HEALTH_NAME_MAX 64
struct health_snapshot_connector {
    char name[HEALTH_NAME_MAX];
    char type[32];
    int destination;
    int64_t backlog_bound;
};
struct health_snapshot {
    size_t n_connectors;
    struct health_snapshot_connector connectors[HEALTH_MAX_CONNECTORS];
    json_t *problems; /* array of {reason, connector, detail, since}; caller decrefs */
};
int health_snapshot(struct health_snapshot *out);

/* Appends one problem object to a JSON array (for computed problems). */
void health_problem_append(json_t *arr, enum health_reason r, const char *connector,
                           const char *detail, int64_t since_ms);

/* Forgets everything (tests). */
void health_reset(void);

#endif
