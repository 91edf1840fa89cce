/* The Adobe Campaign v8 connector: options, open/close, IMS auth and the
 * SOAP call wrapper (docs/adobe_campaign.md). Requests are composed and
 * parsed by the pure functions of adobe_map.c and adobe_xml.c;
 * adobe_push.c pushes, adobe_pull.c pulls.
 *
 * Auth: Adobe IMS server-to-server (client_credentials, tokens of about
 * 24 h, no refresh token) through the token manager, with
 * "Authorization: Bearer" on every SOAP call (the default of Campaign
 * 8.5+). A fault XSV-350008 (session expired) or XSV-350114 (IMS token
 * refused) renews the token once and resends once, like a 401. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adobe_int.h"
#include "health.h"
#include "log.h"
#include "oauth.h"
#include "ratelimit.h"

#define S struct adobe_settings

static const char *const auth_mode_names[] = {"bearer", "session", NULL};

static const struct config_option adobe_options[] = {
    CRM_OPT(S, "base_url", CONFIG_STRING, NULL, base_url, 0, 0,
            "Campaign instance root, e.g. https://example-mkt-prod1.campaign.adobe.com (the "
            "SOAP router is base_url + /nl/jsp/soaprouter.jsp)"),
    CRM_OPT_ENUM(S, "auth_mode", "bearer", auth_mode, auth_mode_names,
                 "bearer: the IMS token on every call (Campaign 8.5+); session: one "
                 "xtk:session#BearerTokenLogon, then its session and security tokens"),
    CRM_OPT(S, "ims_url", CONFIG_STRING, "https://ims-na1.adobelogin.com/ims/token/v3", ims_url, 0,
            0, "Adobe IMS token endpoint (client_credentials)"),
    CRM_OPT(S, "client_id", CONFIG_STRING, NULL, client_id, 0, 0,
            "IMS technical account client id (OAuth server-to-server credential)"),
    CRM_OPT(S, "client_secret_file", CONFIG_SECRET_FILE, NULL, client_secret_file, 0, 0,
            "file holding the IMS client secret"),
    CRM_OPT(S, "scope", CONFIG_STRING, "openid,AdobeID,additional_info.projectedProductContext",
            scope, 0, 0, "IMS scopes of the credential"),
    CRM_OPT(S, "token_refresh_ahead", CONFIG_DURATION_MS, "30m", token_refresh_ahead_ms, 0,
            43200000, "renew the IMS token this long before it expires"),
    CRM_OPT(S, "key", CONFIG_STRING, "@memberKey", key, 0, 0,
            "recipient attribute holding the member key: the _key of every write"),
    CRM_OPT(S, "points_attribute", CONFIG_STRING, "loyaltyPoints", points_attribute, 0, 0,
            "recipient extension attribute holding the points balance (\"\": none)"),
    CRM_OPT(S, "tier_attribute", CONFIG_STRING, "loyaltyTier", tier_attribute, 0, 0,
            "recipient extension attribute holding the tier (\"\": none)"),
    CRM_TIERS_OPTION(S, tiers, "tier_attribute"),
    CRM_OPT(S, "attribute_map", CONFIG_STRING,
            "email=email,phone=mobilePhone,first_name=firstName,last_name=lastName,"
            "birthday=birthDate",
            attribute_map, 0, 0, "profile attribute=recipient attribute"),
    CRM_OPT(S, "services", CONFIG_STRING, "", services, 0, 0,
            "purpose/channel=information service name (nms:service @name), e.g. "
            "marketing/email=newsletter,marketing/sms=smsOffers"),
    CRM_OPT(S, "purposes", CONFIG_STRING, "marketing,loyalty_programme,profiling", purposes, 0, 0,
            "purposes a denylist flag withdraws (on its channel; @blackList: on every channel)"),
    CRM_OPT(
        S, "denylist_flags", CONFIG_STRING,
        "email=blackListEmail,sms=blackListMobile,phone=blackListPhone,post=blackListPostalMail",
        denylist_flags, 0, 0, "channel=recipient denylist flag read as a withdrawal"),
    CRM_OPT_BOOL(S, "denylist_write", "no", denylist_write,
                 "also set the channel's denylist flag on a withdrawal (every purpose on that "
                 "channel); a grant never clears a flag"),
    CRM_OPT_BOOL(S, "create_groups", "yes", create_groups,
                 "create the nms:group list of a segment when it does not exist (no: the list "
                 "must exist in Campaign; a membership of a missing one is dead-lettered)"),
    CRM_OPT(S, "batch_size", CONFIG_INT, "100", batch_size, 1, ACC_BATCH_MAX,
            "recipients per WriteCollection, and per batch of a write class (profile, points, "
            "tier; segments; erasure)"),
    CRM_OPT(S, "max_response", CONFIG_SIZE, "8M", max_response, 65536, 268435456,
            "largest SOAP response read"),
    CRM_OPT(S, "stop_faults", CONFIG_STRING, "XSV-350013,SOP-330006", stop_faults, 0, 0,
            "Campaign error codes that stop the destination (IP not allowed, unknown schema or "
            "method) instead of rejecting a record"),
    CRM_OPT(S, "reconcile_interval", CONFIG_DURATION_MS, "1h", reconcile_interval_ms, 0, 604800000,
            "time between sweeps of list memberships (nms:rcpGrpRel has no timestamps); also "
            "after a resync; 0: every pull"),
    CRM_OPT(S, "key_settle", CONFIG_DURATION_MS, "0", key_settle_ms, 0, 600000,
            "after a write, no other write of the member's key for this long (Enterprise/FFDA: "
            "longer than its replication lag, or a second write of a new key makes a twin); "
            "0: only one write in flight per key"),
    CRM_COMMON_OPTIONS(S, "20", "20", "5m",
                       "re-read this much before the watermarks (late commits)", "60s"),
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL},
};

static const struct config_table adobe_config = {"adobe_campaign", adobe_options,
                                                 sizeof(struct adobe_settings)};

/* --- calls --- */

/* 429 without Retry-After (the TPS throttle does not always say): one
 * second. */
static int policy(void *ctx, int tag, struct http_result *res)
{
    (void)ctx, (void)tag;
    if (res->status == 429 && res->retry_after_ms < 0)
        res->retry_after_ms = 1000;
    return 0;
}

/* For the token manager: a fault that says the token or session is no
 * longer good. */
static int token_refused(void *ctx, const struct http_result *res)
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
static void sess_drain(struct adobe *acc, int ok, const char *why)
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
        sess_drain(acc, 0, "connector closing");
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
        sess_drain(acc, 0, "no Campaign session");
        return;
    }
    log_info("adobe_campaign", acc->conn->name, "logged on (session mode)");
    sess_drain(acc, 1, NULL);
}

static void probe_done(struct http_result *res, void *arg)
{
    struct adobe *acc = arg;

    acc->logging_on = 0;
    if (acc->closing || res->cls != HTTP_CLASS_OK || oauth_current_token(acc->h.oauth) == NULL) {
        log_warn("adobe_campaign", acc->conn->name, "no IMS token for BearerTokenLogon (%s)",
                 res->error[0] ? res->error : "refused");
        sess_drain(acc, 0, "no IMS token");
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
        sess_drain(acc, 0, "logon not sent");
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
static void cancel_pending(struct adobe *acc)
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

/* --- member keys in flight --- */

static void key_remove(struct adobe *acc, size_t i)
{
    free(acc->busy_keys[i]);
    acc->nbusy--;
    acc->busy_keys[i] = acc->busy_keys[acc->nbusy];
    acc->busy_until[i] = acc->busy_until[acc->nbusy];
}

int acc_key_busy(const struct adobe *acc, const char *key)
{
    for (size_t i = 0; i < acc->nbusy; i++) {
        if (strcmp(acc->busy_keys[i], key) == 0)
            return acc->busy_until[i] == 0 || acc->busy_until[i] > crm_mono_ms();
    }
    return 0;
}

int acc_key_take(struct adobe *acc, const char *key)
{
    char *copy;

    for (size_t i = 0; i < acc->nbusy; i++) {
        if (strcmp(acc->busy_keys[i], key) == 0) {
            acc->busy_until[i] = 0; /* settled, held again */
            return 0;
        }
    }
    if (acc->nbusy == acc->capbusy) {
        size_t cap = acc->capbusy ? acc->capbusy * 2 : 64;
        char **grown = realloc(acc->busy_keys, cap * sizeof(*grown));
        uint64_t *until;
        if (grown == NULL)
            return -1;
        acc->busy_keys = grown;
        until = realloc(acc->busy_until, cap * sizeof(*until));
        if (until == NULL)
            return -1;
        acc->busy_until = until;
        acc->capbusy = cap;
    }
    copy = strdup(key);
    if (copy == NULL)
        return -1;
    acc->busy_keys[acc->nbusy] = copy;
    acc->busy_until[acc->nbusy] = 0;
    acc->nbusy++;
    return 0;
}

/* Settled keys are dropped; jobs waiting for them start. */
static void settle_cb(uv_timer_t *t)
{
    struct adobe *acc = t->data;
    uint64_t now = crm_mono_ms(), next = 0;

    for (size_t i = 0; i < acc->nbusy;) {
        uint64_t u = acc->busy_until[i];
        if (u != 0 && u <= now) {
            key_remove(acc, i);
            continue;
        }
        if (u != 0 && (next == 0 || u < next))
            next = u;
        i++;
    }
    if (next != 0)
        uv_timer_start(&acc->settle_timer, settle_cb, next - now, 0);
    if (!acc->closing)
        acc_wake_waiting(acc);
}

void acc_key_release(struct adobe *acc, const char *key)
{
    for (size_t i = 0; i < acc->nbusy; i++) {
        if (strcmp(acc->busy_keys[i], key) != 0)
            continue;
        if (acc->cfg->key_settle_ms <= 0 || acc->closing) {
            key_remove(acc, i);
            return;
        }
        acc->busy_until[i] = crm_mono_ms() + (uint64_t)acc->cfg->key_settle_ms;
        /* Every key settles for the same time: a running timer is due
         * first. */
        if (!uv_is_active((uv_handle_t *)&acc->settle_timer))
            uv_timer_start(&acc->settle_timer, settle_cb, (uint64_t)acc->cfg->key_settle_ms, 0);
        return;
    }
}

/* --- open / close --- */

static void free_adobe(struct adobe *acc)
{
    memset(acc->session, 0, sizeof(acc->session));
    memset(acc->security, 0, sizeof(acc->security));
    acc_map_free(&acc->map);
    crm_list_free(&acc->groups);
    crm_list_free(&acc->pull.lists);
    for (size_t i = 0; i < acc->nbusy; i++)
        free(acc->busy_keys[i]);
    free(acc->busy_keys);
    free(acc->busy_until);
    free(acc);
}

static void handle_closed(uv_handle_t *h)
{
    struct adobe *acc = h->data;
    struct connector *conn;
    void (*closed)(struct connector *);

    if (--acc->handles_open > 0)
        return;
    conn = acc->conn;
    closed = acc->closed;
    free_adobe(acc);
    conn->priv = NULL;
    if (closed != NULL)
        closed(conn);
}

static void http_closed(void *arg)
{
    struct adobe *acc = arg;
    handle_closed((uv_handle_t *)&acc->retry_timer); /* counts as one handle */
}

static int adobe_open(struct connector *conn, struct error *err)
{
    const struct adobe_settings *cfg = conn->settings;
    struct adobe *acc = calloc(1, sizeof(*acc));
    struct acc_map_config mc;
    struct http_options hopts;
    struct oauth_options oopts;
    struct oauth_hooks hooks = {0};
    size_t len;

    if (crm_host_check(conn, err) != 0) {
        free(acc);
        return -1;
    }
    if (acc == NULL)
        return error_set(err, "out of memory");
    acc->conn = conn;
    acc->cfg = cfg;
    if (cfg->base_url == NULL || cfg->client_id == NULL || cfg->client_secret_file == NULL) {
        free(acc);
        return error_set(err, "[connector.%s] needs base_url, client_id and client_secret_file",
                         conn->name);
    }
    mc = (struct acc_map_config){cfg->key,
                                 cfg->points_attribute,
                                 cfg->tier_attribute,
                                 cfg->attribute_map,
                                 cfg->services,
                                 cfg->purposes,
                                 cfg->denylist_flags,
                                 cfg->denylist_write,
                                 !cfg->create_groups,
                                 cfg->tiers};
    if (acc_map_init(&acc->map, &mc, err) != 0) {
        free(acc);
        return -1;
    }
    snprintf(acc->base, sizeof(acc->base), "%s", cfg->base_url);
    len = strlen(acc->base);
    while (len > 0 && acc->base[len - 1] == '/')
        acc->base[--len] = '\0';
    crm_common_http(&cfg->common, &hopts);
    hopts.limits.max_response_bytes = (size_t)cfg->max_response;
    acc->h.conn = conn;
    acc->h.subsystem = "adobe_campaign";
    acc->h.limits = hopts.limits;
    acc->h.policy = policy;
    acc->h.policy_ctx = acc;
    acc->hs = acc->h; /* session mode: the same client, no bearer */
    if (http_client_new(conn->loop, &hopts, &acc->h.http, err) != 0)
        goto fail;
    oauth_options_defaults(&oopts);
    oopts.grant = OAUTH_CLIENT_CREDENTIALS;
    oopts.token_url = cfg->ims_url;
    oopts.client_id = cfg->client_id;
    oopts.client_secret_file = cfg->client_secret_file;
    oopts.scope = cfg->scope;
    oopts.refresh_ahead_ms = cfg->token_refresh_ahead_ms;
    hooks.ctx = conn;
    hooks.token_refused = token_refused;
    if (oauth_new(acc->h.http, conn->loop, conn->name, &oopts, &hooks, &acc->h.oauth, err) != 0) {
        http_client_close(acc->h.http, NULL, NULL);
        goto fail;
    }
    acc->hs.http = acc->h.http;
    acc->hs.oauth = NULL;
    conn->priv = acc;
    crm_common_apply(conn, &cfg->common);
    crm_jobs_init(&acc->jobs, conn->loop, acc, "adobe_campaign", conn->name);
    uv_timer_init(conn->loop, &acc->retry_timer);
    acc->retry_timer.data = acc;
    uv_timer_init(conn->loop, &acc->settle_timer);
    acc->settle_timer.data = acc;
    acc->handles_open = 3;
    log_info("adobe_campaign", conn->name, "Adobe Campaign at %s (key %s, IMS %s)", acc->base,
             cfg->key, cfg->ims_url);
    return 0;
fail:
    acc_map_free(&acc->map);
    free(acc);
    return -1;
}

/* The last part of a close: the token manager, the HTTP client and the
 * handles. */
static void close_rest(struct adobe *acc)
{
    oauth_close(acc->h.oauth);
    acc->handles_open++; /* the HTTP client, released in http_closed */
    http_client_close(acc->h.http, http_closed, acc);
    crm_jobs_close(&acc->jobs, handle_closed);
    uv_close((uv_handle_t *)&acc->retry_timer, handle_closed);
    uv_timer_stop(&acc->settle_timer);
    uv_close((uv_handle_t *)&acc->settle_timer, handle_closed);
}

static void logoff_done(struct http_result *res, void *arg)
{
    struct adobe *acc = arg;

    if (res->cls == HTTP_CLASS_OK)
        log_info("adobe_campaign", acc->conn->name, "logged off (session mode)");
    else
        log_warn("adobe_campaign", acc->conn->name, "Logoff failed: %s",
                 res->error[0] ? res->error : "no answer");
    memset(acc->session, 0, sizeof(acc->session));
    memset(acc->security, 0, sizeof(acc->security));
    close_rest(acc);
}

/* Session mode: the session is closed in Campaign (xtk:session#Logoff)
 * before the client goes, so that sessions do not pile up on the instance
 * until they expire. 0 when the Logoff went (logoff_done ends the close). */
static int logoff_start(struct adobe *acc)
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
    c->done = logoff_done;
    c->arg = acc;
    c->resent = 1; /* never logged on again for it */
    if (c->action == NULL || c->body == NULL) {
        sess_call_free(c);
        return -1;
    }
    sess_send(c);
    return 0;
}

static void adobe_close(struct connector *conn, void (*done)(struct connector *conn))
{
    struct adobe *acc = conn->priv;

    if (crm_close_nothing(conn, done))
        return;
    acc->closing = 1;
    acc->h.closing = 1;
    sess_drain(acc, 0, "connector closing");
    acc->closed = done;
    /* Waiting and in-flight calls complete as CANCELLED: their jobs answer
     * RETRY (not the records' fault) and a pull aborts its page. */
    acc_fail_waiting(acc);
    uv_timer_stop(&acc->retry_timer);
    cancel_pending(acc);
    if (logoff_start(acc) == 0) {
        acc->hs.closing = 1;
        return;
    }
    acc->hs.closing = 1;
    close_rest(acc);
}

static void adobe_batch_class(struct connector *conn, const struct push_record *rec, char *out,
                              size_t outsize)
{
    (void)conn;
    acc_batch_class(rec, out, outsize);
}

static size_t adobe_batch_max(struct connector *conn, const char *class_key, size_t waiting)
{
    const struct adobe_settings *cfg = conn->settings;

    (void)waiting;
    return acc_batch_max(class_key, cfg ? cfg->batch_size : 100);
}

static int adobe_project(struct connector *conn, enum change_kind kind, const char *field,
                         const char *value_json, char *out, size_t outsize)
{
    const struct adobe *acc = conn->priv;
    if (acc_project(acc ? &acc->map : NULL, kind, field, value_json, out, outsize) == 0)
        return 0;
    out[0] = '\0'; /* no reason beyond the value itself (connector.h) */
    return -1;
}

const struct connector_ops adobe_campaign_connector_ops = {
    .version = 1,
    .type = "adobe_campaign",
    .max_batch = ACC_BATCH_MAX,
    .config = &adobe_config,
    .open = adobe_open,
    .pull = acc_op_pull,
    .close = adobe_close,
    .resync = acc_op_resync,
    .push = acc_op_push,
    .batch_class = adobe_batch_class,
    .project = adobe_project,
    .points_as_balance = 1,
    .batch_max = adobe_batch_max,
};
