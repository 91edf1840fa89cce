/* The Salesforce connector: options, open/close, auth and HTTP plumbing,
 * and the daily API budget (docs/salesforce.md). Requests are composed and
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

struct req_ctx {
    struct salesforce *sf;
    enum http_method method;
    char *path; /* absolute URL when it starts with http */
    char *content_type;
    char *body;
    http_done_fn done;
    void *arg;
    struct req_ctx *next; /* waiting for the instance URL */
};

const struct sf_map *sf_map_of(const struct salesforce *sf)
{
    return &sf->map;
}
struct connector *sf_conn(const struct salesforce *sf)
{
    return sf->conn;
}
int sf_closing(const struct salesforce *sf)
{
    return sf->closing;
}
long sf_lookback_ms(const struct salesforce *sf)
{
    return sf->cfg->common.lookback_ms;
}
struct sf_pull_state *sf_pull_state(struct salesforce *sf)
{
    return &sf->pull;
}

const char *sf_data_path(struct salesforce *sf, const char *tail)
{
    strbuf_free(&sf->path);
    strbuf_init(&sf->path, SF_PATH_MAX);
    strbuf_addf(&sf->path, "/services/data/%s%s", sf->cfg->api_version, tail);
    return strbuf_str(&sf->path);
}

int sf_query(struct salesforce *sf, const char *verb, const char *soql, http_done_fn done,
             void *arg)
{
    char *path = soql != NULL ? sf_query_path(sf->cfg->api_version, verb, soql) : NULL;
    int rc = path != NULL ? sf_request(sf, HTTP_GET, path, NULL, NULL, done, arg) : -1;

    free(path);
    return rc;
}

/* --- quota and auth bookkeeping, from every response --- */

static void note_refreshes(struct salesforce *sf)
{
    unsigned long n = oauth_refresh_count(sf->h.oauth);

    if (n > sf->refreshes_seen) {
        const char *res = oauth_last_error(sf->h.oauth)[0] == '\0' ? "ok" : "failed";
        metrics_counter_add(METRIC_TOKEN_REFRESHES, (const char *[]){sf->conn->name, res},
                            n - sf->refreshes_seen);
        sf->refreshes_seen = n;
    }
}

/* Salesforce's policy on every answer (the request wrapper's hook, before
 * the rate limiter sees it, which reads only the status and the headers):
 * token refresh metrics, the daily budget from Sforce-Limit-Info, a 403
 * REQUEST_LIMIT_EXCEEDED kept as a retry (concurrent: seconds; daily:
 * quota_retry), the health of auth. */
static int policy(void *ctx, int tag, struct http_result *res)
{
    struct salesforce *sf = ctx;
    struct connector *conn = sf->conn;
    const char *info = http_result_header(res, "Sforce-Limit-Info");
    long used, limit;

    (void)tag;
    note_refreshes(sf);
    if (info != NULL && ratelimit_parse_sforce(info, &used, &limit) == 0 && limit > 0) {
        sf->api_used = used;
        sf->api_limit = limit;
        metrics_gauge_set(METRIC_QUOTA_REMAINING, (const char *[]){conn->name},
                          (double)(limit > used ? limit - used : 0));
    }
    if (res->status == 403) {
        char code[64], msg[200];
        sf_error_of(res->body, code, sizeof(code), msg, sizeof(msg));
        if (strcmp(code, "REQUEST_LIMIT_EXCEEDED") == 0 && !sf_limit_is_daily(msg)) {
            /* The concurrent long-running request limit, not the day's
             * budget: seconds, not an hour. */
            res->cls = HTTP_CLASS_RETRY;
            res->retry_after_ms = SF_CONCURRENT_RETRY_MS;
            log_warn("salesforce", conn->name,
                     "concurrent request limit reached (%s): retry in %d s", msg,
                     SF_CONCURRENT_RETRY_MS / 1000);
        } else if (strcmp(code, "REQUEST_LIMIT_EXCEEDED") == 0) {
            /* Not the records' fault: keep everything queued, back off the
             * destination until the budget can have room again. */
            res->cls = HTTP_CLASS_RETRY;
            res->retry_after_ms = sf->cfg->quota_retry_ms;
            if (!sf->quota_exhausted) {
                log_warn("salesforce", conn->name,
                         "daily API request budget spent (%ld/%ld): no requests for %ld s",
                         sf->api_used, sf->api_limit, sf->cfg->quota_retry_ms / 1000);
                health_raise(HEALTH_QUOTA_EXHAUSTED, conn->name,
                             "Salesforce REQUEST_LIMIT_EXCEEDED: daily API budget spent "
                             "(%ld/%ld); changes stay queued",
                             sf->api_used, sf->api_limit);
                sf->quota_exhausted = 1;
            }
        }
    } else if (res->cls == HTTP_CLASS_OK && sf->quota_exhausted) {
        sf->quota_exhausted = 0;
        log_info("salesforce", conn->name, "API budget available again (%ld/%ld)", sf->api_used,
                 sf->api_limit);
        health_clear(HEALTH_QUOTA_EXHAUSTED, conn->name);
    }
    if (res->cls == HTTP_CLASS_UNAUTHORIZED) {
        if (!sf->auth_failing) {
            log_warn("salesforce", conn->name, "not authorised: %s",
                     oauth_last_error(sf->h.oauth)[0] ? oauth_last_error(sf->h.oauth)
                                                      : "INVALID_SESSION_ID after a new session");
            health_raise(HEALTH_AUTH_FAILING, conn->name, "Salesforce: %s",
                         oauth_last_error(sf->h.oauth)[0] ? oauth_last_error(sf->h.oauth)
                                                          : "session refused");
            sf->auth_failing = 1;
        }
    } else if (res->status != 0 && sf->auth_failing) {
        sf->auth_failing = 0;
        health_clear(HEALTH_AUTH_FAILING, conn->name);
    }
    return 0;
}

/* 1 while the bulk lanes must leave the rest of the day's budget to the
 * priority lane. */
int sf_inside_reserve(const struct salesforce *sf)
{
    long left;

    if (sf->api_limit <= 0)
        return 0;
    left = sf->api_limit - sf->api_used;
    return left * 100 <= sf->api_limit * sf->cfg->daily_reserve;
}

/* --- HTTP plumbing --- */

static void req_free(struct req_ctx *rc)
{
    free(rc->path);
    free(rc->content_type);
    free(rc->body);
    free(rc);
}

static void request_done(struct http_result *res, void *arg)
{
    struct req_ctx *rc = arg;

    rc->done(res, rc->arg);
    req_free(rc);
}

/* Through the shared request wrapper: the URL sized to the path (a query
 * for 200 keys is several kB; a fixed buffer cut it into a
 * MALFORMED_QUERY), the policy hook, one rate-limit observe. */
static int start(struct salesforce *sf, struct req_ctx *rc)
{
    struct crm_req rq = {0};

    rq.method = rc->method;
    rq.base = strncmp(rc->path, "http", 4) == 0 ? "" : oauth_instance_url(sf->h.oauth);
    rq.path = rc->path;
    rq.content_type = rc->content_type;
    rq.body = rc->body;
    return crm_request(&sf->h, &rq, request_done, rc);
}

static void bootstrap_done(struct http_result *res, void *arg)
{
    struct salesforce *sf = arg;
    struct req_ctx *q = sf->waiting;

    sf->bootstrapping = 0;
    sf->waiting = NULL;
    while (q != NULL) {
        struct req_ctx *rc = q;
        q = q->next;
        if (sf->closing || oauth_instance_url(sf->h.oauth) == NULL || start(sf, rc) != 0) {
            /* No session: complete the waiting call with this result. */
            enum http_class cls = res->cls;
            if (!sf->closing && cls == HTTP_CLASS_OK)
                cls = HTTP_CLASS_RETRY;
            res->cls = sf->closing ? HTTP_CLASS_CANCELLED
                       : oauth_instance_url(sf->h.oauth) == NULL && cls != HTTP_CLASS_RETRY
                           ? HTTP_CLASS_UNAUTHORIZED
                           : cls;
            rc->done(res, rc->arg);
            req_free(rc);
        }
    }
}

/* Mints a session with a call every user may make on the login host
 * (userinfo); only the token response's instance_url matters. */
static void bootstrap(struct salesforce *sf)
{
    struct crm_req rq = {0};

    if (sf->bootstrapping)
        return;
    rq.method = HTTP_GET;
    rq.base = sf->login;
    rq.path = "/services/oauth2/userinfo";
    sf->bootstrapping = 1;
    if (crm_request(&sf->h, &rq, bootstrap_done, sf) != 0)
        sf->bootstrapping = 0;
}

static void hold_cb(uv_timer_t *t);

/* Milliseconds left of the destination's Retry-After hold (0: none). */
static long hold_left(struct salesforce *sf)
{
    return (long)crm_held_ms(sf->conn);
}

/* Completes the held requests with cls (closing) or sends them when the
 * hold is over. */
static void release_held(struct salesforce *sf, enum http_class cls)
{
    struct req_ctx *q = sf->held;
    long left = hold_left(sf);

    if (cls == HTTP_CLASS_OK && left > 0) {
        uv_timer_start(&sf->hold_timer, hold_cb, (uint64_t)left + 1, 0);
        return;
    }
    sf->held = NULL;
    while (q != NULL) {
        struct req_ctx *rc = q;
        q = q->next;
        rc->next = NULL;
        if (cls != HTTP_CLASS_OK || start(sf, rc) != 0) {
            struct http_result res;
            memset(&res, 0, sizeof(res));
            res.cls = cls != HTTP_CLASS_OK ? cls : HTTP_CLASS_RETRY;
            rc->done(&res, rc->arg);
            req_free(rc);
        }
    }
}

static void hold_cb(uv_timer_t *t)
{
    release_held(t->data, HTTP_CLASS_OK);
}

int sf_request(struct salesforce *sf, enum http_method method, const char *path,
               const char *content_type, const char *body, http_done_fn done, void *arg)
{
    struct req_ctx *rc;

    if (sf->closing || path == NULL)
        return -1;
    rc = calloc(1, sizeof(*rc));
    if (rc == NULL)
        return -1;
    rc->sf = sf;
    rc->method = method;
    rc->path = strdup(path);
    rc->content_type = strdup(content_type ? content_type : "application/json");
    rc->body = body ? strdup(body) : NULL;
    rc->done = done;
    rc->arg = arg;
    if (rc->path == NULL || rc->content_type == NULL || (body != NULL && rc->body == NULL)) {
        req_free(rc);
        return -1;
    }
    if (oauth_instance_url(sf->h.oauth) == NULL && strncmp(path, "http", 4) != 0) {
        struct req_ctx **tail = &sf->waiting;
        while (*tail != NULL)
            tail = &(*tail)->next;
        *tail = rc;
        bootstrap(sf);
        return 0;
    }
    /* Inside a Retry-After hold (told by another request's 429): wait it
     * out; the engine holds new batches, this keeps the next steps of the
     * jobs in flight from going out meanwhile. */
    if (hold_left(sf) > 0) {
        struct req_ctx **tail = &sf->held;
        while (*tail != NULL)
            tail = &(*tail)->next;
        *tail = rc;
        if (!uv_is_active((uv_handle_t *)&sf->hold_timer))
            uv_timer_start(&sf->hold_timer, hold_cb, (uint64_t)hold_left(sf) + 1, 0);
        return 0;
    }
    if (start(sf, rc) != 0) {
        req_free(rc);
        return -1;
    }
    return 0;
}

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
    if (crm_http_open(&sf->h, conn, "salesforce", &hopts, policy, sf, err) != 0)
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
    release_held(sf, HTTP_CLASS_CANCELLED);
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
