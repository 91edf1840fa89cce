/* The Adobe Campaign v8 connector: options, open/close and the ops table
 * (docs/adobe_campaign.md). The SOAP calls are adobe_call.c's, the member
 * keys in flight adobe_keys.c's; requests are composed and parsed by the
 * pure functions of adobe_map.c and its siblings (adobe.h) and adobe_xml.c;
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

/* Opens the connector: its settings checked, the mapping, the HTTP client
 * and the token manager, then the timers and handles it counts. Long: the
 * steps run in the order they depend on each other, each failure undoing
 * what came before it; split into helpers, that undoing would be spread
 * over them (the same holds for the other CRM connectors' open). */
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
    acc->wake_waiting = acc_wake_waiting;
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
    acc->h.policy = acc_http_policy;
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
    hooks.token_refused = acc_token_refused;
    if (oauth_new(acc->h.http, conn->loop, conn->name, &oopts, &hooks, &acc->h.oauth, err) != 0) {
        http_client_close(acc->h.http, NULL, NULL);
        goto fail;
    }
    acc->hs.http = acc->h.http;
    acc->hs.oauth = NULL;
    conn->priv = acc;
    crm_common_apply(conn, &cfg->common);
    conn->rate_window_ms = ACC_TPS_WINDOW_MS;
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
    return acc_sess_logoff(acc, logoff_done);
}

static void adobe_close(struct connector *conn, void (*done)(struct connector *conn))
{
    struct adobe *acc = conn->priv;

    if (crm_close_nothing(conn, done))
        return;
    acc->closing = 1;
    acc->h.closing = 1;
    acc_sess_drain(acc, 0, "connector closing");
    acc->closed = done;
    /* Waiting and in-flight calls complete as CANCELLED: their jobs answer
     * RETRY (not the records' fault) and a pull aborts its page. */
    acc_fail_waiting(acc);
    uv_timer_stop(&acc->retry_timer);
    acc_cancel_pending(acc);
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
