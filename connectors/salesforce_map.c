/* Salesforce mapping, projection and request composition: pure functions
 * (no connector, no loop, no sink), unit-tested in
 * tests/unit/test_salesforce_map.c. docs/salesforce.md has the tables. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "change_json.h"
#include "crm_value.h"
#include "jdump.h"
#include "salesforce.h"
#include "strbuf.h"

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

/* The names are borrowed from the configuration, which outlives the
 * connector (as its name does); only the parsed maps are the map's. */
int sf_map_init(struct sf_map *m, const struct sf_map_config *cfg, struct error *err)
{
    memset(m, 0, sizeof(*m));
    m->ext_id = or_empty(cfg->ext_id);
    m->points_field = or_empty(cfg->points_field);
    m->tier_field = or_empty(cfg->tier_field);
    m->flag_purpose = or_empty(cfg->flag_purpose);
    m->email_flag = or_empty(cfg->email_flag);
    m->phone_flag = or_empty(cfg->phone_flag);
    m->sms_flag = or_empty(cfg->sms_flag);
    m->post_flag = or_empty(cfg->post_flag);
    m->last_name_placeholder = or_empty(cfg->last_name_placeholder);
    m->consent_mode = cfg->consent_mode;
    m->points_mode = cfg->points_mode;
    if (m->ext_id[0] == '\0')
        return error_set(err, "external_id_field must not be empty");
    return crm_pairs_parse(cfg->attribute_map, "attribute_map", &m->attrs, err);
}

void sf_map_free(struct sf_map *m)
{
    crm_pairs_free(&m->attrs);
    memset(m, 0, sizeof(*m));
}

const char *sf_consent_flag(const struct sf_map *m, const char *field)
{
    const char *purpose, *channel, *f = NULL;
    size_t plen;

    if (strncmp(field, "consent/", 8) != 0)
        return NULL;
    purpose = field + 8;
    channel = strchr(purpose, '/');
    if (channel == NULL)
        return NULL;
    plen = (size_t)(channel - purpose);
    channel++;
    if (strlen(m->flag_purpose) != plen || strncmp(purpose, m->flag_purpose, plen) != 0)
        return NULL;
    if (strcmp(channel, "email") == 0)
        f = m->email_flag;
    else if (strcmp(channel, "phone") == 0)
        f = m->phone_flag;
    else if (strcmp(channel, "sms") == 0)
        f = m->sms_flag;
    else if (strcmp(channel, "post") == 0)
        f = m->post_flag;
    return f != NULL && f[0] != '\0' ? f : NULL;
}

void sf_batch_class(const struct sf_map *m, const struct push_record *rec, char *out,
                    size_t outsize)
{
    if (rec->kind == CHANGE_ERASE)
        snprintf(out, outsize, "erase");
    else if (rec->kind == CHANGE_CONSENT && m->consent_mode == SF_CONSENT_OBJECTS)
        snprintf(out, outsize, "ContactPointTypeConsent");
    else if (rec->kind == CHANGE_POINTS && m->points_mode == SF_POINTS_LOYALTY)
        snprintf(out, outsize, "TransactionJournal");
    else if (rec->kind == CHANGE_SEGMENT && strncmp(rec->field, "segment/", 8) == 0)
        snprintf(out, outsize, "CampaignMember:%s", rec->field + 8);
    else
        snprintf(out, outsize, "Contact");
}

size_t sf_batch_max(const char *class_key, size_t waiting, long bulk_threshold)
{
    if (strcmp(class_key, "Contact") == 0 && bulk_threshold > 0 &&
        waiting >= (size_t)bulk_threshold)
        return SF_MAX_BATCH;
    return SF_COLL_MAX;
}

/* {"value": X} -> text ("" for null); -1 when not that shape. Contact
 * fields take text and numbers: no booleans, no reals. */
static int value_text(const char *value_json, char *out, size_t outsize, int *is_null)
{
    return crm_value_text(value_json, 0, out, outsize, is_null);
}

/* A consent object keeps its status (sf_consent_projection); a Contact
 * opt-out flag only opted_out / opted_in (no date, no source, no legal
 * basis). */
static int project_consent(const struct sf_map *m, const char *field, const char *value_json,
                           char *out, size_t outsize)
{
    char purpose[128], channel[32];
    const char *cpt;
    struct consent_value cv;
    json_t *root = NULL;
    int rc = -1;

    if (m->consent_mode == SF_CONSENT_OBJECTS) {
        if (sf_consent_target(field, purpose, sizeof(purpose), channel, sizeof(channel), &cpt) ==
                0 &&
            consent_value_from_json(value_json, &cv, &root) == 0)
            rc = sf_consent_projection(&cv, out, outsize);
    } else if (sf_consent_flag(m, field) != NULL &&
               consent_value_from_json(value_json, &cv, &root) == 0) {
        /* A flag has two states: "no opt-out recorded" holds both a grant
         * and an unknown. */
        snprintf(out, outsize, "%s", cv.status == CONSENT_DENIED ? "opted_out" : "opted_in");
        rc = 0;
    }
    json_decref(root);
    return rc;
}

/* A journal keeps its transaction (number and points); Contact or
 * Loyalty Management the balance. */
static int project_points(const struct sf_map *m, const char *field, const char *value_json,
                          char *out, size_t outsize)
{
    struct sf_txn t;

    if (m->points_mode == SF_POINTS_LOYALTY && strcmp(field, "points/balance") != 0) {
        if (sf_parse_txn(value_json, &t) != 0)
            return -1;
        snprintf(out, outsize, "%s:%lld", t.txn_id, t.delta);
        return 0;
    }
    /* loyalty: PointsBalance as observed (drift detection only). */
    if (m->points_mode == SF_POINTS_LOYALTY || m->points_field[0] != '\0')
        return crm_project_balance(value_json, out, outsize);
    return -1;
}

/* What Salesforce keeps of each value, as text (the engine hashes it for
 * the shadow): consent and points as above; a membership in or out, a
 * tier or profile field its text (numbers, no booleans, no reals), when a
 * Contact field holds it. */
int sf_project(const struct sf_map *m, enum change_kind kind, const char *field,
               const char *value_json, char *out, size_t outsize)
{
    switch (kind) {
    case CHANGE_CONSENT:
        return project_consent(m, field, value_json, out, outsize);
    case CHANGE_POINTS:
        return project_points(m, field, value_json, out, outsize);
    case CHANGE_TIER:
        if (m->tier_field[0] == '\0')
            return -1;
        break;
    case CHANGE_PROFILE: {
        const char *attr = strncmp(field, "profile/", 8) == 0 ? field + 8 : "";
        if (crm_pairs_get(&m->attrs, attr) == NULL)
            return -1;
        break;
    }
    case CHANGE_SEGMENT:
    case CHANGE_ERASE:
        break;
    }
    return crm_project_shared(kind, value_json, 0, out, outsize);
}

/* Why sf_project() refused a value, naming the option that decides it: an
 * operator reads this in the dead letter and knows what to change. "" when
 * the configuration is not the cause (the value itself is malformed). */
void sf_unrepresentable_why(const struct sf_map *m, enum change_kind kind, const char *field,
                            char *out, size_t outsize)
{
    out[0] = '\0';
    switch (kind) {
    case CHANGE_CONSENT: {
        const char *slash = strncmp(field, "consent/", 8) == 0 ? strchr(field + 8, '/') : NULL;
        if (m->consent_mode == SF_CONSENT_OBJECTS || slash == NULL)
            break;
        if ((size_t)(slash - (field + 8)) != strlen(m->flag_purpose) ||
            strncmp(field + 8, m->flag_purpose, strlen(m->flag_purpose)) != 0)
            snprintf(out, outsize,
                     "consent_mode = contact_fields keeps only flag_purpose (%s) on Contact flags;"
                     " set consent_mode = consent_objects to sync other purposes",
                     m->flag_purpose);
        else if (strcmp(slash + 1, "email") == 0 || strcmp(slash + 1, "phone") == 0 ||
                 strcmp(slash + 1, "sms") == 0 || strcmp(slash + 1, "post") == 0)
            snprintf(out, outsize,
                     "no Contact flag for the %s channel: set %s_opt_out_field, or consent_mode ="
                     " consent_objects",
                     slash + 1, slash + 1);
        else
            snprintf(out, outsize, "no Contact flag for a channel \"%s\" (email, phone, sms, post)",
                     slash + 1);
        break;
    }
    case CHANGE_POINTS:
        if (m->points_mode != SF_POINTS_LOYALTY && m->points_field[0] == '\0')
            snprintf(out, outsize, "points_field is \"\": Contact holds no points balance");
        break;
    case CHANGE_TIER:
        if (m->tier_field[0] == '\0')
            snprintf(out, outsize, "tier_field is \"\": Contact holds no tier");
        break;
    case CHANGE_PROFILE: {
        const char *attr = strncmp(field, "profile/", 8) == 0 ? field + 8 : "";
        if (crm_pairs_get(&m->attrs, attr) == NULL)
            snprintf(out, outsize, "profile attribute \"%s\" is not in attribute_map", attr);
        break;
    }
    case CHANGE_SEGMENT:
    case CHANGE_ERASE:
        break;
    }
}

/* Adds the Contact field(s) of one record to fields. 0, or -1 (rejected). */
static int contact_field(const struct sf_map *m, const struct push_record *rec, json_t *fields,
                         struct push_result *res)
{
    char text[1024];
    int is_null = 0;

    switch (rec->kind) {
    case CHANGE_CONSENT: {
        const char *flag = sf_consent_flag(m, rec->field);
        if (flag == NULL ||
            sf_project(m, rec->kind, rec->field, rec->value_json, text, sizeof(text)) != 0) {
            crm_reject(res, "%s has no Contact field in consent_mode = contact_fields", rec->field);
            return -1;
        }
        json_object_set_new(fields, flag, json_boolean(strcmp(text, "opted_out") == 0));
        return 0;
    }
    case CHANGE_POINTS: {
        int64_t b;
        if (crm_balance_of(rec->value_json, &b) != 0 || m->points_field[0] == '\0') {
            crm_reject(res, "Salesforce takes a points balance, not %s", rec->field);
            return -1;
        }
        json_object_set_new(fields, m->points_field, json_integer((json_int_t)b));
        return 0;
    }
    case CHANGE_TIER:
        if (m->tier_field[0] == '\0' ||
            value_text(rec->value_json, text, sizeof(text), &is_null) != 0) {
            crm_reject(res, "unreadable tier value for %s", rec->field);
            return -1;
        }
        json_object_set_new(fields, m->tier_field, is_null ? json_null() : json_string(text));
        return 0;
    case CHANGE_PROFILE: {
        const char *f = crm_profile_target(&m->attrs, rec->field, res);
        if (f == NULL)
            return -1;
        if (value_text(rec->value_json, text, sizeof(text), &is_null) != 0) {
            crm_reject(res, "unreadable profile value for %s", rec->field);
            return -1;
        }
        /* Salesforce clears a field with null, but refuses a null LastName
         * (required): a last name cleared here is written as the
         * placeholder a Contact is created with, so that Salesforce does
         * not keep the old name (none configured: null, a dead letter). */
        if (is_null || text[0] == '\0')
            json_object_set_new(fields, f,
                                strcmp(f, "LastName") == 0 && m->last_name_placeholder[0] != '\0'
                                    ? json_string(m->last_name_placeholder)
                                    : json_null());
        else
            json_object_set_new(fields, f, json_string(text));
        return 0;
    }
    default:
        crm_reject(res, "%s does not go in a Contact upsert", rec->field);
        return -1;
    }
}

static int plan_field(const void *map, const struct push_record *rec, json_t *fields,
                      struct push_result *res)
{
    return contact_field(map, rec, fields, res);
}

static int is_contact(const char *remote_id)
{
    return sf_contact_id(remote_id) != NULL;
}

int sf_plan_contacts(const struct sf_map *m, const struct push_record *recs, size_t n,
                     struct push_result *res, struct crm_plan *p)
{
    return crm_plan_members(recs, n, res, is_contact, plan_field, m, 0, p);
}

/* The body as json_dumps(JSON_COMPACT) wrote it from a tree (the same
 * bytes: tests/unit/test_salesforce_map.c compares them), written
 * straight into one buffer (issue 17: building, dumping and freeing the
 * tree was 8 % of a collections push's CPU). A record's members in the
 * tree's order: attributes, the external id, the group's fields (one
 * named like either of the first two takes its place), the placeholder
 * LastName. */
char *sf_upsert_body(const struct sf_map *m, const struct crm_plan *p, const size_t *sel,
                     size_t nsel)
{
    struct strbuf b;
    size_t ext_len = strlen(m->ext_id);

    strbuf_init(&b, (size_t)1 << 30);
    strbuf_add(&b, "{\"allOrNone\":false,\"records\":[");
    for (size_t k = 0; k < nsel; k++) {
        const struct crm_group *g = &p->g[sel[k]];
        const json_t *attrs = json_object_get(g->fields, "attributes");
        const json_t *ext = json_object_get(g->fields, m->ext_id);
        const char *key;
        json_t *v;

        strbuf_add(&b, k == 0 ? "{\"attributes\":" : ",{\"attributes\":");
        if (attrs != NULL)
            jdump_append(&b, attrs);
        else
            strbuf_add(&b, "{\"type\":\"Contact\"}");
        strbuf_addn(&b, ",", 1);
        jdump_append_string(&b, m->ext_id, ext_len);
        strbuf_addn(&b, ":", 1);
        if (ext != NULL)
            jdump_append(&b, ext);
        else
            jdump_append_string(&b, g->member, strlen(g->member));
        json_object_foreach((json_t *)g->fields, key, v)
        {
            if (strcmp(key, "attributes") == 0 || strcmp(key, m->ext_id) == 0)
                continue;
            strbuf_addn(&b, ",", 1);
            jdump_append_string(&b, key, strlen(key));
            strbuf_addn(&b, ":", 1);
            jdump_append(&b, v);
        }
        /* Only for a Contact known to be new (Salesforce said LastName is
         * missing): an upsert cannot set a field on insert only, and an
         * existing Contact must keep its name. */
        if (g->placeholder && json_object_get(g->fields, "LastName") == NULL &&
            strcmp(m->ext_id, "LastName") != 0 && m->last_name_placeholder[0] != '\0') {
            strbuf_add(&b, ",\"LastName\":");
            jdump_append_string(&b, m->last_name_placeholder, strlen(m->last_name_placeholder));
        }
        strbuf_addn(&b, "}", 1);
    }
    strbuf_add(&b, "]}");
    return strbuf_take(&b);
}

/* Appends s as a SOQL string literal body (quotes and backslashes
 * escaped). */
static void soql_escape(const char *s, char *out, size_t outsize)
{
    size_t o = 0;

    for (; *s != '\0' && o + 3 < outsize; s++) {
        if (*s == '\'' || *s == '\\')
            out[o++] = '\\';
        out[o++] = *s;
    }
    out[o] = '\0';
}

/* 1 when name is one of the comma-separated names of list. A substring
 * test is not enough: "Email" is inside "HasOptedOutOfEmail", and taking
 * it for selected left the email out of every Contact query (a changed
 * email was never pulled; a resync wrote every email again). */
static int field_listed(const char *list, const char *name)
{
    size_t n = strlen(name);

    for (const char *p = list; (p = strstr(p, name)) != NULL; p += n) {
        int starts = p == list || p[-1] == ' ';
        int ends = p[n] == '\0' || p[n] == ',';
        if (starts && ends)
            return 1;
    }
    return 0;
}

char *sf_contact_soql(const struct sf_map *m, int64_t t_ms, const char *id, int limit)
{
    char fields[2048], where[512] = "", ts[40], eid[64], *q;
    size_t len;

    snprintf(fields, sizeof(fields), "Id, SystemModstamp, IsDeleted, %s", m->ext_id);
#define ADD_FIELD(f)                                                                               \
    do {                                                                                           \
        if ((f)[0] != '\0' && !field_listed(fields, f)) {                                          \
            len = strlen(fields);                                                                  \
            snprintf(fields + len, sizeof(fields) - len, ", %s", f);                               \
        }                                                                                          \
    } while (0)
    if (m->consent_mode == SF_CONSENT_FIELDS) {
        ADD_FIELD(m->email_flag);
        ADD_FIELD(m->phone_flag);
        ADD_FIELD(m->sms_flag);
        ADD_FIELD(m->post_flag);
    }
    ADD_FIELD(m->points_field);
    ADD_FIELD(m->tier_field);
    for (size_t i = 0; i < m->attrs.n; i++)
        ADD_FIELD(m->attrs.p[i].val);
#undef ADD_FIELD
    if (t_ms > 0) {
        sf_soql_time(t_ms, ts, sizeof(ts));
        soql_escape(id ? id : "", eid, sizeof(eid));
        if (eid[0] != '\0')
            snprintf(where, sizeof(where),
                     " WHERE (SystemModstamp > %s OR (SystemModstamp = %s AND Id > '%s'))", ts, ts,
                     eid);
        else
            snprintf(where, sizeof(where), " WHERE SystemModstamp >= %s", ts);
    }
    len = strlen(fields) + strlen(where) + 128;
    q = malloc(len);
    if (q != NULL)
        snprintf(q, len, "SELECT %s FROM Contact%s ORDER BY SystemModstamp, Id LIMIT %d", fields,
                 where, limit);
    return q;
}

const char *sf_contact_id(const char *remote_id)
{
    if (remote_id == NULL || remote_id[0] == '\0' ||
        strncmp(remote_id, SF_DELETED_PREFIX, strlen(SF_DELETED_PREFIX)) == 0)
        return NULL;
    return remote_id;
}

char *sf_collection_body(json_t *records)
{
    json_t *root =
        records != NULL ? json_pack("{s:b, s:o}", "allOrNone", 0, "records", records) : NULL;
    char *text = root != NULL ? json_dumps(root, JSON_COMPACT) : NULL;

    json_decref(root);
    return text;
}

char *sf_contacts_by_key_soql(const struct sf_map *m, const char *const *members, size_t n)
{
    size_t cap = strlen(m->ext_id) + 40;
    char *head = malloc(cap), *q;

    if (head == NULL)
        return NULL;
    snprintf(head, cap, "SELECT Id, %s FROM Contact WHERE ", m->ext_id);
    q = sf_soql_in(head, m->ext_id, members, n);
    free(head);
    return q;
}

void sf_membership_key(const char *member, const char *segment, char *out, size_t outsize)
{
    snprintf(out, outsize, "%s:%s", member, segment);
}

char *sf_campaign_member_body(const char *campaign_id, const char *segment,
                              const char *const *members, const char *const *contact_ids, size_t n)
{
    json_t *root = json_object(), *records = json_array();
    char key[300], *text;

    json_object_set_new(root, "allOrNone", json_false());
    for (size_t i = 0; i < n; i++) {
        sf_membership_key(members[i], segment, key, sizeof(key));
        json_array_append_new(records, json_pack("{s:{s:s}, s:s, s:s, s:s, s:s}", "attributes",
                                                 "type", "CampaignMember", "Membership_Key__c", key,
                                                 "CampaignId", campaign_id, "ContactId",
                                                 contact_ids[i], "Status", "Sent"));
    }
    json_object_set_new(root, "records", records);
    text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

char *sf_urlencode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(n * 3 + 1), *o = out;

    if (out == NULL)
        return NULL;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

char *sf_query_path(const char *api_version, const char *verb, const char *soql)
{
    char *enc = sf_urlencode(soql);
    struct strbuf b;

    strbuf_init(&b, SF_PATH_MAX);
    if (enc == NULL)
        return NULL;
    strbuf_addf(&b, "/services/data/%s/%s?q=%s", api_version, verb, enc);
    free(enc);
    return strbuf_take(&b);
}

char *sf_jwt_audience(const char *login_url, const char *configured)
{
    const char *host = strstr(login_url, "://");
    size_t hlen;

    if (configured != NULL && configured[0] != '\0')
        return strdup(configured);
    host = host != NULL ? host + 3 : login_url;
    hlen = strcspn(host, "/:");
    if (hlen > 26 && strncmp(host + hlen - 26, ".sandbox.my.salesforce.com", 26) == 0)
        return strdup("https://test.salesforce.com");
    if (hlen > 18 && strncmp(host + hlen - 18, ".my.salesforce.com", 18) == 0)
        return strdup("https://login.salesforce.com");
    return strdup(login_url);
}
