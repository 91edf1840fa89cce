/* Adobe Campaign field mapping (adobe.h): the configured names, what
 * Campaign keeps of a value (projection), batch classes and the service a
 * consent record goes to. Pure: no network, no state. The request bodies
 * are adobe_compose.c's (push) and adobe_query.c's (pull), the rows of a
 * query are read in adobe_rows.c. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "adobe.h"
#include "change_json.h"
#include "crm_value.h"

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

int acc_consent_key(const char *field, char *out, size_t outsize)
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

    if (acc_consent_key(rec->field, key, sizeof(key)) != 0) {
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
