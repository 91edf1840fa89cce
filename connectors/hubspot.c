/* The HubSpot connector: options, open/close and auth, and its ops table
 * (docs/hubspot.md). hubspot_http.c holds the HTTP plumbing, hubspot_setup.c
 * the custom properties' setup; requests are composed and parsed by the
 * pure functions of hubspot_map.c and hubspot_parse_*.c; hubspot_pull.c
 * pulls, hubspot_push.c pushes.
 *
 * A push batch is one "job": a contacts batch upsert, a statuses batch
 * write, a list membership update (after creating the list and learning
 * missing record ids), or an archive (after resolving ids). Every record gets
 * exactly one result, and batch->done runs from a timer callback, never from
 * push(). All writes are absolute values or upserts by the id property, so a
 * resend after an indeterminate outcome is harmless. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm_options.h"
#include "hubspot.h"
#include "log.h"
#include "metrics.h"
#include "oauth.h"
#include "ratelimit.h"
#include "strbuf.h"
#include "timefmt.h"

enum { AUTH_STATIC = 0, AUTH_OAUTH = 1 };
static const char *const auth_names[] = {"static", "oauth", NULL};

#define S struct hubspot_settings
#define OPT(name, type, def, field, min, max, help)                                                \
    CRM_OPT(S, name, type, def, field, min, max, help)

static const struct config_option hubspot_options[] = {
    OPT("base_url", CONFIG_STRING, "https://api.hubapi.com", base_url, 0, 0,
        "HubSpot API root (http://127.0.0.1:PORT for the simulator)"),
    CRM_OPT_ENUM(S, "auth", "static", auth, auth_names,
                 "static: a service key / private-app token; oauth: refresh-token grant"),
    OPT("token_file", CONFIG_SECRET_FILE, NULL, token_file, 0, 0,
        "file holding the static bearer token (auth = static)"),
    OPT("client_id", CONFIG_STRING, NULL, client_id, 0, 0, "OAuth app client id (auth = oauth)"),
    OPT("client_secret_file", CONFIG_SECRET_FILE, NULL, client_secret_file, 0, 0,
        "file holding the OAuth client secret (auth = oauth)"),
    OPT("refresh_token_file", CONFIG_SECRET_FILE, NULL, refresh_token_file, 0, 0,
        "first OAuth refresh token; a rotated one is kept in the state (auth = oauth)"),
    OPT("token_url", CONFIG_STRING, NULL, token_url, 0, 0,
        "OAuth token endpoint; unset: base_url + /oauth/2026-03/token"),
    OPT("version_objects", CONFIG_STRING, "2026-09", version_objects, 0, 0,
        "date version of the CRM objects API (/crm/objects/VERSION/contacts)"),
    OPT("version_properties", CONFIG_STRING, "2026-09", version_properties, 0, 0,
        "date version of the properties API"),
    OPT("version_lists", CONFIG_STRING, "2026-09", version_lists, 0, 0,
        "date version of the lists API"),
    OPT("version_prefs", CONFIG_STRING, "2026-09", version_prefs, 0, 0,
        "date version of the communication-preferences API"),
    OPT("id_property", CONFIG_STRING, "member_key", id_property, 0, 0,
        "unique-value contact property holding the member key (upsert key)"),
    CRM_OPT_BOOL(S, "create_properties", "yes", create_properties,
                 "create missing custom contact properties at start"),
    OPT("subscriptions", CONFIG_STRING, "", subscriptions, 0, 0,
        "purpose=subscription type id for EMAIL consent, e.g. "
        "marketing=1001,loyalty_programme=1002"),
    OPT("legal_basis_map", CONFIG_STRING,
        "consent=CONSENT_WITH_NOTICE,contract=PERFORMANCE_OF_CONTRACT,"
        "legitimate_interest=LEGITIMATE_INTEREST_OTHER",
        legal_basis_map, 0, 0, "our legal basis=HubSpot legalBasis"),
    OPT("points_property", CONFIG_STRING, "loyalty_points", points_property, 0, 0,
        "contact property holding the points balance"),
    OPT("tier_property", CONFIG_STRING, "loyalty_tier", tier_property, 0, 0,
        "contact property holding the tier"),
    CRM_TIERS_OPTION(S, tiers, "tier_property"),
    OPT("attribute_map", CONFIG_STRING,
        "email=email,phone=phone,first_name=firstname,last_name=lastname,birthday=date_of_birth",
        attribute_map, 0, 0, "profile attribute=contact property"),
    OPT("purposes", CONFIG_STRING, "marketing,loyalty_programme,profiling", purposes, 0, 0,
        "purposes with sms/phone/post consent properties (consent_PURPOSE_CHANNEL)"),
    OPT("search_lag", CONFIG_DURATION_MS, "5s", search_lag_ms, 0, 3600000,
        "search lags writes: pull only changes older than this"),
    OPT("archived_sweep", CONFIG_DURATION_MS, "15m", archived_sweep_ms, 0, 86400000,
        "time between sweeps of archived contacts (archived=true listing); 0: every pull"),
    OPT("status_sweep", CONFIG_DURATION_MS, "15m", status_sweep_ms, 0, 86400000,
        "time between reads of every member's EMAIL subscription statuses (an unsubscribe "
        "need not modify the contact, so the search may miss it); 0: every pull"),
    CRM_COMMON_OPTIONS(S, "10", "10", "60s",
                       "re-read this much before the watermark (late indexing)", "30s"),
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL},
};
#undef OPT
#undef S

static const struct config_table hubspot_config = {"hubspot", hubspot_options,
                                                   sizeof(struct hubspot_settings)};

/* --- open / close --- */

static void persist_token(void *ctx, const char *token)
{
    struct connector *conn = ctx;

    if (conn->host != NULL && conn->host->persist_token != NULL)
        conn->host->persist_token(conn->host->ctx, conn, token);
    else
        log_warn("hubspot", conn->name,
                 "a rotated refresh token cannot be kept (no state service); the next start "
                 "uses refresh_token_file");
}

static void free_hubspot(void *priv)
{
    struct hubspot *hs = priv;

    hs_map_free(&hs->map);
    strbuf_free(&hs->path);
    free(hs->pull.wait_path);
    free(hs->pull.wait_body);
    json_decref(hs->pull.sweep_lists);
    free(hs->base);
    free(hs);
}

static void handle_closed(uv_handle_t *h)
{
    struct hubspot *hs = h->data;
    crm_life_release(&hs->life);
}

static void search_hold_kept(void *arg, long ms)
{
    struct hubspot *hs = arg;
    struct connector *conn = hs->conn;

    if (conn->host != NULL && conn->host->save_hold != NULL)
        conn->host->save_hold(conn->host->ctx, conn, "search", ms);
}

/* Opens the connector: its settings checked, the mapping, the HTTP client
 * and the token manager, then the timers and handles it counts. Long: the
 * steps run in the order they depend on each other, each failure undoing
 * what came before it; split into helpers, that undoing would be spread
 * over them (the same holds for the other CRM connectors' open). */
static int hubspot_open(struct connector *conn, struct error *err)
{
    const struct hubspot_settings *cfg = conn->settings;
    struct hubspot *hs = calloc(1, sizeof(*hs));
    struct hs_map_config mc;
    struct http_options hopts;
    struct oauth_options oopts;
    struct oauth_hooks hooks = {0};
    struct strbuf token_url;

    if (hs == NULL)
        return error_set(err, "out of memory");
    hs->conn = conn;
    hs->cfg = cfg;
    mc = (struct hs_map_config){
        cfg->id_property,     cfg->points_property, cfg->tier_property, cfg->subscriptions,
        cfg->legal_basis_map, cfg->attribute_map,   cfg->purposes,      cfg->tiers};
    if (hs_map_init(&hs->map, &mc, err) != 0) {
        free(hs);
        return -1;
    }
    strbuf_init(&token_url, HS_PATH_MAX);
    hs->base = crm_base_url(cfg->base_url);
    if (hs->base == NULL) {
        error_set(err, "out of memory");
        goto fail;
    }
    if (cfg->auth == AUTH_STATIC && cfg->token_file == NULL) {
        error_set(err, "[connector.%s] auth = static needs token_file", conn->name);
        goto fail;
    }
    if (cfg->auth == AUTH_OAUTH && (cfg->client_id == NULL || cfg->client_secret_file == NULL)) {
        error_set(err, "[connector.%s] auth = oauth needs client_id and client_secret_file",
                  conn->name);
        goto fail;
    }
    crm_common_http(&cfg->common, &hopts);
    if (cfg->token_url == NULL &&
        strbuf_addf(&token_url, "%s/oauth/2026-03/token", hs->base) != 0) {
        error_set(err, "[connector.%s] base_url too long", conn->name);
        goto fail;
    }
    if (crm_http_open(&hs->h, conn, "hubspot", &hopts, hs_http_policy, hs, err) != 0)
        goto fail;
    oauth_options_defaults(&oopts);
    oopts.token_url = cfg->token_url ? cfg->token_url : strbuf_str(&token_url);
    if (cfg->auth == AUTH_STATIC) {
        oopts.grant = OAUTH_STATIC;
        oopts.token_file = cfg->token_file;
    } else {
        oopts.grant = OAUTH_REFRESH_TOKEN;
        oopts.client_id = cfg->client_id;
        oopts.client_secret_file = cfg->client_secret_file;
        oopts.refresh_token_file = cfg->refresh_token_file;
        hooks.persist_refresh_token = persist_token;
        hooks.ctx = conn;
    }
    if (oauth_new(hs->h.http, conn->loop, conn->name, &oopts, &hooks, &hs->h.oauth, err) != 0) {
        http_client_close(hs->h.http, NULL, NULL);
        hs->h.http = NULL;
        goto fail;
    }
    strbuf_free(&token_url);
    if (cfg->auth == AUTH_OAUTH && conn->host != NULL && conn->host->load_token != NULL) {
        char *kept = conn->host->load_token(conn->host->ctx, conn);
        if (kept != NULL) {
            oauth_set_refresh_token(hs->h.oauth, kept);
            memset(kept, 0, strlen(kept));
            free(kept);
        } else if (cfg->refresh_token_file == NULL) {
            log_warn("hubspot", conn->name, "no refresh token kept and no refresh_token_file");
        }
    }
    conn->priv = hs;
    crm_common_apply(conn, &cfg->common);
    crm_jobs_init(&hs->jobs, conn->loop, hs, "hubspot", conn->name);
    uv_timer_init(conn->loop, &hs->setup_timer);
    uv_timer_init(conn->loop, &hs->pull_timer);
    hs->setup_timer.data = hs->pull_timer.data = hs;
    hs->life = (struct crm_life){3, conn, hs, free_hubspot, NULL};
    /* HubSpot: search requests are limited to 5 per second per account,
     * apart from the per-10-second budget. 100 ms of margin: the vendor
     * counts arrivals, and a request delayed on the way can arrive closer
     * to the next one than it left. */
    ratelimit_window_init(&hs->search_rl, HS_SEARCH_PER_SECOND, 1100);
    /* A search hold given to the previous process is waited out, and a new
     * one kept (the engine does the same for the general budget). */
    if (conn->host != NULL && conn->host->load_hold != NULL) {
        long left = conn->host->load_hold(conn->host->ctx, conn, "search");
        if (left > 0)
            ratelimit_window_hold(&hs->search_rl, left, crm_mono_ms());
    }
    hs->search_rl.on_hold = search_hold_kept;
    hs->search_rl.hold_arg = hs;
    metrics_gauge_set(METRIC_HUBSPOT_READY, (const char *[]){conn->name},
                      cfg->create_properties ? 0 : 1);
    if (cfg->create_properties)
        hs_setup_start(hs);
    else
        hs->ready = 1;
    log_info("hubspot", conn->name, "HubSpot at %s (objects %s, auth %s)", hs->base,
             cfg->version_objects, auth_names[cfg->auth]);
    return 0;
fail:
    strbuf_free(&token_url);
    free_hubspot(hs);
    return -1;
}

static void hubspot_close(struct connector *conn, void (*done)(struct connector *conn))
{
    struct hubspot *hs = conn->priv;

    if (crm_close_nothing(conn, done))
        return;
    hs->closing = 1;
    hs->h.closing = 1;
    hs->life.closed = done;
    uv_timer_stop(&hs->setup_timer);
    /* A pull request waiting for its budget ends the cycle now. */
    hs_pull_cancel(hs);
    /* Waiting and in-flight requests complete as CANCELLED now: their jobs
     * answer RETRY (not the records' fault) and the pull aborts its page. */
    crm_http_close(&hs->h, &hs->life);
    crm_jobs_close(&hs->jobs, handle_closed);
    uv_close((uv_handle_t *)&hs->setup_timer, handle_closed);
    uv_close((uv_handle_t *)&hs->pull_timer, handle_closed);
}

static void hubspot_resync(struct connector *conn)
{
    hs_pull_resync(conn);
}

/* An email subscription is written to the member's address. */
static const struct push_sibling hs_push_siblings[] = {
    {"profile/email", "consent/"},
    {NULL, NULL},
};

const struct connector_ops hubspot_connector_ops = {
    .version = 1,
    .type = "hubspot",
    .max_batch = HS_BATCH_MAX,
    .config = &hubspot_config,
    .open = hubspot_open,
    .pull = hs_pull,
    .close = hubspot_close,
    .resync = hubspot_resync,
    .push = hs_op_push,
    .batch_class = hs_op_batch_class,
    .project = hs_op_project,
    .points_as_balance = 1,
    .record_cost = hs_op_record_cost,
    .push_siblings = hs_push_siblings,
};
