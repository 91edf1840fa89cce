/* Salesforce flavour: route table, admission (session, API request budget,
 * Sforce-Limit-Info), error bodies, dump/seed/reset. Shapes follow the REST
 * API, Bulk API 2.0 and OAuth guides on developer.salesforce.com (see
 * README.md for the pages and for what had to be guessed). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "salesforce.h"
#include "sim_time.h"

/* Every REST path starts /services/data/vXX.X; the version segment is a
 * capture checked by admit, so one table serves all versions. */
#define D "/services/data/*"

static const struct sim_route sf_routes[] = {
    {"POST", "/services/oauth2/token", "oauth.token", SF_NOAUTH, sf_oauth_token},
    {"GET", D "/limits", "limits", 0, NULL},
    {"GET", D "/query", "query", 0, sf_query},
    {"GET", D "/queryAll", "queryAll", 0, sf_query_all},
    {"GET", D "/query/*", "query.more", 0, sf_query_more},
    {"GET", D "/queryAll/*", "query.more", 0, sf_query_more},
    {"POST", D "/composite/sobjects", "collections.create", 0, sf_collections_create},
    {"PATCH", D "/composite/sobjects", "collections.update", 0, sf_collections_update},
    {"DELETE", D "/composite/sobjects", "collections.delete", 0, sf_collections_delete},
    {"PATCH", D "/composite/sobjects/*/*", "collections.upsert", 0, sf_collections_upsert},
    {"GET", D "/sobjects/*/deleted", "sobjects.deleted", 0, sf_get_deleted},
    {"POST", D "/sobjects/*", "sobjects.create", 0, sf_sobject_create},
    {"GET", D "/sobjects/*/*", "sobjects.get", 0, sf_sobject_get},
    {"DELETE", D "/sobjects/*/*", "sobjects.delete", 0, sf_sobject_delete},
    {"PATCH", D "/sobjects/*/*/*", "sobjects.upsert", 0, sf_sobject_upsert},
    {"POST", D "/jobs/ingest", "bulk.create", 0, sf_bulk_create},
    {"GET", D "/jobs/ingest/*", "bulk.get", 0, sf_bulk_get},
    {"PATCH", D "/jobs/ingest/*", "bulk.state", 0, sf_bulk_patch},
    {"DELETE", D "/jobs/ingest/*", "bulk.delete", 0, sf_bulk_delete},
    {"PUT", D "/jobs/ingest/*/batches", "bulk.upload", 0, sf_bulk_upload},
    {"GET", D "/jobs/ingest/*/successfulResults", "bulk.results", 0, sf_bulk_results},
    {"GET", D "/jobs/ingest/*/failedResults", "bulk.results", 0, sf_bulk_results},
    {"GET", D "/jobs/ingest/*/unprocessedrecords", "bulk.results", 0, sf_bulk_results},
};

#define NROUTES (sizeof(sf_routes) / sizeof(sf_routes[0]))

/* --- error bodies: [{"message", "errorCode"}] --- */

void sf_error(struct sim_response *resp, int status, const char *code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sim_resp_json(resp, status, json_pack("[{s:s, s:s}]", "message", msg, "errorCode", code));
}

json_t *sf_item_error(const char *code, json_t *fields_take, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return json_pack("{s:s, s:s, s:o}", "statusCode", code, "message", msg, "fields",
                     fields_take ? fields_take : json_array());
}

/* The core's categories mapped to Salesforce error codes. */
static void sf_error_hook(struct sim_response *resp, int status, const char *category,
                          const char *message)
{
    const char *code = "UNKNOWN_EXCEPTION";

    if (status == 404) {
        sf_error(resp, 404, "NOT_FOUND", "The requested resource does not exist");
        return;
    }
    if (status == 405)
        code = "METHOD_NOT_ALLOWED";
    else if (status == 400 && category != NULL && strcmp(category, "VALIDATION_ERROR") == 0)
        code = "JSON_PARSER_ERROR";
    else if (status == 413)
        code = "REQUEST_ENTITY_TOO_LARGE";
    else if (status == 503 || status == 502)
        code = "SERVER_UNAVAILABLE";
    else if (status == 429)
        code = "REQUEST_LIMIT_EXCEEDED";
    sf_error(resp, status, code, "%s", message);
}

static void sf_expired(struct sim *sim, struct sim_response *resp)
{
    (void)sim;
    sf_error(resp, 401, "INVALID_SESSION_ID", "Session expired or invalid");
}

void sf_base_url(struct sim *sim, char *buf, size_t bufsize)
{
    const char *colon = strrchr(sim->opt.listen, ':');
    int hostlen = colon ? (int)(colon - sim->opt.listen) : (int)strlen(sim->opt.listen);

    snprintf(buf, bufsize, "%s://%.*s:%u", sim->opt.tls_cert[0] ? "https" : "http", hostlen,
             sim->opt.listen, (unsigned)sim->port);
}

int64_t sf_stamp(int64_t now_ms)
{
    return now_ms - ((now_ms % 1000) + 1000) % 1000;
}

/* --- admission --- */

/* "v46.0" .. the newest documented version; collections upsert (the
 * oldest feature used here) needs 46.0. */
static bool version_ok(const char *v)
{
    int major, minor;
    char tail;

    if (sscanf(v, "v%d.%d%c", &major, &minor, &tail) != 2 || minor != 0)
        return false;
    return major >= 20 && major <= 68;
}

static uint64_t day_used(struct sf_state *sf, int64_t now)
{
    int64_t day = now / 86400000;

    if (day != sf->api_day) {
        sf->api_day = day;
        sf->api_used = 0;
    }
    return sf->api_used;
}

static int sf_admit(struct sim *sim, const struct sim_route *route, struct sim_request *req,
                    struct sim_response *resp)
{
    struct sf_state *sf = sf_state(sim);
    int64_t ago;
    uint64_t max = (uint64_t)sim->opt.daily_max;
    uint64_t used;

    if (route->flags & SF_NOAUTH)
        return 0;
    if (req->ncaps < 1 || !version_ok(req->caps[0])) {
        sf_error(resp, 404, "NOT_FOUND", "The requested resource does not exist");
        return 1;
    }
    if (sim_auth_check(&sim->auth, req->bearer, req->now_ms, &ago) != SIM_TOKEN_OK) {
        sf_expired(sim, resp);
        return 1;
    }
    /* The org's API request allocation: every authenticated REST call
     * counts; once spent, calls fail until the day turns. */
    used = day_used(sf, req->now_ms);
    if (sim->opt.rate_limits && max > 0 && used >= max) {
        sf_error(resp, 403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.");
        sim_resp_header(resp, "Sforce-Limit-Info", "api-usage=%llu/%llu", (unsigned long long)used,
                        (unsigned long long)max);
        return 1;
    }
    /* The org's concurrent long-running request limit (25 requests
     * running 20 s or more in production orgs): the same 403 code as the
     * daily budget, told apart by its message. Seeded, not modelled. */
    if (sf->concurrent_refusals > 0) {
        sf->concurrent_refusals--;
        sf_error(resp, 403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.");
        return 1;
    }
    sf->api_used = ++used;
    sim_resp_header(resp, "Sforce-Limit-Info", "api-usage=%llu/%llu", (unsigned long long)used,
                    (unsigned long long)max);
    if (route->handler == NULL) { /* GET /limits */
        sim_resp_json(resp, 200,
                      json_pack("{s:{s:I, s:I}}", "DailyApiRequests", "Max", (json_int_t)max,
                                "Remaining", (json_int_t)(used < max ? max - used : 0)));
        return 1;
    }
    return 0;
}

/* --- lifecycle, dump, seed, reset --- */

static int sf_init(struct sim *sim, char *err, size_t errlen)
{
    struct sf_state *sf = calloc(1, sizeof(*sf));

    if (sf == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    sim->flavor_data = sf;
    sf->next_cursor = 1;
    sf->next_job = 1;
    sf->started_ms = sim_now_ms(sim);
    sf->cm_pairs = json_object();
    if (sf_schema_init(sf, sim->store) != 0) {
        snprintf(err, errlen, "cannot build the sObject schema");
        return -1;
    }
    return sf_auth_init(sim, err, errlen);
}

void sf_cursors_clear(struct sf_state *sf)
{
    for (size_t i = 0; i < SF_MAX_CURSORS; i++) {
        if (sf->cursors[i] != NULL) {
            free(sf->cursors[i]->nums);
            free(sf->cursors[i]->cols);
            free(sf->cursors[i]);
            sf->cursors[i] = NULL;
        }
    }
}

static void sf_fini(struct sim *sim)
{
    struct sf_state *sf = sf_state(sim);

    if (sf == NULL)
        return;
    sf_cursors_clear(sf);
    sf_bulk_free_all(sf);
    sf_auth_fini(sim);
    sf_schema_fini(sf);
    json_decref(sf->cm_pairs);
    free(sf);
    sim->flavor_data = NULL;
}

static json_t *sf_dump(struct sim *sim)
{
    struct sf_state *sf = sf_state(sim);
    json_t *dels = json_object();
    char id[19], t[40];

    for (size_t i = 0; i < sf->nobjects; i++) {
        struct sf_object *obj = &sf->objects[i];
        json_t *arr;

        if (obj->ndels == 0)
            continue;
        arr = json_array();
        for (size_t k = 0; k < obj->ndels; k++) {
            sf_id_format(obj, obj->dels[k].num, id);
            json_array_append_new(arr, json_pack("{s:s, s:s}", "id", id, "deletedDate",
                                                 sf_datetime(obj->dels[k].ms, t, sizeof(t))));
        }
        json_object_set_new(dels, obj->name, arr);
    }
    return json_pack("{s:o, s:o, s:o, s:{s:I, s:I}}", "schema", sf_schema_dump(sf), "deleteLog",
                     dels, "jobs", sf_bulk_dump(sf), "apiUsage", "used", (json_int_t)sf->api_used,
                     "max", (json_int_t)sim->opt.daily_max);
}

/* flavor_state: {"fields": {...custom fields...}, "apiUsed": N,
 * "purgeDeleteLog": "<sObject>", "concurrentLimit": N}. Records
 * are seeded through the core's "collections" (one per sObject). */
static int sf_seed(struct sim *sim, json_t *state, char *err, size_t errlen)
{
    struct sf_state *sf = sf_state(sim);
    const char *purge;
    json_t *used;

    if (state == NULL)
        return 0;
    if (!json_is_object(state)) {
        snprintf(err, errlen, "flavor_state: expected an object");
        return -1;
    }
    if (sf_schema_seed(sf, json_object_get(state, "fields"), err, errlen) != 0)
        return -1;
    /* "purgeDeleteLog": "<sObject>": the delete log of that object purged
     * now, as Salesforce's background purge does when the log grows. */
    purge = json_string_value(json_object_get(state, "purgeDeleteLog"));
    if (purge != NULL) {
        struct sf_object *obj = sf_object_find(sf, purge);

        if (obj == NULL) {
            snprintf(err, errlen, "purgeDeleteLog: no sObject %s", purge);
            return -1;
        }
        for (size_t i = 0; i < obj->ndels; i++) {
            if (obj->dels[i].ms > obj->purged_ms)
                obj->purged_ms = obj->dels[i].ms;
        }
        obj->ndels = 0;
    }
    if (json_is_integer(json_object_get(state, "concurrentLimit")))
        sf->concurrent_refusals =
            (int)json_integer_value(json_object_get(state, "concurrentLimit"));
    used = json_object_get(state, "apiUsed");
    if (json_is_integer(used)) {
        (void)day_used(sf, sim_now_ms(sim));
        sf->api_used = (uint64_t)json_integer_value(used);
    }
    return 0;
}

static void sf_reset(struct sim *sim)
{
    struct sf_state *sf = sf_state(sim);

    sf_cursors_clear(sf);
    sf_bulk_free_all(sf);
    sf->concurrent_refusals = 0;
    for (size_t i = 0; i < sf->nobjects; i++) {
        sf->objects[i].ndels = 0;
        sf->objects[i].purged_ms = 0;
    }
    sf->api_used = 0;
}

const struct sim_flavor_ops sim_flavor_salesforce = {
    .version = SIM_FLAVOR_OPS_VERSION,
    .name = "salesforce",
    .routes = sf_routes,
    .nroutes = NROUTES,
    .families = NULL,
    .init = sf_init,
    .fini = sf_fini,
    .admit = sf_admit,
    .error = sf_error_hook,
    .dump = sf_dump,
    .seed = sf_seed,
    .reset = sf_reset,
    .expired = sf_expired,
    .aliases = NULL,
};
