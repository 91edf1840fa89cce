/* Tiers derived from the points balance (crm_tier.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm_tier.h"

static void tiers_free(struct crm_tier *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(t[i].name);
    free(t);
}

void crm_tiers_free(struct crm_tiers *t)
{
    tiers_free(t->t, t->n);
    t->t = NULL;
    t->n = 0;
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

int crm_tiers_parse(const char *spec, struct crm_tiers *out, struct error *err)
{
    struct crm_tier *t = NULL;
    size_t n = 0;
    char *copy = strdup(spec != NULL ? spec : "");
    char *item, *save = NULL;
    int rc = -1;

    out->t = NULL;
    out->n = 0;
    if (copy == NULL) {
        error_set(err, "out of memory");
        goto out;
    }
    for (item = strtok_r(copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        char *colon, *end = NULL;
        struct crm_tier *grown;
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
    out->t = t;
    out->n = n;
    t = NULL;
    n = 0;
    rc = 0;
out:
    tiers_free(t, n);
    free(copy);
    return rc;
}

const char *crm_tier_of(const struct crm_tiers *t, int64_t balance)
{
    const char *name = "";

    for (size_t i = 0; i < t->n && balance >= t->t[i].min; i++)
        name = t->t[i].name;
    return name;
}

void crm_balance_projection(const struct crm_tiers *t, int64_t balance, char *out, size_t outsize)
{
    if (t->n > 0)
        snprintf(out, outsize, "%" PRId64 "|%s", balance, crm_tier_of(t, balance));
    else
        snprintf(out, outsize, "%" PRId64, balance);
}
