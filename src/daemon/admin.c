/* Admin endpoint (see admin.h). The handler runs on libmicrohttpd's single
 * internal polling thread, which owns the read-only store connection: no
 * other thread touches it, so it needs no lock. */
#include "admin.h"

#include <errno.h>
#include <libgen.h>
#include <netinet/in.h>
#include <pthread.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "addr_limit.h"
#include "health.h"
#include "listen_socket.h"
#include "log.h"
#include "log_throttle.h"
#include "metrics.h"
#include "store.h"
#include "store_holds.h"
#include "store_metrics.h"
#include "store_retention.h"
#include "timefmt.h"

/* Below this much free space in the state directory, /healthz says
 * disk_full: SQLite needs room for the WAL and a checkpoint. */
#define DISK_MIN_FREE_BYTES (16LL * 1024 * 1024)

/* One open connection, for the whole-request deadline (issue 14 item 11).
 * Owned by the list; created and freed on the MHD thread (connection
 * notifications), read by the watchdog under conns_lock. */
struct tracked {
    struct tracked *next, *prev;
    int fd;
    int inet;         /* per-address limits apply (not to a Unix socket) */
    uint8_t key[16];  /* client address, IPv4 mapped into IPv6 */
    int64_t since_ms; /* connection opened or its last request answered */
    int cut;          /* shut down by the watchdog */
};

struct admin {
    struct MHD_Daemon *mhd;
    char *listen; /* admin_listen as configured */
    char *state_path;
    char state_dir[PATH_MAX];
    struct listen_socket ls;
    long busy_timeout_ms;
    struct admin_limits lim;
    /* Owned by the MHD thread. */
    struct store *store;
    struct store_metrics *queries;
    /* Connection limits: the accept policy (MHD thread) counts the tracked
     * connections; the watchdog thread cuts those past the deadline. */
    struct addr_limit *rate; /* new connections per address per minute */
    struct log_throttle refusals;
    pthread_mutex_t conns_lock;
    pthread_cond_t stop_cond;
    struct tracked *conns;
    int stopping;
    int watchdog_started;
    int sync_init;
    pthread_t watchdog;
};

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
static void drop_store(struct admin *a)
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
static json_t *evaluate(struct admin *a, struct health_snapshot *snap,
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
            drop_store(a);
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

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, char *body, size_t len,
                               const char *type)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result respond_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    char *body = strdup(text);
    return body ? respond(conn, status, body, strlen(body), "text/plain; charset=utf-8") : MHD_NO;
}

static enum MHD_Result serve_healthz(struct admin *a, struct MHD_Connection *conn)
{
    static struct health_snapshot snap; /* only the MHD thread is here */
    struct store_backlog backlogs[HEALTH_MAX_CONNECTORS];
    json_t *problems;
    json_t *doc = NULL;
    char *body;
    int state_ok = 0;
    unsigned status;

    problems = evaluate(a, &snap, backlogs, &state_ok);
    if (problems == NULL)
        return respond_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
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
        return respond_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
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
    return respond(conn, status, body, strlen(body), "application/json");
}

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
        drop_store(a);
        state_ok = 0;
    }
    if (state_ok && write_storage(a, out, now) != 0) {
        drop_store(a);
        state_ok = 0;
    }
    metrics_write_header(out, "crmsyncd_state_readable",
                         "1 when the admin endpoint could read the state database.", METRIC_GAUGE);
    metrics_write_sample(out, "crmsyncd_state_readable", NULL, NULL, 0, state_ok);
}

static enum MHD_Result serve_metrics(struct admin *a, struct MHD_Connection *conn)
{
    static struct health_snapshot snap; /* only the MHD thread is here */
    struct store_backlog backlogs[HEALTH_MAX_CONNECTORS];
    char *buf = NULL;
    size_t len = 0;
    json_t *problems;
    FILE *out;
    int state_ok = 0;

    problems = evaluate(a, &snap, backlogs, &state_ok);
    out = open_memstream(&buf, &len);
    if (out == NULL || problems == NULL) {
        if (out != NULL)
            fclose(out);
        free(buf);
        json_decref(problems);
        return respond_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
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
        return respond_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    }
    return respond(conn, MHD_HTTP_OK, buf, len, "text/plain; version=0.0.4; charset=utf-8");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **req_cls)
{
    struct admin *a = cls;

    (void)version;
    (void)upload_data;
    (void)req_cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return respond_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n");
    if (*upload_data_size != 0)
        return MHD_NO;
    if (strcmp(url, "/healthz") == 0)
        return serve_healthz(a, conn);
    if (strcmp(url, "/metrics") == 0)
        return serve_metrics(a, conn);
    if (strcmp(url, "/") == 0)
        return respond_text(conn, MHD_HTTP_OK, "crmsyncd admin: /healthz /metrics\n");
    return respond_text(conn, MHD_HTTP_NOT_FOUND, "not found: try /healthz or /metrics\n");
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Refusals are logged at most once per 10 s with the number held back, so
 * a flood of connections cannot flood the journal too. */
#define REFUSAL_LOG_INTERVAL_MS 10000

static void refused(struct admin *a, const char *reason, long n, const char *msg)
{
    long held = 0;

    metrics_counter_add(METRIC_ADMIN_REFUSED, (const char *[]){reason}, (uint64_t)n);
    if (!log_throttle_allow(&a->refusals, &held))
        return;
    if (held > 0)
        log_warn("admin", NULL, "%s (and %ld more lines held back)", msg, held);
    else
        log_warn("admin", NULL, "%s", msg);
}

static void key_of(const struct sockaddr *sa, uint8_t key[16], int *inet)
{
    memset(key, 0, 16);
    *inet = 0;
    if (sa == NULL)
        return;
    if (sa->sa_family == AF_INET) {
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        *inet = 1;
    } else if (sa->sa_family == AF_INET6) {
        memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        *inet = 1;
    }
}

static void addr_text(const struct sockaddr *sa, socklen_t len, char *buf, size_t size)
{
    if (sa == NULL || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) ||
        getnameinfo(sa, len, buf, (socklen_t)size, NULL, 0, NI_NUMERICHOST) != 0)
        snprintf(buf, size, "a local client");
}

/* MHD's accept policy, on its thread before a connection is set up: the
 * connection limits of issue 14 item 11. 16 slow connections from one
 * address took /healthz down for every other client; now one address has
 * per_ip_connections of max_connections and a rate of new connections, and
 * a Unix socket (whose access the file mode decides) only the total. */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *sa, socklen_t len)
{
    struct admin *a = cls;
    uint8_t key[16];
    char who[NI_MAXHOST], msg[400];
    long total = 0, same = 0, retry_after = 0;
    int inet;

    key_of(sa, key, &inet);
    pthread_mutex_lock(&a->conns_lock);
    for (const struct tracked *t = a->conns; t != NULL; t = t->next) {
        if (t->cut)
            continue; /* on its way out */
        total++;
        if (inet && t->inet && memcmp(t->key, key, 16) == 0)
            same++;
    }
    pthread_mutex_unlock(&a->conns_lock);
    addr_text(sa, len, who, sizeof(who));
    if (total >= a->lim.max_connections) {
        snprintf(msg, sizeof(msg),
                 "refused a connection from %s: %ld connections open (admin_max_connections)", who,
                 total);
        refused(a, "max_connections", 1, msg);
        return MHD_NO;
    }
    if (!inet)
        return MHD_YES;
    if (same >= a->lim.per_ip_connections) {
        snprintf(msg, sizeof(msg),
                 "refused a connection from %s: %ld connections open from that address "
                 "(admin_per_ip_connections)",
                 who, same);
        refused(a, "per_ip_connections", 1, msg);
        return MHD_NO;
    }
    if (addr_limit_blocked(a->rate, sa, &retry_after)) {
        snprintf(msg, sizeof(msg),
                 "refused a connection from %s: more than %ld new connections a minute "
                 "(admin_connections_per_minute)",
                 who, a->lim.connections_per_minute);
        refused(a, "connections_per_minute", 1, msg);
        return MHD_NO;
    }
    addr_limit_fail(a->rate, sa);
    return MHD_YES;
}

static void notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                              enum MHD_ConnectionNotificationCode toe)
{
    struct admin *a = cls;
    struct tracked *t = *socket_context;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *ca =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

        t = calloc(1, sizeof(*t));
        if (t == NULL || fd == NULL) {
            free(t);
            return; /* untracked: only the idle timeout applies to it */
        }
        t->fd = fd->connect_fd;
        key_of(ca != NULL ? ca->client_addr : NULL, t->key, &t->inet);
        t->since_ms = mono_ms();
        pthread_mutex_lock(&a->conns_lock);
        t->next = a->conns;
        if (a->conns != NULL)
            a->conns->prev = t;
        a->conns = t;
        pthread_mutex_unlock(&a->conns_lock);
        *socket_context = t;
        return;
    }
    if (toe != MHD_CONNECTION_NOTIFY_CLOSED || t == NULL)
        return;
    /* MHD closes the socket after this returns: under the lock the watchdog
     * never shuts down a descriptor number already reused. */
    pthread_mutex_lock(&a->conns_lock);
    if (t->prev != NULL)
        t->prev->next = t->next;
    else
        a->conns = t->next;
    if (t->next != NULL)
        t->next->prev = t->prev;
    pthread_mutex_unlock(&a->conns_lock);
    free(t);
    *socket_context = NULL;
}

/* A request answered: the deadline of the next one on this connection
 * (keep-alive) counts from now. */
static void request_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                              enum MHD_RequestTerminationCode toe)
{
    struct admin *a = cls;
    const union MHD_ConnectionInfo *sc =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    (void)req_cls;
    (void)toe;
    if (sc == NULL || sc->socket_context == NULL)
        return;
    pthread_mutex_lock(&a->conns_lock);
    ((struct tracked *)sc->socket_context)->since_ms = mono_ms();
    pthread_mutex_unlock(&a->conns_lock);
}

/* The whole-request deadline: MHD's own timeout counts idle time only, so a
 * client sending a byte every few seconds kept a connection for ever
 * (slowloris). A connection whose request is not answered within
 * admin_request_timeout is shut down here; MHD sees the end of stream and
 * closes it on its thread. */
static void *watchdog_main(void *arg)
{
    struct admin *a = arg;
    int64_t tick = a->lim.request_timeout_ms / 4;

    if (tick < 100)
        tick = 100;
    if (tick > 1000)
        tick = 1000;
    pthread_mutex_lock(&a->conns_lock);
    while (!a->stopping) {
        struct timespec until;
        int64_t now = mono_ms();
        long cut = 0;

        for (struct tracked *t = a->conns; t != NULL; t = t->next) {
            if (t->cut || now - t->since_ms < a->lim.request_timeout_ms)
                continue;
            shutdown(t->fd, SHUT_RDWR);
            t->cut = 1;
            cut++;
        }
        if (cut > 0) {
            char msg[200];
            pthread_mutex_unlock(&a->conns_lock);
            snprintf(msg, sizeof(msg),
                     "closed %ld connection(s) whose request took longer than %ld ms "
                     "(admin_request_timeout)",
                     cut, a->lim.request_timeout_ms);
            refused(a, "request_timeout", cut, msg);
            pthread_mutex_lock(&a->conns_lock);
            continue;
        }
        if (log_throttle_flush(&a->refusals, &cut)) {
            pthread_mutex_unlock(&a->conns_lock);
            log_warn("admin", NULL,
                     "%ld more refused or closed connections (lines held back, see "
                     "crmsyncd_admin_refused_total)",
                     cut);
            pthread_mutex_lock(&a->conns_lock);
        }
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += (long)(tick % 1000) * 1000000L;
        until.tv_sec += (time_t)(tick / 1000) + until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&a->stop_cond, &a->conns_lock, &until);
    }
    pthread_mutex_unlock(&a->conns_lock);
    return NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct admin *a = cls;
    char msg[512];
    long held = 0;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    /* Its lines come per connection too (limits, resets): throttled. */
    if (!log_throttle_allow(&a->refusals, &held))
        return;
    if (held > 0)
        log_warn("admin", NULL, "libmicrohttpd: %s (and %ld more lines held back)", msg, held);
    else
        log_warn("admin", NULL, "libmicrohttpd: %s", msg);
}

/* Fills in the defaults of limits left at 0. */
static void limits_of(const struct admin_options *opts, struct admin_limits *lim)
{
    *lim = opts->limits;
    if (lim->max_connections <= 0)
        lim->max_connections = 16;
    if (lim->per_ip_connections <= 0)
        lim->per_ip_connections = 4;
    if (lim->request_timeout_ms <= 0)
        lim->request_timeout_ms = 10000;
    if (lim->connections_per_minute < 0)
        lim->connections_per_minute = 0;
}

/* A new endpoint's struct with its locks and limits, not listening yet;
 * NULL when out of memory (what was made is freed by admin_stop). */
static struct admin *admin_new(const struct admin_options *opts, struct error *err)
{
    struct admin *a = calloc(1, sizeof(*a));
    char tmp[PATH_MAX];

    if (a != NULL) {
        a->ls.fd = -1;
        a->state_path = strdup(opts->state_path);
        a->listen = strdup(opts->listen);
        pthread_mutex_init(&a->conns_lock, NULL);
        {
            pthread_condattr_t ca;
            pthread_condattr_init(&ca);
            pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
            pthread_cond_init(&a->stop_cond, &ca);
            pthread_condattr_destroy(&ca);
        }
        log_throttle_init(&a->refusals, REFUSAL_LOG_INTERVAL_MS);
        a->sync_init = 1;
        limits_of(opts, &a->lim);
        a->rate = addr_limit_new(a->lim.connections_per_minute);
    }
    if (a == NULL || a->state_path == NULL || a->listen == NULL ||
        (a->lim.connections_per_minute > 0 && a->rate == NULL)) {
        error_set(err, "admin: out of memory");
        admin_stop(a);
        return NULL;
    }
    a->busy_timeout_ms = opts->busy_timeout_ms > 0 ? opts->busy_timeout_ms : 1000;
    snprintf(tmp, sizeof(tmp), "%s", opts->state_path);
    snprintf(a->state_dir, sizeof(a->state_dir), "%s", dirname(tmp));
    return a;
}

/* libmicrohttpd on the open listening socket, its idle timeout within the
 * request deadline, and the deadline thread. */
static int serve(struct admin *a, struct error *err)
{
    unsigned idle_s = (unsigned)(a->lim.request_timeout_ms / 1000);

    if (idle_s < 1)
        idle_s = 1;
    if (idle_s > 10)
        idle_s = 10;
    a->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, accept_policy,
                              a, handle, a, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, a,
                              MHD_OPTION_LISTEN_SOCKET, a->ls.fd, MHD_OPTION_CONNECTION_LIMIT,
                              (unsigned)a->lim.max_connections + 1, MHD_OPTION_CONNECTION_TIMEOUT,
                              idle_s, MHD_OPTION_NOTIFY_CONNECTION, notify_connection, a,
                              MHD_OPTION_NOTIFY_COMPLETED, request_completed, a, MHD_OPTION_END);
    if (a->mhd == NULL)
        return error_set(err, "admin: cannot start the HTTP server on %s", a->ls.address);
    a->ls.fd = -1; /* MHD_stop_daemon() closes the listening socket */
    if (pthread_create(&a->watchdog, NULL, watchdog_main, a) != 0)
        return error_set(err, "admin: cannot start the request deadline thread");
    a->watchdog_started = 1;
    return 0;
}

/* admin_start; *bind_errno = errno when bind() was what failed, else 0. */
static int start(const struct admin_options *opts, struct admin **out, int *bind_errno,
                 struct error *err)
{
    struct admin *a = NULL;
    int rc = -1;

    *out = NULL;
    *bind_errno = 0;
    a = admin_new(opts, err);
    if (a == NULL)
        goto out;
    if (listen_socket_open(opts->listen, "admin_listen", 16, &a->ls, err) != 0) {
        *bind_errno = a->ls.bind_errno;
        goto out;
    }
    /* It serves member counts and connector state without authentication:
     * off loopback only when the operator says so. */
    if (!a->ls.loopback && !a->lim.allow_remote) {
        error_set(err,
                  "admin_listen %s is not a loopback address: /metrics and /healthz are "
                  "unauthenticated; set admin_allow_remote = yes to serve them there anyway",
                  a->ls.address);
        goto out;
    }
    if (!a->ls.loopback)
        log_warn("admin", NULL,
                 "admin endpoint on %s is not a loopback address (admin_allow_remote): /metrics "
                 "and /healthz are unauthenticated",
                 a->ls.address);
    if (serve(a, err) != 0)
        goto out;
    log_notice("admin", NULL, "admin endpoint listening on %s (/healthz, /metrics)", a->ls.address);
    *out = a;
    a = NULL;
    rc = 0;
out:
    admin_stop(a);
    return rc;
}

int admin_start(const struct admin_options *opts, struct admin **out, struct error *err)
{
    int bind_errno;
    return start(opts, out, &bind_errno, err);
}

/* The port an inet endpoint listens on ("127.0.0.1:9187", "[::1]:9187"),
 * 0 for a Unix socket. */
static long port_of(const char *address)
{
    const char *colon = strrchr(address, ':');

    if (address[0] == '/' || strncmp(address, "unix:", 5) == 0 || colon == NULL)
        return 0;
    return strtol(colon + 1, NULL, 10);
}

int admin_same_options(const struct admin *a, const struct admin_options *opts)
{
    struct admin_limits lim;

    limits_of(opts, &lim);
    return strcmp(a->listen, opts->listen) == 0 && lim.allow_remote == a->lim.allow_remote &&
           lim.max_connections == a->lim.max_connections &&
           lim.per_ip_connections == a->lim.per_ip_connections &&
           lim.request_timeout_ms == a->lim.request_timeout_ms &&
           lim.connections_per_minute == a->lim.connections_per_minute;
}

/* The new endpoint starts before the old one stops, so an address that
 * cannot be bound leaves the old one serving, untouched. The exception is an
 * address that conflicts with the old one itself (the same port on a
 * wildcard address, or the same address under another name): then the old
 * one has to go first, and comes back if the new one still cannot bind. */
int admin_rebind(struct admin **ap, const struct admin_options *opts, struct error *err)
{
    struct admin *old = *ap;
    struct admin *fresh = NULL;
    struct admin_options o = *opts;
    struct admin_options back = {NULL, NULL, old->busy_timeout_ms, old->lim};
    struct error again = {""};
    long port = port_of(opts->listen);
    int bind_errno = 0, ignored;
    int rc = -1;

    if (start(&o, &fresh, &bind_errno, err) == 0) {
        admin_stop(old);
        *ap = fresh;
        rc = 0;
        goto out;
    }
    if (bind_errno != EADDRINUSE || port == 0 || port != port_of(old->ls.address))
        goto out; /* not a conflict with ourselves: keep the old endpoint */
    back.listen = strdup(old->listen);
    back.state_path = strdup(old->state_path);
    if (back.listen == NULL || back.state_path == NULL) {
        error_set(err, "admin: out of memory");
        goto out;
    }
    admin_stop(old);
    *ap = NULL;
    if (start(&o, &fresh, &ignored, err) == 0) {
        *ap = fresh;
        rc = 0;
        goto out;
    }
    if (start(&back, ap, &ignored, &again) != 0) {
        struct error first = *err; /* err->msg cannot be its own argument */
        error_set(err, "%s; and the previous address %s could not be bound again: %s", first.msg,
                  back.listen, again.msg);
    }
out:
    free((char *)back.listen);
    free((char *)back.state_path);
    return rc;
}

const char *admin_listen_spec(const struct admin *a)
{
    return a->listen;
}

void admin_stop(struct admin *a)
{
    if (a == NULL)
        return;
    if (a->watchdog_started) {
        pthread_mutex_lock(&a->conns_lock);
        a->stopping = 1;
        pthread_cond_signal(&a->stop_cond);
        pthread_mutex_unlock(&a->conns_lock);
        pthread_join(a->watchdog, NULL);
    }
    if (a->mhd != NULL)
        MHD_stop_daemon(a->mhd); /* joins the thread: the store is ours again */
    while (a->conns != NULL) {   /* none: MHD reports every close; in case */
        struct tracked *t = a->conns;
        a->conns = t->next;
        free(t);
    }
    listen_socket_close(&a->ls);
    drop_store(a);
    addr_limit_free(a->rate);
    if (a->sync_init) {
        pthread_mutex_destroy(&a->conns_lock);
        pthread_cond_destroy(&a->stop_cond);
        log_throttle_destroy(&a->refusals);
    }
    free(a->listen);
    free(a->state_path);
    free(a);
}

const char *admin_address(const struct admin *a)
{
    return a->ls.address;
}
