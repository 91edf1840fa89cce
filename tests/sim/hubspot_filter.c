#include "hubspot_filter.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim_time.h"

static const char *const operators[] = {
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
    NULL,
};

static bool known_operator(const char *op)
{
    for (const char *const *o = operators; *o != NULL; o++) {
        if (strcmp(*o, op) == 0)
            return true;
    }
    return false;
}

/* JSON scalar as text (HubSpot accepts filter values as strings or numbers). */
static bool scalar_text(json_t *v, char *buf, size_t bufsize)
{
    if (json_is_string(v))
        snprintf(buf, bufsize, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, bufsize, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, bufsize, "%.17g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, bufsize, "%s", json_is_true(v) ? "true" : "false");
    else
        return false;
    return true;
}

static int parse_filter(json_t *f, char *err, size_t errlen)
{
    const char *prop = json_string_value(json_object_get(f, "propertyName"));
    const char *op = json_string_value(json_object_get(f, "operator"));
    char tmp[16];

    if (!json_is_object(f) || prop == NULL || op == NULL) {
        snprintf(err, errlen, "Invalid input JSON: each filter needs propertyName and operator");
        return -1;
    }
    if (!known_operator(op)) {
        snprintf(err, errlen, "Unknown filter operator %s", op);
        return -1;
    }
    if (strcmp(op, "HAS_PROPERTY") == 0 || strcmp(op, "NOT_HAS_PROPERTY") == 0)
        return 0;
    if (strcmp(op, "IN") == 0 || strcmp(op, "NOT_IN") == 0) {
        if (!json_is_array(json_object_get(f, "values"))) {
            snprintf(err, errlen, "Operator %s requires 'values'", op);
            return -1;
        }
        return 0;
    }
    if (!scalar_text(json_object_get(f, "value"), tmp, sizeof(tmp))) {
        snprintf(err, errlen, "Operator %s requires 'value'", op);
        return -1;
    }
    if (strcmp(op, "BETWEEN") == 0 &&
        !scalar_text(json_object_get(f, "highValue"), tmp, sizeof(tmp))) {
        snprintf(err, errlen, "Operator BETWEEN requires 'value' and 'highValue'");
        return -1;
    }
    return 0;
}

int hs_search_parse(json_t *body, struct hs_search *q, char *err, size_t errlen)
{
    json_t *groups, *sorts, *limit, *after, *props, *query;
    size_t total = 0;
    size_t i;
    json_t *g;

    memset(q, 0, sizeof(*q));
    q->limit = HS_SEARCH_DEFAULT_LIMIT;
    if (!json_is_object(body)) {
        snprintf(err, errlen, "Invalid input JSON: expected an object");
        return -1;
    }
    groups = json_object_get(body, "filterGroups");
    if (groups != NULL && !json_is_array(groups)) {
        snprintf(err, errlen, "Invalid input JSON: filterGroups must be an array");
        return -1;
    }
    if (json_array_size(groups) > HS_MAX_GROUPS) {
        snprintf(err, errlen, "Too many filter groups: %zu (maximum %d)", json_array_size(groups),
                 HS_MAX_GROUPS);
        return -1;
    }
    json_array_foreach(groups, i, g)
    {
        json_t *filters = json_object_get(g, "filters");
        size_t k;
        json_t *f;

        if (!json_is_array(filters)) {
            snprintf(err, errlen, "Invalid input JSON: each filter group needs 'filters'");
            return -1;
        }
        if (json_array_size(filters) > HS_MAX_FILTERS_PER_GROUP) {
            snprintf(err, errlen, "Too many filters in filter group %zu: %zu (maximum %d)", i,
                     json_array_size(filters), HS_MAX_FILTERS_PER_GROUP);
            return -1;
        }
        total += json_array_size(filters);
        json_array_foreach(filters, k, f)
        {
            if (parse_filter(f, err, errlen) != 0)
                return -1;
        }
    }
    if (total > HS_MAX_FILTERS_TOTAL) {
        snprintf(err, errlen, "Too many filters: %zu (maximum %d across all groups)", total,
                 HS_MAX_FILTERS_TOTAL);
        return -1;
    }
    q->groups = groups;

    sorts = json_object_get(body, "sorts");
    if (sorts != NULL && !json_is_array(sorts)) {
        snprintf(err, errlen, "Invalid input JSON: sorts must be an array");
        return -1;
    }
    if (json_array_size(sorts) > 1) {
        snprintf(err, errlen, "Only one sort is allowed per search request");
        return -1;
    }
    if (json_array_size(sorts) == 1) {
        json_t *s = json_array_get(sorts, 0);

        if (json_is_string(s)) {
            const char *name = json_string_value(s);

            q->sort_desc = name[0] == '-';
            q->sort_prop = name + (name[0] == '-');
        } else {
            const char *dir = json_string_value(json_object_get(s, "direction"));

            q->sort_prop = json_string_value(json_object_get(s, "propertyName"));
            if (q->sort_prop == NULL ||
                (dir != NULL && strcmp(dir, "ASCENDING") != 0 && strcmp(dir, "DESCENDING") != 0)) {
                snprintf(err, errlen,
                         "Invalid sort: needs propertyName and direction ASCENDING or DESCENDING");
                return -1;
            }
            q->sort_desc = dir != NULL && strcmp(dir, "DESCENDING") == 0;
        }
    }

    limit = json_object_get(body, "limit");
    if (limit != NULL) {
        if (!json_is_integer(limit) || json_integer_value(limit) < 0) {
            snprintf(err, errlen, "Invalid input JSON: limit must be a non-negative integer");
            return -1;
        }
        if (json_integer_value(limit) > HS_SEARCH_MAX_LIMIT) {
            snprintf(err, errlen, "limit must be at most %d, got %lld", HS_SEARCH_MAX_LIMIT,
                     (long long)json_integer_value(limit));
            return -1;
        }
        q->limit = (size_t)json_integer_value(limit);
    }
    after = json_object_get(body, "after");
    if (after != NULL && !json_is_null(after)) {
        char buf[32];
        char *end;
        long long v;

        if (!scalar_text(after, buf, sizeof(buf))) {
            snprintf(err, errlen, "Invalid input JSON: after must be a paging cursor");
            return -1;
        }
        v = strtoll(buf, &end, 10);
        if (buf[0] != '\0' && (*end != '\0' || v < 0)) {
            snprintf(err, errlen, "Invalid input JSON: after must be a paging cursor");
            return -1;
        }
        q->after = buf[0] ? (size_t)v : 0;
    }
    if (q->after + q->limit > HS_SEARCH_MAX_RESULTS) {
        snprintf(err, errlen,
                 "Search results are limited to %d records per query: after=%zu limit=%zu "
                 "goes past it. Narrow the query (e.g. by lastmodifieddate) instead.",
                 HS_SEARCH_MAX_RESULTS, q->after, q->limit);
        return -1;
    }
    props = json_object_get(body, "properties");
    if (props != NULL && !json_is_array(props)) {
        snprintf(err, errlen, "Invalid input JSON: properties must be an array");
        return -1;
    }
    q->properties = props;
    query = json_object_get(body, "query");
    q->query = json_string_value(query);
    return 0;
}

int hs_value_cmp(enum hs_type type, const char *a, const char *b)
{
    if (type == HS_T_DATETIME) {
        int64_t x, y;

        if (sim_time_parse(a, &x) == 0 && sim_time_parse(b, &y) == 0)
            return x < y ? -1 : x > y;
    } else if (type == HS_T_NUMBER) {
        char *ea, *eb;
        double x = strtod(a, &ea);
        double y = strtod(b, &eb);

        if (*a != '\0' && *b != '\0' && *ea == '\0' && *eb == '\0')
            return x < y ? -1 : x > y;
    }
    return strcasecmp(a, b);
}

/* CONTAINS_TOKEN: the value is split into words at non-alphanumerics;
 * "*" in the token is a wildcard at either end. */
static bool contains_token(const char *value, const char *token)
{
    size_t tlen = strlen(token);
    bool lead = tlen > 0 && token[0] == '*';
    bool trail = tlen > 1 && token[tlen - 1] == '*';
    char t[256];
    size_t n;

    if (lead) {
        token++;
        tlen--;
    }
    if (trail)
        tlen--;
    if (tlen == 0 || tlen >= sizeof(t))
        return tlen == 0;
    memcpy(t, token, tlen);
    t[tlen] = '\0';
    if (lead && trail)
        return strcasestr(value, t) != NULL;
    for (const char *w = value; *w != '\0'; w += n) {
        n = 0;
        while (w[n] != '\0' && isalnum((unsigned char)w[n]))
            n++;
        if (n == 0) {
            n = 1;
            continue;
        }
        if (trail && n >= tlen && strncasecmp(w, t, tlen) == 0)
            return true;
        if (lead && n >= tlen && strncasecmp(w + n - tlen, t, tlen) == 0)
            return true;
        if (!lead && !trail && n == tlen && strncasecmp(w, t, tlen) == 0)
            return true;
    }
    /* An email or phone as a whole also counts as a token. */
    return !lead && !trail && strcasecmp(value, t) == 0;
}

enum hs_op {
    OP_EQ,
    OP_NEQ,
    OP_LT,
    OP_LTE,
    OP_GT,
    OP_GTE,
    OP_BETWEEN,
    OP_IN,
    OP_NOT_IN,
    OP_HAS,
    OP_NOT_HAS,
    OP_CONTAINS,
    OP_NOT_CONTAINS
};

static void key_parse(enum hs_type type, const char *text, struct hs_key *k)
{
    char *end;

    k->text = text;
    k->parsed = false;
    if (type == HS_T_DATETIME) {
        k->parsed = sim_time_parse(text, &k->ms) == 0;
    } else if (type == HS_T_NUMBER) {
        k->num = strtod(text, &end);
        k->parsed = *text != '\0' && *end == '\0';
    }
}

/* hs_value_cmp(type, have, k->text) with k parsed once. */
static int key_cmp(enum hs_type type, const char *have, const struct hs_key *k)
{
    if (type == HS_T_DATETIME && k->parsed) {
        int64_t x;

        if (sim_time_parse(have, &x) == 0)
            return x < k->ms ? -1 : x > k->ms;
    } else if (type == HS_T_NUMBER && k->parsed) {
        char *end;
        double x = strtod(have, &end);

        if (*have != '\0' && *end == '\0')
            return x < k->num ? -1 : x > k->num;
    }
    return strcasecmp(have, k->text);
}

static void prepare_filter(json_t *f, hs_type_fn type_of, void *ctx, struct hs_prepared_filter *pf)
{
    const char *op = json_string_value(json_object_get(f, "operator"));

    pf->f = f;
    pf->prop = json_string_value(json_object_get(f, "propertyName"));
    pf->type = type_of ? type_of(pf->prop, ctx) : HS_T_STRING;
    pf->op = 0;
    for (const char *const *o = operators; *o != NULL; o++) {
        if (strcmp(*o, op) == 0)
            break;
        pf->op++;
    }
    pf->val[0] = pf->high[0] = '\0';
    scalar_text(json_object_get(f, "value"), pf->val, sizeof(pf->val));
    scalar_text(json_object_get(f, "highValue"), pf->high, sizeof(pf->high));
    key_parse(pf->type, pf->val, &pf->kv);
    key_parse(pf->type, pf->high, &pf->kh);
}

void hs_search_prepare(const struct hs_search *q, hs_type_fn type_of, void *ctx,
                       struct hs_prepared *p)
{
    size_t i, k, n = 0;
    json_t *g, *f;

    p->ngroups = 0;
    json_array_foreach(q->groups, i, g)
    {
        if (i >= HS_MAX_GROUPS)
            break;
        p->first[i] = n;
        json_array_foreach(json_object_get(g, "filters"), k, f)
        {
            if (n >= HS_MAX_FILTERS_TOTAL)
                break;
            prepare_filter(f, type_of, ctx, &p->f[n++]);
        }
        p->ngroups = i + 1;
    }
    p->first[p->ngroups] = n;
}

static bool filter_match(const struct hs_prepared_filter *pf, json_t *props)
{
    const char *have = json_string_value(json_object_get(props, pf->prop));
    bool has = have != NULL && have[0] != '\0';
    char val[512];

    switch (pf->op) {
    case OP_HAS:
        return has;
    case OP_NOT_HAS:
        return !has;
    case OP_IN:
    case OP_NOT_IN: {
        bool in = false;
        size_t i;
        json_t *v;

        json_array_foreach(json_object_get(pf->f, "values"), i, v)
        {
            if (has && scalar_text(v, val, sizeof(val)) && hs_value_cmp(pf->type, have, val) == 0)
                in = true;
        }
        return pf->op == OP_IN ? in : !in;
    }
    case OP_NEQ:
        return !has || key_cmp(pf->type, have, &pf->kv) != 0;
    case OP_NOT_CONTAINS:
        return !has || !contains_token(have, pf->val);
    default:
        break;
    }
    if (!has)
        return false;
    switch (pf->op) {
    case OP_EQ:
        return key_cmp(pf->type, have, &pf->kv) == 0;
    case OP_LT:
        return key_cmp(pf->type, have, &pf->kv) < 0;
    case OP_LTE:
        return key_cmp(pf->type, have, &pf->kv) <= 0;
    case OP_GT:
        return key_cmp(pf->type, have, &pf->kv) > 0;
    case OP_GTE:
        return key_cmp(pf->type, have, &pf->kv) >= 0;
    case OP_BETWEEN:
        return key_cmp(pf->type, have, &pf->kv) >= 0 && key_cmp(pf->type, have, &pf->kh) <= 0;
    case OP_CONTAINS:
        return contains_token(have, pf->val);
    default:
        return false;
    }
}

static bool query_match(const char *query, json_t *props)
{
    static const char *const text_props[] = {"firstname", "lastname", "email",
                                             "phone",     "company",  NULL};

    for (const char *const *p = text_props; *p != NULL; p++) {
        const char *v = json_string_value(json_object_get(props, *p));

        if (v != NULL && strcasestr(v, query) != NULL)
            return true;
    }
    return false;
}

bool hs_prepared_match(const struct hs_search *q, const struct hs_prepared *p, json_t *props)
{
    if (q->query != NULL && q->query[0] != '\0' && !query_match(q->query, props))
        return false;
    if (p->ngroups == 0)
        return true;
    for (size_t g = 0; g < p->ngroups; g++) {
        bool all = true;

        for (size_t k = p->first[g]; k < p->first[g + 1]; k++) {
            if (!filter_match(&p->f[k], props)) {
                all = false;
                break;
            }
        }
        if (all)
            return true;
    }
    return false;
}

bool hs_search_match(const struct hs_search *q, json_t *props, hs_type_fn type_of, void *ctx)
{
    struct hs_prepared p;

    hs_search_prepare(q, type_of, ctx, &p);
    return hs_prepared_match(q, &p, props);
}
