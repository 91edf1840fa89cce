/* crmsyncctl status: what the database says per connector (cursors,
 * backlog per lane, last success and error, dead letters, erasures in
 * flight), whether the daemon runs, and, when it has an admin endpoint, the
 * live problems /healthz reports. */
#include <curl/curl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "connector.h"
#include "ctl.h"
#include "store_ctl.h"
#include "store_metrics.h"
#include "store_progress.h"
#include "store_report.h"
#include "store_retention.h"
#include "textesc.h"
#include "timefmt.h"
#include "watermark_text.h"

static void help(FILE *out)
{
    fprintf(out, "Usage: crmsyncctl [-c FILE | -s DB] status [--json | --check]\n\n"
                 "Per connector: state (from the daemon's /healthz when admin_listen is set),\n"
                 "pull watermark, push cursors, backlog per lane (urgent, points, bulk) and\n"
                 "the age of the oldest pending change, last successful and last failed\n"
                 "input, dead letters, the CRM's daily request budget as last reported,\n"
                 "and the last full resync: its phase and, while it re-pushes, done /\n"
                 "total changes, rate and ETA. Then erasures and their confirmation per\n"
                 "CRM, pending resync requests and the last ingested files.\n\n"
                 "Exit codes: 0 ok (even when a connector is failing: read the output),\n"
                 "1 failure, 5 database locked, 6 no usable database.\n\n"
                 "--check: one line for monitoring (Nagios/Icinga plugin convention) and\n"
                 "exit 0 OK, 1 WARNING (dead letters wait, the admin endpoint does not\n"
                 "answer), 2 CRITICAL (daemon not running, /healthz names a problem),\n"
                 "3 UNKNOWN (the state cannot be read).\n");
}

struct buf {
    char *data;
    size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
    struct buf *b = ctx;
    size_t add = size * n;
    char *grown;

    if (b->len + add > 1 << 20)
        return 0;
    grown = realloc(b->data, b->len + add + 1);
    if (grown == NULL)
        return 0;
    memcpy(grown + b->len, p, add);
    b->data = grown;
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

/* GET /healthz from the daemon; NULL (with why) when it cannot be asked. */
static json_t *fetch_health(const char *listen_on, char *why, size_t size)
{
    CURL *h = curl_easy_init();
    struct buf b = {NULL, 0};
    char url[400];
    json_t *doc = NULL;
    CURLcode c;

    if (h == NULL)
        return NULL;
    if (listen_on[0] == '/') {
        curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, listen_on);
        snprintf(url, sizeof(url), "http://localhost/healthz");
    } else {
        snprintf(url, sizeof(url), "http://%s/healthz", listen_on);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 3000L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    c = curl_easy_perform(h);
    if (c != CURLE_OK)
        snprintf(why, size, "admin endpoint %s: %s", listen_on, curl_easy_strerror(c));
    else if (b.data != NULL)
        doc = json_loads(b.data, 0, NULL);
    if (c == CURLE_OK && doc == NULL)
        snprintf(why, size, "admin endpoint %s: not a JSON answer", listen_on);
    curl_easy_cleanup(h);
    free(b.data);
    return doc;
}

/* The connectors to show: configured ones first, then any the database
 * knows that the configuration no longer has. */
static json_t *connector_list(struct ctl *ctl, struct store *st, struct error *err)
{
    json_t *list = json_array();
    json_t *known = NULL;
    json_t *v;
    size_t i;

    for (size_t k = 0; ctl->cfg != NULL && k < ctl->cfg->n_connectors; k++) {
        const struct connector_config *cc = &ctl->cfg->connectors[k];
        const struct connector_ops *ops = connector_find_type(cc->type);
        json_array_append_new(list,
                              json_pack("{s:s,s:s,s:b,s:b}", "name", cc->name, "type", cc->type,
                                        "destination", ops && ops->max_batch > 0, "configured", 1));
    }
    if (store_report_known_connectors(st, &known, err) != 0) {
        json_decref(list);
        return NULL;
    }
    json_array_foreach(known, i, v)
    {
        const char *name = json_string_value(json_object_get(v, "connector"));
        int have = 0;
        size_t j;
        json_t *w;
        json_array_foreach(list, j, w)
        {
            have = have || strcmp(json_string_value(json_object_get(w, "name")), name) == 0;
        }
        if (!have)
            json_array_append_new(list, json_pack("{s:s,s:n,s:b,s:b}", "name", name, "type",
                                                  "destination", 0, "configured", 0));
    }
    json_decref(known);
    return list;
}

/* Database and WAL size, rows per table, the oldest retained change
 * (issue 15: the state is bounded; this shows it). */
static json_t *storage_doc(struct ctl *ctl, struct store *st, struct error *err)
{
    struct store_size sz;
    json_t *doc, *rows;
    char at[40];

    if (store_size_report(st, ctl->state_path, &sz, err) != 0)
        return NULL;
    rows = json_object();
    for (size_t i = 0; i < sz.n_tables; i++)
        json_object_set_new(rows, sz.table[i], json_integer(sz.rows[i]));
    doc = json_pack("{s:I,s:I,s:I,s:o}", "db_bytes", (json_int_t)sz.db_bytes, "free_bytes",
                    (json_int_t)sz.free_bytes, "wal_bytes", (json_int_t)sz.wal_bytes, "rows", rows);
    if (doc == NULL)
        return NULL;
    if (sz.oldest_seq > 0) {
        json_object_set_new(doc, "oldest_change_seq", json_integer(sz.oldest_seq));
        json_object_set_new(doc, "oldest_change_received_at",
                            json_string(timefmt_format_rfc3339(sz.oldest_change, at, sizeof(at))));
    }
    return doc;
}

/* Issue 19: the pull watermark as people read it ("file:line", times in
 * RFC 3339) beside the connector's raw JSON, and lanes by name. */
static void add_readable_positions(json_t *c)
{
    json_t *pull = json_object_get(c, "pull");
    json_t *wm = json_object_get(pull, "watermark");
    json_t *cur;
    size_t i;

    if (json_is_string(wm)) {
        char *text = watermark_text(json_string_value(wm));
        if (text != NULL)
            json_object_set_new(pull, "position", json_string(text));
        free(text);
    }
    json_array_foreach(json_object_get(c, "push_cursors"), i, cur)
    {
        json_t *lane = json_object_get(cur, "lane");
        if (json_is_integer(lane) && json_integer_value(lane) >= 0 &&
            json_integer_value(lane) < STORE_LANES)
            json_object_set_new(cur, "lane_name",
                                json_string(store_lane_name((int)json_integer_value(lane))));
    }
}

/* The daemon: running or not (with its pid), and when it runs and has an
 * admin endpoint, what its /healthz says (*health: the caller's to free). */
static json_t *daemon_doc(struct ctl *ctl, int *running, json_t **health)
{
    char why[512] = "";
    pid_t pid = 0;
    json_t *daemon;

    *running = ctl_daemon_running(ctl, &pid, why, sizeof(why));
    daemon = json_pack("{s:b}", "running", *running == 1);
    if (*running == 1)
        json_object_set_new(daemon, "pid", json_integer(pid));
    if (*running < 0)
        json_object_set_new(daemon, "unknown", json_string(why));
    if (*running == 1 && ctl->cfg != NULL && ctl->cfg->daemon.admin_listen != NULL) {
        *health = fetch_health(ctl->cfg->daemon.admin_listen, why, sizeof(why));
        if (*health != NULL)
            json_object_set(daemon, "health", *health);
        else
            json_object_set_new(daemon, "health_error", json_string(why));
    }
    return daemon;
}

/* A destination's backlog by lane; its name is added to dests. */
static int backlog_doc(struct store_metrics *m, json_t *c, const char *name, json_t *dests,
                       struct error *err)
{
    struct store_backlog b;
    char t[40];

    if (store_metrics_backlog(m, name, &b, err) != 0)
        return -1;
    json_object_set_new(
        c, "backlog",
        json_pack("{s:I,s:I,s:I,s:I,s:o}", "urgent", (json_int_t)b.pending[0], "points",
                  (json_int_t)b.pending[1], "bulk", (json_int_t)b.pending[2], "total",
                  (json_int_t)b.total, "oldest_pending_at",
                  b.oldest_received_at
                      ? json_string(timefmt_format_rfc3339(b.oldest_received_at, t, sizeof(t)))
                      : json_null()));
    json_array_append_new(dests, json_string(name));
    return 0;
}

/* Completes one connector's entry c: the store's report, readable positions,
 * resync progress and quota, a destination's backlog, and its state from the
 * health problems that name it. Returns 0, or -1 with err set. */
static int connector_doc(struct store *st, struct store_metrics *m, json_t *c, int running,
                         json_t *health, json_t *dests, struct error *err)
{
    const char *name = json_string_value(json_object_get(c, "name"));
    json_t *detail = NULL, *problems = json_array(), *p;
    json_t *resync = NULL, *quota = NULL;
    const char *state = running == 1 ? "running" : "stopped";
    size_t j;
    int rc = -1;

    if (store_report_connector(st, name, &detail, err) != 0)
        goto out;
    json_object_update(c, detail);
    json_decref(detail);
    /* The update replaced "name" and freed the string name pointed to. */
    name = json_string_value(json_object_get(c, "name"));
    add_readable_positions(c);
    if (store_progress_report(st, name, json_is_true(json_object_get(c, "destination")),
                              timefmt_now_ms(), &resync, &quota, err) != 0)
        goto out;
    /* A stopped daemon makes no progress: no rate, no ETA. */
    if (running != 1 && json_is_object(resync) && json_object_get(resync, "rate_per_s") != NULL) {
        json_object_set_new(resync, "rate_per_s", json_null());
        json_object_set_new(resync, "eta_s", json_null());
    }
    json_object_set_new(c, "resync", resync);
    json_object_set_new(c, "quota", quota);
    if (json_is_true(json_object_get(c, "destination")) && backlog_doc(m, c, name, dests, err) != 0)
        goto out;
    json_array_foreach(json_object_get(health, "reasons"), j, p)
    {
        const char *pc = json_string_value(json_object_get(p, "connector"));
        if (pc != NULL && strcmp(pc, name) == 0)
            json_array_append(problems, p);
    }
    if (json_array_size(problems) > 0)
        state = "failing";
    else if (!json_is_true(json_object_get(c, "configured")))
        state = "not configured";
    json_object_set_new(c, "state", json_string(state));
    json_object_set_new(c, "problems", problems);
    problems = NULL;
    rc = 0;
out:
    json_decref(problems);
    return rc;
}

static int build(struct ctl *ctl, struct store *st, json_t **out, struct error *err)
{
    struct store_metrics *m = NULL;
    json_t *doc = NULL, *conns = NULL, *health = NULL;
    json_t *dests = json_array();
    const char **dest_names = NULL;
    json_t *erasures = NULL;
    int running;
    size_t i;
    json_t *c;
    int rc = -1;

    if (store_report_status(st, &doc, err) != 0 || store_metrics_new(st, &m, err) != 0)
        goto out;
    conns = connector_list(ctl, st, err);
    if (conns == NULL)
        goto out;
    {
        json_t *storage = storage_doc(ctl, st, err);
        if (storage == NULL)
            goto out;
        json_object_set_new(doc, "storage", storage);
    }
    json_object_set_new(doc, "daemon", daemon_doc(ctl, &running, &health));
    json_array_foreach(conns, i, c)
    {
        if (connector_doc(st, m, c, running, health, dests, err) != 0)
            goto out;
    }
    json_object_set(doc, "connectors", conns);

    dest_names = calloc(json_array_size(dests) + 1, sizeof(*dest_names));
    if (dest_names == NULL)
        goto out;
    json_array_foreach(dests, i, c) dest_names[i] = json_string_value(c);
    if (store_ctl_erasures(st, dest_names, json_array_size(dests), &erasures, err) != 0)
        goto out;
    json_object_set_new(doc, "erasures", erasures);
    *out = doc;
    doc = NULL;
    rc = 0;
out:
    free(dest_names);
    json_decref(dests);
    json_decref(conns);
    json_decref(health);
    json_decref(doc);
    store_metrics_free(m);
    return rc;
}

static const char *str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : "-";
}

static long long num(json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

/* "3m20s", "45s", "2h05m". */
static const char *duration(long long s, char *buf, size_t size)
{
    if (s >= 3600)
        snprintf(buf, size, "%lldh%02lldm", s / 3600, s % 3600 / 60);
    else if (s >= 60)
        snprintf(buf, size, "%lldm%02llds", s / 60, s % 60);
    else
        snprintf(buf, size, "%llds", s);
    return buf;
}

static void print_resync(json_t *r)
{
    const char *state = str(r, "state");
    json_t *rate = json_object_get(r, "rate_per_s");
    json_t *eta = json_object_get(r, "eta_s");
    json_t *total = json_object_get(r, "total");
    char buf[32];

    if (strcmp(state, "complete") == 0) {
        printf("    last resync: started %s, complete%s\n", str(r, "started_at"),
               json_is_true(json_object_get(r, "interrupted")) ? " (re-pull cut short by a restart)"
                                                               : "");
        return;
    }
    printf("    resync: %s since %s", state, str(r, "started_at"));
    if (json_is_integer(total)) {
        long long t = num(r, "total"), d = num(r, "done");
        printf("; %lld / %lld changes (%lld %%)", d, t, t > 0 ? d * 100 / t : 100);
        if (json_is_number(rate))
            printf(", %.1f/s", json_number_value(rate));
        printf(", ETA %s",
               json_is_integer(eta) ? duration(num(r, "eta_s"), buf, sizeof(buf)) : "unknown");
    }
    printf("\n");
}

/* The daemon, its health, the change-log, the members and the storage. */
static void print_overview(json_t *doc)
{
    json_t *d = json_object_get(doc, "daemon");
    json_t *cl = json_object_get(doc, "changelog");
    json_t *m = json_object_get(doc, "members");
    json_t *sg = json_object_get(doc, "storage");
    const char *k;
    json_t *p, *n;
    size_t i;

    if (json_is_true(json_object_get(d, "running")))
        printf("daemon: running (pid %lld)\n", num(d, "pid"));
    else if (json_object_get(d, "unknown"))
        printf("daemon: unknown (%s)\n", str(d, "unknown"));
    else
        printf("daemon: not running\n");
    if (json_object_get(d, "health"))
        printf("health: %s\n", str(json_object_get(d, "health"), "status"));
    else if (json_object_get(d, "health_error"))
        printf("health: cannot ask (%s)\n", str(d, "health_error"));
    json_array_foreach(json_object_get(json_object_get(d, "health"), "reasons"), i, p)
        printf("  %s%s%s: %s\n", str(p, "reason"),
               json_is_string(json_object_get(p, "connector")) ? " " : "",
               json_is_string(json_object_get(p, "connector")) ? str(p, "connector") : "",
               str(p, "detail"));
    printf("change-log: %lld changes (%lld effective), last seq %lld, last received %s\n",
           num(cl, "changes"), num(cl, "effective"), num(cl, "last_seq"),
           str(cl, "last_received_at"));
    printf("members: %lld with state, %lld points transactions, %lld erased\n",
           num(m, "with_state"), num(m, "points_transactions"), num(m, "erased"));
    printf("storage: database %.1f MB (%.1f MB free), WAL %.1f MB; oldest retained change: ",
           (double)num(sg, "db_bytes") / 1e6, (double)num(sg, "free_bytes") / 1e6,
           (double)num(sg, "wal_bytes") / 1e6);
    if (json_object_get(sg, "oldest_change_seq"))
        printf("seq %lld received %s\n", num(sg, "oldest_change_seq"),
               str(sg, "oldest_change_received_at"));
    else
        printf("none\n");
    printf("rows:");
    json_object_foreach(json_object_get(sg, "rows"), k, n)
        printf(" %s %lld", k, (long long)json_integer_value(n));
    printf("\n");
}

/* One connector of the "connectors" array. */
static void print_connector(json_t *v)
{
    json_t *pull = json_object_get(v, "pull");
    json_t *b = json_object_get(v, "backlog");
    json_t *ok = json_object_get(v, "last_success");
    json_t *bad = json_object_get(v, "last_error");
    json_t *dl = json_object_get(v, "dead_letters");
    json_t *p;
    size_t j;

    printf("  %s (%s): %s\n", str(v, "name"), str(v, "type"), str(v, "state"));
    json_array_foreach(json_object_get(v, "problems"), j, p)
        printf("    problem: %s: %s\n", str(p, "reason"), str(p, "detail"));
    printf("    pull: %s (at %s)\n", json_is_object(pull) ? str(pull, "position") : "-",
           json_is_object(pull) ? str(pull, "updated_at") : "-");
    json_array_foreach(json_object_get(v, "push_cursors"), j, p)
        printf("    push %-6s at seq %lld (%s)\n", str(p, "lane_name"), num(p, "seq"),
               str(p, "updated_at"));
    if (json_is_object(b))
        printf("    backlog: %lld urgent, %lld points, %lld bulk; oldest pending %s\n",
               num(b, "urgent"), num(b, "points"), num(b, "bulk"), str(b, "oldest_pending_at"));
    if (json_is_object(ok))
        printf("    last success: %s %s (%s)\n", str(ok, "finished_at"), str(ok, "name"),
               str(ok, "status"));
    if (json_is_object(bad))
        printf("    last error: %s %s (%s)\n", str(bad, "finished_at"), str(bad, "name"),
               str(bad, "status"));
    printf("    dead letters: %lld as destination, %lld from it\n", num(dl, "as_destination"),
           num(dl, "from_origin"));
    if (json_is_object(json_object_get(v, "quota"))) {
        json_t *q = json_object_get(v, "quota");
        printf("    quota: %lld of %lld %s requests left (at %s)\n", num(q, "remaining"),
               num(q, "limit"), str(q, "kind"), str(q, "observed_at"));
    }
    if (json_is_object(json_object_get(v, "resync")))
        print_resync(json_object_get(v, "resync"));
}

/* Dead letters, erasures, pending resyncs and the last ingested files. */
static void print_lists(json_t *doc)
{
    json_t *v;
    size_t i;

    printf("\ndead letters:\n");
    if (json_array_size(json_object_get(doc, "dead_letters")) == 0)
        printf("  (none)\n");
    json_array_foreach(json_object_get(doc, "dead_letters"), i, v)
        printf("  %-16s from %-16s %6lld (oldest %s)\n", str(v, "destination"), str(v, "origin"),
               num(v, "count"), str(v, "oldest_at"));

    if (json_array_size(json_object_get(doc, "erasures")) > 0) {
        printf("\nerasures (newest first):\n");
        json_array_foreach(json_object_get(doc, "erasures"), i, v)
        {
            const char *k;
            json_t *s;
            printf("  seq %lld member %s at %s: %s", num(v, "seq"), str(v, "member_key"),
                   str(v, "received_at"),
                   json_is_true(json_object_get(v, "complete")) ? "complete" : "in progress");
            json_object_foreach(json_object_get(v, "destinations"), k, s)
                printf("; %s %s", k, json_string_value(s));
            printf("\n");
        }
    }
    if (json_array_size(json_object_get(doc, "pending_resyncs")) > 0) {
        printf("\npending resync requests:\n");
        json_array_foreach(json_object_get(doc, "pending_resyncs"), i, v)
            printf("  %s requested %s\n",
                   json_is_string(json_object_get(v, "connector")) ? str(v, "connector") : "(all)",
                   str(v, "requested_at"));
    }
    printf("\nlast ingested files:\n");
    if (json_array_size(json_object_get(doc, "recent_files")) == 0)
        printf("  (none)\n");
    json_array_foreach(json_object_get(doc, "recent_files"), i, v) printf(
        "  %-16s %-28s %-16s %lld lines; changes: %lld applied, %lld unchanged, %lld dup; "
        "%lld rejected (%s)\n",
        str(v, "connector"), str(v, "name"), str(v, "status"), num(v, "lines"), num(v, "applied"),
        num(v, "unchanged"), num(v, "duplicates"), num(v, "rejected"), str(v, "finished_at"));
}

static void print_text(json_t *doc)
{
    json_t *v;
    size_t i;

    print_overview(doc);
    printf("\nconnectors:\n");
    if (json_array_size(json_object_get(doc, "connectors")) == 0)
        printf("  (none)\n");
    json_array_foreach(json_object_get(doc, "connectors"), i, v) print_connector(v);
    print_lists(doc);
}

int ctl_status(struct ctl *ctl, int argc, char **argv)
{
    struct store *st = NULL;
    struct error err = {""};
    json_t *doc = NULL;
    int rc;

    static const struct option longopts[] = {{"json", no_argument, NULL, 'j'},
                                             {"check", no_argument, NULL, 'k'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int check = 0;

    for (;;) {
        int opt = getopt_long(argc, argv, "jkh", longopts, NULL);
        if (opt == -1)
            break;
        if (opt == 'j') {
            ctl->json = 1;
        } else if (opt == 'k') {
            check = 1;
        } else if (opt == 'h') {
            help(stdout);
            return CTL_OK;
        } else {
            help(stderr);
            return CTL_USAGE;
        }
    }
    if (optind < argc) {
        ctl_err("status: unexpected argument '%s'", argv[optind]);
        return CTL_USAGE;
    }
    if (check && ctl->json) {
        ctl_err("status: --check and --json do not go together");
        return CTL_USAGE;
    }
    rc = ctl_open(ctl, 0, &st);
    if (rc != CTL_OK)
        return check ? ctl_status_check_unknown("cannot read the state (see above)") : rc;
    if (build(ctl, st, &doc, &err) != 0) {
        rc = ctl_store_error(store_ctl_last_busy(st) ? -2 : -1, "status", err.msg);
        if (check)
            rc = ctl_status_check_unknown("cannot read the state (see above)");
        goto out;
    }
    if (check) {
        text_escape_json(doc);
        rc = ctl_status_check(doc);
        goto out;
    }
    if (ctl->json) {
        ctl_print_json(doc);
    } else {
        text_escape_json(doc); /* file names and reasons come from outside */
        print_text(doc);
    }
    rc = CTL_OK;
out:
    json_decref(doc);
    store_close(st);
    return rc;
}
