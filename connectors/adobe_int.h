/* The Adobe Campaign connector instance, shared by adobe.c, adobe_push.c
 * and adobe_pull.c. Internal. */
#ifndef CRMSYNC_ADOBE_INT_H
#define CRMSYNC_ADOBE_INT_H

#include <uv.h>

struct acc_job;
struct acc_pending;
struct acc_sess_call;

#include "adobe.h"
#include "crm_job.h"
#include "crm_options.h"
#include "crm_request.h"
#include "http.h"

enum { ACC_AUTH_BEARER = 0, ACC_AUTH_SESSION = 1 };

struct adobe_settings {
    char *base_url;
    int auth_mode;
    char *ims_url, *client_id, *client_secret_file, *scope;
    long token_refresh_ahead_ms;
    char *key;
    char *points_attribute, *tier_attribute, *tiers, *attribute_map;
    char *services, *purposes, *denylist_flags;
    int denylist_write;
    int create_groups;
    long batch_size;
    long max_response;
    char *stop_faults;
    long reconcile_interval_ms;
    long key_settle_ms;
    struct crm_common_settings common;
};

/* What a finished SOAP call came to. */
enum acc_result {
    ACC_OK = 0,
    ACC_TRANSPORT, /* 429, 5xx without a fault, timeout, no token: back off */
    ACC_AUTH,      /* the token was refused again after one renewal */
    ACC_DATA,      /* a data fault: the records' own */
    ACC_STOP,      /* IP, schema or method fault: the destination stops */
};

struct acc_pull_state {
    int active;
    int phase;                /* 0 recipients, 1 subHisto */
    struct acc_keyset q;      /* the next page starts strictly after this */
    struct acc_keyset stored; /* the stored watermark's keyset */
    int64_t histo_since, histo_stored;
    long start_line;
    long pages;
    int reconciling;
    uint64_t last_reconcile_ms; /* monotonic; 0: never */
    /* A full read (first cycle, resync): the reconciliation also reads
     * which members with a key are NOT in each list, and observes "out"
     * for them (Campaign has no row for an absent membership). */
    int absent;
    /* The lists Campaign has (nms:group), read once per full read: a list
     * with no member has no nms:rcpGrpRel row to be seen by. */
    int groups_read;
    int64_t groups_after;  /* @id of the last list read */
    struct crm_list lists; /* lists seen by the sweep, in Campaign, written by us */
    size_t absent_list;    /* the one being walked */
    int64_t absent_after;  /* @id of the last recipient read of it */
};

struct adobe {
    struct connector *conn;
    const struct adobe_settings *cfg;
    struct acc_map map;
    char base[512];
    struct crm_http h;
    struct crm_jobs jobs;
    uv_timer_t retry_timer;
    int handles_open;
    int closing;
    void (*closed)(struct connector *conn);
    int stopped; /* a STOP fault: nothing is sent until a reload */
    char stop_reason[256];
    /* One write in flight per member key (Campaign Enterprise does not
     * enforce key uniqueness: two concurrent inserts make twins). */
    char **busy_keys;
    /* 0: a job holds the key; else (key_settle) free again at this
     * monotonic time: a write after another within Enterprise's
     * replication lag would not find the recipient the first made. */
    uint64_t *busy_until;
    size_t nbusy, capbusy;
    uv_timer_t settle_timer; /* wakes waiting jobs when a key settles */
    /* Session mode: the tokens of xtk:session#BearerTokenLogon (secrets),
     * calls waiting for a logon, and the plain HTTP wrapper they go
     * through (the session, not the bearer, authenticates them). */
    char session[512], security[512];
    int logging_on;
    struct acc_sess_call *sess_wait;
    struct crm_http hs;
    /* Calls waiting for the request budget, per ratelimit lane. */
    struct acc_pending *pending[2];
    /* Jobs waiting for member keys other jobs hold (struct acc_job), woken
     * by wake_waiting (adobe_push.c's acc_wake_waiting, set at open) when a
     * key settles (adobe_keys.c). */
    struct acc_job *waiting;
    void (*wake_waiting)(struct adobe *acc);
    /* nms:group names written (or found) already. */
    struct crm_list groups;
    struct acc_pull_state pull;
};

/* adobe_call.c */
/* The request wrapper's policy hook: a 429 without Retry-After holds 1 s. */
int acc_http_policy(void *ctx, int tag, struct http_result *res);
/* The token manager's hook (ctx: the connector): a fault that says the
 * token or session is no longer good. */
int acc_token_refused(void *ctx, const struct http_result *res);
/* Session mode: sends the calls waiting for a logon (ok) or fails them
 * with why (closing: CANCELLED). */
void acc_sess_drain(struct adobe *acc, int ok, const char *why);
/* Session mode: xtk:session#Logoff of the open session, its answer to
 * done with acc. 0, or -1 (no session, or not sent: done not called). */
int acc_sess_logoff(struct adobe *acc, http_done_fn done);
/* Closing: every call waiting for the budget completes as CANCELLED. */
void acc_cancel_pending(struct adobe *acc);
/* Sends one SOAP call ("xtk:session#WriteCollection") on a token the
 * engine took already; body is copied. While a 429's Retry-After holds the
 * destination it waits in lane (enum ratelimit_lane) until the hold ends:
 * a job the engine started before the 429, or one woken later (its
 * member's key freed), must not send inside the hold. */
int acc_call(struct adobe *acc, int lane, const char *action, const char *body, http_done_fn done,
             void *arg);
/* The same after taking a token of the request budget in lane (enum
 * ratelimit_lane): for the calls the engine's one token per batch does not
 * cover (a job's second call and after, pulls). Never calls done from
 * inside. */
int acc_call_budget(struct adobe *acc, int lane, const char *action, const char *body,
                    http_done_fn done, void *arg);
/* Classifies a finished call (fault read when there is one). A STOP fault
 * stops the destination and raises a health reason. */
enum acc_result acc_result_of(struct adobe *acc, const struct http_result *res,
                              struct acc_fault *fault);
/* adobe_keys.c: a member key with a write in flight, or settling after
 * one (busy); taken for a write (0 or -1); released (settles for
 * key_settle, then acc->wake_waiting). */
int acc_key_busy(const struct adobe *acc, const char *key);
int acc_key_take(struct adobe *acc, const char *key);
void acc_key_release(struct adobe *acc, const char *key);

/* adobe_push.c */
struct acc_job;
void acc_op_push(struct connector *conn, struct push_batch *pb);
/* Starts the waiting jobs whose keys are free now. */
void acc_wake_waiting(struct adobe *acc);
/* Closing: answers the waiting jobs (RETRY). */
void acc_fail_waiting(struct adobe *acc);

/* adobe_pull.c */
void acc_op_pull(struct connector *conn);
void acc_op_resync(struct connector *conn);

#endif
