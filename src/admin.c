/* Admin endpoint (see admin.h). The handler runs on libmicrohttpd's single
 * internal polling thread, which owns the read-only store connection: no
 * other thread touches it, so it needs no lock. */
#include "admin.h"

#include <errno.h>
#include <libgen.h>
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
#include <unistd.h>

#include "health.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "store_holds.h"
#include "store_metrics.h"
#include "store_retention.h"
#include "timefmt.h"

/* Below this much free space in the state directory, /healthz says
 * disk_full: SQLite needs room for the WAL and a checkpoint. */
#define DISK_MIN_FREE_BYTES (16LL * 1024 * 1024)

struct admin {
    struct MHD_Daemon *mhd;
    int fd;
    int bind_errno; /* errno of a failed bind(), for admin_rebind */
    char *listen;   /* admin_listen as configured */
    char *state_path;
    char state_dir[PATH_MAX];
    char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char address[300];
    long busy_timeout_ms;
    /* Owned by the MHD thread. */
    struct store *store;
    struct store_metrics *queries;
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
    static const char *const names[] = {"destination"};
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
    metrics_write_header(out, "crmsyncd_dead_letters_pending",
                         "Dead letters stored and not dropped, by destination.", METRIC_GAUGE);
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

static int bind_unix(struct admin *a, const char *path, struct error *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat stbuf;

    if (strlen(path) >= sizeof(sa.sun_path))
        return error_set(err, "admin_listen: socket path %s is too long", path);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    /* A socket left by a previous run is removed; one that answers belongs
     * to a live process (another daemon on another state directory, any
     * other program) and is not ours to take; anything else at that path is
     * not ours to remove. */
    if (lstat(path, &stbuf) == 0 && S_ISSOCK(stbuf.st_mode)) {
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        if (probe >= 0)
            close(probe);
        if (live) {
            a->bind_errno = EADDRINUSE;
            return error_set(err, "admin_listen: %s is in use by another process", path);
        }
        unlink(path);
    }
    a->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (a->fd < 0 || bind(a->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        a->bind_errno = errno;
        return error_set(err, "admin_listen: cannot bind %s: %s", path, strerror(errno));
    }
    snprintf(a->unix_path, sizeof(a->unix_path), "%s", path);
    snprintf(a->address, sizeof(a->address), "unix:%s", path);
    return 0;
}

static int bind_inet(struct admin *a, const char *listen_on, struct error *err)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[256], port[16], h[NI_MAXHOST] = "", p[NI_MAXSERV] = "";
    const char *colon = strrchr(listen_on, ':');
    size_t hl;
    int one = 1;
    int g;
    int rc = -1;

    if (colon == NULL || colon == listen_on || colon[1] == '\0' ||
        strlen(colon + 1) >= sizeof(port))
        return error_set(err, "admin_listen '%s': expected host:port or a socket path", listen_on);
    hl = (size_t)(colon - listen_on);
    if (listen_on[0] == '[' && hl >= 2 && listen_on[hl - 1] == ']') {
        listen_on++;
        hl -= 2;
    }
    if (hl >= sizeof(host))
        return error_set(err, "admin_listen '%s': host too long", listen_on);
    memcpy(host, listen_on, hl);
    host[hl] = '\0';
    snprintf(port, sizeof(port), "%s", colon + 1);
    g = getaddrinfo(host, port, &hints, &res);
    if (g != 0) {
        error_set(err, "admin_listen: cannot resolve %s port %s: %s", host, port, gai_strerror(g));
        goto out;
    }
    a->fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (a->fd < 0) {
        error_set(err, "admin_listen: socket: %s", strerror(errno));
        goto out;
    }
    setsockopt(a->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(a->fd, res->ai_addr, res->ai_addrlen) != 0) {
        a->bind_errno = errno;
        error_set(err, "admin_listen: cannot bind %s:%s: %s", host, port, strerror(errno));
        goto out;
    }
    if (getsockname(a->fd, (struct sockaddr *)&ss, &sl) == 0 &&
        getnameinfo((struct sockaddr *)&ss, sl, h, sizeof(h), p, sizeof(p),
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0)
        snprintf(a->address, sizeof(a->address), ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", h,
                 p);
    if (ss.ss_family == AF_INET6 ? strcmp(h, "::1") != 0 : strncmp(h, "127.", 4) != 0)
        log_warn("admin", NULL,
                 "admin endpoint on %s is not a loopback address: /metrics and /healthz are "
                 "unauthenticated",
                 a->address);
    rc = 0;
out:
    if (res != NULL)
        freeaddrinfo(res);
    return rc;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_warn("admin", NULL, "libmicrohttpd: %s", msg);
}

/* admin_start; *bind_errno = errno when bind() was what failed, else 0. */
static int start(const struct admin_options *opts, struct admin **out, int *bind_errno,
                 struct error *err)
{
    struct admin *a = calloc(1, sizeof(*a));
    char tmp[PATH_MAX];
    int rc = -1;

    *out = NULL;
    *bind_errno = 0;
    if (a != NULL) {
        a->state_path = strdup(opts->state_path);
        a->listen = strdup(opts->listen);
    }
    if (a == NULL || a->state_path == NULL || a->listen == NULL) {
        error_set(err, "admin: out of memory");
        goto out;
    }
    a->fd = -1;
    a->busy_timeout_ms = opts->busy_timeout_ms > 0 ? opts->busy_timeout_ms : 1000;
    snprintf(tmp, sizeof(tmp), "%s", opts->state_path);
    snprintf(a->state_dir, sizeof(a->state_dir), "%s", dirname(tmp));
    if (opts->listen[0] == '/' ? bind_unix(a, opts->listen, err) != 0
                               : bind_inet(a, opts->listen, err) != 0) {
        *bind_errno = a->bind_errno;
        goto out;
    }
    if (listen(a->fd, 16) != 0) {
        error_set(err, "admin_listen: listen: %s", strerror(errno));
        goto out;
    }
    a->mhd =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, handle,
                         a, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_LISTEN_SOCKET,
                         a->fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
    if (a->mhd == NULL) {
        error_set(err, "admin: cannot start the HTTP server on %s", a->address);
        goto out;
    }
    a->fd = -1; /* MHD_stop_daemon() closes the listening socket */
    log_notice("admin", NULL, "admin endpoint listening on %s (/healthz, /metrics)", a->address);
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

/* The new endpoint starts before the old one stops, so an address that
 * cannot be bound leaves the old one serving, untouched. The exception is an
 * address that conflicts with the old one itself (the same port on a
 * wildcard address, or the same address under another name): then the old
 * one has to go first, and comes back if the new one still cannot bind. */
int admin_rebind(struct admin **ap, const char *listen_on, struct error *err)
{
    struct admin *old = *ap;
    struct admin *fresh = NULL;
    struct admin_options o = {listen_on, old->state_path, old->busy_timeout_ms};
    struct admin_options back = {NULL, NULL, old->busy_timeout_ms};
    struct error again = {""};
    long port = port_of(listen_on);
    int bind_errno = 0, ignored;
    int rc = -1;

    if (start(&o, &fresh, &bind_errno, err) == 0) {
        admin_stop(old);
        *ap = fresh;
        rc = 0;
        goto out;
    }
    if (bind_errno != EADDRINUSE || port == 0 || port != port_of(old->address))
        goto out; /* not a conflict with ourselves: keep the old endpoint */
    back.listen = strdup(old->listen);
    back.state_path = strdup(old->state_path);
    if (back.listen == NULL || back.state_path == NULL) {
        error_set(err, "admin: out of memory");
        goto out;
    }
    o.state_path = back.state_path;
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
    if (a->mhd != NULL)
        MHD_stop_daemon(a->mhd); /* joins the thread: the store is ours again */
    if (a->fd >= 0)
        close(a->fd);
    if (a->unix_path[0] != '\0')
        unlink(a->unix_path);
    drop_store(a);
    free(a->listen);
    free(a->state_path);
    free(a);
}

const char *admin_address(const struct admin *a)
{
    return a->address;
}
