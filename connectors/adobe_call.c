/* The Adobe Campaign connector's SOAP calls (docs/adobe_campaign.md):
 * bearer mode (an IMS token on every call, through the token manager) or
 * session mode (BearerTokenLogon, the session cookie and security token,
 * a new logon and one resend when Campaign says the session expired), the
 * calls waiting for the request budget or a Retry-After hold, and the
 * classes of a finished call. Moved out of adobe.c (issue 18) so that
 * adobe.c (options, open/close, the ops table) is the only file that names
 * the pull and push entry points, and nothing calls back into it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adobe_int.h"
#include "health.h"
#include "log.h"
#include "oauth.h"
#include "ratelimit.h"

/* 429 without Retry-After (the TPS throttle does not always say): one
 * second. */
int acc_http_policy(void *ctx, int tag, struct http_result *res)
{
    (void)ctx, (void)tag;
    if (res->status == 429 && res->retry_after_ms < 0)
        res->retry_after_ms = 1000;
    return 0;
}

/* For the token manager: a fault that says the token or session is no
 * longer good. */
int acc_token_refused(void *ctx, const struct http_result *res)
{
    struct connector *conn = ctx;
    struct adobe *acc = conn->priv;
    struct acc_fault f;

    if (res->status != 500 || res->body == NULL || acc == NULL)
        return 0;
    return acc_fault_parse(res->body, res->body_len, (size_t)acc->cfg->max_response,
                           acc->cfg->stop_faults, &f) == 1 &&
           f.cls == ACC_FAULT_AUTH;
}

static int send_bearer(struct adobe *acc, const char *action, const char *body, http_done_fn done,
                       void *arg)
{
    struct crm_header hdr[1] = {{"SOAPAction", action}};
    struct crm_req rq = {HTTP_POST, acc->base, ACC_SOAP_PATH, "text/xml", "text/xml; charset=utf-8",
                         body,      0,         hdr,           1,          0};

    return crm_request(&acc->h, &rq, done, arg);
}

/* --- session mode --- */

/* A call sent with the session (resent once after a new logon when
 * Campaign says the session expired). */
struct acc_sess_call {
    struct adobe *acc;
    char *action, *body;
    http_done_fn done;
    void *arg;
    int resent;
    struct acc_sess_call *next;
};

static void sess_call_free(struct acc_sess_call *c)
{
    free(c->action);
    free(c->body);
    free(c);
}

static void logon_start(struct adobe *acc);
static void sess_send(struct acc_sess_call *c);

/* Completes c with a synthetic failure of class cls. */
static void sess_fail(struct acc_sess_call *c, enum http_class cls, const char *why)
{
    struct http_result res;

    memset(&res, 0, sizeof(res));
    res.cls = cls;
    res.failure = cls == HTTP_CLASS_CANCELLED ? HTTP_FAIL_CANCELLED : HTTP_FAIL_AUTH;
    res.retry_after_ms = -1;
    snprintf(res.error, sizeof(res.error), "%s", why);
    c->done(&res, c->arg);
    sess_call_free(c);
}

static void sess_wait(struct adobe *acc, struct acc_sess_call *c)
{
    struct acc_sess_call **tail = &acc->sess_wait;

    while (*tail != NULL)
        tail = &(*tail)->next;
    c->next = NULL;
    *tail = c;
}

/* Sends the waiting calls (logged on) or fails them (not). */
void acc_sess_drain(struct adobe *acc, int ok, const char *why)
{
    struct acc_sess_call *list = acc->sess_wait;

    acc->sess_wait = NULL;
    while (list != NULL) {
        struct acc_sess_call *c = list;
        list = c->next;
        if (ok && !acc->closing)
            sess_send(c);
        else
            sess_fail(c, acc->closing ? HTTP_CLASS_CANCELLED : HTTP_CLASS_UNAUTHORIZED, why);
    }
}

static void sess_done(struct http_result *res, void *arg)
{
    struct acc_sess_call *c = arg;
    struct adobe *acc = c->acc;
    struct acc_fault f;

    if (!acc->closing && !c->resent && res->status == 500 && res->body != NULL &&
        acc_fault_parse(res->body, res->body_len, (size_t)acc->cfg->max_response,
                        acc->cfg->stop_faults, &f) == 1 &&
        f.cls == ACC_FAULT_AUTH) {
        /* The session expired: log on again, resend once. */
        log_info("adobe_campaign", acc->conn->name, "session refused (%s); logging on again",
                 f.code);
        c->resent = 1;
        memset(acc->session, 0, sizeof(acc->session));
        memset(acc->security, 0, sizeof(acc->security));
        sess_wait(acc, c);
        logon_start(acc);
        return;
    }
    c->done(res, c->arg);
    sess_call_free(c);
}

static void sess_send(struct acc_sess_call *c)
{
    struct adobe *acc = c->acc;
    char cookie[600];
    struct crm_header hdr[3] = {
        {"SOAPAction", c->action}, {"Cookie", cookie}, {"X-Security-Token", acc->security}};
    struct crm_req rq = {HTTP_POST, acc->base, ACC_SOAP_PATH, "text/xml", "text/xml; charset=utf-8",
                         c->body,   0,         hdr,           3,          0};

    snprintf(cookie, sizeof(cookie), "__sessiontoken=%s", acc->session);
    if (crm_request(&acc->hs, &rq, sess_done, c) != 0)
        sess_fail(c, HTTP_CLASS_RETRY, "request not sent");
    memset(cookie, 0, sizeof(cookie));
}

static void logon_done(struct http_result *res, void *arg)
{
    struct adobe *acc = arg;
    struct acc_fault f;

    acc->logging_on = 0;
    if (acc->closing) {
        acc_sess_drain(acc, 0, "connector closing");
        return;
    }
    if (res->cls != HTTP_CLASS_OK ||
        acc_parse_logon(res->body, res->body_len, (size_t)acc->cfg->max_response, acc->session,
                        sizeof(acc->session), acc->security, sizeof(acc->security)) != 0) {
        enum acc_result r = acc_result_of(acc, res, &f);
        log_warn("adobe_campaign", acc->conn->name, "BearerTokenLogon failed: %s",
                 f.text[0] ? f.text : "unreadable answer");
        memset(acc->session, 0, sizeof(acc->session));
        (void)r;
        acc_sess_drain(acc, 0, "no Campaign session");
        return;
    }
    log_info("adobe_campaign", acc->conn->name, "logged on (session mode)");
    acc_sess_drain(acc, 1, NULL);
}

static void probe_done(struct http_result *res, void *arg)
{
    struct adobe *acc = arg;

    acc->logging_on = 0;
    if (acc->closing || res->cls != HTTP_CLASS_OK || oauth_current_token(acc->h.oauth) == NULL) {
        log_warn("adobe_campaign", acc->conn->name, "no IMS token for BearerTokenLogon (%s)",
                 res->error[0] ? res->error : "refused");
        acc_sess_drain(acc, 0, "no IMS token");
        return;
    }
    logon_start(acc);
}

/* BearerTokenLogon with the current IMS token; without one, a first call
 * through the token manager gets it. */
static void logon_start(struct adobe *acc)
{
    const char *token;
    char *body;
    int rc;

    if (acc->logging_on || acc->closing)
        return;
    acc->logging_on = 1;
    token = oauth_current_token(acc->h.oauth);
    if (token == NULL) {
        body = acc_compose_schema_probe();
        rc = body ? send_bearer(acc, "xtk:persist#GetEntityIfMoreRecent", body, probe_done, acc)
                  : -1;
    } else {
        body = acc_compose_bearer_logon(token);
        rc = body ? send_bearer(acc, "xtk:session#BearerTokenLogon", body, logon_done, acc) : -1;
        if (body != NULL)
            memset(body, 0, strlen(body)); /* it holds the token */
    }
    free(body);
    if (rc != 0) {
        acc->logging_on = 0;
        acc_sess_drain(acc, 0, "logon not sent");
    }
}

static int send_now(struct adobe *acc, const char *action, const char *body, http_done_fn done,
                    void *arg)
{
    struct acc_sess_call *c;

    if (acc->cfg->auth_mode != ACC_AUTH_SESSION)
        return send_bearer(acc, action, body, done, arg);
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -1;
    c->acc = acc;
    c->action = strdup(action);
    c->body = strdup(body);
    c->done = done;
    c->arg = arg;
    if (c->action == NULL || c->body == NULL) {
        sess_call_free(c);
        return -1;
    }
    if (acc->session[0] == '\0' || acc->logging_on) {
        sess_wait(acc, c);
        logon_start(acc);
        return 0;
    }
    sess_send(c);
    return 0;
}

/* A call waiting for the request budget, or (tokenless: its token was
 * taken already) only for a Retry-After hold to end. */
struct acc_pending {
    char *action, *body;
    http_done_fn done;
    void *arg;
    int tokenless;
    struct acc_pending *next;
};

static int enqueue(struct adobe *acc, int lane, int tokenless, const char *action, const char *body,
                   http_done_fn done, void *arg);

int acc_call(struct adobe *acc, int lane, const char *action, const char *body, http_done_fn done,
             void *arg)
{
    if (acc->closing || body == NULL)
        return -1;
    if (crm_held_ms(acc->conn) > 0)
        return enqueue(acc, lane, 1, action, body, done, arg);
    return send_now(acc, action, body, done, arg);
}

static void pending_free(struct acc_pending *p)
{
    free(p->action);
    free(p->body);
    free(p);
}

/* Answers a waiting call that will not be sent (the way the HTTP client
 * answers a request it could not make). */
static void pending_answer(struct acc_pending *p, enum http_class cls, enum http_failure failure,
                           const char *why)
{
    struct http_result res;

    memset(&res, 0, sizeof(res));
    res.cls = cls;
    res.failure = failure;
    res.retry_after_ms = -1;
    snprintf(res.error, sizeof(res.error), "%s", why);
    p->done(&res, p->arg);
}

static void budget_timer_cb(uv_timer_t *t);

/* Sends what the budget allows, priority lane first; the rest waits for
 * the timer. */
static void drain(struct adobe *acc)
{
    struct ratelimit *rl = acc->conn->ratelimit;

    for (int lane = RATELIMIT_PRIORITY; lane <= RATELIMIT_BULK; lane++) {
        while (acc->pending[lane] != NULL) {
            struct acc_pending *p = acc->pending[lane];
            long wait;
            if (p->tokenless)
                wait = (long)crm_held_ms(acc->conn);
            else
                wait = rl != NULL ? ratelimit_acquire(rl, (enum ratelimit_lane)lane, crm_mono_ms())
                                  : 0;
            if (wait > 0) {
                uv_timer_start(&acc->retry_timer, budget_timer_cb, (uint64_t)wait, 0);
                return;
            }
            acc->pending[lane] = p->next;
            if (send_now(acc, p->action, p->body, p->done, p->arg) != 0)
                pending_answer(p, HTTP_CLASS_RETRY, HTTP_FAIL_INTERNAL, "request not sent");
            pending_free(p);
        }
    }
}

static void budget_timer_cb(uv_timer_t *t)
{
    struct adobe *acc = t->data;

    if (!acc->closing)
        drain(acc);
}

int acc_call_budget(struct adobe *acc, int lane, const char *action, const char *body,
                    http_done_fn done, void *arg)
{
    return enqueue(acc, lane, 0, action, body, done, arg);
}

static int enqueue(struct adobe *acc, int lane, int tokenless, const char *action, const char *body,
                   http_done_fn done, void *arg)
{
    struct acc_pending *p, **tail;

    if (acc->closing || body == NULL)
        return -1;
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return -1;
    p->action = strdup(action);
    p->body = strdup(body);
    p->done = done;
    p->arg = arg;
    p->tokenless = tokenless;
    if (p->action == NULL || p->body == NULL) {
        pending_free(p);
        return -1;
    }
    lane = lane == RATELIMIT_PRIORITY ? RATELIMIT_PRIORITY : RATELIMIT_BULK;
    tail = &acc->pending[lane];
    while (*tail != NULL)
        tail = &(*tail)->next;
    *tail = p;
    /* Always from the loop, never from inside the caller. */
    if (!uv_is_active((uv_handle_t *)&acc->retry_timer))
        uv_timer_start(&acc->retry_timer, budget_timer_cb, 0, 0);
    return 0;
}

/* Closing: every waiting call completes as CANCELLED. */
void acc_cancel_pending(struct adobe *acc)
{
    for (int lane = RATELIMIT_PRIORITY; lane <= RATELIMIT_BULK; lane++) {
        while (acc->pending[lane] != NULL) {
            struct acc_pending *p = acc->pending[lane];
            acc->pending[lane] = p->next;
            pending_answer(p, HTTP_CLASS_CANCELLED, HTTP_FAIL_CANCELLED, "connector closing");
            pending_free(p);
        }
    }
}

enum acc_result acc_result_of(struct adobe *acc, const struct http_result *res,
                              struct acc_fault *fault)
{
    int is_fault = 0;

    memset(fault, 0, sizeof(*fault));
    if (res->cls == HTTP_CLASS_OK)
        return ACC_OK;
    if (res->status == 500 && res->body != NULL)
        is_fault = acc_fault_parse(res->body, res->body_len, (size_t)acc->cfg->max_response,
                                   acc->cfg->stop_faults, fault) == 1;
    if (!is_fault) {
        char st[32];
        snprintf(fault->text, sizeof(fault->text), "%s %s", http_result_label(res, st, sizeof(st)),
                 res->error);
        return ACC_TRANSPORT;
    }
    switch (fault->cls) {
    case ACC_FAULT_AUTH:
        return ACC_AUTH;
    case ACC_FAULT_SERVER:
        return ACC_TRANSPORT;
    case ACC_FAULT_STOP:
        if (!acc->stopped) {
            acc->stopped = 1;
            snprintf(acc->stop_reason, sizeof(acc->stop_reason), "%s", fault->text);
            log_error("adobe_campaign", acc->conn->name,
                      "Campaign refuses our calls (%s): destination stopped until the "
                      "configuration is fixed and reloaded",
                      fault->text);
            health_raise(HEALTH_CONNECTOR_FAILED, acc->conn->name, "Campaign refuses our calls: %s",
                         fault->text);
        }
        return ACC_STOP;
    default:
        return ACC_DATA;
    }
}

int acc_sess_logoff(struct adobe *acc, http_done_fn done)
{
    struct acc_sess_call *c;

    if (acc->cfg->auth_mode != ACC_AUTH_SESSION || acc->session[0] == '\0' || acc->logging_on)
        return -1;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -1;
    c->acc = acc;
    c->action = strdup("xtk:session#Logoff");
    c->body = acc_compose_logoff();
    c->done = done;
    c->arg = acc;
    c->resent = 1; /* never logged on again for it */
    if (c->action == NULL || c->body == NULL) {
        sess_call_free(c);
        return -1;
    }
    sess_send(c);
    return 0;
}
