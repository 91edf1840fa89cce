/* The rows of an Adobe Campaign query read as canonical values (adobe.h):
 * a recipient's mapped attributes, its denylist flags as withdrawals, an
 * nms:subHisto row as a consent change, a list membership, the member key.
 * Pure. Moved out of adobe_map.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adobe.h"
#include "change_json.h"

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

int acc_member_row(const struct acc_map *m, xmlNodePtr row, char *member, size_t mlen, char *field,
                   size_t flen)
{
    char name[200];

    if (attr_copy(acc_child(row, "rcpGroup"), "name", name, sizeof(name)) != 0 || name[0] == '\0' ||
        attr_copy(acc_child(row, "recipient"), m->key_attr, member, mlen) != 0 || member[0] == '\0')
        return -1;
    return snprintf(field, flen, "segment/%s", name) < (int)flen ? 0 : -1;
}
