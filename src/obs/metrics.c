/* Metrics registry and Prometheus text exposition (see metrics.h).
 *
 * One mutex guards the whole registry. An increment is a lock, a linear
 * search over the family's used slots (a handful: one per connector and
 * result) comparing label values, an add and an unlock; a scrape holds the
 * lock while it writes into a memory stream. Contention is negligible at
 * our rates, and a single lock keeps a scrape consistent across families. */
#include "metrics.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"

#define SERIES_PER_FAMILY 256

struct family_def {
    const char *name;
    const char *help;
    enum metric_type type;
    size_t n_labels;
    const char *labels[METRIC_MAX_LABELS];
    const double *buckets; /* histograms: upper bounds, ascending, without +Inf */
    size_t n_buckets;
};

/* Request latency: 5 ms to 30 s, covering a fast batch upsert and a slow
 * Bulk API call; the vendor timeouts are below 60 s. */
static const double latency_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                         0.5,   1,    2.5,   5,    10,  30};

/* HTTP ingest: an answer waits for a commit (an fsync), a verification
 * may fetch a JWKS. */
static const double ingest_buckets[] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
                                        0.05,   0.1,   0.25,  0.5,   1,    5};

/* Opt-out latency: the promise is seconds while all is well, minutes at
 * worst (a CRM down, a quota spent); an hour and more is an incident. */
static const double optout_buckets[] = {0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400};

/* Indexed by enum metric_id; the order is the exposition order. */
static const struct family_def families[METRIC_COUNT] = {
    [METRIC_CHANGES_APPENDED] = {"crmsyncd_changes_appended_total",
                                 "Changes appended to the change-log, by origin and kind.",
                                 METRIC_COUNTER,
                                 2,
                                 {"origin", "kind"},
                                 NULL,
                                 0},
    [METRIC_INGEST_RECORDS] = {"crmsyncd_ingest_records_total",
                               "Records pulled or ingested, by connector and what became of them "
                               "(applied, unchanged, duplicate, rejected, erased, invalid).",
                               METRIC_COUNTER,
                               2,
                               {"connector", "result"},
                               NULL,
                               0},
    [METRIC_RECORDS_PUSHED] = {"crmsyncd_records_pushed_total",
                               "Records sent to a CRM, by connector and per-record result "
                               "(ok, retry, reject).",
                               METRIC_COUNTER,
                               2,
                               {"connector", "result"},
                               NULL,
                               0},
    [METRIC_PUSH_RETRIES] = {"crmsyncd_push_retries_total",
                             "Records scheduled for another push attempt, by connector.",
                             METRIC_COUNTER,
                             1,
                             {"connector"},
                             NULL,
                             0},
    [METRIC_DEAD_LETTERS] = {"crmsyncd_dead_letters_total",
                             "Dead letters filed since start, by connector: the destination "
                             "that refused a change (ingest = bad input).",
                             METRIC_COUNTER,
                             1,
                             {"connector"},
                             NULL,
                             0},
    [METRIC_REQUEST_DURATION] = {"crmsyncd_request_duration_seconds",
                                 "Latency of every HTTP request to a CRM (token requests "
                                 "included), by connector, HTTP status code (\"transport\" when "
                                 "none came) and endpoint.",
                                 METRIC_HISTOGRAM,
                                 3,
                                 {"connector", "code", "endpoint"},
                                 latency_buckets,
                                 sizeof(latency_buckets) / sizeof(latency_buckets[0])},
    [METRIC_TOKEN_REFRESHES] = {"crmsyncd_token_refreshes_total",
                                "OAuth token refreshes, by connector and result (ok, failed).",
                                METRIC_COUNTER,
                                2,
                                {"connector", "result"},
                                NULL,
                                0},
    [METRIC_QUOTA_REMAINING] = {"crmsyncd_quota_remaining",
                                "Requests left in the CRM's current quota window, as the vendor "
                                "reports it.",
                                METRIC_GAUGE,
                                1,
                                {"connector"},
                                NULL,
                                0},
    [METRIC_RELOADS] = {"crmsyncd_reloads_total",
                        "Configuration reloads (SIGHUP), by result (ok, failed).",
                        METRIC_COUNTER,
                        1,
                        {"result"},
                        NULL,
                        0},
    [METRIC_RESYNCS] = {"crmsyncd_resyncs_total",
                        "Full resyncs started, by connector (all = every connector).",
                        METRIC_COUNTER,
                        1,
                        {"connector"},
                        NULL,
                        0},
    [METRIC_HTTP_INGEST_REQUESTS] = {"crmsyncd_http_ingest_requests_total",
                                     "HTTP ingest requests answered, by HTTP status.",
                                     METRIC_COUNTER,
                                     1,
                                     {"status"},
                                     NULL,
                                     0},
    [METRIC_HTTP_INGEST_EVENTS] = {"crmsyncd_http_ingest_events_total",
                                   "Events received over HTTP, by result (applied, unchanged, "
                                   "duplicate, rejected, invalid).",
                                   METRIC_COUNTER,
                                   1,
                                   {"result"},
                                   NULL,
                                   0},
    [METRIC_HTTP_INGEST_AUTH_FAILURES] = {"crmsyncd_http_ingest_auth_failures_total",
                                          "Bearer tokens refused by the HTTP ingest, by reason.",
                                          METRIC_COUNTER,
                                          1,
                                          {"reason"},
                                          NULL,
                                          0},
    [METRIC_HTTP_INGEST_DURATION] = {"crmsyncd_http_ingest_request_duration_seconds",
                                     "HTTP ingest request latency (to a durable answer), by "
                                     "endpoint.",
                                     METRIC_HISTOGRAM,
                                     1,
                                     {"endpoint"},
                                     ingest_buckets,
                                     sizeof(ingest_buckets) / sizeof(ingest_buckets[0])},
    [METRIC_HTTP_INGEST_VERIFY_DURATION] = {"crmsyncd_http_ingest_token_verify_seconds",
                                            "Bearer token verification time (liboauth2, cached "
                                            "or not).",
                                            METRIC_HISTOGRAM,
                                            0,
                                            {NULL},
                                            ingest_buckets,
                                            sizeof(ingest_buckets) / sizeof(ingest_buckets[0])},
    [METRIC_URGENT_OVERDUE] = {"crmsyncd_urgent_overdue",
                               "Consent withdrawals and erasures past the retry policy, by "
                               "destination: never dead-lettered, they stay pending until the "
                               "CRM takes them.",
                               METRIC_GAUGE,
                               1,
                               {"connector"},
                               NULL,
                               0},
    [METRIC_PUSH_PHASE] =
        {"crmsyncd_push_phase_seconds",
         "Where the push's wall time goes, by connector and phase: queued "
         "(a batch's oldest record due -> request sent), request (sent -> "
         "answered), ack (answered -> results committed, the next batches planned in "
         "the same transaction), plan (one planning "
         "pass with its commit), slot_idle (request slots left free while "
         "records waited, slot-seconds).",
         METRIC_HISTOGRAM,
         2,
         {"connector", "phase"},
         latency_buckets,
         sizeof(latency_buckets) / sizeof(latency_buckets[0])},
    [METRIC_ADMIN_REFUSED] = {"crmsyncd_admin_refused_total",
                              "Admin endpoint connections refused or cut, by reason "
                              "(max_connections, per_ip_connections, connections_per_minute, "
                              "request_timeout).",
                              METRIC_COUNTER,
                              1,
                              {"reason"},
                              NULL,
                              0},
    [METRIC_HTTP_ERRORS] = {"crmsyncd_http_errors_total",
                            "Failed HTTP requests to a CRM, by connector and class (429, 5xx, "
                            "4xx, transport: no HTTP answer).",
                            METRIC_COUNTER,
                            2,
                            {"connector", "class"},
                            NULL,
                            0},
    [METRIC_CONNECTOR_UP] = {"crmsyncd_connector_up",
                             "1 when the connector started and its CRM is reachable; 0 when it "
                             "could not start or its requests fail (destination_unreachable, "
                             "destination_rejecting).",
                             METRIC_GAUGE,
                             1,
                             {"connector"},
                             NULL,
                             0},
    [METRIC_LAST_SUCCESS] = {"crmsyncd_last_success_timestamp_seconds",
                             "When a pull or a push batch of the connector last succeeded, "
                             "seconds since the epoch (0: not since start).",
                             METRIC_GAUGE,
                             2,
                             {"connector", "direction"},
                             NULL,
                             0},
    [METRIC_PUSH_BATCH_DURATION] = {"crmsyncd_push_batch_duration_seconds",
                                    "A push batch from sending to its per-record results, by "
                                    "connector.",
                                    METRIC_HISTOGRAM,
                                    1,
                                    {"connector"},
                                    latency_buckets,
                                    sizeof(latency_buckets) / sizeof(latency_buckets[0])},
    [METRIC_OPTOUT_LATENCY] = {"crmsyncd_optout_latency_seconds",
                               "Consent withdrawals and erasures, from their arrival at crmsyncd "
                               "to the CRM's acknowledgement, by connector.",
                               METRIC_HISTOGRAM,
                               1,
                               {"connector"},
                               optout_buckets,
                               sizeof(optout_buckets) / sizeof(optout_buckets[0])},
    [METRIC_AUDIT_CHAIN_BROKEN] = {"crmsyncd_audit_chain_broken",
                                   "1 when the last verification of the consent audit's hash "
                                   "chain found a row changed or removed ([daemon] "
                                   "audit_verify_interval).",
                                   METRIC_GAUGE,
                                   0,
                                   {NULL},
                                   NULL,
                                   0},
    [METRIC_AUDIT_CHAIN_ROWS] = {"crmsyncd_audit_chain_rows",
                                 "Consent audit rows the last chain verification read.",
                                 METRIC_GAUGE,
                                 0,
                                 {NULL},
                                 NULL,
                                 0},
    [METRIC_AUDIT_CHAIN_VERIFIED] = {"crmsyncd_audit_chain_verified_timestamp_seconds",
                                     "When the consent audit chain was last verified, seconds "
                                     "since the epoch (0: not yet).",
                                     METRIC_GAUGE,
                                     0,
                                     {NULL},
                                     NULL,
                                     0},
    [METRIC_WAL_CHECKPOINT] = {"crmsyncd_wal_checkpoint_seconds",
                               "State database WAL checkpoints, run on a thread of their own "
                               "(the event loop does not wait for them).",
                               METRIC_HISTOGRAM,
                               0,
                               {NULL},
                               latency_buckets,
                               sizeof(latency_buckets) / sizeof(latency_buckets[0])},
    [METRIC_PULLS] = {"crmsyncd_pulls_total",
                      "Pull cycles a connector ended, by connector and result (ok, failed).",
                      METRIC_COUNTER,
                      2,
                      {"connector", "result"},
                      NULL,
                      0},
    [METRIC_DEST_PAUSES] = {"crmsyncd_destination_pauses_total",
                            "Times the engine stopped pushing to a destination for a while "
                            "after an outage answer (429, 5xx, transport error), by connector.",
                            METRIC_COUNTER,
                            1,
                            {"connector"},
                            NULL,
                            0},
    [METRIC_HUBSPOT_READY] = {"crmsyncd_hubspot_properties_ready",
                              "1 once a HubSpot connector's contact properties exist and it "
                              "takes pushes, 0 while it sets them up.",
                              METRIC_GAUGE,
                              1,
                              {"connector"},
                              NULL,
                              0},
    [METRIC_RESYNC_PHASE] = {"crmsyncd_resync_phase",
                             "A full resync's phase, by connector: 0 none running (or re-pushing, "
                             "which resync_progress and crmsyncctl status tell), 1 asked for and "
                             "waiting for a running pull or batches in flight, 2 re-pulling.",
                             METRIC_GAUGE,
                             1,
                             {"connector"},
                             NULL,
                             0},
};

struct series {
    int used;
    char labels[METRIC_MAX_LABELS][METRIC_LABEL_MAX];
    uint64_t count;                       /* counter value; histogram count */
    double value;                         /* gauge value; histogram sum */
    uint64_t buckets[METRIC_MAX_BUCKETS]; /* histogram, not cumulative */
};

struct registry {
    int ready;
    int64_t start_ms;
    uint64_t dropped;
    struct series *series[METRIC_COUNT];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct registry reg;

int metrics_init(void)
{
    int rc = -1;

    pthread_mutex_lock(&lock);
    if (reg.ready) {
        rc = 0;
        goto out;
    }
    for (size_t i = 0; i < METRIC_COUNT; i++) {
        reg.series[i] = calloc(SERIES_PER_FAMILY, sizeof(struct series));
        if (reg.series[i] == NULL)
            goto out;
    }
    reg.start_ms = timefmt_now_ms();
    reg.dropped = 0;
    reg.ready = 1;
    rc = 0;
out:
    pthread_mutex_unlock(&lock);
    if (rc != 0)
        metrics_shutdown();
    return rc;
}

void metrics_shutdown(void)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < METRIC_COUNT; i++) {
        free(reg.series[i]);
        reg.series[i] = NULL;
    }
    reg.ready = 0;
    pthread_mutex_unlock(&lock);
}

static int labels_match(const struct series *s, const char *const *labels, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *v = labels[i] != NULL ? labels[i] : "";
        if (strncmp(s->labels[i], v, METRIC_LABEL_MAX - 1) != 0)
            return 0;
    }
    return 1;
}

/* The series for these label values, taking a free slot for a new
 * combination. Called with the lock held; NULL when the registry is off or
 * the family is full. */
static struct series *find_series(enum metric_id id, const char *const *labels)
{
    const struct family_def *f = &families[id];
    struct series *slots;

    if (!reg.ready || (unsigned)id >= METRIC_COUNT)
        return NULL;
    slots = reg.series[id];
    for (size_t i = 0; i < SERIES_PER_FAMILY; i++) {
        struct series *s = &slots[i];
        if (!s->used) {
            s->used = 1;
            for (size_t j = 0; j < f->n_labels; j++)
                snprintf(s->labels[j], METRIC_LABEL_MAX, "%s",
                         labels != NULL && labels[j] != NULL ? labels[j] : "");
            return s;
        }
        if (f->n_labels == 0 || (labels != NULL && labels_match(s, labels, f->n_labels)))
            return s;
    }
    reg.dropped++;
    return NULL;
}

void metrics_counter_add(enum metric_id id, const char *const *labels, uint64_t n)
{
    struct series *s;

    if ((unsigned)id >= METRIC_COUNT || families[id].type != METRIC_COUNTER)
        return;
    pthread_mutex_lock(&lock);
    s = find_series(id, labels);
    if (s != NULL)
        s->count += n;
    pthread_mutex_unlock(&lock);
}

void metrics_gauge_set(enum metric_id id, const char *const *labels, double v)
{
    struct series *s;

    if ((unsigned)id >= METRIC_COUNT || families[id].type != METRIC_GAUGE)
        return;
    pthread_mutex_lock(&lock);
    s = find_series(id, labels);
    if (s != NULL)
        s->value = v;
    pthread_mutex_unlock(&lock);
}

void metrics_observe(enum metric_id id, const char *const *labels, double v)
{
    const struct family_def *f;
    struct series *s;

    if ((unsigned)id >= METRIC_COUNT || families[id].type != METRIC_HISTOGRAM)
        return;
    f = &families[id];
    pthread_mutex_lock(&lock);
    s = find_series(id, labels);
    if (s != NULL) {
        for (size_t i = 0; i < f->n_buckets; i++) {
            if (v <= f->buckets[i]) {
                s->buckets[i]++;
                break;
            }
        }
        s->count++;
        s->value += v;
    }
    pthread_mutex_unlock(&lock);
}

void metrics_format_value(char *buf, size_t size, double v)
{
    if (isnan(v))
        snprintf(buf, size, "NaN");
    else if (isinf(v))
        snprintf(buf, size, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 9007199254740992.0)
        snprintf(buf, size, "%.0f", v);
    else
        snprintf(buf, size, "%.17g", v);
}

void metrics_escape_label(FILE *out, const char *value)
{
    for (const char *p = value; *p != '\0'; p++) {
        if (*p == '\\')
            fputs("\\\\", out);
        else if (*p == '"')
            fputs("\\\"", out);
        else if (*p == '\n')
            fputs("\\n", out);
        else
            fputc(*p, out);
    }
}

void metrics_write_header(FILE *out, const char *name, const char *help, enum metric_type type)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};

    /* HELP text escapes only backslash and newline; ours contain neither. */
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type_names[type]);
}

/* One sample line; extra_name/extra_value add a trailing label (le). */
static void write_line(FILE *out, const char *name, const char *suffix,
                       const char *const *label_names, const char *const *label_values, size_t n,
                       const char *extra_name, const char *extra_value, const char *value)
{
    fprintf(out, "%s%s", name, suffix);
    if (n > 0 || extra_name != NULL) {
        fputc('{', out);
        for (size_t i = 0; i < n; i++) {
            fprintf(out, "%s%s=\"", i > 0 ? "," : "", label_names[i]);
            metrics_escape_label(out, label_values[i] != NULL ? label_values[i] : "");
            fputc('"', out);
        }
        if (extra_name != NULL)
            fprintf(out, "%s%s=\"%s\"", n > 0 ? "," : "", extra_name, extra_value);
        fputc('}', out);
    }
    fprintf(out, " %s\n", value);
}

void metrics_write_sample(FILE *out, const char *name, const char *const *label_names,
                          const char *const *label_values, size_t n_labels, double value)
{
    char v[64];

    metrics_format_value(v, sizeof(v), value);
    write_line(out, name, "", label_names, label_values, n_labels, NULL, NULL, v);
}

static void write_histogram(FILE *out, const struct family_def *f, const struct series *s,
                            const char *const *values)
{
    char v[64], le[64];
    uint64_t cumulative = 0;

    for (size_t i = 0; i < f->n_buckets; i++) {
        cumulative += s->buckets[i];
        metrics_format_value(le, sizeof(le), f->buckets[i]);
        /* Bucket bounds below 1 need their fraction: %.0f would round them. */
        if (f->buckets[i] != floor(f->buckets[i]))
            snprintf(le, sizeof(le), "%g", f->buckets[i]);
        snprintf(v, sizeof(v), "%" PRIu64, cumulative);
        write_line(out, f->name, "_bucket", f->labels, values, f->n_labels, "le", le, v);
    }
    snprintf(v, sizeof(v), "%" PRIu64, s->count);
    write_line(out, f->name, "_bucket", f->labels, values, f->n_labels, "le", "+Inf", v);
    metrics_format_value(v, sizeof(v), s->value);
    write_line(out, f->name, "_sum", f->labels, values, f->n_labels, NULL, NULL, v);
    snprintf(v, sizeof(v), "%" PRIu64, s->count);
    write_line(out, f->name, "_count", f->labels, values, f->n_labels, NULL, NULL, v);
}

void metrics_write(FILE *out)
{
    static const char *const version_label[] = {"version"};
    static const char *const version_value[] = {CRMSYNC_VERSION};
    char v[64];

    pthread_mutex_lock(&lock);
    metrics_write_header(out, "crmsyncd_build_info",
                         "Always 1; the version label says which crmsyncd runs.", METRIC_GAUGE);
    metrics_write_sample(out, "crmsyncd_build_info", version_label, version_value, 1, 1);
    metrics_write_header(out, "crmsyncd_start_time_seconds",
                         "When the daemon started, seconds since the epoch.", METRIC_GAUGE);
    metrics_write_sample(out, "crmsyncd_start_time_seconds", NULL, NULL, 0,
                         (double)(reg.start_ms / 1000));
    /* The standard name (Prometheus client libraries' process collector),
     * so stock dashboards and alerts find it. */
    metrics_write_header(out, "process_start_time_seconds",
                         "Start time of the process since unix epoch in seconds.", METRIC_GAUGE);
    metrics_write_sample(out, "process_start_time_seconds", NULL, NULL, 0,
                         (double)reg.start_ms / 1000.0);
    for (size_t id = 0; reg.ready && id < METRIC_COUNT; id++) {
        const struct family_def *f = &families[id];

        metrics_write_header(out, f->name, f->help, f->type);
        for (size_t i = 0; i < SERIES_PER_FAMILY && reg.series[id][i].used; i++) {
            const struct series *s = &reg.series[id][i];
            const char *values[METRIC_MAX_LABELS];

            for (size_t j = 0; j < f->n_labels; j++)
                values[j] = s->labels[j];
            if (f->type == METRIC_HISTOGRAM) {
                write_histogram(out, f, s, values);
                continue;
            }
            if (f->type == METRIC_COUNTER)
                snprintf(v, sizeof(v), "%" PRIu64, s->count);
            else
                metrics_format_value(v, sizeof(v), s->value);
            write_line(out, f->name, "", f->labels, values, f->n_labels, NULL, NULL, v);
        }
    }
    metrics_write_header(out, "crmsyncd_metrics_series_dropped_total",
                         "Metric updates dropped because a family had no free series slot.",
                         METRIC_COUNTER);
    snprintf(v, sizeof(v), "%" PRIu64, reg.dropped);
    write_line(out, "crmsyncd_metrics_series_dropped_total", "", NULL, NULL, 0, NULL, NULL, v);
    pthread_mutex_unlock(&lock);
}

void metrics_declare_connector(const char *name, int destination, int up)
{
    static const char *const ingest_results[] = {"applied",  "unchanged", "duplicate",
                                                 "rejected", "erased",    "invalid"};
    static const char *const push_results[] = {"ok", "retry", "reject"};
    static const char *const error_classes[] = {"429", "5xx", "4xx", "transport"};
    static const char *const directions[] = {"pull", "push"};

    for (size_t i = 0; i < sizeof(ingest_results) / sizeof(ingest_results[0]); i++)
        metrics_counter_add(METRIC_INGEST_RECORDS, (const char *[]){name, ingest_results[i]}, 0);
    metrics_counter_add(METRIC_PULLS, (const char *[]){name, "ok"}, 0);
    metrics_counter_add(METRIC_PULLS, (const char *[]){name, "failed"}, 0);
    metrics_gauge_set(METRIC_CONNECTOR_UP, (const char *[]){name}, up ? 1 : 0);
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < 2; i++) {
        if (i == 1 && !destination)
            break;
        /* Created at 0 when new; a reload keeps what it shows. */
        (void)find_series(METRIC_LAST_SUCCESS, (const char *[]){name, directions[i]});
    }
    pthread_mutex_unlock(&lock);
    if (!destination)
        return;
    for (size_t i = 0; i < sizeof(push_results) / sizeof(push_results[0]); i++)
        metrics_counter_add(METRIC_RECORDS_PUSHED, (const char *[]){name, push_results[i]}, 0);
    metrics_counter_add(METRIC_PUSH_RETRIES, (const char *[]){name}, 0);
    metrics_counter_add(METRIC_DEAD_LETTERS, (const char *[]){name}, 0);
    metrics_counter_add(METRIC_DEST_PAUSES, (const char *[]){name}, 0);
    metrics_gauge_set(METRIC_RESYNC_PHASE, (const char *[]){name}, 0);
    pthread_mutex_lock(&lock);
    (void)find_series(METRIC_OPTOUT_LATENCY, (const char *[]){name});
    pthread_mutex_unlock(&lock);
    for (size_t i = 0; i < sizeof(error_classes) / sizeof(error_classes[0]); i++)
        metrics_counter_add(METRIC_HTTP_ERRORS, (const char *[]){name, error_classes[i]}, 0);
}

static int opaque_segment(const char *seg, size_t n)
{
    if (n > 40)
        return 1;
    for (size_t i = 0; i < n; i++) {
        if ((seg[i] >= '0' && seg[i] <= '9') || seg[i] == '@' || seg[i] == '%')
            return 1;
    }
    return 0;
}

void metrics_endpoint_of(const char *url, char *out, size_t outsize)
{
    const char *p = strstr(url, "://");
    size_t len = 0;

    if (outsize == 0)
        return;
    out[0] = '\0';
    p = p != NULL ? strchr(p + 3, '/') : url;
    while (p != NULL && *p == '/') {
        const char *seg = p + 1;
        size_t n = strcspn(seg, "/?#");
        const char *text = opaque_segment(seg, n) ? "{id}" : seg;
        size_t tn = text == seg ? n : 4;

        if (n == 0 && seg[0] != '/')
            break;
        if (len + 1 + tn >= outsize)
            break;
        out[len++] = '/';
        memcpy(out + len, text, tn);
        len += tn;
        out[len] = '\0';
        p = seg + n;
    }
    if (len == 0)
        snprintf(out, outsize, "/");
}
