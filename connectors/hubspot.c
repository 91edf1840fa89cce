/* The HubSpot connector: options, open/close, auth and HTTP plumbing, and the
 * push side (docs/hubspot.md). Requests are composed and parsed by the pure
 * functions of hubspot_map.c and hubspot_parse.c; hubspot_pull.c pulls.
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
#include "oauth.h"
#include "ratelimit.h"
#include "strbuf.h"
#include "timefmt.h"

enum { AUTH_STATIC = 0, AUTH_OAUTH = 1 };
static const char *const auth_names[] = {"static", "oauth", NULL};

struct hubspot_settings {
    char *base_url;
    int auth;
    char *token_file, *client_id, *client_secret_file, *refresh_token_file, *token_url;
    char *version_objects, *version_properties, *version_lists, *version_prefs;
    char *id_property;
    int create_properties;
    char *subscriptions, *legal_basis_map, *points_property, *tier_property, *attribute_map;
    char *purposes, *tiers;
    long search_lag_ms, archived_sweep_ms, status_sweep_ms;
    struct crm_common_settings common;
};

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

const struct hs_map *hs_map_of(const struct hubspot *hs)
{
    return &hs->map;
}
struct connector *hs_conn(const struct hubspot *hs)
{
    return hs->conn;
}
long hs_search_lag_ms(const struct hubspot *hs)
{
    return hs->cfg->search_lag_ms;
}
long hs_lookback_ms(const struct hubspot *hs)
{
    return hs->cfg->common.lookback_ms;
}
long hs_archived_sweep_ms(const struct hubspot *hs)
{
    return hs->cfg->archived_sweep_ms;
}
long hs_status_sweep_ms(const struct hubspot *hs)
{
    return hs->cfg->status_sweep_ms;
}
struct hs_pull_state *hs_pull_state(struct hubspot *hs)
{
    return &hs->pull;
}
int hs_closing(const struct hubspot *hs)
{
    return hs->closing;
}

const char *hs_version(const struct hubspot *hs, int family)
{
    switch (family) {
    case HS_V_OBJECTS:
        return hs->cfg->version_objects;
    case HS_V_PROPERTIES:
        return hs->cfg->version_properties;
    case HS_V_LISTS:
        return hs->cfg->version_lists;
    default:
        return hs->cfg->version_prefs;
    }
}

/* --- HTTP plumbing (the shared request wrapper, crm_request.h) --- */

enum { TAG_GENERAL = 0, TAG_SEARCH = 1 };

/* HubSpot's 429 policy, before the rate limiter sees the answer: a DAILY
 * 429 holds until UTC midnight (max_retry_after at most), HubSpot's own
 * 429s carry no Retry-After (its windows are per second for search,
 * rolling 10 s otherwise). Search
 * has its own per-second limit (and its answers carry no rate-limit
 * headers): its non-DAILY 429 holds the search window only, never the
 * general budget the pushes draw on. */
static int policy(void *ctx, int tag, struct http_result *res)
{
    struct hubspot *hs = ctx;
    char name[64];

    if (res->status != 429)
        return 0;
    hs_policy_name(res->body, name, sizeof(name));
    if (strcmp(name, "DAILY") == 0) {
        int64_t wall = timefmt_now_ms();
        long reset = (long)(86400000 - wall % 86400000);
        /* Held for max_retry_after at most (issue 14 item 10): then asked
         * again, not stopped for up to a day. */
        res->retry_after_ms = reset < http_retry_after_cap() ? reset : http_retry_after_cap();
        log_warn("hubspot", hs->conn->name,
                 "daily API budget spent (it resets at UTC midnight, in %ld s); holding %ld s "
                 "([daemon] max_retry_after)",
                 reset / 1000, res->retry_after_ms / 1000);
        return 0;
    }
    if (res->retry_after_ms < 0)
        res->retry_after_ms = 1000;
    if (tag != TAG_SEARCH)
        return 0;
    ratelimit_window_hold(&hs->search_rl, res->retry_after_ms, crm_mono_ms());
    return 1;
}

static int send_request(struct hubspot *hs, int tag, enum http_method method, const char *path,
                        const char *body, http_done_fn done, void *arg)
{
    struct crm_req rq = {0};

    if (path == NULL) {
        log_error("hubspot", hs->conn->name, "request path too long");
        return -1;
    }
    rq.method = method;
    rq.base = hs->base;
    rq.path = path;
    rq.body = body;
    rq.tag = tag;
    return crm_request(&hs->h, &rq, done, arg);
}

int hs_request(struct hubspot *hs, enum http_method method, const char *path, const char *body,
               http_done_fn done, void *arg)
{
    return send_request(hs, TAG_GENERAL, method, path, body, done, arg);
}

int hs_request_search(struct hubspot *hs, const char *path, const char *body, http_done_fn done,
                      void *arg)
{
    return send_request(hs, TAG_SEARCH, HTTP_POST, path, body, done, arg);
}

const char *hs_pathf(struct hubspot *hs, int family, const char *fmt, ...)
{
    va_list ap;
    int rc;

    strbuf_free(&hs->path);
    strbuf_init(&hs->path, HS_PATH_MAX);
    va_start(ap, fmt);
    rc = hs_api_pathv(&hs->path, family, hs_version(hs, family), fmt, ap);
    va_end(ap);
    return rc == 0 ? strbuf_str(&hs->path) : NULL;
}

const char *hs_path(struct hubspot *hs, int family, const char *tail)
{
    return hs_pathf(hs, family, "%s", tail);
}

/* --- setup: custom contact properties --- */

struct prop_spec {
    char name[160];
    const char *type, *field_type;
    int unique;
};

static void setup_retry(struct hubspot *hs);

struct setup_ctx {
    struct hubspot *hs;
    json_t *todo; /* property definitions still to create, in order */
    size_t next;
    int failed; /* a property could not be created: not ready */
};

/* Ready only when every property exists: pushing before that would have
 * HubSpot refuse the values ("property does not exist") and dead-letter
 * them. A failed creation retries the whole setup later. */
static void setup_done(struct setup_ctx *sc)
{
    struct hubspot *hs = sc->hs;
    int failed = sc->failed;

    hs->setup_pending = 0;
    json_decref(sc->todo);
    free(sc);
    if (hs->closing)
        return;
    if (failed) {
        log_warn("hubspot", hs->conn->name, "contact properties not ready; retrying setup");
        setup_retry(hs);
        return;
    }
    hs->ready = 1;
    log_info("hubspot", hs->conn->name, "contact properties ready");
    if (hs->conn->host != NULL && hs->conn->host->resume != NULL)
        hs->conn->host->resume(hs->conn->host->ctx, hs->conn);
}

static void prop_created(struct http_result *res, void *arg);

/* Creates the missing properties one at a time: all at once, the requests
 * queued behind a 429 still went out inside its Retry-After hold (chaos
 * hubspot-faults counted 4 to 28 such requests per run). A hold stops the
 * round; the setup starts again when it is over. */
static void create_next(struct setup_ctx *sc)
{
    struct hubspot *hs = sc->hs;

    while (sc->next < json_array_size(sc->todo)) {
        json_t *def = json_array_get(sc->todo, sc->next++);
        char *text;
        int rc;

        if (hs->closing || crm_held_ms(hs->conn) > 0) {
            sc->failed = 1;
            break;
        }
        text = json_dumps(def, JSON_COMPACT);
        rc = text == NULL ? -1
                          : hs_request(hs, HTTP_POST, hs_path(hs, HS_V_PROPERTIES, ""), text,
                                       prop_created, sc);
        free(text);
        if (rc == 0) {
            log_info("hubspot", hs->conn->name, "creating contact property %s",
                     json_string_value(json_object_get(def, "name")));
            return;
        }
        sc->failed = 1;
    }
    setup_done(sc);
}

static void prop_created(struct http_result *res, void *arg)
{
    struct setup_ctx *sc = arg;

    if (res->cls != HTTP_CLASS_OK && res->status != 409) {
        char msg[200], st[32];
        hs_error_message(res->body, msg, sizeof(msg));
        log_error("hubspot", sc->hs->conn->name, "cannot create a contact property: %s %s",
                  http_result_label(res, st, sizeof(st)), msg[0] ? msg : res->error);
        sc->failed = 1;
    }
    if (sc->failed)
        sc->next = json_array_size(sc->todo); /* the whole setup is tried again */
    create_next(sc);
}

static void props_listed(struct http_result *res, void *arg)
{
    struct setup_ctx *sc = arg;
    struct hubspot *hs = sc->hs;
    json_t *root, *have, *wanted;
    size_t i;
    json_t *v;

    if (res->cls != HTTP_CLASS_OK) {
        log_warn("hubspot", hs->conn->name, "cannot list contact properties (%s); retrying",
                 res->status ? "HTTP error" : res->error);
        free(sc);
        hs->setup_pending = 0;
        setup_retry(hs);
        return;
    }
    root = json_loads(res->body ? res->body : "", 0, NULL);
    have = json_object();
    json_array_foreach(json_object_get(root, "results"), i, v)
    {
        const char *name = json_string_value(json_object_get(v, "name"));
        if (name != NULL)
            json_object_set_new(have, name, json_true());
    }
    json_decref(root);
    if (crm_held_ms(hs->conn) > 0) {
        /* A 429 came meanwhile: try the whole setup again after the hold. */
        json_decref(have);
        free(sc);
        hs->setup_pending = 0;
        setup_retry(hs);
        return;
    }
    wanted = hs_mapped_properties(&hs->map);
    sc->todo = json_array();
    json_array_foreach(wanted, i, v)
    {
        const char *name = json_string_value(v);
        const char *type = "string", *ftype = "text";
        size_t len = strlen(name);

        if (json_object_get(have, name) != NULL || strcmp(name, "lastmodifieddate") == 0 ||
            crm_pairs_key_of(&hs->map.attrs, name) != NULL || strcmp(name, "email") == 0)
            continue;
        if (strcmp(name, hs->map.points_property) == 0) {
            type = "number";
            ftype = "number";
        } else if (len > 5 && strcmp(name + len - 5, "_date") == 0) {
            type = "datetime";
            ftype = "date";
        }
        json_array_append_new(
            sc->todo, json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "name", name, "label", name,
                                "type", type, "fieldType", ftype, "groupName", "contactinformation",
                                "hasUniqueValue", strcmp(name, hs->map.id_property) == 0));
    }
    json_decref(wanted);
    json_decref(have);
    create_next(sc);
}

static void setup_timer_cb(uv_timer_t *t);

void hs_setup_start(struct hubspot *hs)
{
    struct setup_ctx *sc;
    uint64_t hold;

    if (hs->closing || hs->ready || hs->setup_pending)
        return;
    hold = crm_held_ms(hs->conn);
    if (hold > 0) {
        uv_timer_start(&hs->setup_timer, setup_timer_cb, hold + 1, 0);
        return;
    }
    sc = calloc(1, sizeof(*sc));
    if (sc == NULL)
        return;
    sc->hs = hs;
    hs->setup_pending = 1;
    if (hs_request(hs, HTTP_GET, hs_path(hs, HS_V_PROPERTIES, ""), NULL, props_listed, sc) != 0) {
        free(sc);
        hs->setup_pending = 0;
        setup_retry(hs);
    }
}

static void setup_timer_cb(uv_timer_t *t)
{
    hs_setup_start(t->data);
}

static void setup_retry(struct hubspot *hs)
{
    if (!hs->closing)
        uv_timer_start(&hs->setup_timer, setup_timer_cb, 5000, 0);
}

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
    if (crm_http_open(&hs->h, conn, "hubspot", &hopts, policy, hs, err) != 0)
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
