/* HubSpot response parsing, pull side: search pages and their cursor,
 * subscription statuses by address, HubSpot times, and a pulled contact
 * into canonical fields. Pure (STYLE.md 3); tests/unit/test_hubspot_parse.c
 * feeds it recorded bodies. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "change_json.h"
#include "crm_pull_page.h"
#include "hubspot.h"
#include "timefmt.h"

int hs_next_after(const char *next, long long prev, long long *out)
{
    char *end = NULL;
    long long v;

    if (next == NULL || next[0] == '\0')
        return 1;
    if (!isdigit((unsigned char)next[0]))
        return -1;
    errno = 0;
    v = strtoll(next, &end, 10);
    if (errno != 0 || end == NULL || *end != '\0' || v <= prev)
        return -1;
    *out = v;
    return 0;
}

int hs_parse_search(const char *body, json_t **root, json_t **results, char *after, size_t asize)
{
    json_t *next;
    const char *a;

    *root = body ? json_loads(body, 0, NULL) : NULL;
    *results = json_object_get(*root, "results");
    if (!json_is_array(*results)) {
        json_decref(*root);
        *root = NULL;
        return -1;
    }
    next = json_object_get(json_object_get(*root, "paging"), "next");
    a = json_string_value(json_object_get(next, "after"));
    snprintf(after, asize, "%s", a ? a : "");
    return 0;
}

json_t *hs_parse_statuses(const char *body)
{
    json_t *root = body ? json_loads(body, 0, NULL) : NULL;
    json_t *out = json_object();
    size_t i;
    json_t *r;

    json_array_foreach(json_object_get(root, "results"), i, r)
    {
        const char *email = json_string_value(json_object_get(r, "subscriberIdString"));
        char low[512];
        size_t k;

        if (email == NULL || !json_is_array(json_object_get(r, "statuses")))
            continue;
        for (k = 0; email[k] != '\0' && k + 1 < sizeof(low); k++)
            low[k] = (char)tolower((unsigned char)email[k]);
        low[k] = '\0';
        json_object_set(out, low, json_object_get(r, "statuses"));
    }
    json_decref(root);
    return out;
}

int hs_parse_time(const char *s, int64_t *ms)
{
    char *end;
    long long v;

    if (s == NULL || s[0] == '\0')
        return -1;
    if (timefmt_parse_rfc3339(s, ms) == 0)
        return 0;
    v = strtoll(s, &end, 10);
    if (*end != '\0' || v < 0)
        return -1;
    *ms = v;
    return 0;
}

/* --- a pulled contact into fields --- */

struct pull_ctx {
    const struct hs_map *m;
    struct crm_record rec;
    int64_t modified;
};

static int emit(struct pull_ctx *pc, enum change_kind kind, const char *field,
                const char *value_json, int64_t occurred, const char *version,
                const struct consent_value *cv, const char *projection)
{
    return crm_record_field(&pc->rec, kind, field, value_json, occurred, version, cv, projection);
}

static int emit_consent(struct pull_ctx *pc, const char *field, const struct consent_value *cv,
                        const char *version, const char *projection)
{
    char *json = consent_value_to_json(cv);
    int rc;

    if (json == NULL)
        return -1;
    rc = emit(pc, CHANGE_CONSENT, field, json, cv->collected_at, version, cv, projection);
    free(json);
    return rc;
}

/* consent_<purpose>_<channel>[_date|_source] properties. */
static int property_consents(struct pull_ctx *pc, json_t *props)
{
    char name[256], field[256], version[32];

    for (size_t p = 0; p < pc->m->purposes.n; p++) {
        for (const char *const *ch = hs_property_channels; *ch != NULL; ch++) {
            const char *purpose = pc->m->purposes.v[p];
            const char *status, *date, *source;
            struct consent_value cv = {0};

            snprintf(name, sizeof(name), "consent_%s_%s", purpose, *ch);
            status = hs_prop_text(props, name);
            if (status[0] == '\0' || consent_status_parse(status, &cv.status) != 0)
                continue;
            snprintf(name, sizeof(name), "consent_%s_%s_date", purpose, *ch);
            date = hs_prop_text(props, name);
            snprintf(name, sizeof(name), "consent_%s_%s_source", purpose, *ch);
            source = hs_prop_text(props, name);
            if (hs_parse_time(date, &cv.collected_at) != 0)
                cv.collected_at = pc->modified;
            cv.source = source[0] ? source : "hubspot";
            snprintf(field, sizeof(field), "consent/%s/%s", purpose, *ch);
            snprintf(version, sizeof(version), "%" PRId64, pc->modified);
            if (emit_consent(pc, field, &cv, version, status) != 0)
                return -1;
        }
    }
    return 0;
}

/* "source=X; proof=Y" as we write it, else NULL. */
static const char *expl_part(const char *expl, const char *key, char *buf, size_t size)
{
    const char *p = expl ? strstr(expl, key) : NULL;
    size_t len;

    if (p == NULL)
        return NULL;
    p += strlen(key);
    len = strcspn(p, ";");
    if (len == 0 || len >= size)
        return NULL;
    memcpy(buf, p, len);
    buf[len] = '\0';
    return strcmp(buf, "unknown") == 0 || strcmp(buf, "none") == 0 ? NULL : buf;
}

static int email_consents(struct pull_ctx *pc, json_t *statuses)
{
    char field[256], version[32], src[128], proof[256];

    for (size_t s = 0; s < pc->m->subs.n; s++) {
        json_int_t sid = strtoll(pc->m->subs.p[s].val, NULL, 10);
        size_t i;
        json_t *st;

        snprintf(field, sizeof(field), "consent/%s/email", pc->m->subs.p[s].key);
        json_array_foreach(statuses, i, st)
        {
            const char *state = json_string_value(json_object_get(st, "status"));
            const char *ts = json_string_value(json_object_get(st, "timestamp"));
            const char *lb = json_string_value(json_object_get(st, "legalBasis"));
            const char *expl = json_string_value(json_object_get(st, "legalBasisExplanation"));
            struct consent_value cv = {0};

            if (json_integer_value(json_object_get(st, "subscriptionId")) != sid || state == NULL)
                continue;
            if (strcmp(state, HS_STATUS_SUBSCRIBED) == 0)
                cv.status = CONSENT_GRANTED;
            else if (strcmp(state, HS_STATUS_UNSUBSCRIBED) == 0)
                cv.status = CONSENT_DENIED;
            else
                cv.status = CONSENT_UNKNOWN;
            /* Without a timestamp there is no act to record: observe only. */
            if (cv.status == CONSENT_UNKNOWN || hs_parse_time(ts, &cv.collected_at) != 0) {
                if (emit(pc, CHANGE_CONSENT, field, NULL, 0, NULL, NULL, state) != 0)
                    return -1;
                continue;
            }
            cv.legal_basis = lb ? crm_pairs_key_of(&pc->m->bases, lb) : NULL;
            cv.source = expl_part(expl, "source=", src, sizeof(src));
            if (cv.source == NULL)
                cv.source = "hubspot";
            cv.proof = expl_part(expl, "proof=", proof, sizeof(proof));
            snprintf(version, sizeof(version), "%" PRId64, cv.collected_at);
            if (emit_consent(pc, field, &cv, version, state) != 0)
                return -1;
        }
    }
    return 0;
}

/* A number property as the balance digits ("120", "120.0" -> "120"). */
static void balance_text(const char *v, char *out, size_t size)
{
    char *end;
    double d = strtod(v, &end);

    if (*end == '\0' && end != v && d == (double)(long long)d)
        snprintf(out, size, "%lld", (long long)d);
    else
        snprintf(out, size, "%s", v);
}

int hs_contact_fields(const struct hs_map *m, const char *conn, json_t *contact, json_t *statuses,
                      crm_field_fn fn, void *arg, char *member, size_t msize)
{
    json_t *props = json_object_get(contact, "properties");
    const char *key = hs_prop_text(props, m->id_property);
    const char *mod = hs_prop_text(props, "lastmodifieddate");
    struct pull_ctx pc = {
        m, {conn, json_string_value(json_object_get(contact, "id")), member, fn, arg}, 0};
    char version[32], text[192];

    member[0] = '\0';
    if (key[0] == '\0' || pc.rec.id == NULL)
        return 0;
    snprintf(member, msize, "%s", key);
    if (hs_parse_time(mod, &pc.modified) != 0 &&
        hs_parse_time(json_string_value(json_object_get(contact, "updatedAt")), &pc.modified) != 0)
        pc.modified = 0;
    snprintf(version, sizeof(version), "%" PRId64, pc.modified);
    if (property_consents(&pc, props) != 0)
        return -1;
    if (statuses != NULL && email_consents(&pc, statuses) != 0)
        return -1;
    /* HubSpot is not a source of points or tier: what it holds is only
     * observed (drift is repaired by the engine). */
    if (json_is_string(json_object_get(props, m->points_property))) {
        balance_text(hs_prop_text(props, m->points_property), text, sizeof(text));
        if (m->tiers.n > 0) {
            /* Observed as hs_project_balance() projects: a drifted tier is
             * repaired with the balance. */
            size_t len = strlen(text);
            snprintf(text + len, sizeof(text) - len, "|%s", hs_prop_text(props, m->tier_property));
        }
        if (emit(&pc, CHANGE_POINTS, "points/balance", NULL, 0, NULL, NULL, text) != 0)
            return -1;
    }
    if (json_is_string(json_object_get(props, m->tier_property)) &&
        emit(&pc, CHANGE_TIER, "tier", NULL, 0, NULL, NULL,
             hs_prop_text(props, m->tier_property)) != 0)
        return -1;
    /* An empty property (read back as null) is not taken as a clearing: a
     * contact we created holds nothing but what we wrote, and its
     * modification date would make "nothing" win over the member's real
     * value. It is what HubSpot holds, though: observed, so that a value
     * cleared here is not written again at a resync. */
    for (size_t i = 0; i < m->attrs.n; i++) {
        if (crm_record_profile_json(&pc.rec, m->attrs.p[i].key,
                                    json_object_get(props, m->attrs.p[i].val), NULL, pc.modified,
                                    version) != 0)
            return -1;
    }
    return 0;
}
