/* The metrics registry: counters, gauges and histograms with labels, in one
 * fixed table of families (metrics.c), exposed in the Prometheus text format
 * by the admin endpoint.
 *
 * Thread-safe: the event loop increments, the admin endpoint's thread
 * renders. Nothing allocates after metrics_init(): a series (one combination
 * of label values) takes a preallocated slot the first time it is used; when
 * a family's slots run out, further new series are counted in
 * crmsyncd_metrics_series_dropped_total and ignored.
 *
 * Label values are given as an array in the order of the family's label
 * names (see the table in metrics.c), e.g.
 *
 *     metrics_counter_add(METRIC_RECORDS_PUSHED, (const char *[]){"hubspot", "ok"}, 100);
 *     metrics_observe(METRIC_PUSH_BATCH_DURATION, (const char *[]){"hubspot"}, 0.182);
 *
 * Families without labels take NULL. A label value longer than
 * METRIC_LABEL_MAX - 1 bytes is truncated. */
#ifndef CRMSYNC_METRICS_H
#define CRMSYNC_METRICS_H

#include <stdint.h>
#include <stdio.h>

enum metric_id {
    METRIC_CHANGES_APPENDED, /* counter {origin, kind}: change-log rows appended */
    METRIC_INGEST_RECORDS,   /* counter {connector, result}: applied, unchanged, duplicate,
                                rejected, erased, invalid (a bad input record) */
    METRIC_RECORDS_PUSHED,   /* counter {connector, result}: ok, retry, reject */
    METRIC_PUSH_RETRIES,     /* counter {connector}: records scheduled for another attempt */
    METRIC_DEAD_LETTERS,     /* counter {connector}: dead letters filed since start */
    METRIC_REQUEST_DURATION, /* histogram {connector, code, endpoint}: every CRM request */
    METRIC_TOKEN_REFRESHES,  /* counter {connector, result}: ok, failed */
    METRIC_QUOTA_REMAINING,  /* gauge {connector}: requests left in the vendor's window */
    METRIC_RELOADS,          /* counter {result}: ok, failed */
    METRIC_RESYNCS,          /* counter {connector}: "all" for a resync of every connector */
    /* HTTP ingest (src/http_ingest.c) */
    METRIC_HTTP_INGEST_REQUESTS,        /* counter {status}: answers by HTTP status */
    METRIC_HTTP_INGEST_EVENTS,          /* counter {result}: applied, unchanged, duplicate,
                                           rejected, invalid */
    METRIC_HTTP_INGEST_AUTH_FAILURES,   /* counter {reason}: bearer tokens refused */
    METRIC_HTTP_INGEST_DURATION,        /* histogram {endpoint}: request to answer, seconds */
    METRIC_HTTP_INGEST_VERIFY_DURATION, /* histogram: one token verification, seconds */
    METRIC_URGENT_OVERDUE, /* gauge {connector}: withdrawals and erasures past the retry
                              policy, kept pending until the CRM takes them */
    METRIC_PUSH_PHASE,     /* histogram {connector, phase}: where a push's wall time goes,
                              seconds (src/engine.c, push_phase) */
    METRIC_ADMIN_REFUSED,  /* counter {reason}: admin connections refused or cut */
    /* Issue 19: */
    METRIC_HTTP_ERRORS,          /* counter {connector, class}: 429, 5xx, 4xx, transport */
    METRIC_CONNECTOR_UP,         /* gauge {connector}: started and reachable */
    METRIC_LAST_SUCCESS,         /* gauge {connector, direction}: pull/push, epoch seconds */
    METRIC_PUSH_BATCH_DURATION,  /* histogram {connector}: a push batch, sent to answered */
    METRIC_OPTOUT_LATENCY,       /* histogram {connector}: withdrawal/erasure received -> the
                                    CRM took it (src/engine.c) */
    METRIC_AUDIT_CHAIN_BROKEN,   /* gauge: 1 once a verification found a break (audit_check.h) */
    METRIC_AUDIT_CHAIN_ROWS,     /* gauge: rows the last verification read */
    METRIC_AUDIT_CHAIN_VERIFIED, /* gauge: when a verification last finished, epoch seconds */
    METRIC_WAL_CHECKPOINT,       /* histogram: one WAL checkpoint off the loop (wal_worker.h) */
    METRIC_PULLS,                /* counter {connector, result}: pull cycles ended, ok/failed */
    METRIC_DEST_PAUSES,          /* counter {connector}: the engine's back-offs after an outage */
    METRIC_HUBSPOT_READY,        /* gauge {connector}: 1 once HubSpot's contact properties exist */
    METRIC_RESYNC_PHASE,         /* gauge {connector}: 0 none, 1 waiting, 2 re-pulling */
    METRIC_COUNT
};

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

#define METRIC_LABEL_MAX 64 /* bytes per label value, with the NUL */
#define METRIC_MAX_LABELS 3
#define METRIC_MAX_BUCKETS 12

/* Sets up the registry (slots for every family) and records the start time.
 * Call once, before any thread uses it. Returns 0 or -1 (out of memory). */
int metrics_init(void);
/* Frees the slots; no metric call may run concurrently or afterwards. */
void metrics_shutdown(void);

void metrics_counter_add(enum metric_id id, const char *const *labels, uint64_t n);
void metrics_gauge_set(enum metric_id id, const char *const *labels, double v);
/* Records one observation (seconds for *_seconds families). */
void metrics_observe(enum metric_id id, const char *const *labels, double v);

/* Creates every series a connector has, at 0 (issue 19: counters appeared
 * only after their first event, so rate() and absent() alerts saw
 * nothing): pushed records by result, retries, dead letters and HTTP
 * errors by class for a destination; ingested records by result for every
 * connector; connector_up at up. */
void metrics_declare_connector(const char *name, int destination, int up);

/* The endpoint label of a request URL: the path without scheme, host and
 * query, each segment that holds a digit, an '@' or a '%' (an id, a
 * version, an address) written "{id}", so the label set stays bounded. */
void metrics_endpoint_of(const char *url, char *out, size_t outsize);

/* Writes every family of the registry plus build info and start time in the
 * Prometheus text format (version 0.0.4). */
void metrics_write(FILE *out);

/* Exposition helpers, also for families computed at scrape time (backlog
 * from the database): a HELP and TYPE header, then samples. Label values are
 * escaped (backslash, double quote, newline). */
void metrics_write_header(FILE *out, const char *name, const char *help, enum metric_type type);
void metrics_write_sample(FILE *out, const char *name, const char *const *label_names,
                          const char *const *label_values, size_t n_labels, double value);
/* Escapes one label value as the text format wants it. */
void metrics_escape_label(FILE *out, const char *value);
/* Formats a sample value: integers without exponent, NaN, +Inf, -Inf. */
void metrics_format_value(char *buf, size_t size, double v);

#endif
