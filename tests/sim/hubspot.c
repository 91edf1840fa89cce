/* HubSpot flavour: route table, auth (private-app tokens, OAuth refresh
 * grant), rate limits, error bodies, contact property definitions.
 * Shapes follow developers.hubspot.com (see README.md for the pages). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hubspot.h"
#include "hubspot_upsert.h"
#include "sim_time.h"

/* Version segments per API family; the first is HubSpot's current one. A
 * new date version is one edit here. */
static const char *const v_objects[] = {"2026-09", "2026-03", NULL};
static const char *const v_properties[] = {"2026-09", "2026-03", NULL};
static const char *const v_lists[] = {"2026-09", "2026-03", NULL};
static const char *const v_commprefs[] = {"2026-09", "2026-03", "v4", NULL};
static const char *const v_oauth[] = {"2026-03", "v3", NULL};

static const struct sim_version_family hs_families[] = {
    {"objects", v_objects},     {"properties", v_properties}, {"lists", v_lists},
    {"commprefs", v_commprefs}, {"oauth", v_oauth},           {NULL, NULL},
};

/* The pre-2026 paths carry the version before the family name. */
static const struct sim_alias hs_aliases[] = {
    {"/crm/v3/objects/", "/crm/objects/2026-09/"},
    {"/crm/v3/properties/", "/crm/properties/2026-09/"},
    {"/crm/v3/lists", "/crm/lists/2026-09"},
    {NULL, NULL},
};

#define OBJ "/crm/objects/@objects/contacts"
#define LISTS "/crm/lists/@lists"
#define PREFS "/communication-preferences/@commprefs"

static const struct sim_route hs_routes[] = {
    {"POST", "/oauth/@oauth/token", "oauth.token", HS_NOAUTH, hs_oauth_token},
    {"POST", OBJ "/search", "contacts.search", HS_SEARCH, hs_contacts_search},
    {"POST", OBJ "/batch/read", "contacts.batch.read", 0, hs_contacts_batch_read},
    {"POST", OBJ "/batch/create", "contacts.batch.create", 0, hs_contacts_batch_create},
    {"POST", OBJ "/batch/update", "contacts.batch.update", 0, hs_contacts_batch_update},
    {"POST", OBJ "/batch/upsert", "contacts.batch.upsert", 0, hs_contacts_batch_upsert},
    {"POST", OBJ "/batch/archive", "contacts.batch.archive", 0, hs_contacts_batch_archive},
    {"POST", OBJ "/merge", "contacts.merge", 0, hs_contacts_merge},
    {"GET", OBJ, "contacts.list", 0, hs_contacts_list},
    {"POST", OBJ, "contacts.create", 0, hs_contacts_create},
    {"GET", OBJ "/*", "contacts.get", 0, hs_contacts_get},
    {"PATCH", OBJ "/*", "contacts.update", 0, hs_contacts_update},
    {"DELETE", OBJ "/*", "contacts.archive", 0, hs_contacts_archive},
    {"GET", "/crm/properties/@properties/contacts", "properties.list", 0, hs_properties_list},
    {"POST", "/crm/properties/@properties/contacts", "properties.create", 0, hs_properties_create},
    {"GET", "/crm/properties/@properties/contacts/*", "properties.get", 0, hs_properties_get},
    {"POST", LISTS, "lists.create", 0, hs_lists_create},
    {"POST", LISTS "/search", "lists.search", 0, hs_lists_search},
    {"GET", LISTS "/*", "lists.get", 0, hs_lists_get},
    {"GET", LISTS "/object-type-id/*/name/*", "lists.get_by_name", 0, hs_lists_get_by_name},
    {"PUT", LISTS "/*/memberships/add", "lists.memberships.add", 0, hs_lists_add},
    {"PUT", LISTS "/*/memberships/remove", "lists.memberships.remove", 0, hs_lists_remove},
    {"PUT", LISTS "/*/memberships/add-and-remove", "lists.memberships.add_and_remove", 0,
     hs_lists_add_remove},
    {"GET", LISTS "/*/memberships", "lists.memberships.read", 0, hs_lists_memberships},
    {"GET", PREFS "/definitions", "prefs.definitions", 0, hs_prefs_definitions},
    {"POST", PREFS "/statuses/batch/read", "prefs.statuses.batch.read", 0, hs_prefs_batch_read},
    {"POST", PREFS "/statuses/batch/write", "prefs.statuses.batch.write", 0, hs_prefs_batch_write},
};

/* --- error bodies --- */

static _Atomic uint64_t correlation_seq;

static void correlation_id(char *buf, size_t bufsize)
{
    uint64_t n = atomic_fetch_add(&correlation_seq, 1) + 1;

    snprintf(buf, bufsize, "5e1a0000-0000-4000-8000-%012llx", (unsigned long long)n);
}

void hs_error_body(struct sim_response *resp, int status, const char *category, const char *message)
{
    char cid[48];
    json_t *body;

    correlation_id(cid, sizeof(cid));
    body =
        json_pack("{s:s, s:s, s:s}", "status", "error", "message", message, "correlationId", cid);
    if (category != NULL)
        json_object_set_new(body, "category", json_string(category));
    sim_resp_json(resp, status, body);
}

void hs_error_detail(struct sim_response *resp, json_t *errors_take, json_t *context_take)
{
    if (resp->json == NULL) {
        json_decref(errors_take);
        json_decref(context_take);
        return;
    }
    if (errors_take != NULL)
        json_object_set_new(resp->json, "errors", errors_take);
    if (context_take != NULL)
        json_object_set_new(resp->json, "context", context_take);
}

static void rate_limited(struct sim_response *resp, const char *policy, const char *message)
{
    char cid[48];

    correlation_id(cid, sizeof(cid));
    sim_resp_json(resp, 429,
                  json_pack("{s:s, s:s, s:s, s:s, s:s}", "status", "error", "message", message,
                            "errorType", "RATE_LIMIT", "correlationId", cid, "policyName", policy));
}

static void hs_expired(struct sim *sim, struct sim_response *resp)
{
    (void)sim;
    hs_error_body(resp, 401, "EXPIRED_AUTHENTICATION",
                  "The OAuth token used to make this call expired 1 second(s) ago.");
}

/* --- admission: auth and rate limits --- */

/* Re-sizes a limiter when its option changed through /__sim/config. */
static void sync_window(struct sim_window *w, int64_t max, int64_t window_ms)
{
    if (w->max == (uint64_t)max)
        return;
    sim_window_free(w);
    if (sim_window_init(w, (uint64_t)max, window_ms) != 0)
        sim_window_init(w, 0, window_ms); /* out of memory: unlimited */
}

static int hs_admit(struct sim *sim, const struct sim_route *route, struct sim_request *req,
                    struct sim_response *resp)
{
    struct hs_state *hs = hs_state(sim);
    uint64_t rem10 = 0, remday = 0;
    int64_t retry, ago;
    enum sim_token_state ts;

    if (route->flags & HS_NOAUTH)
        return 0;
    ts = sim_auth_check(&sim->auth, req->bearer, req->now_ms, &ago);
    if (ts == SIM_TOKEN_EXPIRED) {
        char msg[128];

        snprintf(msg, sizeof(msg),
                 "The OAuth token used to make this call expired %lld second(s) ago.",
                 (long long)(ago / 1000 > 0 ? ago / 1000 : 1));
        hs_error_body(resp, 401, "EXPIRED_AUTHENTICATION", msg);
        return 1;
    }
    if (ts == SIM_TOKEN_INVALID) {
        hs_error_body(resp, 401, "INVALID_AUTHENTICATION",
                      "Authentication credentials not found. This API supports OAuth 2.0 "
                      "authentication and you can find more details at "
                      "https://developers.hubspot.com/docs/methods/auth/oauth-overview");
        return 1;
    }
    if (!sim->opt.rate_limits)
        return 0;
    if (route->flags & HS_SEARCH) {
        /* Search has its own per-second limit and, as documented, its
         * responses carry no rate-limit headers. */
        sync_window(&hs->search_secondly, sim->opt.search_per_second, 1000);
        if (!sim_window_take(&hs->search_secondly, req->now_ms, &rem10, &retry)) {
            rate_limited(resp, "SECONDLY", "You have reached your secondly limit.");
            return 1;
        }
    } else {
        sync_window(&hs->ten_secondly, sim->opt.ten_secondly_max, 10000);
        if (!sim_window_take(&hs->ten_secondly, req->now_ms, &rem10, &retry)) {
            rate_limited(resp, "TEN_SECONDLY_ROLLING",
                         "You have reached your ten_secondly_rolling limit.");
            return 1;
        }
    }
    hs->daily.max = (uint64_t)sim->opt.daily_max;
    if (!sim_daily_take(&hs->daily, req->now_ms, &remday, &retry)) {
        rate_limited(resp, "DAILY", "You have reached your daily limit.");
        return 1;
    }
    if (!(route->flags & HS_SEARCH)) {
        int64_t max = sim->opt.ten_secondly_max;
        int64_t secondly = max > 0 ? (max + 9) / 10 : 0;

        if (sim->opt.daily_max > 0) {
            sim_resp_header(resp, "X-HubSpot-RateLimit-Daily", "%lld",
                            (long long)sim->opt.daily_max);
            sim_resp_header(resp, "X-HubSpot-RateLimit-Daily-Remaining", "%llu",
                            (unsigned long long)remday);
        }
        if (max > 0) {
            sim_resp_header(resp, "X-HubSpot-RateLimit-Interval-Milliseconds", "10000");
            sim_resp_header(resp, "X-HubSpot-RateLimit-Max", "%lld", (long long)max);
            sim_resp_header(resp, "X-HubSpot-RateLimit-Remaining", "%llu",
                            (unsigned long long)rem10);
            sim_resp_header(resp, "X-HubSpot-RateLimit-Secondly", "%lld", (long long)secondly);
            sim_resp_header(
                resp, "X-HubSpot-RateLimit-Secondly-Remaining", "%llu",
                (unsigned long long)(rem10 < (uint64_t)secondly ? rem10 : (uint64_t)secondly));
        }
    }
    return 0;
}

/* --- OAuth refresh-token grant (RFC 6749 §6, errors §5.2) --- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Finds `name` in an application/x-www-form-urlencoded body and decodes it.
 * Returns 1 if found, 0 if not, -1 if malformed or too long. */
static int form_get(const char *body, size_t len, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    size_t i = 0;

    while (i < len) {
        size_t end = i;

        while (end < len && body[end] != '&')
            end++;
        if (end - i > nlen && strncmp(body + i, name, nlen) == 0 && body[i + nlen] == '=') {
            size_t o = 0;

            for (size_t k = i + nlen + 1; k < end; k++) {
                int c = (unsigned char)body[k];

                if (c == '+') {
                    c = ' ';
                } else if (c == '%') {
                    int hi, lo;

                    if (k + 2 >= end)
                        return -1;
                    hi = hexval(body[k + 1]);
                    lo = hexval(body[k + 2]);
                    if (hi < 0 || lo < 0)
                        return -1;
                    c = hi * 16 + lo;
                    k += 2;
                }
                if (o + 1 >= outlen)
                    return -1;
                out[o++] = (char)c;
            }
            out[o] = '\0';
            return 1;
        }
        i = end + 1;
    }
    return 0;
}

static void oauth_error(struct sim_response *resp, int status, const char *error,
                        const char *description)
{
    sim_resp_json(resp, status,
                  json_pack("{s:s, s:s}", "error", error, "error_description", description));
    sim_resp_header(resp, "Cache-Control", "no-store");
    sim_resp_header(resp, "Pragma", "no-cache");
}

void hs_oauth_token(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    const char *ctype = sim_req_header(req, "Content-Type");
    char grant[64], cid[256], secret[256], rt[512];
    char access[80], new_rt[80];
    int g, c, s, r;

    if (ctype == NULL || strncasecmp(ctype, "application/x-www-form-urlencoded", 33) != 0) {
        oauth_error(resp, 400, "invalid_request",
                    "the token request must be application/x-www-form-urlencoded");
        return;
    }
    g = form_get(req->body, req->body_len, "grant_type", grant, sizeof(grant));
    c = form_get(req->body, req->body_len, "client_id", cid, sizeof(cid));
    s = form_get(req->body, req->body_len, "client_secret", secret, sizeof(secret));
    r = form_get(req->body, req->body_len, "refresh_token", rt, sizeof(rt));
    if (g < 0 || c < 0 || s < 0 || r < 0) {
        oauth_error(resp, 400, "invalid_request", "malformed form body");
        return;
    }
    if (g == 0) {
        oauth_error(resp, 400, "invalid_request", "missing grant_type");
        return;
    }
    if (strcmp(grant, "refresh_token") != 0) {
        oauth_error(resp, 400, "unsupported_grant_type",
                    "the simulator supports grant_type=refresh_token only");
        return;
    }
    if (c == 0 || s == 0 || strcmp(cid, sim->opt.client_id) != 0 ||
        strcmp(secret, sim->opt.client_secret) != 0) {
        oauth_error(resp, 401, "invalid_client", "client authentication failed");
        return;
    }
    if (r == 0) {
        oauth_error(resp, 400, "invalid_request", "missing refresh_token");
        return;
    }
    if (!sim_auth_has_refresh(&sim->auth, rt)) {
        oauth_error(resp, 400, "invalid_grant", "refresh token is invalid, expired or revoked");
        return;
    }
    if (sim_auth_issue(&sim->auth, &sim->rng, req->now_ms, sim->opt.token_lifetime_s * 1000, access,
                       sizeof(access)) != 0) {
        oauth_error(resp, 500, "server_error", "cannot issue a token");
        return;
    }
    if (sim->opt.rotate_refresh_tokens) {
        sim_auth_random(&sim->rng, "sim-rt-", new_rt, sizeof(new_rt));
        sim_auth_remove_refresh(&sim->auth, rt);
        sim_auth_add_refresh(&sim->auth, new_rt);
    } else {
        snprintf(new_rt, sizeof(new_rt), "%s", rt);
    }
    sim_resp_json(resp, 200,
                  json_pack("{s:s, s:s, s:I, s:s}", "access_token", access, "refresh_token", new_rt,
                            "expires_in", (json_int_t)sim->opt.token_lifetime_s, "token_type",
                            "bearer"));
    sim_resp_header(resp, "Cache-Control", "no-store");
    sim_resp_header(resp, "Pragma", "no-cache");
}

/* --- contact property definitions --- */

struct default_prop {
    const char *name, *label, *type, *field_type;
    bool read_only;
};

static const struct default_prop default_props[] = {
    {"email", "Email", "string", "text", false},
    {"firstname", "First Name", "string", "text", false},
    {"lastname", "Last Name", "string", "text", false},
    {"phone", "Phone Number", "string", "phonenumber", false},
    {"company", "Company Name", "string", "text", false},
    {"date_of_birth", "Date of birth", "string", "text", false},
    {"lifecyclestage", "Lifecycle Stage", "enumeration", "radio", false},
    {"createdate", "Create Date", "datetime", "date", true},
    {"lastmodifieddate", "Last Modified Date", "datetime", "date", true},
    {"hs_object_id", "Record ID", "number", "number", true},
    {"hs_merged_object_ids", "Merged Contact IDs", "enumeration", "checkbox", true},
};

static json_t *make_prop_def(const char *name, const char *label, const char *type,
                             const char *field_type, const char *group, bool unique, bool read_only,
                             int64_t now)
{
    char t[32];

    sim_time_format(now, t, sizeof(t));
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:o, s:{s:b, s:b}}",
                     "name", name, "label", label, "type", type, "fieldType", field_type,
                     "groupName", group, "createdAt", t, "updatedAt", t, "hasUniqueValue", unique,
                     "hidden", 0, "calculated", 0, "options", json_array(), "modificationMetadata",
                     "readOnlyValue", read_only, "archivable", !read_only);
}

static void default_properties(struct hs_state *hs, int64_t now)
{
    json_object_clear(hs->properties);
    for (size_t i = 0; i < sizeof(default_props) / sizeof(default_props[0]); i++) {
        const struct default_prop *p = &default_props[i];

        json_object_set_new(hs->properties, p->name,
                            make_prop_def(p->name, p->label, p->type, p->field_type,
                                          "contactinformation", false, p->read_only, now));
    }
}

json_t *hs_property_def(struct sim *sim, const char *name)
{
    return json_object_get(hs_state(sim)->properties, name);
}

const char *hs_property_type(struct sim *sim, const char *name)
{
    const char *t = json_string_value(json_object_get(hs_property_def(sim, name), "type"));

    return t ? t : "string";
}

void hs_properties_list(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    json_t *results = json_array();
    const char *key;
    json_t *def;

    (void)req;
    json_object_foreach(hs_state(sim)->properties, key, def)
    {
        json_array_append(results, def);
    }
    sim_resp_json(resp, 200, json_pack("{s:o}", "results", results));
}

void hs_properties_get(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    json_t *def = hs_property_def(sim, req->caps[0]);

    if (def == NULL) {
        hs_error_body(resp, 404, "OBJECT_NOT_FOUND", "Unable to find property");
        return;
    }
    sim_resp_json(resp, 200, json_incref(def));
}

static bool valid_prop_name(const char *s)
{
    if (s[0] == '\0' || !islower((unsigned char)s[0]))
        return false;
    for (; *s; s++) {
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_')
            return false;
    }
    return true;
}

/* HubSpot allows up to 10 unique-value properties per object. */
#define HS_MAX_UNIQUE_PROPS 10

void hs_properties_create(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    struct hs_state *hs = hs_state(sim);
    json_t *body = sim_req_json(sim, req, resp);
    const char *name, *label, *type, *field_type, *group;
    bool unique;
    size_t nunique = 0;
    const char *key;
    json_t *def;

    if (body == NULL)
        return;
    name = json_string_value(json_object_get(body, "name"));
    label = json_string_value(json_object_get(body, "label"));
    type = json_string_value(json_object_get(body, "type"));
    field_type = json_string_value(json_object_get(body, "fieldType"));
    group = json_string_value(json_object_get(body, "groupName"));
    unique = json_is_true(json_object_get(body, "hasUniqueValue"));
    if (name == NULL || label == NULL || type == NULL || field_type == NULL || group == NULL) {
        hs_error_body(resp, 400, "VALIDATION_ERROR",
                      "name, label, type, fieldType and groupName are required");
        goto out;
    }
    if (!valid_prop_name(name)) {
        hs_error_body(resp, 400, "VALIDATION_ERROR",
                      "Property name must start with a lowercase letter and contain only "
                      "lowercase letters, digits and underscores");
        goto out;
    }
    if (strcmp(type, "string") != 0 && strcmp(type, "number") != 0 && strcmp(type, "date") != 0 &&
        strcmp(type, "datetime") != 0 && strcmp(type, "enumeration") != 0 &&
        strcmp(type, "bool") != 0) {
        hs_error_body(resp, 400, "VALIDATION_ERROR", "Unknown property type");
        goto out;
    }
    if (hs_property_def(sim, name) != NULL) {
        char msg[256];

        snprintf(msg, sizeof(msg), "Property named '%s' already exists.", name);
        hs_error_body(resp, 409, "CONFLICT", msg);
        goto out;
    }
    json_object_foreach(hs->properties, key, def)
    {
        if (json_is_true(json_object_get(def, "hasUniqueValue")))
            nunique++;
    }
    if (unique && nunique >= HS_MAX_UNIQUE_PROPS) {
        hs_error_body(resp, 400, "VALIDATION_ERROR",
                      "Cannot create more than 10 unique value properties for this object");
        goto out;
    }
    if (unique && sim_coll_add_unique(hs_contacts(sim), name) != 0) {
        hs_error_body(resp, 400, "VALIDATION_ERROR", "Existing records have duplicate values");
        goto out;
    }
    def = make_prop_def(name, label, type, field_type, group, unique, false, req->now_ms);
    json_object_set(hs->properties, name, def);
    sim_resp_json(resp, 201, def);
out:
    json_decref(body);
}

/* --- lifecycle, dump, seed --- */

static int hs_init(struct sim *sim, char *err, size_t errlen)
{
    struct hs_state *hs = calloc(1, sizeof(*hs));
    struct sim_coll *contacts;

    if (hs == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    sim->flavor_data = hs;
    hs->properties = json_object();
    hs->lists = json_object();
    hs->statuses = json_object();
    hs->subscriptions = hs_default_subscriptions(sim_now_ms(sim));
    hs->next_list_id = 1;
    default_properties(hs, sim_now_ms(sim));
    contacts = sim_store_coll(sim->store, HS_COLL_CONTACTS, true);
    if (contacts == NULL || sim_coll_add_unique(contacts, "email") != 0 ||
        sim_window_init(&hs->ten_secondly, (uint64_t)sim->opt.ten_secondly_max, 10000) != 0 ||
        sim_window_init(&hs->search_secondly, (uint64_t)sim->opt.search_per_second, 1000) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    sim_daily_init(&hs->daily, (uint64_t)sim->opt.daily_max);
    return 0;
}

static void hs_fini(struct sim *sim)
{
    struct hs_state *hs = hs_state(sim);

    if (hs == NULL)
        return;
    sim_window_free(&hs->ten_secondly);
    sim_window_free(&hs->search_secondly);
    json_decref(hs->properties);
    json_decref(hs->lists);
    json_decref(hs->statuses);
    json_decref(hs->subscriptions);
    free(hs);
    sim->flavor_data = NULL;
}

static void hs_reset(struct sim *sim)
{
    struct hs_state *hs = hs_state(sim);
    struct sim_coll *contacts = hs_contacts(sim);
    const char *key;
    json_t *def;
    int64_t now = sim_now_ms(sim);

    /* Custom unique properties go away with their definitions; keep the
     * email index (sim_store_clear emptied it). */
    json_object_foreach(hs->properties, key, def)
    {
        if (strcmp(key, "email") != 0)
            json_object_del(contacts->unique, key);
    }
    default_properties(hs, now);
    json_object_clear(hs->lists);
    json_object_clear(hs->statuses);
    json_decref(hs->subscriptions);
    hs->subscriptions = hs_default_subscriptions(now);
    hs->next_list_id = 1;
    sync_window(&hs->ten_secondly, 0, 10000);
    sync_window(&hs->ten_secondly, sim->opt.ten_secondly_max, 10000);
    sync_window(&hs->search_secondly, 0, 1000);
    sync_window(&hs->search_secondly, sim->opt.search_per_second, 1000);
    sim_daily_init(&hs->daily, (uint64_t)sim->opt.daily_max);
}

static json_t *hs_dump(struct sim *sim)
{
    struct hs_state *hs = hs_state(sim);

    return json_pack("{s:O, s:O, s:O, s:O, s:{s:I, s:I}}", "properties", hs->properties, "lists",
                     hs->lists, "subscriptions", hs->subscriptions, "statuses", hs->statuses,
                     "usage", "daily_used", (json_int_t)hs->daily.used, "ten_secondly_in_window",
                     (json_int_t)hs->ten_secondly.count);
}

/* Seeding: flavour state first (custom properties make unique indexes),
 * then every contact gets HubSpot's system properties. The core seeds the
 * records before calling this, so unique properties are (re)indexed here. */
static int hs_seed(struct sim *sim, json_t *fs, char *err, size_t errlen)
{
    struct hs_state *hs = hs_state(sim);
    struct sim_coll *contacts = hs_contacts(sim);
    const char *key;
    json_t *val;

    if (fs != NULL && !json_is_object(fs)) {
        snprintf(err, errlen, "'flavor_state' must be an object");
        return -1;
    }
    json_object_foreach(json_object_get(fs, "properties"), key, val)
    {
        if (!json_is_object(val)) {
            snprintf(err, errlen, "properties.%s: expected an object", key);
            return -1;
        }
        json_object_set(hs->properties, key, val);
        if (json_is_true(json_object_get(val, "hasUniqueValue")) &&
            sim_coll_add_unique(contacts, key) != 0) {
            snprintf(err, errlen, "properties.%s: existing contacts have duplicate values", key);
            return -1;
        }
    }
    json_object_foreach(json_object_get(fs, "lists"), key, val)
    {
        uint64_t id = strtoull(key, NULL, 10);

        json_object_set(hs->lists, key, val);
        if (id >= hs->next_list_id)
            hs->next_list_id = id + 1;
    }
    if (json_is_array(json_object_get(fs, "subscriptions"))) {
        json_decref(hs->subscriptions);
        hs->subscriptions = json_deep_copy(json_object_get(fs, "subscriptions"));
    }
    json_object_foreach(json_object_get(fs, "statuses"), key, val)
    {
        json_object_set(hs->statuses, key, val);
    }
    for (size_t i = 0; i < contacts->n; i++) {
        struct sim_record *rec = contacts->recs[i];
        const char *email = json_string_value(json_object_get(rec->props, "email"));
        char buf[32];

        if (email != NULL) {
            char low[512];
            size_t k;

            for (k = 0; email[k] != '\0' && k + 1 < sizeof(low); k++)
                low[k] = (char)tolower((unsigned char)email[k]);
            low[k] = '\0';
            if (strcmp(low, email) != 0)
                sim_coll_set_prop(contacts, rec, "email", low);
        }
        snprintf(buf, sizeof(buf), "%llu", (unsigned long long)rec->id);
        sim_coll_set_prop(contacts, rec, "hs_object_id", buf);
        sim_coll_set_prop(contacts, rec, "createdate",
                          sim_time_format(rec->created_ms, buf, sizeof(buf)));
        sim_coll_set_prop(contacts, rec, "lastmodifieddate",
                          sim_time_format(rec->updated_ms, buf, sizeof(buf)));
    }
    return 0;
}

/* Bodies parsed before the lock: batch upserts (hubspot_upsert.h). */
static void *hs_prepare(const struct sim_route *route, const struct sim_request *req)
{
    if (route->handler != hs_contacts_batch_upsert)
        return NULL;
    return hs_upsert_parse(req->body, req->body_len);
}

static void hs_release(const struct sim_route *route, void *prepared)
{
    (void)route;
    hs_upsert_free(prepared);
}

const struct sim_flavor_ops sim_flavor_hubspot = {
    .version = SIM_FLAVOR_OPS_VERSION,
    .name = "hubspot",
    .routes = hs_routes,
    .nroutes = sizeof(hs_routes) / sizeof(hs_routes[0]),
    .families = hs_families,
    .init = hs_init,
    .fini = hs_fini,
    .admit = hs_admit,
    .error = hs_error_body,
    .dump = hs_dump,
    .seed = hs_seed,
    .reset = hs_reset,
    .expired = hs_expired,
    .aliases = hs_aliases,
    .prepare = hs_prepare,
    .release = hs_release,
};
