/* Pure: the tier derived from the points balance (docs/hubspot.md "Tier").
 *
 * DESIGN.md §2: the tier is derived from points by configured thresholds.
 * The balance HubSpot gets is already derived at send time from the ledger
 * (points_as_balance); the tier is derived from that same balance in the
 * same write, so the two properties never disagree and a replay writes the
 * same values again. `tiers = bronze:0,silver:1000,gold:5000`: a member's
 * tier is the last one whose minimum the balance reaches; below the first,
 * none (the property is cleared). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubspot.h"

void hs_tiers_free(struct hs_tier *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(t[i].name);
    free(t);
}

static void trim(char *s)
{
    size_t len = strlen(s), start = 0;

    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        s[--len] = '\0';
    while (s[start] == ' ' || s[start] == '\t')
        start++;
    memmove(s, s + start, len - start + 1);
}

int hs_tiers_parse(const char *spec, struct hs_tier **out, size_t *nout, struct error *err)
{
    struct hs_tier *t = NULL;
    size_t n = 0;
    char *copy = strdup(spec != NULL ? spec : "");
    char *item, *save = NULL;
    int rc = -1;

    *out = NULL;
    *nout = 0;
    if (copy == NULL) {
        error_set(err, "out of memory");
        goto out;
    }
    for (item = strtok_r(copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        char *colon, *end = NULL;
        struct hs_tier *grown;
        long long min;

        trim(item);
        if (item[0] == '\0')
            continue;
        colon = strchr(item, ':');
        if (colon == NULL) {
            error_set(err, "tiers: \"%s\" is not name:minimum", item);
            goto out;
        }
        *colon = '\0';
        trim(item);
        trim(colon + 1);
        errno = 0;
        min = strtoll(colon + 1, &end, 10);
        if (item[0] == '\0' || colon[1] == '\0' || *end != '\0' || errno != 0) {
            error_set(err, "tiers: \"%s:%s\" is not name:minimum (an integer balance)", item,
                      colon + 1);
            goto out;
        }
        if (n > 0 && min <= t[n - 1].min) {
            error_set(err, "tiers: minimums must ascend (%s:%lld after %s:%" PRId64 ")", item, min,
                      t[n - 1].name, t[n - 1].min);
            goto out;
        }
        grown = realloc(t, (n + 1) * sizeof(*t));
        if (grown == NULL) {
            error_set(err, "out of memory");
            goto out;
        }
        t = grown;
        t[n].min = (int64_t)min;
        t[n].name = strdup(item);
        if (t[n].name == NULL) {
            error_set(err, "out of memory");
            goto out;
        }
        n++;
    }
    *out = t;
    *nout = n;
    t = NULL;
    n = 0;
    rc = 0;
out:
    hs_tiers_free(t, n);
    free(copy);
    return rc;
}

const char *hs_tier_of(const struct hs_map *m, int64_t balance)
{
    const char *name = "";

    for (size_t i = 0; i < m->ntiers && balance >= m->tiers[i].min; i++)
        name = m->tiers[i].name;
    return name;
}

int hs_project_balance(const struct hs_map *m, const char *value_json, char *out, size_t outsize)
{
    json_t *root = json_loads(value_json, 0, NULL);
    json_t *b = json_object_get(root, "balance");
    int rc = -1;

    if (json_is_integer(b)) {
        json_int_t v = json_integer_value(b);
        if (m->ntiers > 0)
            snprintf(out, outsize, "%" JSON_INTEGER_FORMAT "|%s", v, hs_tier_of(m, (int64_t)v));
        else
            snprintf(out, outsize, "%" JSON_INTEGER_FORMAT, v);
        rc = 0;
    }
    json_decref(root);
    return rc;
}
