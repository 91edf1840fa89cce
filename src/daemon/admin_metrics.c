/* /metrics (see admin.h): the metrics registry, then the families read
 * from the state database at scrape time. */
#include <stdio.h>
#include <stdlib.h>

#include "admin_internal.h"
#include "log.h"
#include "metrics.h"
#include "store_retention.h"
#include "timefmt.h"

struct dead_ctx {
    FILE *out;
    int header_done;
};

static void write_dead(void *ctx, const char *destination, int64_t count, int64_t retry)
{
    static const char *const names[] = {"connector"};
    struct dead_ctx *d = ctx;
    const char *values[] = {destination};

    (void)retry;
    metrics_write_sample(d->out, "crmsyncd_dead_letters_pending", names, values, 1, (double)count);
}

/* The families computed from the database at scrape time. */
/* Issue 15: the state is bounded; these show it (database and WAL size,
 * rows per table, age of the oldest change retained). */
static int write_storage(struct admin *a, FILE *out, int64_t now)
{
    static const char *const table_label[] = {"table"};
    struct store_size sz;
    struct error err = {""};

    if (store_size_report(a->store, a->state_path, &sz, &err) != 0) {
        log_warn("admin", NULL, "%s", err.msg);
        return -1;
    }
    metrics_write_header(out, "crmsyncd_state_db_bytes",
                         "Size of the state database file (pages times page size).", METRIC_GAUGE);
    metrics_write_sample(out, "crmsyncd_state_db_bytes", NULL, NULL, 0, (double)sz.db_bytes);
    metrics_write_header(out, "crmsyncd_state_free_bytes",
                         "Free pages in the state database, not yet given back.", METRIC_GAUGE);
    metrics_write_sample(out, "crmsyncd_state_free_bytes", NULL, NULL, 0, (double)sz.free_bytes);
    metrics_write_header(out, "crmsyncd_state_wal_bytes", "Size of the state database's WAL file.",
                         METRIC_GAUGE);
    metrics_write_sample(out, "crmsyncd_state_wal_bytes", NULL, NULL, 0, (double)sz.wal_bytes);
    metrics_write_header(out, "crmsyncd_state_rows", "Rows per table of the state database.",
                         METRIC_GAUGE);
    for (size_t i = 0; i < sz.n_tables; i++) {
        const char *values[] = {sz.table[i]};
        metrics_write_sample(out, "crmsyncd_state_rows", table_label, values, 1,
                             (double)sz.rows[i]);
    }
    metrics_write_header(out, "crmsyncd_oldest_retained_change_age_seconds",
                         "Age of the oldest change the change-log still holds (0 when empty).",
                         METRIC_GAUGE);
    metrics_write_sample(out, "crmsyncd_oldest_retained_change_age_seconds", NULL, NULL, 0,
                         sz.oldest_change > 0 && now > sz.oldest_change
                             ? (double)(now - sz.oldest_change) / 1000.0
                             : 0);
    return 0;
}

static void write_state_metrics(struct admin *a, FILE *out, const struct health_snapshot *snap,
                                const struct store_backlog *backlogs, int state_ok)
{
    static const char *const lane_names[] = {"connector", "lane"};
    static const char *const conn_names[] = {"connector"};
    int64_t now = timefmt_now_ms();
    struct error err = {""};
    struct dead_ctx d = {out, 0};

    metrics_write_header(out, "crmsyncd_backlog_changes",
                         "Changes waiting to be pushed, by destination connector and lane "
                         "(urgent, points, bulk).",
                         METRIC_GAUGE);
    for (size_t i = 0; state_ok && i < snap->n_connectors; i++) {
        if (!snap->connectors[i].destination || backlogs[i].total < 0)
            continue;
        for (int lane = 0; lane < STORE_LANES; lane++) {
            const char *values[] = {snap->connectors[i].name, store_lane_name(lane)};
            metrics_write_sample(out, "crmsyncd_backlog_changes", lane_names, values, 2,
                                 (double)backlogs[i].pending[lane]);
        }
    }
    metrics_write_header(out, "crmsyncd_oldest_pending_change_age_seconds",
                         "Age of the oldest change not yet pushed to a destination (0 when "
                         "nothing is pending).",
                         METRIC_GAUGE);
    for (size_t i = 0; state_ok && i < snap->n_connectors; i++) {
        const char *values[] = {snap->connectors[i].name};
        double age = 0;

        if (!snap->connectors[i].destination || backlogs[i].total < 0)
            continue;
        if (backlogs[i].oldest_received_at > 0 && now > backlogs[i].oldest_received_at)
            age = (double)(now - backlogs[i].oldest_received_at) / 1000.0;
        metrics_write_sample(out, "crmsyncd_oldest_pending_change_age_seconds", conn_names, values,
                             1, age);
    }
    /* Per lane (issue 19's dashboard: the urgent lane's age is the bound on
     * opt-out latency while anything waits). */
    metrics_write_header(out, "crmsyncd_oldest_pending_age_seconds",
                         "Age of the oldest change not yet pushed to a destination, by lane (0 "
                         "when the lane is empty).",
                         METRIC_GAUGE);
    for (size_t i = 0; state_ok && i < snap->n_connectors; i++) {
        if (!snap->connectors[i].destination || backlogs[i].total < 0)
            continue;
        for (int lane = 0; lane < STORE_LANES; lane++) {
            const char *values[] = {snap->connectors[i].name, store_lane_name(lane)};
            int64_t t = backlogs[i].oldest_lane[lane];
            metrics_write_sample(out, "crmsyncd_oldest_pending_age_seconds", lane_names, values, 2,
                                 t > 0 && now > t ? (double)(now - t) / 1000.0 : 0);
        }
    }
    metrics_write_header(out, "crmsyncd_dead_letters_pending",
                         "Dead letters stored and not dropped, by connector (the destination; "
                         "ingest = bad input).",
                         METRIC_GAUGE);
    if (state_ok && store_metrics_dead_letters(a->queries, write_dead, &d, &err) != 0) {
        log_warn("admin", NULL, "%s", err.msg);
        admin_drop_store(a);
        state_ok = 0;
    }
    if (state_ok && write_storage(a, out, now) != 0) {
        admin_drop_store(a);
        state_ok = 0;
    }
    metrics_write_header(out, "crmsyncd_state_readable",
                         "1 when the admin endpoint could read the state database.", METRIC_GAUGE);
    metrics_write_sample(out, "crmsyncd_state_readable", NULL, NULL, 0, state_ok);
}

enum MHD_Result admin_serve_metrics(struct admin *a, struct MHD_Connection *conn)
{
    static struct health_snapshot snap; /* only the MHD thread is here */
    struct store_backlog backlogs[HEALTH_MAX_CONNECTORS];
    char *buf = NULL;
    size_t len = 0;
    json_t *problems;
    FILE *out;
    int state_ok = 0;

    problems = admin_evaluate(a, &snap, backlogs, &state_ok);
    out = open_memstream(&buf, &len);
    if (out == NULL || problems == NULL) {
        if (out != NULL)
            fclose(out);
        free(buf);
        json_decref(problems);
        return admin_respond_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    }
    metrics_write(out);
    write_state_metrics(a, out, &snap, backlogs, state_ok);
    metrics_write_header(out, "crmsyncd_healthy",
                         "1 when /healthz answers 200, 0 when it answers 503.", METRIC_GAUGE);
    metrics_write_sample(out, "crmsyncd_healthy", NULL, NULL, 0,
                         json_array_size(problems) == 0 ? 1 : 0);
    json_decref(problems);
    if (fclose(out) != 0) {
        free(buf);
        return admin_respond_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    }
    return admin_respond(conn, MHD_HTTP_OK, buf, len, "text/plain; version=0.0.4; charset=utf-8");
}
