/* /healthz (see admin.h): the health registry's problems, the state
 * directory's disk, and the backlogs read through the endpoint's own
 * read-only store connection. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "admin_internal.h"
#include "log.h"
#include "store_holds.h"
#include "timefmt.h"

/* Below this much free space in the state directory, /healthz says
 * disk_full: SQLite needs room for the WAL and a checkpoint. */
#define DISK_MIN_FREE_BYTES (16LL * 1024 * 1024)

/* Opens the read-only connection on first use, and again after a failure. */
static int ensure_store(struct admin *a, struct error *err)
{
    struct store_options so = {0};

    if (a->queries != NULL)
        return 0;
    store_close(a->store);
    a->store = NULL;
    so.path = a->state_path;
    so.readonly = 1;
    so.busy_timeout_ms = a->busy_timeout_ms;
    if (store_open(&so, &a->store, err) != 0)
        return -1;
    if (store_metrics_new(a->store, &a->queries, err) != 0) {
        store_close(a->store);
        a->store = NULL;
        return -1;
    }
    return 0;
}

/* After a query error the connection is reopened on the next request. */
void admin_drop_store(struct admin *a)
{
    store_metrics_free(a->queries);
    a->queries = NULL;
    store_close(a->store);
    a->store = NULL;
}

static void check_disk(struct admin *a, json_t *problems)
{
    struct statvfs sv;

    if (statvfs(a->state_dir, &sv) != 0) {
        char why[300];
        snprintf(why, sizeof(why), "cannot stat state directory %s: %s", a->state_dir,
                 strerror(errno));
        health_problem_append(problems, HEALTH_STATE_NOT_WRITABLE, NULL, why, 0);
        return;
    }
    if (sv.f_flag & ST_RDONLY) {
        char why[300];
        snprintf(why, sizeof(why), "state directory %s is on a read-only filesystem", a->state_dir);
        health_problem_append(problems, HEALTH_STATE_NOT_WRITABLE, NULL, why, 0);
    }
    if ((long long)sv.f_bavail * (long long)sv.f_frsize < DISK_MIN_FREE_BYTES) {
        char why[300];
        snprintf(why, sizeof(why), "%lld bytes free in %s (need at least %lld)",
                 (long long)sv.f_bavail * (long long)sv.f_frsize, a->state_dir,
                 DISK_MIN_FREE_BYTES);
        health_problem_append(problems, HEALTH_DISK_FULL, NULL, why, 0);
    }
}

/* What is wrong now: the registry's problems plus those computed here.
 * backlogs[i] receives connector i's backlog (destinations only; -1 when
 * unknown). */
json_t *admin_evaluate(struct admin *a, struct health_snapshot *snap,
                       struct store_backlog *backlogs, int *state_ok)
{
    struct error err = {""};
    int64_t now = timefmt_now_ms();
    int64_t urgent_max_age = health_urgent_max_age();
    json_t *problems;

    if (health_snapshot(snap) != 0)
        return NULL;
    problems = snap->problems;
    check_disk(a, problems);
    *state_ok = ensure_store(a, &err) == 0;
    if (!*state_ok) {
        health_problem_append(problems, HEALTH_STATE_NOT_WRITABLE, NULL, err.msg, 0);
        return problems;
    }
    for (size_t i = 0; i < snap->n_connectors; i++) {
        const struct health_snapshot_connector *c = &snap->connectors[i];

        backlogs[i].total = -1;
        if (!c->destination)
            continue;
        if (store_metrics_backlog(a->queries, c->name, &backlogs[i], &err) != 0) {
            log_warn("admin", c->name, "%s", err.msg);
            backlogs[i].total = -1;
            admin_drop_store(a);
            *state_ok = 0;
            health_problem_append(problems, HEALTH_STATE_NOT_WRITABLE, NULL, err.msg, 0);
            return problems;
        }
        /* A withdrawal or an erasure waiting longer than urgent_max_age
         * (issue 19): whatever the reason (an outage, a hold, a slow
         * backlog), the opt-out promise is not kept. */
        if (urgent_max_age > 0 && backlogs[i].oldest_lane[0] > 0 &&
            now - backlogs[i].oldest_lane[0] > urgent_max_age) {
            char why[200], t[40];
            snprintf(why, sizeof(why),
                     "%lld withdrawal(s)/erasure(s) pending, the oldest since %s "
                     "(urgent_max_age %lld s)",
                     (long long)backlogs[i].pending[0],
                     timefmt_format_rfc3339(backlogs[i].oldest_lane[0], t, sizeof(t)),
                     (long long)(urgent_max_age / 1000));
            health_problem_append(problems, HEALTH_URGENT_OLD, c->name, why,
                                  backlogs[i].oldest_lane[0]);
        }
        if (c->backlog_bound > 0 && backlogs[i].total > c->backlog_bound) {
            char why[200];
            snprintf(why, sizeof(why), "%lld changes pending, bound %lld",
                     (long long)backlogs[i].total, (long long)c->backlog_bound);
            health_problem_append(problems, HEALTH_BACKLOG_OVER_BOUND, c->name, why, 0);
        }
    }
    return problems;
}

enum MHD_Result admin_serve_healthz(struct admin *a, struct MHD_Connection *conn)
{
    static struct health_snapshot snap; /* only the MHD thread is here */
    struct store_backlog backlogs[HEALTH_MAX_CONNECTORS];
    json_t *problems;
    json_t *doc = NULL;
    char *body;
    int state_ok = 0;
    unsigned status;

    problems = admin_evaluate(a, &snap, backlogs, &state_ok);
    if (problems == NULL)
        return admin_respond_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    if (json_array_size(problems) == 0) {
        doc = json_pack("{s:s}", "status", "ok");
        status = MHD_HTTP_OK;
    } else {
        doc = json_pack("{s:s,s:O}", "status", "unhealthy", "reasons", problems);
        status = MHD_HTTP_SERVICE_UNAVAILABLE;
    }
    json_decref(problems);
    /* Retry-After holds running now: not a problem by themselves (a 429 is
     * the vendor's normal way of pacing us), but an operator asking why a
     * destination is quiet wants to see them (crmsyncctl holds clear). */
    if (doc != NULL && state_ok) {
        struct error err = {""};
        json_t *holds = NULL;
        if (store_holds_list(a->store, timefmt_now_ms(), &holds, &err) == 0) {
            if (json_array_size(holds) > 0)
                json_object_set(doc, "holds", holds);
            json_decref(holds);
        } else {
            log_warn("admin", NULL, "%s", err.msg);
        }
    }
    body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (body == NULL)
        return admin_respond_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    /* A trailing newline reads better in curl; JSON parsers ignore it. */
    {
        size_t n = strlen(body);
        char *nl = realloc(body, n + 2);
        if (nl != NULL) {
            body = nl;
            body[n] = '\n';
            body[n + 1] = '\0';
        }
    }
    return admin_respond(conn, status, body, strlen(body), "application/json");
}
