/* Inside the admin endpoint (admin.h): the struct its files share and
 * what they call in each other. admin.c starts, routes and stops it;
 * admin_limits.c keeps the listener's connection limits (accept policy,
 * whole-request deadline); admin_health.c says what is wrong (/healthz);
 * admin_metrics.c writes /metrics; admin_respond.c shapes every answer;
 * admin_rebind.c moves the endpoint on a reload.
 *
 * The request handler runs on libmicrohttpd's single internal polling
 * thread, which owns the read-only store connection: no other thread
 * touches it, so it needs no lock. */
#ifndef CRMSYNC_ADMIN_INTERNAL_H
#define CRMSYNC_ADMIN_INTERNAL_H

#include <jansson.h>
#include <limits.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>

#include "addr_limit.h"
#include "admin.h"
#include "health.h"
#include "listen_socket.h"
#include "log_throttle.h"
#include "store.h"
#include "store_metrics.h"

/* Refusals are logged at most once per 10 s with the number held back, so
 * a flood of connections cannot flood the journal too. */
#define REFUSAL_LOG_INTERVAL_MS 10000

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

/* admin.c */
/* Fills in the defaults of limits left at 0. */
void admin_limits_of(const struct admin_options *opts, struct admin_limits *lim);
/* admin_start; *bind_errno = errno when bind() was what failed, else 0. */
int admin_start_at(const struct admin_options *opts, struct admin **out, int *bind_errno,
                   struct error *err);

/* admin_limits.c: libmicrohttpd's accept policy and connection
 * notifications, and the thread that keeps the whole-request deadline. */
enum MHD_Result admin_accept_policy(void *cls, const struct sockaddr *sa, socklen_t len);
void admin_notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                             enum MHD_ConnectionNotificationCode toe);
void admin_request_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                             enum MHD_RequestTerminationCode toe);
void *admin_watchdog_main(void *arg);

/* admin_health.c */
/* What is wrong now: the registry's problems plus those computed here.
 * backlogs[i] receives connector i's backlog (destinations only; -1 when
 * unknown); *state_ok says whether the state could be read. */
json_t *admin_evaluate(struct admin *a, struct health_snapshot *snap,
                       struct store_backlog *backlogs, int *state_ok);
/* After a query error the connection is reopened on the next request. */
void admin_drop_store(struct admin *a);
enum MHD_Result admin_serve_healthz(struct admin *a, struct MHD_Connection *conn);

/* admin_metrics.c */
enum MHD_Result admin_serve_metrics(struct admin *a, struct MHD_Connection *conn);

/* admin_respond.c: body is taken (freed by libmicrohttpd, or here on
 * failure); every answer is Cache-Control: no-store. */
enum MHD_Result admin_respond(struct MHD_Connection *conn, unsigned status, char *body, size_t len,
                              const char *type);
enum MHD_Result admin_respond_text(struct MHD_Connection *conn, unsigned status, const char *text);

#endif
