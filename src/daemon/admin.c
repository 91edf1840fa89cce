/* Admin endpoint (see admin.h and, for its files, admin_internal.h): its
 * life from start to stop, and the routing of its requests. */
#include "admin.h"

#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin_internal.h"
#include "log.h"

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **req_cls)
{
    struct admin *a = cls;

    (void)version;
    (void)upload_data;
    (void)req_cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return admin_respond_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n");
    if (*upload_data_size != 0)
        return MHD_NO;
    if (strcmp(url, "/healthz") == 0)
        return admin_serve_healthz(a, conn);
    if (strcmp(url, "/metrics") == 0)
        return admin_serve_metrics(a, conn);
    if (strcmp(url, "/") == 0)
        return admin_respond_text(conn, MHD_HTTP_OK, "crmsyncd admin: /healthz /metrics\n");
    return admin_respond_text(conn, MHD_HTTP_NOT_FOUND, "not found: try /healthz or /metrics\n");
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
void admin_limits_of(const struct admin_options *opts, struct admin_limits *lim)
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
        admin_limits_of(opts, &a->lim);
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
    a->mhd =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0,
                         admin_accept_policy, a, handle, a, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, a,
                         MHD_OPTION_LISTEN_SOCKET, a->ls.fd, MHD_OPTION_CONNECTION_LIMIT,
                         (unsigned)a->lim.max_connections + 1, MHD_OPTION_CONNECTION_TIMEOUT,
                         idle_s, MHD_OPTION_NOTIFY_CONNECTION, admin_notify_connection, a,
                         MHD_OPTION_NOTIFY_COMPLETED, admin_request_completed, a, MHD_OPTION_END);
    if (a->mhd == NULL)
        return error_set(err, "admin: cannot start the HTTP server on %s", a->ls.address);
    a->ls.fd = -1; /* MHD_stop_daemon() closes the listening socket */
    if (pthread_create(&a->watchdog, NULL, admin_watchdog_main, a) != 0)
        return error_set(err, "admin: cannot start the request deadline thread");
    a->watchdog_started = 1;
    return 0;
}

/* admin_start; *bind_errno = errno when bind() was what failed, else 0. */
int admin_start_at(const struct admin_options *opts, struct admin **out, int *bind_errno,
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
    return admin_start_at(opts, out, &bind_errno, err);
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
    admin_drop_store(a);
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
