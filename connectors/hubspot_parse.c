/* HubSpot response parsing: batch answers into per-record outcomes, whole-
 * batch validation errors pinned on the inputs that caused them, search
 * pages and subscription statuses into canonical changes. Pure (STYLE.md 3);
 * tests/unit/test_hubspot_parse.c feeds it recorded bodies. */
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

void hs_error_message(const char *body, char *out, size_t outsize)
{
    json_t *root = body ? json_loads(body, 0, NULL) : NULL;
    const char *msg = json_string_value(json_object_get(root, "message"));

    if (msg == NULL)
        msg = json_string_value(json_object_get(root, "error_description"));
    snprintf(out, outsize, "%s", msg ? msg : "");
    json_decref(root);
}

void hs_policy_name(const char *body, char *out, size_t outsize)
{
    json_t *root = body ? json_loads(body, 0, NULL) : NULL;
    const char *p = json_string_value(json_object_get(root, "policyName"));

    snprintf(out, outsize, "%s", p ? p : "");
    json_decref(root);
}

static const char *result_key(json_t *result, const char *id_property)
{
    return json_string_value(json_object_get(json_object_get(result, "properties"), id_property));
}

int hs_parse_batch_result(const char *body, const char *id_property, const char *const *keys,
                          size_t n, struct hs_outcome *out)
{
    json_t *root = body ? json_loads(body, 0, NULL) : NULL;
    json_t *results = json_object_get(root, "results");
    json_t *errors = json_object_get(root, "errors");
    size_t i, k;
    json_t *r, *e;

    if (!json_is_array(results)) {
        json_decref(root);
        return -1;
    }
    json_array_foreach(results, i, r)
    {
        const char *key = result_key(r, id_property);
        const char *id = json_string_value(json_object_get(r, "id"));

        if (key == NULL || id == NULL)
            continue;
        for (k = 0; k < n; k++) {
            if (keys[k] != NULL && strcmp(keys[k], key) == 0) {
                out[k].state = HS_OK;
                snprintf(out[k].id, sizeof(out[k].id), "%s", id);
            }
        }
    }
    /* 207: each error names the inputs it is about in context.ids. */
    json_array_foreach(errors, i, e)
    {
        const char *msg = json_string_value(json_object_get(e, "message"));
        json_t *ids = json_object_get(json_object_get(e, "context"), "ids");
        size_t j;
        json_t *idv;

        json_array_foreach(ids, j, idv)
        {
            const char *id = json_string_value(idv);
            for (k = 0; id != NULL && k < n; k++) {
                if (keys[k] != NULL && strcmp(keys[k], id) == 0) {
                    out[k].state = HS_REJECT;
                    snprintf(out[k].reason, sizeof(out[k].reason), "%s",
                             msg ? msg : "rejected by HubSpot");
                }
            }
        }
    }
    json_decref(root);
    return 0;
}

/* The value of a property as sent, as text ("" when absent). */
static const char *prop_text(json_t *props, const char *name)
{
    const char *v = json_string_value(json_object_get(props, name));
    return v ? v : "";
}

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    if (n == 0)
        return 0;
    for (; *hay != '\0'; hay++) {
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    }
    return 0;
}

/* "Property values were not valid: [{...}]": each entry names a property
 * (and for value errors, the value in its message). */
static size_t blame_validation(const char *list, json_t *const *props, size_t n, int *blame)
{
    json_t *errs = json_loads(list, 0, NULL);
    size_t i, blamed = 0, unpinned = 0;
    json_t *e;

    if (!json_is_array(errs)) {
        json_decref(errs);
        return 0;
    }
    json_array_foreach(errs, i, e)
    {
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *code = json_string_value(json_object_get(e, "error"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        size_t cand = 0, by_value = 0, last = 0;

        if (name == NULL) {
            unpinned++;
            continue;
        }
        for (size_t k = 0; k < n; k++) {
            if (json_object_get(props[k], name) == NULL)
                continue;
            cand++;
            last = k;
            if (msg != NULL && contains_ci(msg, prop_text(props[k], name))) {
                by_value++;
                blamed += !blame[k];
                blame[k] = 1;
            }
        }
        if (by_value > 0)
            continue;
        /* A property that does not exist or cannot be written fails every
         * input carrying it; any other error is pinned only when one input
         * carries the property. */
        if (code != NULL &&
            (strcmp(code, "PROPERTY_DOESNT_EXIST") == 0 || strcmp(code, "READ_ONLY_VALUE") == 0)) {
            for (size_t k = 0; k < n; k++) {
                if (json_object_get(props[k], name) != NULL && !blame[k]) {
                    blame[k] = 1;
                    blamed++;
                }
            }
        } else if (cand == 1) {
            blamed += !blame[last];
            blame[last] = 1;
        } else {
            unpinned++;
        }
    }
    json_decref(errs);
    /* Some error could not be pinned: the rest may still fail; say nothing
     * rather than resend a batch that fails again. */
    return unpinned ? 0 : blamed;
}

/* 409 on a unique property: "Duplicate value for unique property P in batch
 * input" (every input after the first holding a value), or "... already
 * exists. Existing ID: N" (the input holding P whose record is not N, when
 * there is exactly one). */
static size_t blame_conflict(const char *msg, const char *id_property, json_t *const *props,
                             const char *const *remote_ids, size_t n, int *blame)
{
    char prop[128] = "";
    const char *p;
    size_t blamed = 0;

    p = strstr(msg, "unique property ");
    if (p != NULL) {
        size_t len = strcspn(p + 16, " .");
        snprintf(prop, sizeof(prop), "%.*s", (int)(len < sizeof(prop) ? len : sizeof(prop) - 1),
                 p + 16);
    } else if (strncmp(msg, "Contact already exists", 22) == 0) {
        snprintf(prop, sizeof(prop), "email");
    }
    if (prop[0] == '\0' || strcmp(prop, id_property) == 0)
        return 0;
    if (strstr(msg, "in batch input") != NULL) {
        for (size_t k = 0; k < n; k++) {
            const char *v = prop_text(props[k], prop);
            if (v[0] == '\0')
                continue;
            for (size_t j = 0; j < k; j++) {
                if (strcasecmp(prop_text(props[j], prop), v) == 0) {
                    blame[k] = 1;
                    blamed++;
                    break;
                }
            }
        }
        return blamed;
    }
    p = strstr(msg, "Existing ID: ");
    if (p != NULL) {
        const char *holder = p + 13;
        size_t cand = 0, last = 0;
        for (size_t k = 0; k < n; k++) {
            if (prop_text(props[k], prop)[0] == '\0')
                continue;
            if (remote_ids[k] != NULL && strncmp(remote_ids[k], holder, strlen(remote_ids[k])) == 0)
                continue;
            cand++;
            last = k;
        }
        if (cand == 1) {
            blame[last] = 1;
            return 1;
        }
    }
    return 0;
}

size_t hs_attribute_error(const char *body, const char *id_property, json_t *const *props,
                          const char *const *remote_ids, size_t n, int *blame, char *reason,
                          size_t rsize)
{
    static const char invalid[] = "Property values were not valid: ";
    json_t *root = body ? json_loads(body, 0, NULL) : NULL;
    const char *msg = json_string_value(json_object_get(root, "message"));
    size_t blamed = 0;

    memset(blame, 0, n * sizeof(*blame));
    snprintf(reason, rsize, "%s", msg ? msg : "rejected by HubSpot");
    if (msg == NULL) {
        json_decref(root);
        return 0;
    }
    if (strncmp(msg, invalid, sizeof(invalid) - 1) == 0)
        blamed = blame_validation(msg + sizeof(invalid) - 1, props, n, blame);
    else
        blamed = blame_conflict(msg, id_property, props, remote_ids, n, blame);
    if (blamed == 0)
        memset(blame, 0, n * sizeof(*blame));
    json_decref(root);
    return blamed;
}

int hs_parse_status_write(const char *body, json_t *inputs, struct hs_outcome *out)
{
    json_t *root = body ? json_loads(body, 0, NULL) : NULL;
    json_t *results = json_object_get(root, "results");
    size_t i, k;
    json_t *r, *e, *in;

    if (!json_is_array(results)) {
        json_decref(root);
        return -1;
    }
    json_array_foreach(results, i, r)
    {
        const char *email = json_string_value(json_object_get(r, "subscriberIdString"));
        json_int_t sid = json_integer_value(json_object_get(r, "subscriptionId"));

        json_array_foreach(inputs, k, in)
        {
            if (email != NULL &&
                strcasecmp(email, json_string_value(json_object_get(in, "subscriberIdString"))) ==
                    0 &&
                sid == json_integer_value(json_object_get(in, "subscriptionId")))
                out[k].state = HS_OK;
        }
    }
    /* Errors name a subscriber or a subscription in their context. */
    json_array_foreach(json_object_get(root, "errors"), i, e)
    {
        const char *msg = json_string_value(json_object_get(e, "message"));
        json_t *ctx = json_object_get(e, "context");
        json_t *emails = json_object_get(ctx, "subscriberIdString");
        json_t *sids = json_object_get(ctx, "subscriptionId");

        json_array_foreach(inputs, k, in)
        {
            const char *email = json_string_value(json_object_get(in, "subscriberIdString"));
            char sid[24];
            int hit = 0;
            size_t j;
            json_t *v;

            snprintf(sid, sizeof(sid), "%" JSON_INTEGER_FORMAT,
                     json_integer_value(json_object_get(in, "subscriptionId")));
            json_array_foreach(emails, j, v)
            {
                hit |= json_is_string(v) && strcasecmp(json_string_value(v), email) == 0;
            }
            json_array_foreach(sids, j, v)
            {
                hit |= (json_is_string(v) && strcmp(json_string_value(v), sid) == 0) ||
                       (json_is_integer(v) &&
                        json_integer_value(v) ==
                            json_integer_value(json_object_get(in, "subscriptionId")));
            }
            if (hit && out[k].state != HS_OK) {
                out[k].state = HS_REJECT;
                snprintf(out[k].reason, sizeof(out[k].reason), "%s",
                         msg ? msg : "rejected by HubSpot");
            }
        }
    }
    json_decref(root);
    return 0;
}

int hs_parse_list_id(const char *body, char *out, size_t outsize)
{
    json_t *root = body ? json_loads(body, 0, NULL) : NULL;
    json_t *list = json_object_get(root, "list");
    json_t *id = json_object_get(list ? list : root, "listId");
    int rc = 0;

    if (json_is_string(id))
        snprintf(out, outsize, "%s", json_string_value(id));
    else if (json_is_integer(id))
        snprintf(out, outsize, "%" JSON_INTEGER_FORMAT, json_integer_value(id));
    else
        rc = -1;
    json_decref(root);
    return rc;
}

json_t *hs_parse_missing(const char *body)
{
    json_t *root = body ? json_loads(body, 0, NULL) : NULL;
    json_t *m = json_object_get(root, "recordIdsMissing");
    json_t *out = json_is_array(m) ? json_incref(m) : NULL;

    json_decref(root);
    return out;
}

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
            status = prop_text(props, name);
            if (status[0] == '\0' || consent_status_parse(status, &cv.status) != 0)
                continue;
            snprintf(name, sizeof(name), "consent_%s_%s_date", purpose, *ch);
            date = prop_text(props, name);
            snprintf(name, sizeof(name), "consent_%s_%s_source", purpose, *ch);
            source = prop_text(props, name);
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
    const char *key = prop_text(props, m->id_property);
    const char *mod = prop_text(props, "lastmodifieddate");
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
        balance_text(prop_text(props, m->points_property), text, sizeof(text));
        if (m->tiers.n > 0) {
            /* Observed as hs_project_balance() projects: a drifted tier is
             * repaired with the balance. */
            size_t len = strlen(text);
            snprintf(text + len, sizeof(text) - len, "|%s", prop_text(props, m->tier_property));
        }
        if (emit(&pc, CHANGE_POINTS, "points/balance", NULL, 0, NULL, NULL, text) != 0)
            return -1;
    }
    if (json_is_string(json_object_get(props, m->tier_property)) &&
        emit(&pc, CHANGE_TIER, "tier", NULL, 0, NULL, NULL, prop_text(props, m->tier_property)) !=
            0)
        return -1;
    for (size_t i = 0; i < m->attrs.n; i++) {
        json_t *v = json_object_get(props, m->attrs.p[i].val);

        /* An empty property is not taken as a clearing: a contact we
         * created holds nothing but what we wrote, and its modification
         * date would make "nothing" win over the member's real value. */
        if (!json_is_string(v) || json_string_length(v) == 0)
            continue;
        if (crm_record_profile(&pc.rec, m->attrs.p[i].key, json_string_value(v), pc.modified,
                               version) != 0)
            return -1;
    }
    return 0;
}

int hs_newer_withdrawal(json_t *statuses, const char *email, long long sid, int64_t collected_at)
{
    char low[512];
    size_t k, i;
    json_t *st;

    if (email == NULL)
        return 0;
    for (k = 0; email[k] != '\0' && k + 1 < sizeof(low); k++)
        low[k] = (char)tolower((unsigned char)email[k]);
    low[k] = '\0';
    json_array_foreach(json_object_get(statuses, low), i, st)
    {
        const char *state = json_string_value(json_object_get(st, "status"));
        int64_t at;

        if (json_integer_value(json_object_get(st, "subscriptionId")) == sid && state != NULL &&
            strcmp(state, HS_STATUS_UNSUBSCRIBED) == 0 &&
            hs_parse_time(json_string_value(json_object_get(st, "timestamp")), &at) == 0 &&
            at > collected_at)
            return 1;
    }
    return 0;
}
