/* The Salesforce connector: options, open/close and auth (docs/salesforce.md);
 * salesforce_http.c holds the HTTP plumbing and the daily API budget. Requests are composed and
 * parsed by the pure functions of salesforce_map.c and salesforce_parse.c;
 * salesforce_push.c pushes, salesforce_pull.c pulls.
 *
 * Every API path is relative to the instance URL the token response names
 * (instance_url): until the first token arrives, requests wait in a queue
 * behind one bootstrap call (userinfo on the login host) that makes the
 * token manager mint a session. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm_options.h"
#include "health.h"
#include "log.h"
#include "metrics.h"
#include "oauth.h"
#include "ratelimit.h"
#include "salesforce_int.h"
#include "strbuf.h"

static const char *const auth_names[] = {"jwt", "client_credentials", NULL};
static const char *const consent_names[] = {"contact_fields", "consent_objects", NULL};
static const char *const points_names[] = {"contact_fields", "loyalty", NULL};

#define S struct salesforce_settings
#define OPT(name, type, def, field, min, max, help)                                                \
    CRM_OPT(S, name, type, def, field, min, max, help)
#define OPT_ENUM(name, def, field, values, help) CRM_OPT_ENUM(S, name, def, field, values, help)

static const struct config_option salesforce_options[] = {
    OPT("login_url", CONFIG_STRING, "https://login.salesforce.com", login_url, 0, 0,
        "login host, token host (login.salesforce.com, test.salesforce.com, a My Domain URL, or "
        "the simulator)"),
    OPT("jwt_audience", CONFIG_STRING, NULL, jwt_audience, 0, 0,
        "JWT aud (auth = jwt): https://login.salesforce.com, https://test.salesforce.com or an "
        "Experience Cloud site URL; unset: test.salesforce.com for a sandbox My Domain "
        "login_url, login.salesforce.com for another My Domain, else login_url"),
    OPT_ENUM("auth", "jwt", auth, auth_names,
             "jwt: OAuth 2.0 JWT bearer flow; client_credentials: client credentials flow"),
    OPT("client_id", CONFIG_STRING, NULL, client_id, 0, 0, "connected app consumer key (JWT iss)"),
    OPT("username", CONFIG_STRING, NULL, username, 0, 0, "integration user (JWT sub; auth = jwt)"),
    OPT("private_key_file", CONFIG_SECRET_FILE, NULL, private_key_file, 0, 0,
        "PEM RSA private key of the connected app's certificate (auth = jwt)"),
    OPT("client_secret_file", CONFIG_SECRET_FILE, NULL, client_secret_file, 0, 0,
        "file holding the consumer secret (auth = client_credentials)"),
    OPT("token_url", CONFIG_STRING, NULL, token_url, 0, 0,
        "token endpoint; unset: login_url + /services/oauth2/token"),
    OPT("api_version", CONFIG_STRING, "v66.0", api_version, 0, 0, "REST API version (vXX.X)"),
    OPT("session_lifetime", CONFIG_DURATION_MS, "15m", session_lifetime_ms, 60000, 86400000,
        "assumed session lifetime (the token response has no expires_in); a 401 re-mints"),
    OPT("external_id_field", CONFIG_STRING, "Member_Key__c", external_id_field, 0, 0,
        "Contact external id field holding the member key (upsert key)"),
    OPT_ENUM("consent_mode", "contact_fields", consent_mode, consent_names,
             "contact_fields: Contact opt-out flags; consent_objects: ContactPointTypeConsent"),
    OPT_ENUM("points_mode", "contact_fields", points_mode, points_names,
             "contact_fields: balance and tier fields on Contact; loyalty: TransactionJournal"),
    OPT("loyalty_program", CONFIG_STRING, NULL, loyalty_program, 0, 0,
        "LoyaltyProgram Name the journals and members belong to (points_mode = loyalty)"),
    OPT("journal_type", CONFIG_STRING, "Accrual", journal_type, 0, 0,
        "JournalType Name of the journals crediting points (points_mode = loyalty); a program "
        "process must handle Pending journals of this type"),
    OPT("journal_subtype", CONFIG_STRING, "", journal_subtype, 0, 0,
        "JournalSubType Name of the crediting journals (\"\": none sent)"),
    OPT("debit_journal_type", CONFIG_STRING, "Redemption", debit_journal_type, 0, 0,
        "JournalType Name of the journals debiting points (negative transactions)"),
    OPT("debit_journal_subtype", CONFIG_STRING, "", debit_journal_subtype, 0, 0,
        "JournalSubType Name of the debiting journals (\"\": none sent)"),
    OPT("loyalty_currency", CONFIG_STRING, NULL, loyalty_currency, 0, 0,
        "LoyaltyProgramCurrency Name whose LoyaltyMemberCurrency PointsBalance is the member's "
        "points balance (points_mode = loyalty; the non-qualifying points currency)"),
    OPT("points_field", CONFIG_STRING, "Loyalty_Points__c", points_field, 0, 0,
        "Contact field holding the points balance (\"\": none)"),
    OPT("tier_field", CONFIG_STRING, "Loyalty_Tier__c", tier_field, 0, 0,
        "Contact field holding the tier (\"\": none)"),
    OPT("flag_purpose", CONFIG_STRING, "marketing", flag_purpose, 0, 0,
        "the purpose the Contact opt-out flags stand for (consent_mode = contact_fields)"),
    OPT("email_opt_out_field", CONFIG_STRING, "HasOptedOutOfEmail", email_flag, 0, 0,
        "Contact flag for email consent of flag_purpose"),
    OPT("phone_opt_out_field", CONFIG_STRING, "DoNotCall", phone_flag, 0, 0,
        "Contact flag for phone consent of flag_purpose"),
    OPT("sms_channel_type", CONFIG_STRING, "SMS", sms_channel_type, 0, 0,
        "EngagementChannelType Name (ContactPointType Phone) an sms ContactPointTypeConsent "
        "names in EngagementChannelTypeId (consent_mode = consent_objects); created when the "
        "org has none; \"\": none named"),
    OPT("sms_opt_out_field", CONFIG_STRING, "SMS_Opt_Out__c", sms_flag, 0, 0,
        "Contact flag for sms consent of flag_purpose (custom: Contact has none)"),
    OPT("post_opt_out_field", CONFIG_STRING, "", post_flag, 0, 0,
        "Contact flag for post consent (\"\": not synced; HasOptedOutOfFax is fax, not post)"),
    OPT("attribute_map", CONFIG_STRING,
        "email=Email,phone=Phone,first_name=FirstName,last_name=LastName,birthday=Birthdate",
        attribute_map, 0, 0, "profile attribute=Contact field"),
    OPT("last_name_placeholder", CONFIG_STRING, "(loyalty member)", last_name_placeholder, 0, 0,
        "LastName of a Contact created before its last name is known (LastName is required)"),
    OPT("bulk_threshold", CONFIG_INT, "2000", bulk_threshold, 1, 100000000,
        "Contact rows in one batch at or above which one Bulk API 2.0 job is used instead of "
        "collections (docs/salesforce.md)"),
    OPT("bulk_multipart_max", CONFIG_INT, "100000", bulk_multipart_max, 0, 100000,
        "a Bulk job's CSV shorter than this many bytes is sent with the job's creation, one "
        "multipart request instead of three (Salesforce's limit: 100,000 characters; 0: never)"),
    OPT("deleted_sweep", CONFIG_DURATION_MS, "15m", deleted_sweep_ms, 0, 86400000,
        "time between getDeleted sweeps of CampaignMember (0: every pull)"),
    OPT("daily_reserve", CONFIG_INT, "10", daily_reserve, 0, 90,
        "percent of the daily API budget kept for the priority lane (opt-outs, erasures)"),
    OPT("quota_retry", CONFIG_DURATION_MS, "1h", quota_retry_ms, 1000, 86400000,
        "wait after REQUEST_LIMIT_EXCEEDED (or inside the reserve) before trying again"),
    CRM_COMMON_OPTIONS(S, "20", "20", "5m",
                       "re-read this much before the SystemModstamp watermark (late commits)",
                       "60s"),
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL},
};
#undef OPT_ENUM
#undef OPT
#undef S

const struct config_table salesforce_config = {"salesforce", salesforce_options,
                                               sizeof(struct salesforce_settings)};

/* --- open / close --- */

static void free_salesforce(void *priv)
{
    struct salesforce *sf = priv;

    sf_map_free(&sf->map);
    strbuf_free(&sf->path);
    free(sf->login);
    free(sf->jwt_aud);
    free(sf);
}

static void handle_closed(uv_handle_t *h)
{
    struct salesforce *sf = h->data;
    crm_life_release(&sf->life);
}

/* Opens the connector: its settings checked, the mapping, the HTTP client
 * and the token manager, then the timers and handles it counts. Long: the
 * steps run in the order they depend on each other, each failure undoing
 * what came before it; split into helpers, that undoing would be spread
 * over them (the same holds for the other CRM connectors' open). */
static int salesforce_open(struct connector *conn, struct error *err)
{
    const struct salesforce_settings *cfg = conn->settings;
    struct salesforce *sf = calloc(1, sizeof(*sf));
    struct sf_map_config mc;
    struct http_options hopts;
    struct oauth_options oopts;
    struct oauth_hooks hooks = {0};
    struct strbuf token_url;

    if (sf == NULL)
        return error_set(err, "out of memory");
    strbuf_init(&token_url, SF_PATH_MAX);
    sf->conn = conn;
    sf->cfg = cfg;
    mc = (struct sf_map_config){
        cfg->external_id_field, cfg->points_field, cfg->tier_field,
        cfg->flag_purpose,      cfg->email_flag,   cfg->phone_flag,
        cfg->sms_flag,          cfg->post_flag,    cfg->last_name_placeholder,
        cfg->attribute_map,     cfg->consent_mode, cfg->points_mode};
    if (sf_map_init(&sf->map, &mc, err) != 0) {
        free(sf);
        return -1;
    }
    if (cfg->points_mode == SF_POINTS_LOYALTY &&
        (cfg->loyalty_program == NULL || cfg->loyalty_program[0] == '\0')) {
        error_set(err, "[connector.%s] points_mode = loyalty needs loyalty_program (its Name)",
                  conn->name);
        goto fail;
    }
    if (cfg->points_mode == SF_POINTS_LOYALTY &&
        (cfg->loyalty_currency == NULL || cfg->loyalty_currency[0] == '\0' ||
         cfg->journal_type[0] == '\0' || cfg->debit_journal_type[0] == '\0')) {
        error_set(err,
                  "[connector.%s] points_mode = loyalty needs loyalty_currency (the "
                  "LoyaltyProgramCurrency Name of the points), journal_type and debit_journal_type",
                  conn->name);
        goto fail;
    }
    sf->login = crm_base_url(cfg->login_url);
    if (sf->login == NULL) {
        error_set(err, "out of memory");
        goto fail;
    }
    sf->jwt_aud = sf_jwt_audience(sf->login, cfg->jwt_audience);
    if (sf->jwt_aud == NULL) {
        error_set(err, "out of memory");
        goto fail;
    }
    if (cfg->client_id == NULL) {
        error_set(err, "[connector.%s] client_id (the consumer key) is required", conn->name);
        goto fail;
    }
    if (cfg->auth == SF_AUTH_JWT && (cfg->username == NULL || cfg->private_key_file == NULL)) {
        error_set(err, "[connector.%s] auth = jwt needs username and private_key_file", conn->name);
        goto fail;
    }
    if (cfg->auth == SF_AUTH_CLIENT_CREDENTIALS && cfg->client_secret_file == NULL) {
        error_set(err, "[connector.%s] auth = client_credentials needs client_secret_file",
                  conn->name);
        goto fail;
    }
    crm_common_http(&cfg->common, &hopts);
    if (cfg->token_url == NULL &&
        strbuf_addf(&token_url, "%s/services/oauth2/token", sf->login) != 0) {
        error_set(err, "[connector.%s] login_url too long", conn->name);
        goto fail;
    }
    if (crm_http_open(&sf->h, conn, "salesforce", &hopts, sf_http_policy, sf, err) != 0)
        goto fail;
    oauth_options_defaults(&oopts);
    oopts.token_url = cfg->token_url ? cfg->token_url : strbuf_str(&token_url);
    oopts.client_id = cfg->client_id;
    oopts.default_lifetime_ms = cfg->session_lifetime_ms;
    if (cfg->auth == SF_AUTH_JWT) {
        oopts.grant = OAUTH_JWT_BEARER;
        oopts.private_key_file = cfg->private_key_file;
        oopts.jwt_subject = cfg->username;
        oopts.jwt_audience = sf->jwt_aud;
        /* Salesforce refuses an exp more than 3 minutes ahead of its clock:
         * 150 s leave room for a clock of ours running up to 30 s ahead
         * (and up to 150 s behind). */
        oopts.jwt_lifetime_s = SF_JWT_LIFETIME_S;
    } else {
        oopts.grant = OAUTH_CLIENT_CREDENTIALS;
        oopts.client_secret_file = cfg->client_secret_file;
    }
    if (oauth_new(sf->h.http, conn->loop, conn->name, &oopts, &hooks, &sf->h.oauth, err) != 0) {
        http_client_close(sf->h.http, NULL, NULL);
        sf->h.http = NULL;
        goto fail;
    }
    strbuf_free(&token_url);
    conn->priv = sf;
    crm_common_apply(conn, &cfg->common);
    /* Loyalty Management: one journal per ledger transaction, never a
     * balance; contact fields: the balance computed by the engine. */
    conn->points_mode = cfg->points_mode == SF_POINTS_LOYALTY ? CONNECTOR_POINTS_TRANSACTIONS
                                                              : CONNECTOR_POINTS_BALANCE;
    crm_jobs_init(&sf->jobs, conn->loop, sf, "salesforce", conn->name);
    uv_timer_init(conn->loop, &sf->bulk_timer);
    sf->bulk_timer.data = sf;
    uv_timer_init(conn->loop, &sf->hold_timer);
    sf->hold_timer.data = sf;
    sf->life = (struct crm_life){3, conn, sf, free_salesforce, NULL};
    log_info("salesforce", conn->name, "Salesforce via %s (API %s, auth %s, key %s)", sf->login,
             cfg->api_version, auth_names[cfg->auth], cfg->external_id_field);
    return 0;
fail:
    strbuf_free(&token_url);
    free_salesforce(sf);
    return -1;
}

static void salesforce_close(struct connector *conn, void (*done)(struct connector *conn))
{
    struct salesforce *sf = conn->priv;

    if (crm_close_nothing(conn, done))
        return;
    sf->closing = 1;
    sf->h.closing = 1;
    sf->life.closed = done;
    /* Waiting and in-flight requests complete as CANCELLED now: their jobs
     * answer RETRY (not the records' fault) and the pull aborts its page. */
    crm_http_close(&sf->h, &sf->life);
    sf_http_release_held(sf, HTTP_CLASS_CANCELLED);
    sf_bulk_cancel(sf);
    crm_jobs_close(&sf->jobs, handle_closed);
    uv_close((uv_handle_t *)&sf->bulk_timer, handle_closed);
    uv_close((uv_handle_t *)&sf->hold_timer, handle_closed);
}

static void salesforce_resync(struct connector *conn)
{
    sf_pull_resync(conn);
}

static void sf_op_batch_class(struct connector *conn, const struct push_record *rec, char *out,
                              size_t outsize)
{
    struct salesforce *sf = conn->priv;
    sf_batch_class(&sf->map, rec, out, outsize);
}

static size_t sf_op_batch_max(struct connector *conn, const char *class_key, size_t waiting)
{
    struct salesforce *sf = conn->priv;
    return sf_batch_max(class_key, waiting, sf->cfg->bulk_threshold);
}

static int sf_op_project(struct connector *conn, enum change_kind kind, const char *field,
                         const char *value_json, char *out, size_t outsize)
{
    struct salesforce *sf = conn->priv;
    if (sf_project(&sf->map, kind, field, value_json, out, outsize) == 0)
        return 0;
    sf_unrepresentable_why(&sf->map, kind, field, out, outsize);
    return -1;
}

/* A Contact or Individual that may be new is created with the member's
 * last name (LastName is required). */
static const struct push_sibling sf_push_siblings[] = {
    {"profile/last_name", NULL},
    {NULL, NULL},
};

const struct connector_ops salesforce_connector_ops = {
    .version = 1,
    .type = "salesforce",
    .max_batch = SF_MAX_BATCH,
    .config = &salesforce_config,
    .open = salesforce_open,
    .pull = sf_pull,
    .close = salesforce_close,
    .resync = salesforce_resync,
    .push = sf_op_push,
    .batch_class = sf_op_batch_class,
    .project = sf_op_project,
    .points_as_balance = 1,
    .push_siblings = sf_push_siblings,
    .batch_max = sf_op_batch_max,
};
