/* The Adobe Campaign push request bodies (adobe.h): Write/WriteCollection
 * documents of nms:recipient with _operation and _key, a collection link
 * (nms:rcpGrpRel) written inside its recipient with _key on the linked
 * group's name, Subscribe/Unsubscribe and the nms:group Write, as
 * Campaign's "Data oriented APIs" shape them. Pure: no network, no state.
 * Moved out of adobe_map.c. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "adobe.h"
#include "change_json.h"
#include "crm_value.h"

#define X(s) ((const xmlChar *)(s))

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
        if (!m->denylist_write || acc_consent_key(rec->field, key, sizeof(key)) != 0)
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
