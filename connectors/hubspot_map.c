/* HubSpot field mapping, projection and request composition. Pure: no
 * network, no loop, no state (STYLE.md 3); tests/unit/test_hubspot_map.c
 * calls every function here directly. The mapping is documented in
 * docs/hubspot.md. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "change_json.h"
#include "crm_value.h"
#include "hubspot.h"
#include "jdump.h"
#include "timefmt.h"

int hs_map_init(struct hs_map *m, const struct hs_map_config *cfg, struct error *err)
{
    memset(m, 0, sizeof(*m));
    /* Borrowed from the configuration, which outlives the connector. */
    m->id_property = cfg->id_property ? cfg->id_property : "member_key";
    m->points_property = cfg->points_property ? cfg->points_property : "loyalty_points";
    m->tier_property = cfg->tier_property ? cfg->tier_property : "loyalty_tier";
    if (crm_pairs_parse(cfg->subscriptions, "subscriptions", &m->subs, err) != 0 ||
        crm_pairs_parse(cfg->legal_basis_map, "legal_basis_map", &m->bases, err) != 0 ||
        crm_pairs_parse(cfg->attribute_map, "attribute_map", &m->attrs, err) != 0 ||
        crm_list_parse(cfg->purposes, &m->purposes, err) != 0) {
        hs_map_free(m);
        return -1;
    }
    for (size_t i = 0; i < m->subs.n; i++) {
        char *end;
        strtoll(m->subs.p[i].val, &end, 10);
        if (*end != '\0' || !isdigit((unsigned char)m->subs.p[i].val[0])) {
            error_set(err, "subscriptions: \"%s\" is not a subscription type id", m->subs.p[i].val);
            hs_map_free(m);
            return -1;
        }
    }
    if (crm_tiers_parse(cfg->tiers, &m->tiers, err) != 0) {
        hs_map_free(m);
        return -1;
    }
    return 0;
}

void hs_map_free(struct hs_map *m)
{
    crm_pairs_free(&m->subs);
    crm_pairs_free(&m->bases);
    crm_pairs_free(&m->attrs);
    crm_list_free(&m->purposes);
    crm_tiers_free(&m->tiers);
    memset(m, 0, sizeof(*m));
}

int hs_split_consent_field(const char *field, char *purpose, size_t psize, char *channel,
                           size_t csize)
{
    const char *p, *slash;

    if (strncmp(field, "consent/", 8) != 0)
        return -1;
    p = field + 8;
    slash = strchr(p, '/');
    if (slash == NULL || slash == p || slash[1] == '\0' || strchr(slash + 1, '/') != NULL ||
        (size_t)(slash - p) >= psize || strlen(slash + 1) >= csize)
        return -1;
    memcpy(purpose, p, (size_t)(slash - p));
    purpose[slash - p] = '\0';
    snprintf(channel, csize, "%s", slash + 1);
    return 0;
}

static int is_email_consent(const struct push_record *rec)
{
    size_t n = strlen(rec->field);
    return rec->kind == CHANGE_CONSENT && n > 6 && strcmp(rec->field + n - 6, "/email") == 0;
}

void hs_batch_class(const struct push_record *rec, char *out, size_t outsize)
{
    if (rec->kind == CHANGE_ERASE)
        snprintf(out, outsize, "erase");
    else if (is_email_consent(rec))
        snprintf(out, outsize, "subscriptions");
    else if (rec->kind == CHANGE_SEGMENT && strncmp(rec->field, "segment/", 8) == 0)
        snprintf(out, outsize, "list:%s", rec->field + 8);
    else
        snprintf(out, outsize, "contacts");
}

json_t *hs_distinct_subscribers(json_t *inputs, const char *state)
{
    json_t *out = json_array(), *seen = json_object();
    size_t k;
    json_t *in;

    json_array_foreach(inputs, k, in)
    {
        const char *email = json_string_value(json_object_get(in, "subscriberIdString"));
        const char *st = json_string_value(json_object_get(in, "statusState"));
        char low[512];
        size_t i;

        if (email == NULL || st == NULL || strcmp(st, state) != 0)
            continue;
        for (i = 0; email[i] != '\0' && i + 1 < sizeof(low); i++)
            low[i] = (char)tolower((unsigned char)email[i]);
        low[i] = '\0';
        if (json_object_get(seen, low) != NULL)
            continue;
        json_object_set_new(seen, low, json_true());
        json_array_append_new(out, json_string(email));
    }
    json_decref(seen);
    return out;
}

json_t *hs_member_emails(const struct hs_map *m, json_t *contacts)
{
    json_t *out = json_array(), *seen = json_object();
    size_t i;
    json_t *c;

    json_array_foreach(contacts, i, c)
    {
        json_t *props = json_object_get(c, "properties");
        json_t *e = json_object_get(props, "email");
        const char *key = json_string_value(json_object_get(props, m->id_property));
        char low[512];
        size_t k;

        if (!json_is_string(e) || json_string_length(e) == 0 || key == NULL || key[0] == '\0')
            continue;
        for (k = 0; json_string_value(e)[k] != '\0' && k + 1 < sizeof(low); k++)
            low[k] = (char)tolower((unsigned char)json_string_value(e)[k]);
        low[k] = '\0';
        if (json_object_get(seen, low) != NULL)
            continue;
        json_object_set_new(seen, low, json_true());
        json_array_append(out, e);
    }
    json_decref(seen);
    return out;
}

size_t hs_record_cost(const struct push_record *rec, int member_new)
{
    /* A statuses batch write takes one input per (address, subscription):
     * every email consent record is one. Every other class takes one input
     * per member (a contact upsert, a list membership id, an archive id). */
    if (is_email_consent(rec))
        return 1;
    return member_new ? 1 : 0;
}

/* PublicStatusRequest.statusState of HubSpot's 2026-09 statuses batch write
 * (subscriptions.json): SUBSCRIBED, UNSUBSCRIBED or NOT_SPECIFIED. The
 * older per-email endpoints' NOT_SUBSCRIBED is refused there with a 400
 * that would fail the whole batch. */
static const char *status_state(enum consent_status s)
{
    return s == CONSENT_GRANTED  ? HS_STATUS_SUBSCRIBED
           : s == CONSENT_DENIED ? HS_STATUS_UNSUBSCRIBED
                                 : HS_STATUS_NOT_SPECIFIED;
}

/* How HubSpot property values are text: booleans as words, reals as they
 * are (crm_value_text). */
#define HS_VALUE_TEXT (CRM_VT_BOOL_WORDS | CRM_VT_REAL)

/* {"value": X} -> text of X ("" for null); -1 when not that shape. */
static int value_text(const char *value_json, char *out, size_t outsize)
{
    return crm_value_text(value_json, HS_VALUE_TEXT, out, outsize, NULL);
}

/* An email consent is a subscription status, other consent a status
 * property (date and source are written along but a timestamp-only change
 * must not cause a push). */
static int project_consent(const char *field, const char *value_json, char *out, size_t outsize)
{
    struct consent_value cv;
    json_t *root = NULL;
    char purpose[128], channel[64];
    int rc = -1;

    if (hs_split_consent_field(field, purpose, sizeof(purpose), channel, sizeof(channel)) == 0 &&
        consent_value_from_json(value_json, &cv, &root) == 0) {
        snprintf(out, outsize, "%s",
                 strcmp(channel, "email") == 0 ? status_state(cv.status)
                                               : consent_status_name(cv.status));
        rc = 0;
    }
    json_decref(root);
    return rc;
}

/* What HubSpot keeps of each value, as text: consent its status, points
 * the balance digits, the other kinds as every CRM does (a segment in/out,
 * profile and tier the value). */
int hs_project(enum change_kind kind, const char *field, const char *value_json, char *out,
               size_t outsize)
{
    if (kind == CHANGE_CONSENT)
        return project_consent(field, value_json, out, outsize);
    if (kind == CHANGE_POINTS)
        return crm_project_balance(value_json, out, outsize);
    return crm_project_shared(kind, value_json, HS_VALUE_TEXT, out, outsize);
}

/* Adds the properties of one record to props (a crm_plan field function:
 * map is the struct hs_map). 0, or -1 with res rejected. */
static int record_props(const void *map, const struct push_record *rec, json_t *props,
                        struct push_result *res)
{
    const struct hs_map *m = map;
    char text[1024];

    switch (rec->kind) {
    case CHANGE_CONSENT: {
        char purpose[128], channel[64], name[256], ts[40];
        struct consent_value cv;
        json_t *holder = NULL;
        if (hs_split_consent_field(rec->field, purpose, sizeof(purpose), channel,
                                   sizeof(channel)) != 0 ||
            consent_value_from_json(rec->value_json, &cv, &holder) != 0) {
            crm_reject(res, "unreadable consent value for %s", rec->field);
            return -1;
        }
        snprintf(name, sizeof(name), "consent_%s_%s", purpose, channel);
        json_object_set_new(props, name, json_string(consent_status_name(cv.status)));
        snprintf(name, sizeof(name), "consent_%s_%s_date", purpose, channel);
        json_object_set_new(props, name,
                            json_string(timefmt_format_rfc3339(cv.collected_at, ts, sizeof(ts))));
        snprintf(name, sizeof(name), "consent_%s_%s_source", purpose, channel);
        json_object_set_new(props, name, json_string(cv.source ? cv.source : ""));
        json_decref(holder);
        return 0;
    }
    case CHANGE_POINTS:
        if (strcmp(rec->field, "points/balance") != 0 ||
            hs_project(rec->kind, rec->field, rec->value_json, text, sizeof(text)) != 0) {
            crm_reject(res, "HubSpot takes a points balance, not %s", rec->field);
            return -1;
        }
        json_object_set_new(props, m->points_property, json_string(text));
        if (m->tiers.n > 0)
            /* The tier goes with the balance it is derived from. */
            json_object_set_new(props, m->tier_property,
                                json_string(crm_tier_of(&m->tiers, strtoll(text, NULL, 10))));
        return 0;
    case CHANGE_TIER:
        if (hs_project(rec->kind, rec->field, rec->value_json, text, sizeof(text)) != 0) {
            crm_reject(res, "unreadable tier value for %s", rec->field);
            return -1;
        }
        json_object_set_new(props, m->tier_property, json_string(text));
        return 0;
    case CHANGE_PROFILE: {
        const char *prop = crm_profile_target(&m->attrs, rec->field, res);
        if (prop == NULL)
            return -1;
        if (hs_project(rec->kind, rec->field, rec->value_json, text, sizeof(text)) != 0) {
            crm_reject(res, "unreadable profile value for %s", rec->field);
            return -1;
        }
        /* HubSpot clears a property with "". */
        json_object_set_new(props, prop, json_string(text));
        return 0;
    }
    default:
        crm_reject(res, "%s does not go in a contacts batch", rec->field);
        return -1;
    }
}

int hs_plan_contacts(const struct hs_map *m, const struct push_record *recs, size_t n,
                     struct push_result *res, int with_props, struct crm_plan *p)
{
    /* A marker of a contact gone from HubSpot ("archived:12") is not an id
     * to address: the member is written by id property. */
    return crm_plan_members(recs, n, res, hs_is_record_id, with_props ? record_props : NULL, m,
                            CRM_PLAN_DROP_EMPTY, p);
}

char *hs_upsert_body(const struct hs_map *m, const struct crm_plan *p, const size_t *sel,
                     size_t nsel)
{
    json_t *inputs = json_array();
    json_t *body;
    char *text;

    for (size_t k = 0; k < nsel; k++) {
        const struct crm_group *g = &p->g[sel[k]];
        json_array_append_new(inputs, json_pack("{s:s, s:s, s:O}", "idProperty", m->id_property,
                                                "id", g->member, "properties", g->fields));
    }
    body = json_pack("{s:o}", "inputs", inputs);
    /* Compact, in the order built (issue 17: sorted and ASCII-only, as
     * canonical_dumps() writes, this body cost 3.9 % of a push's
     * instructions; HubSpot reads JSON in UTF-8, as the statuses bodies
     * always were). */
    text = jdump_compact(body);
    json_decref(body);
    return text;
}

char *hs_email_of(const char *profile_email_json)
{
    char text[512];

    if (profile_email_json == NULL || value_text(profile_email_json, text, sizeof(text)) != 0 ||
        strchr(text, '@') == NULL)
        return NULL;
    return strdup(text);
}

int hs_status_input(const struct hs_map *m, const struct push_record *rec, const char *email,
                    json_t **out, char *reason, size_t rsize)
{
    char purpose[128], channel[64], expl[512];
    const char *sub, *basis, *hs_basis;
    struct consent_value cv;
    json_t *holder = NULL, *in;

    *out = NULL;
    if (hs_split_consent_field(rec->field, purpose, sizeof(purpose), channel, sizeof(channel)) !=
            0 ||
        strcmp(channel, "email") != 0 ||
        consent_value_from_json(rec->value_json, &cv, &holder) != 0) {
        snprintf(reason, rsize, "unreadable email consent %s", rec->field);
        return -1;
    }
    sub = crm_pairs_get(&m->subs, purpose);
    if (sub == NULL) {
        snprintf(reason, rsize,
                 "consent purpose \"%s\" has no HubSpot subscription type (option "
                 "subscriptions)",
                 purpose);
        json_decref(holder);
        return -1;
    }
    /* A withdrawal (or an unknown) without a basis of its own is recorded
     * under the basis of "consent": the customer said no to a consent. */
    basis = cv.legal_basis ? cv.legal_basis : "consent";
    hs_basis = crm_pairs_get(&m->bases, basis);
    if (hs_basis == NULL) {
        snprintf(reason, rsize, "legal basis \"%s\" is not in legal_basis_map", basis);
        json_decref(holder);
        return -1;
    }
    /* Never personal data here: where and under which notice, not who. */
    snprintf(expl, sizeof(expl), "source=%s; proof=%s", cv.source ? cv.source : "unknown",
             cv.proof ? cv.proof : "none");
    in = json_pack("{s:s, s:I, s:s, s:s}", "subscriberIdString", email, "subscriptionId",
                   (json_int_t)strtoll(sub, NULL, 10), "statusState", status_state(cv.status),
                   "channel", "EMAIL");
    json_object_set_new(in, "legalBasis", json_string(hs_basis));
    json_object_set_new(in, "legalBasisExplanation", json_string(expl));
    json_decref(holder);
    *out = in;
    return 0;
}

char *hs_list_create_body(const char *segment)
{
    char name[256];
    json_t *o;
    char *text;

    snprintf(name, sizeof(name), "crmsyncd %s", segment);
    o = json_pack("{s:s, s:s, s:s}", "name", name, "objectTypeId", "0-1", "processingType",
                  "MANUAL");
    text = canonical_dumps(o);
    json_decref(o);
    return text;
}

static json_t *string_array(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

json_t *hs_read_by_key_body(const struct hs_map *m, json_t *inputs)
{
    /* BatchReadInputSimplePublicObjectId (contacts.json 2026-09) requires
     * properties and propertiesWithHistory; [] asks for no history. */
    return json_pack("{s:s, s:[s], s:[], s:o}", "idProperty", m->id_property, "properties",
                     m->id_property, "propertiesWithHistory", "inputs", inputs);
}

char *hs_memberships_body(const char *const *add, size_t nadd, const char *const *remove,
                          size_t nremove)
{
    json_t *o = json_pack("{s:o, s:o}", "recordIdsToAdd", string_array(add, nadd),
                          "recordIdsToRemove", string_array(remove, nremove));
    char *text = canonical_dumps(o);
    json_decref(o);
    return text;
}

json_t *hs_mapped_properties(const struct hs_map *m)
{
    json_t *a = json_array();
    char name[256];

    json_array_append_new(a, json_string(m->id_property));
    json_array_append_new(a, json_string("email"));
    json_array_append_new(a, json_string("lastmodifieddate"));
    json_array_append_new(a, json_string(m->points_property));
    json_array_append_new(a, json_string(m->tier_property));
    for (size_t i = 0; i < m->attrs.n; i++) {
        if (strcmp(m->attrs.p[i].val, "email") != 0)
            json_array_append_new(a, json_string(m->attrs.p[i].val));
    }
    for (size_t p = 0; p < m->purposes.n; p++) {
        for (const char *const *c = hs_property_channels; *c != NULL; c++) {
            snprintf(name, sizeof(name), "consent_%s_%s", m->purposes.v[p], *c);
            json_array_append_new(a, json_string(name));
            snprintf(name, sizeof(name), "consent_%s_%s_date", m->purposes.v[p], *c);
            json_array_append_new(a, json_string(name));
            snprintf(name, sizeof(name), "consent_%s_%s_source", m->purposes.v[p], *c);
            json_array_append_new(a, json_string(name));
        }
    }
    return a;
}

char *hs_search_body(const struct hs_map *m, int64_t gte, int64_t lt, long after, int limit)
{
    char g[24], l[24], a[24];
    json_t *o, *props = hs_mapped_properties(m);
    char *text;

    /* Read only: the ids merged into a contact (identities follow them). */
    json_array_append_new(props, json_string(HS_MERGED_PROPERTY));
    snprintf(g, sizeof(g), "%" PRId64, gte);
    snprintf(l, sizeof(l), "%" PRId64, lt);
    snprintf(a, sizeof(a), "%ld", after);
    o = json_pack("{s:[{s:[{s:s, s:s, s:s}, {s:s, s:s, s:s}]}], s:[{s:s, s:s}], s:i, s:s, s:o}",
                  "filterGroups", "filters", "propertyName", "lastmodifieddate", "operator", "GTE",
                  "value", g, "propertyName", "lastmodifieddate", "operator", "LT", "value", l,
                  "sorts", "propertyName", "lastmodifieddate", "direction", "ASCENDING", "limit",
                  limit, "after", a, "properties", props);
    text = canonical_dumps(o);
    json_decref(o);
    return text;
}

int hs_api_pathv(struct strbuf *b, int family, const char *version, const char *fmt, va_list ap)
{
    switch (family) {
    case HS_V_OBJECTS:
        strbuf_addf(b, "/crm/objects/%s/contacts", version);
        break;
    case HS_V_PROPERTIES:
        strbuf_addf(b, "/crm/properties/%s/contacts", version);
        break;
    case HS_V_LISTS:
        strbuf_addf(b, "/crm/lists/%s", version);
        break;
    default:
        strbuf_addf(b, "/communication-preferences/%s", version);
        break;
    }
    return strbuf_addv(b, fmt, ap);
}

int hs_api_path(struct strbuf *b, int family, const char *version, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = hs_api_pathv(b, family, version, fmt, ap);
    va_end(ap);
    return rc;
}

int hs_project_balance(const struct hs_map *m, const char *value_json, char *out, size_t outsize)
{
    int64_t b;

    if (crm_balance_of(value_json, &b) != 0)
        return -1;
    crm_balance_projection(&m->tiers, b, out, outsize);
    return 0;
}
