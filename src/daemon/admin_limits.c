/* The admin listener's connection limits (issue 14 item 11): how many
 * connections at once, from one address and per minute, and the
 * whole-request deadline kept by a thread of its own. */
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "admin_internal.h"
#include "log.h"
#include "metrics.h"

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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
enum MHD_Result admin_accept_policy(void *cls, const struct sockaddr *sa, socklen_t len)
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

void admin_notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
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
void admin_request_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
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
void *admin_watchdog_main(void *arg)
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
