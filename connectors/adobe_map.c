/* Adobe Campaign field mapping, projection, request bodies and query rows
 * (adobe.h). Pure: no network, no state.
 *
 * Shapes follow Campaign's "Data oriented APIs": a Write/WriteCollection
 * document per schema with _operation and _key; a collection link
 * (nms:rcpGrpRel) written inside its recipient with _key on the linked
 * group's name; queryDef select with where conditions in XTK syntax and an
 * orderBy. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adobe.h"
#include "change_json.h"
#include "crm_value.h"

/* Campaign values as text: booleans as 1/0, reals as they are. */
#define ACC_VALUE_TEXT (CRM_VT_BOOL_DIGITS | CRM_VT_REAL)

#define X(s) ((const xmlChar *)(s))

int acc_map_init(struct acc_map *m, const struct acc_map_config *c, struct error *err)
{
    memset(m, 0, sizeof(*m));
    if (c->key == NULL || c->key[0] != '@' || c->key[1] == '\0' || strpbrk(c->key + 1, "/[]@ ")) {
        return error_set(err, "key: expected a recipient attribute such as @memberKey, got \"%s\"",
                         c->key ? c->key : "");
    }
    /* Borrowed from the configuration, which outlives the connector. */
    m->key_expr = c->key;
    m->key_attr = c->key + 1;
    m->points_attr = c->points_attr ? c->points_attr : "";
    m->tier_attr = c->tier_attr ? c->tier_attr : "";
    m->denylist_write = c->denylist_write;
    m->groups_must_exist = c->groups_must_exist;
    if (crm_pairs_parse(c->attribute_map, "attribute_map", &m->attrs, err) != 0 ||
        crm_pairs_parse(c->services, "services", &m->services, err) != 0 ||
        crm_pairs_parse(c->denylist_flags, "denylist_flags", &m->flags, err) != 0 ||
        crm_list_parse(c->purposes, &m->purposes, err) != 0 ||
        crm_tiers_parse(c->tiers, &m->tiers, err) != 0) {
        acc_map_free(m);
        return -1;
    }
    if (m->tiers.n > 0 && (m->tier_attr[0] == '\0' || m->points_attr[0] == '\0')) {
        acc_map_free(m);
        return error_set(err,
                         "tiers: the tier is derived from the balance and written to "
                         "tier_attribute: both points_attribute and tier_attribute are needed");
    }
    for (size_t i = 0; i < m->services.n; i++) {
        const char *k = m->services.p[i].key;
        const char *slash = strchr(k, '/');
        if (slash == NULL || slash == k || slash[1] == '\0' || strchr(slash + 1, '/') != NULL) {
            error_set(err, "services: expected purpose/channel=service name, got \"%s\"", k);
            acc_map_free(m);
            return -1;
        }
    }
    return 0;
}

void acc_map_free(struct acc_map *m)
{
    crm_pairs_free(&m->attrs);
    crm_pairs_free(&m->services);
    crm_pairs_free(&m->flags);
    crm_list_free(&m->purposes);
    crm_tiers_free(&m->tiers);
    memset(m, 0, sizeof(*m));
}

/* "consent/<purpose>/<channel>" -> "purpose/channel". */
static int consent_key(const char *field, char *out, size_t outsize)
{
    const char *p = field + strlen("consent/");

    if (strncmp(field, "consent/", 8) != 0 || strchr(p, '/') == NULL)
        return -1;
    return snprintf(out, outsize, "%s", p) < (int)outsize ? 0 : -1;
}

int acc_project(const struct acc_map *m, enum change_kind kind, const char *field,
                const char *value_json, char *out, size_t outsize)
{
    switch (kind) {
    case CHANGE_CONSENT: {
        struct consent_value cv;
        json_t *holder = NULL;
        int rc = consent_value_from_json(value_json, &cv, &holder);
        if (rc == 0)
            snprintf(out, outsize, "%s", cv.status == CONSENT_GRANTED ? "granted" : "denied");
        json_decref(holder);
        (void)field;
        return rc == 0 ? 0 : -1;
    }
    case CHANGE_POINTS: {
        int64_t b;
        if (crm_balance_of(value_json, &b) != 0)
            return -1;
        /* "N|<tier>" with tiers: the shadow covers the derived tier too. */
        crm_balance_projection(&m->tiers, b, out, outsize);
        return 0;
    }
    case CHANGE_TIER:
    case CHANGE_PROFILE:
    case CHANGE_SEGMENT:
    case CHANGE_ERASE:
        return crm_project_shared(kind, value_json, ACC_VALUE_TEXT, out, outsize);
    }
    return -1;
}

void acc_batch_class(const struct push_record *rec, char *out, size_t outsize)
{
    const char *cls = "recipients";

    if (rec->kind == CHANGE_CONSENT)
        cls = "consent";
    else if (rec->kind == CHANGE_SEGMENT)
        cls = "segments";
    else if (rec->kind == CHANGE_ERASE)
        cls = "erase";
    snprintf(out, outsize, "%s", cls);
}

size_t acc_batch_max(const char *class_key, long batch_size)
{
    if (strcmp(class_key, "consent") == 0)
        return ACC_CONSENT_BATCH;
    return batch_size > 0 && batch_size <= ACC_BATCH_MAX ? (size_t)batch_size : 100;
}

int acc_consent_target(const struct acc_map *m, const struct push_record *rec, const char **service,
                       int *grant, char *why, size_t whylen)
{
    char key[200];
    struct consent_value cv;
    json_t *holder = NULL;
    const char *svc;

    if (consent_key(rec->field, key, sizeof(key)) != 0) {
        snprintf(why, whylen, "not a consent field: %s", rec->field);
        return -1;
    }
    svc = crm_pairs_get(&m->services, key);
    if (svc == NULL || svc[0] == '\0') {
        /* Never an empty service name: Unsubscribe with one puts the
         * recipient on the global denylist. */
        snprintf(why, whylen, "no Campaign service mapped for %s (option services)", key);
        return -1;
    }
    if (consent_value_from_json(rec->value_json, &cv, &holder) != 0) {
        json_decref(holder);
        snprintf(why, whylen, "unreadable consent value");
        return -1;
    }
    json_decref(holder);
    if (cv.status == CONSENT_UNKNOWN) {
        snprintf(why, whylen, "consent status unknown: nothing Campaign can hold");
        return -1;
    }
    *service = svc;
    *grant = cv.status == CONSENT_GRANTED;
    return 0;
}

static void reject(struct push_result *r, const char *fmt, const char *arg)
{
    r->outcome = PUSH_REJECT;
    r->retry_after_ms = -1;
    push_result_set_reason(r, fmt, arg);
}

/* The recipient attribute a record writes (NULL: none) and its text. */
static const char *record_attr(const struct acc_map *m, const struct push_record *rec, char *val,
                               size_t vlen, struct push_result *res)
{
    switch (rec->kind) {
    case CHANGE_PROFILE: {
        const char *attr = crm_pairs_get(&m->attrs, rec->field + strlen("profile/"));
        if (strncmp(rec->field, "profile/", 8) != 0 || attr == NULL) {
            reject(res, "profile field %s is not mapped (option attribute_map)", rec->field);
            return NULL;
        }
        if (crm_value_text(rec->value_json, ACC_VALUE_TEXT, val, vlen, NULL) != 0) {
            reject(res, "unreadable value of %s", rec->field);
            return NULL;
        }
        return attr;
    }
    case CHANGE_POINTS: {
        int64_t b;
        if (m->points_attr[0] == '\0') {
            reject(res, "%s", "points are not mapped (option points_attribute is empty)");
            return NULL;
        }
        if (crm_balance_of(rec->value_json, &b) != 0) {
            reject(res, "%s", "points value without a balance");
            return NULL;
        }
        snprintf(val, vlen, "%" PRId64, b);
        return m->points_attr;
    }
    case CHANGE_TIER:
        if (m->tier_attr[0] == '\0') {
            reject(res, "%s", "tier is not mapped (option tier_attribute is empty)");
            return NULL;
        }
        if (crm_value_text(rec->value_json, ACC_VALUE_TEXT, val, vlen, NULL) != 0) {
            reject(res, "%s", "unreadable tier value");
            return NULL;
        }
        return m->tier_attr;
    case CHANGE_CONSENT: {
        /* Only a withdrawal, only by explicit choice: the channel's
         * denylist flag. A grant never clears a flag set in Campaign. */
        char key[200];
        const char *slash;
        struct consent_value cv;
        json_t *holder = NULL;
        int denied;
        if (!m->denylist_write || consent_key(rec->field, key, sizeof(key)) != 0)
            return NULL;
        slash = strchr(key, '/');
        denied = consent_value_from_json(rec->value_json, &cv, &holder) == 0 &&
                 cv.status == CONSENT_DENIED;
        json_decref(holder);
        if (!denied || slash == NULL)
            return NULL;
        snprintf(val, vlen, "1");
        return crm_pairs_get(&m->flags, slash + 1);
    }
    default:
        return NULL;
    }
}

int acc_write_recipient(const struct acc_map *m, xmlTextWriterPtr w, const char *op,
                        const struct push_record *recs, const size_t *idx, size_t n,
                        struct push_result *res)
{
    char val[1024];
    int written = 0, derived = 0;
    int e = 0;

    if (n == 0)
        return 0;
    /* With tiers, the tier is derived from the balance written in the same
     * recipient (crm_tier.h); a tier record beside it is not written twice. */
    for (size_t k = 0; k < n && m->tiers.n > 0; k++)
        derived |= recs[idx[k]].kind == CHANGE_POINTS && res[idx[k]].outcome != PUSH_REJECT;
    e |= xmlTextWriterStartElement(w, X("recipient")) < 0;
    e |= xmlTextWriterWriteAttribute(w, X("xtkschema"), X("nms:recipient")) < 0;
    e |= xmlTextWriterWriteAttribute(w, X("_operation"), X(op)) < 0;
    e |= xmlTextWriterWriteAttribute(w, X("_key"), X(m->key_expr)) < 0;
    e |= xmlTextWriterWriteAttribute(w, X(m->key_attr), X(recs[idx[0]].member_key)) < 0;
    for (size_t k = 0; k < n && strcmp(op, "delete") != 0; k++) {
        const struct push_record *rec = &recs[idx[k]];
        const char *attr;
        if (rec->kind == CHANGE_SEGMENT || res[idx[k]].outcome == PUSH_REJECT)
            continue;
        if (rec->kind == CHANGE_TIER && derived) {
            written++;
            continue;
        }
        attr = record_attr(m, rec, val, sizeof(val), &res[idx[k]]);
        if (attr == NULL)
            continue;
        if (strcmp(attr, m->key_attr) == 0 || strcmp(attr, "xtkschema") == 0 || attr[0] == '_') {
            reject(&res[idx[k]], "%s cannot be written (it is the key or reserved)", attr);
            continue;
        }
        e |= xmlTextWriterWriteAttribute(w, X(attr), X(val)) < 0;
        if (rec->kind == CHANGE_POINTS && derived)
            e |= xmlTextWriterWriteAttribute(w, X(m->tier_attr),
                                             X(crm_tier_of(&m->tiers, strtoll(val, NULL, 10)))) < 0;
        written++;
    }
    if (strcmp(op, "delete") == 0)
        written = (int)n;
    for (size_t k = 0; k < n && strcmp(op, "delete") != 0; k++) {
        const struct push_record *rec = &recs[idx[k]];
        const char *seg = rec->field + strlen("segment/");
        int in;
        if (rec->kind != CHANGE_SEGMENT)
            continue;
        in = crm_segment_status(rec->value_json);
        if (in < 0 || strncmp(rec->field, "segment/", 8) != 0 || seg[0] == '\0') {
            reject(&res[idx[k]], "unreadable segment value of %s", rec->field);
            continue;
        }
        /* nms:rcpGrpRel, keyed on the group's internal name. */
        e |= xmlTextWriterStartElement(w, X("rcpGrpRel")) < 0;
        e |= xmlTextWriterWriteAttribute(w, X("_key"), X("[rcpGroup/@name]")) < 0;
        e |= xmlTextWriterWriteAttribute(w, X("_operation"), X(in ? "insertOrUpdate" : "delete")) <
             0;
        e |= xmlTextWriterStartElement(w, X("rcpGroup")) < 0;
        e |= xmlTextWriterWriteAttribute(w, X("name"), X(seg)) < 0;
        /* "none: used only for link reconciliation, without update or
         * insertion" (Data oriented APIs): a linked element is otherwise
         * inserted when its key finds nothing, which would create the list
         * that create_groups = no says must exist already. */
        if (m->groups_must_exist)
            e |= xmlTextWriterWriteAttribute(w, X("_operation"), X("none")) < 0;
        e |= xmlTextWriterEndElement(w) < 0;
        e |= xmlTextWriterEndElement(w) < 0;
        written++;
    }
    e |= xmlTextWriterEndElement(w) < 0;
    return e ? -1 : written;
}

char *acc_compose_write(const struct acc_map *m, const char *session_token, const char *op,
                        const struct push_record *recs, size_t *const *groups, const size_t *ngroup,
                        size_t ng, struct push_result *res)
{
    struct acc_env e;
    xmlTextWriterPtr w;
    int single = ng == 1;

    if (acc_env_begin(&e, "xtk:session", single ? "Write" : "WriteCollection", session_token) != 0)
        return NULL;
    acc_env_param_elem_begin(&e, single ? "domDoc" : "doc");
    w = acc_env_writer(&e);
    if (!single) {
        if (xmlTextWriterStartElement(w, X("recipient-collection")) < 0 ||
            xmlTextWriterWriteAttribute(w, X("xtkschema"), X("nms:recipient")) < 0)
            e.failed = 1;
    }
    for (size_t g = 0; g < ng && !e.failed; g++) {
        if (acc_write_recipient(m, w, op, recs, groups[g], ngroup[g], res) < 0)
            e.failed = 1;
    }
    if (!single && !e.failed && xmlTextWriterEndElement(w) < 0)
        e.failed = 1;
    acc_env_param_elem_end(&e);
    return acc_env_finish(&e);
}

char *acc_compose_subscription(const struct acc_map *m, const char *session_token, int subscribe,
                               const char *service, const char *member_key)
{
    struct acc_env e;
    xmlTextWriterPtr w;

    if (service == NULL || service[0] == '\0')
        return NULL;
    if (acc_env_begin(&e, "nms:subscription", subscribe ? "Subscribe" : "Unsubscribe",
                      session_token) != 0)
        return NULL;
    acc_env_param_string(&e, "strServiceName", service);
    acc_env_param_elem_begin(&e, "elemRecipient");
    w = acc_env_writer(&e);
    if (xmlTextWriterStartElement(w, X("recipient")) < 0 ||
        xmlTextWriterWriteAttribute(w, X("_key"), X(m->key_expr)) < 0 ||
        xmlTextWriterWriteAttribute(w, X(m->key_attr), X(member_key)) < 0 ||
        xmlTextWriterEndElement(w) < 0)
        e.failed = 1;
    acc_env_param_elem_end(&e);
    if (subscribe)
        /* A grant may come before the member's recipient is written (the
         * consent and recipients batches run side by side): Subscribe
         * creates it by key, and the recipients batch fills it in. */
        acc_env_param_bool(&e, "bCreate", 1);
    return acc_env_finish(&e);
}

char *acc_compose_group(const char *session_token, const char *name)
{
    struct acc_env e;
    xmlTextWriterPtr w;

    if (acc_env_begin(&e, "xtk:session", "Write", session_token) != 0)
        return NULL;
    acc_env_param_elem_begin(&e, "domDoc");
    w = acc_env_writer(&e);
    if (xmlTextWriterStartElement(w, X("group")) < 0 ||
        xmlTextWriterWriteAttribute(w, X("xtkschema"), X("nms:group")) < 0 ||
        xmlTextWriterWriteAttribute(w, X("_operation"), X("insertOrUpdate")) < 0 ||
        xmlTextWriterWriteAttribute(w, X("_key"), X("@name")) < 0 ||
        xmlTextWriterWriteAttribute(w, X("name"), X(name)) < 0 ||
        xmlTextWriterWriteAttribute(w, X("label"), X(name)) < 0 || xmlTextWriterEndElement(w) < 0)
        e.failed = 1;
    acc_env_param_elem_end(&e);
    return acc_env_finish(&e);
}

char *acc_compose_schema_probe(void)
{
    struct acc_env e;

    if (acc_env_begin(&e, "xtk:persist", "GetEntityIfMoreRecent", "") != 0)
        return NULL;
    acc_env_param_string(&e, "pk", "xtk:schema|xtk:session");
    acc_env_param_string(&e, "md5", "");
    acc_env_param_bool(&e, "mustExist", 0);
    return acc_env_finish(&e);
}

char *acc_compose_bearer_logon(const char *token)
{
    struct acc_env e;

    if (acc_env_begin(&e, "xtk:session", "BearerTokenLogon", "") != 0)
        return NULL;
    acc_env_param_string(&e, "bearerToken", token);
    return acc_env_finish(&e);
}

char *acc_compose_logoff(void)
{
    struct acc_env e;

    if (acc_env_begin(&e, "xtk:session", "Logoff", "") != 0)
        return NULL;
    return acc_env_finish(&e);
}

static int copy_child_text(xmlNodePtr parent, const char *name, char *out, size_t outsize)
{
    xmlNodePtr n = acc_child(parent, name);
    xmlChar *t = n ? xmlNodeGetContent(n) : NULL;
    int rc = t != NULL && t[0] != '\0' && (size_t)xmlStrlen(t) < outsize ? 0 : -1;

    if (rc == 0)
        snprintf(out, outsize, "%s", (const char *)t);
    xmlFree(t);
    return rc;
}

int acc_parse_logon(const char *body, size_t len, size_t cap, char *session, size_t slen,
                    char *security, size_t seclen)
{
    xmlDocPtr doc = NULL;
    xmlNodePtr r;
    char why[128];
    int rc = -1;

    if (acc_parse_response(body, len, cap, &doc, why, sizeof(why)) != 0)
        return -1;
    r = acc_body_first(doc);
    if (r != NULL && xmlStrcmp(r->name, X("BearerTokenLogonResponse")) == 0 &&
        copy_child_text(r, "pstrSessionToken", session, slen) == 0 &&
        copy_child_text(r, "pstrSecurityToken", security, seclen) == 0)
        rc = 0;
    xmlFreeDoc(doc);
    return rc;
}

/* --- pull queries --- */

static void select_node(xmlTextWriterPtr w, const char *expr, int *e)
{
    *e |= xmlTextWriterStartElement(w, X("node")) < 0;
    *e |= xmlTextWriterWriteAttribute(w, X("expr"), X(expr)) < 0;
    *e |= xmlTextWriterEndElement(w) < 0;
}

static void select_attr(xmlTextWriterPtr w, const char *attr, int *e)
{
    char expr[200];

    if (attr == NULL || attr[0] == '\0')
        return;
    snprintf(expr, sizeof(expr), "@%s", attr);
    select_node(w, expr, e);
}

/* Starts <queryDef> inside the ExecuteQuery's entity parameter. NULL
 * with nothing left to free (as acc_env_begin) when it cannot. */
static xmlTextWriterPtr query_begin(struct acc_env *e, const char *session_token,
                                    const char *schema, long line_count, long start_line)
{
    char num[32];
    xmlTextWriterPtr w;
    int err = 0;

    if (acc_env_begin(e, "xtk:queryDef", "ExecuteQuery", session_token) != 0)
        return NULL;
    acc_env_param_elem_begin(e, "entity");
    w = acc_env_writer(e);
    err |= xmlTextWriterStartElement(w, X("queryDef")) < 0;
    err |= xmlTextWriterWriteAttribute(w, X("schema"), X(schema)) < 0;
    err |= xmlTextWriterWriteAttribute(w, X("operation"), X("select")) < 0;
    snprintf(num, sizeof(num), "%ld", line_count);
    err |= xmlTextWriterWriteAttribute(w, X("lineCount"), X(num)) < 0;
    if (start_line > 0) {
        snprintf(num, sizeof(num), "%ld", start_line);
        err |= xmlTextWriterWriteAttribute(w, X("startLine"), X(num)) < 0;
    }
    /* Every query names its columns first. */
    err |= xmlTextWriterStartElement(w, X("select")) < 0;
    if (err || e->failed) {
        acc_env_free(e);
        return NULL;
    }
    return w;
}

/* <where><condition expr="cond"/></where> */
static void where_cond(xmlTextWriterPtr w, const char *cond, int *e)
{
    *e |= xmlTextWriterStartElement(w, X("where")) < 0;
    *e |= xmlTextWriterStartElement(w, X("condition")) < 0;
    *e |= xmlTextWriterWriteAttribute(w, X("expr"), X(cond)) < 0;
    *e |= xmlTextWriterEndElement(w) < 0;
    *e |= xmlTextWriterEndElement(w) < 0;
}

static void where_order(xmlTextWriterPtr w, const char *cond, const char *first, int *e)
{
    where_cond(w, cond, e);
    *e |= xmlTextWriterStartElement(w, X("orderBy")) < 0;
    select_node(w, first, e);
    select_node(w, "@id", e);
    *e |= xmlTextWriterEndElement(w) < 0;
}

char *acc_compose_recipient_query(const struct acc_map *m, const char *session_token,
                                  const struct acc_keyset *after, long line_count)
{
    struct acc_env e;
    xmlTextWriterPtr w = query_begin(&e, session_token, "nms:recipient", line_count, 0);
    char dt[64], cond[256];
    int err = 0;

    if (w == NULL)
        return NULL;
    select_node(w, "@id", &err);
    select_node(w, "@lastModified", &err);
    select_node(w, m->key_expr, &err);
    select_node(w, "@blackList", &err);
    for (size_t i = 0; i < m->flags.n; i++)
        select_attr(w, m->flags.p[i].val, &err);
    for (size_t i = 0; i < m->attrs.n; i++)
        select_attr(w, m->attrs.p[i].val, &err);
    select_attr(w, m->points_attr, &err);
    select_attr(w, m->tier_attr, &err);
    err |= xmlTextWriterEndElement(w) < 0;
    if (acc_xtk_datetime(after->modified_ms, dt, sizeof(dt)) != 0)
        err = 1;
    /* Keyset: strictly after (lastModified, id); rows without a member
     * key are not ours to read. */
    snprintf(cond, sizeof(cond),
             "(@lastModified > %s OR (@lastModified = %s AND @id > %" PRId64
             ")) AND %s IS NOT NULL",
             dt, dt, after->id, m->key_expr);
    where_order(w, cond, "@lastModified", &err);
    if (err)
        e.failed = 1;
    return acc_env_finish(&e);
}

char *acc_compose_subhisto_query(const struct acc_map *m, const char *session_token,
                                 int64_t since_ms, long start_line, long line_count)
{
    struct acc_env e;
    xmlTextWriterPtr w = query_begin(&e, session_token, "nms:subHisto", line_count, start_line);
    char dt[64], cond[128], rcp[200];
    int err = 0;

    if (w == NULL)
        return NULL;
    select_node(w, "@id", &err);
    select_node(w, "@action", &err);
    select_node(w, "@date", &err);
    select_node(w, "[service/@name]", &err);
    snprintf(rcp, sizeof(rcp), "[recipient/%s]", m->key_expr);
    select_node(w, rcp, &err);
    err |= xmlTextWriterEndElement(w) < 0;
    if (acc_xtk_datetime(since_ms, dt, sizeof(dt)) != 0)
        err = 1;
    snprintf(cond, sizeof(cond), "@date >= %s", dt);
    where_order(w, cond, "@date", &err);
    if (err)
        e.failed = 1;
    return acc_env_finish(&e);
}

xmlNodePtr acc_query_rows(xmlDocPtr doc)
{
    xmlNodePtr r = acc_body_first(doc);
    xmlNodePtr out = acc_child(r, "pdomOutput");

    if (out == NULL)
        return NULL;
    /* <pdomOutput><recipient-collection><recipient/>... */
    return acc_child(acc_child(out, NULL), NULL);
}

static int attr_copy(xmlNodePtr n, const char *name, char *out, size_t outsize)
{
    char *v = acc_attr(n, name);
    int rc = v != NULL ? 0 : -1;

    if (v != NULL)
        snprintf(out, outsize, "%s", v);
    xmlFree(v);
    return rc;
}

static int flag_set(xmlNodePtr row, const char *attr)
{
    char v[16];
    return attr != NULL && attr_copy(row, attr, v, sizeof(v)) == 0 &&
           (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

/* Adds a denied consent for every purpose on channel. */
static size_t add_withdrawals(const struct acc_map *m, const char *channel, int64_t when,
                              struct acc_row_field *out, size_t n, size_t max)
{
    for (size_t p = 0; p < m->purposes.n && n < max; p++) {
        struct consent_value cv = {CONSENT_DENIED, NULL, "adobe_campaign", NULL, when};
        char *json = consent_value_to_json(&cv);
        if (json == NULL)
            continue;
        out[n].kind = CHANGE_CONSENT;
        out[n].observe_only = 0;
        snprintf(out[n].field, sizeof(out[n].field), "consent/%s/%s", m->purposes.v[p], channel);
        snprintf(out[n].value_json, sizeof(out[n].value_json), "%s", json);
        snprintf(out[n].projection, sizeof(out[n].projection), "denied");
        free(json);
        n++;
    }
    return n;
}

int acc_row_fields(const struct acc_map *m, xmlNodePtr row, struct acc_row_field *out, size_t max,
                   char *member_key, size_t klen, int64_t *id, int64_t *occurred_ms)
{
    char v[512], idtext[32];
    size_t n = 0;
    int all = flag_set(row, "blackList");

    if (attr_copy(row, m->key_attr, member_key, klen) != 0 || member_key[0] == '\0')
        return -1;
    *id = 0;
    if (attr_copy(row, "id", idtext, sizeof(idtext)) == 0)
        *id = strtoll(idtext, NULL, 10);
    *occurred_ms = 0;
    if (attr_copy(row, "lastModified", v, sizeof(v)) == 0)
        acc_parse_datetime(v, occurred_ms);
    for (size_t i = 0; i < m->attrs.n && n < max; i++) {
        char *json;
        if (attr_copy(row, m->attrs.p[i].val, v, sizeof(v)) != 0) {
            /* Asked for (acc_compose_recipient_query) and not returned:
             * Campaign holds it empty (a value we cleared is written as
             * ""). Not a clearing, but what Campaign holds: observed, so
             * that a resync does not write it again. */
            out[n].kind = CHANGE_PROFILE;
            out[n].observe_only = 1;
            snprintf(out[n].field, sizeof(out[n].field), "profile/%s", m->attrs.p[i].key);
            out[n].value_json[0] = '\0';
            out[n].projection[0] = '\0';
            n++;
            continue;
        }
        json = profile_value_to_json(v, strlen(v));
        if (json == NULL)
            continue;
        out[n].kind = CHANGE_PROFILE;
        out[n].observe_only = 0;
        snprintf(out[n].field, sizeof(out[n].field), "profile/%s", m->attrs.p[i].key);
        snprintf(out[n].value_json, sizeof(out[n].value_json), "%s", json);
        snprintf(out[n].projection, sizeof(out[n].projection), "%s", v);
        free(json);
        n++;
    }
    /* Points and tier come from the ledger: what Campaign holds is only
     * observed (a drift is written back), never taken in. */
    if (m->points_attr[0] != '\0' && n < max && attr_copy(row, m->points_attr, v, sizeof(v)) == 0) {
        char tier[128] = "";
        out[n].kind = CHANGE_POINTS;
        out[n].observe_only = 1;
        snprintf(out[n].field, sizeof(out[n].field), "points/balance");
        out[n].value_json[0] = '\0';
        /* With tiers, observed as acc_project() projects the balance: a
         * drifted tier is written back with it. */
        if (m->tiers.n > 0 && attr_copy(row, m->tier_attr, tier, sizeof(tier)) != 0)
            tier[0] = '\0';
        if (m->tiers.n > 0)
            snprintf(out[n].projection, sizeof(out[n].projection), "%s|%s", v, tier);
        else
            snprintf(out[n].projection, sizeof(out[n].projection), "%s", v);
        n++;
    }
    if (m->tier_attr[0] != '\0' && n < max && attr_copy(row, m->tier_attr, v, sizeof(v)) == 0) {
        out[n].kind = CHANGE_TIER;
        out[n].observe_only = 1;
        snprintf(out[n].field, sizeof(out[n].field), "tier");
        out[n].value_json[0] = '\0';
        snprintf(out[n].projection, sizeof(out[n].projection), "%s", v);
        n++;
    }
    /* @blackList: no communication at all (an unsubscribe link in an
     * email sets it): every purpose on every channel. A channel flag:
     * every purpose on that channel. A cleared flag grants nothing. */
    for (size_t i = 0; i < m->flags.n; i++) {
        if (all || flag_set(row, m->flags.p[i].val))
            n = add_withdrawals(m, m->flags.p[i].key, *occurred_ms, out, n, max);
    }
    return (int)n;
}

char *acc_compose_flags_query(const struct acc_map *m, const char *session_token,
                              const char *const *keys, size_t n)
{
    struct acc_env e;
    xmlTextWriterPtr w = query_begin(&e, session_token, "nms:recipient", (long)n, 0);
    size_t cap = 64, used = 0;
    char *cond = NULL;
    int err = 0;

    if (w == NULL || n == 0) {
        acc_env_free(&e);
        return NULL;
    }
    select_node(w, m->key_expr, &err);
    select_node(w, "@lastModified", &err);
    select_node(w, "@blackList", &err);
    for (size_t i = 0; i < m->flags.n; i++)
        select_attr(w, m->flags.p[i].val, &err);
    err |= xmlTextWriterEndElement(w) < 0;
    /* key = 'a' OR key = 'b' ...: every key is an XTK literal, escaped
     * before the writer escapes the expression as XML. */
    cond = malloc(cap);
    for (size_t i = 0; i < n && cond != NULL && !err; i++) {
        char lit[600];
        size_t need;
        if (acc_xtk_string(keys[i], lit, sizeof(lit)) != 0) {
            err = 1;
            break;
        }
        need = used + strlen(m->key_expr) + strlen(lit) + 8;
        if (need > cap) {
            char *grown;
            while (cap < need)
                cap *= 2;
            grown = realloc(cond, cap);
            if (grown == NULL) {
                err = 1;
                break;
            }
            cond = grown;
        }
        used += (size_t)snprintf(cond + used, cap - used, "%s%s = %s", i ? " OR " : "", m->key_expr,
                                 lit);
    }
    if (cond == NULL)
        err = 1;
    if (!err)
        where_cond(w, cond, &err);
    free(cond);
    if (err)
        e.failed = 1;
    return acc_env_finish(&e);
}

int acc_row_suppressed(const struct acc_map *m, xmlNodePtr row, const char *channel)
{
    const char *flag = crm_pairs_get(&m->flags, channel);
    return flag_set(row, "blackList") || (flag != NULL && flag_set(row, flag));
}

int acc_row_key(const struct acc_map *m, xmlNodePtr row, char *out, size_t outsize)
{
    return attr_copy(row, m->key_attr, out, outsize) == 0 && out[0] != '\0' ? 0 : -1;
}

int acc_histo_field(const struct acc_map *m, xmlNodePtr row, struct acc_row_field *f, char *member,
                    size_t mlen, char *ref, size_t rlen, int64_t *when)
{
    char v[64], id[32], svc[256];
    const char *target;
    struct consent_value cv = {CONSENT_UNKNOWN, NULL, "adobe_campaign", NULL, 0};
    char *json;

    memset(f, 0, sizeof(*f));
    *when = 0;
    if (attr_copy(row, "date", v, sizeof(v)) != 0 || acc_parse_datetime(v, when) != 0)
        return -1;
    cv.collected_at = *when;
    if (attr_copy(row, "id", id, sizeof(id)) != 0)
        id[0] = '\0';
    snprintf(ref, rlen, "subHisto %s", id);
    /* [service/@name] and [recipient/@key] come as child elements. */
    if (attr_copy(acc_child(row, "service"), "name", svc, sizeof(svc)) != 0 ||
        attr_copy(acc_child(row, "recipient"), m->key_attr, member, mlen) != 0 || member[0] == '\0')
        return -1;
    target = crm_pairs_key_of(&m->services, svc);
    if (target == NULL || attr_copy(row, "action", v, sizeof(v)) != 0)
        return -1;
    /* nms:subHisto @action: 0 unsubscription, 1 subscription. */
    if (strcmp(v, "0") == 0)
        cv.status = CONSENT_DENIED;
    else if (strcmp(v, "1") == 0)
        cv.status = CONSENT_GRANTED;
    else
        return -1;
    json = consent_value_to_json(&cv);
    if (json == NULL)
        return -1;
    f->kind = CHANGE_CONSENT;
    snprintf(f->field, sizeof(f->field), "consent/%s", target);
    snprintf(f->value_json, sizeof(f->value_json), "%s", json);
    snprintf(f->projection, sizeof(f->projection), "%s",
             cv.status == CONSENT_DENIED ? "denied" : "granted");
    free(json);
    return 0;
}

char *acc_compose_members_query(const struct acc_map *m, const char *session_token, long start_line,
                                long line_count)
{
    struct acc_env e;
    xmlTextWriterPtr w = query_begin(&e, session_token, "nms:rcpGrpRel", line_count, start_line);
    char rcp[200], cond[240];
    int err = 0;

    if (w == NULL)
        return NULL;
    snprintf(rcp, sizeof(rcp), "[recipient/%s]", m->key_expr);
    select_node(w, "[rcpGroup/@name]", &err);
    select_node(w, rcp, &err);
    err |= xmlTextWriterEndElement(w) < 0;
    snprintf(cond, sizeof(cond), "%s IS NOT NULL", rcp);
    where_cond(w, cond, &err);
    if (err)
        e.failed = 1;
    return acc_env_finish(&e);
}

/* The end of a query paged by @id: <orderBy><node expr="@id"/></orderBy>,
 * the envelope closed (NULL when anything failed). */
static char *by_id_finish(struct acc_env *e, xmlTextWriterPtr w, int err)
{
    err |= xmlTextWriterStartElement(w, X("orderBy")) < 0;
    select_node(w, "@id", &err);
    err |= xmlTextWriterEndElement(w) < 0;
    if (err)
        e->failed = 1;
    return acc_env_finish(e);
}

char *acc_compose_absent_query(const struct acc_map *m, const char *session_token,
                               const char *group, int64_t after_id, long line_count)
{
    struct acc_env e;
    xmlTextWriterPtr w;
    char lit[600], inner[700], cond[256];
    int err = 0;

    if (acc_xtk_string(group, lit, sizeof(lit)) != 0 ||
        snprintf(inner, sizeof(inner), "[rcpGroup/@name] = %s", lit) >= (int)sizeof(inner))
        return NULL;
    w = query_begin(&e, session_token, "nms:recipient", line_count, 0);
    if (w == NULL)
        return NULL;
    select_node(w, "@id", &err);
    select_node(w, m->key_expr, &err);
    err |= xmlTextWriterEndElement(w) < 0;
    /* "Collection links (1N): the filtering on the fields of a collection
     * table must be performed via the EXISTS or NOT EXISTS operator" (Data
     * oriented APIs, Examples on links); paged by @id. */
    snprintf(cond, sizeof(cond), "@id > %" PRId64 " AND %s IS NOT NULL", after_id, m->key_expr);
    err |= xmlTextWriterStartElement(w, X("where")) < 0;
    err |= xmlTextWriterStartElement(w, X("condition")) < 0;
    err |= xmlTextWriterWriteAttribute(w, X("expr"), X(cond)) < 0;
    err |= xmlTextWriterEndElement(w) < 0;
    err |= xmlTextWriterStartElement(w, X("condition")) < 0;
    err |= xmlTextWriterWriteAttribute(w, X("expr"), X("rcpGrpRel")) < 0;
    err |= xmlTextWriterWriteAttribute(w, X("setOperator"), X("NOT EXISTS")) < 0;
    err |= xmlTextWriterStartElement(w, X("condition")) < 0;
    err |= xmlTextWriterWriteAttribute(w, X("expr"), X(inner)) < 0;
    err |= xmlTextWriterEndElement(w) < 0;
    err |= xmlTextWriterEndElement(w) < 0;
    err |= xmlTextWriterEndElement(w) < 0;
    return by_id_finish(&e, w, err);
}

char *acc_compose_groups_query(const char *session_token, int64_t after_id, long line_count)
{
    struct acc_env e;
    xmlTextWriterPtr w = query_begin(&e, session_token, "nms:group", line_count, 0);
    char cond[64];
    int err = 0;

    if (w == NULL)
        return NULL;
    select_node(w, "@id", &err);
    select_node(w, "@name", &err);
    err |= xmlTextWriterEndElement(w) < 0;
    snprintf(cond, sizeof(cond), "@id > %" PRId64, after_id);
    where_cond(w, cond, &err);
    return by_id_finish(&e, w, err);
}

int acc_member_row(const struct acc_map *m, xmlNodePtr row, char *member, size_t mlen, char *field,
                   size_t flen)
{
    char name[200];

    if (attr_copy(acc_child(row, "rcpGroup"), "name", name, sizeof(name)) != 0 || name[0] == '\0' ||
        attr_copy(acc_child(row, "recipient"), m->key_attr, member, mlen) != 0 || member[0] == '\0')
        return -1;
    return snprintf(field, flen, "segment/%s", name) < (int)flen ? 0 : -1;
}
