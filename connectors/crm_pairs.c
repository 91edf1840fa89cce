/* Pair maps and lists of connector options (crm_pairs.h). */
#include "crm_pairs.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static char *trim_dup(const char *p, size_t len)
{
    while (len > 0 && isspace((unsigned char)*p)) {
        p++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)p[len - 1]))
        len--;
    return strndup(p, len);
}

static int blank(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!isspace((unsigned char)p[i]))
            return 0;
    }
    return 1;
}

/* Calls fn for every non-blank comma-separated item of text. Stops at
 * the first nonzero return and returns it. */
static int each_item(const char *text, int (*fn)(void *ctx, const char *p, size_t len), void *ctx)
{
    const char *p = text ? text : "";

    while (*p != '\0') {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        int rc = blank(p, len) ? 0 : fn(ctx, p, len);

        if (rc != 0)
            return rc;
        if (end == NULL)
            break;
        p = end + 1;
    }
    return 0;
}

/* -1: out of memory, -2: not name=value. */
static int add_pair(void *ctx, const char *p, size_t len)
{
    struct crm_pairs *ps = ctx;
    const char *eq = memchr(p, '=', len);
    struct crm_pair *grown;

    if (eq == NULL || eq == p)
        return -2;
    grown = realloc(ps->p, (ps->n + 1) * sizeof(*ps->p));
    if (grown == NULL)
        return -1;
    ps->p = grown;
    ps->p[ps->n].key = trim_dup(p, (size_t)(eq - p));
    ps->p[ps->n].val = trim_dup(eq + 1, len - (size_t)(eq - p) - 1);
    ps->n++;
    if (ps->p[ps->n - 1].key == NULL || ps->p[ps->n - 1].val == NULL)
        return -1;
    if (ps->p[ps->n - 1].key[0] == '\0' || ps->p[ps->n - 1].val[0] == '\0')
        return -2;
    return 0;
}

int crm_pairs_parse(const char *text, const char *what, struct crm_pairs *out, struct error *err)
{
    struct crm_pairs ps = {NULL, 0};
    int rc = each_item(text, add_pair, &ps);

    out->p = NULL;
    out->n = 0;
    if (rc == 0) {
        *out = ps;
        return 0;
    }
    crm_pairs_free(&ps);
    if (rc == -1)
        return error_set(err, "out of memory");
    return error_set(err, "%s: expected \"name=value, ...\", got \"%.80s\"", what, text);
}

void crm_pairs_free(struct crm_pairs *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        free(ps->p[i].key);
        free(ps->p[i].val);
    }
    free(ps->p);
    ps->p = NULL;
    ps->n = 0;
}

const char *crm_pairs_get(const struct crm_pairs *ps, const char *key)
{
    for (size_t i = 0; i < ps->n; i++) {
        if (strcmp(ps->p[i].key, key) == 0)
            return ps->p[i].val;
    }
    return NULL;
}

const char *crm_pairs_key_of(const struct crm_pairs *ps, const char *val)
{
    for (size_t i = 0; i < ps->n; i++) {
        if (strcmp(ps->p[i].val, val) == 0)
            return ps->p[i].key;
    }
    return NULL;
}

static int add_item(void *ctx, const char *p, size_t len)
{
    struct crm_list *l = ctx;
    char **grown = realloc(l->v, (l->n + 1) * sizeof(*l->v));

    if (grown == NULL)
        return -1;
    l->v = grown;
    l->v[l->n] = trim_dup(p, len);
    if (l->v[l->n] == NULL)
        return -1;
    l->n++;
    return 0;
}

int crm_list_parse(const char *text, struct crm_list *out, struct error *err)
{
    struct crm_list l = {NULL, 0};

    out->v = NULL;
    out->n = 0;
    if (each_item(text, add_item, &l) != 0) {
        crm_list_free(&l);
        return error_set(err, "out of memory");
    }
    *out = l;
    return 0;
}

void crm_list_free(struct crm_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

int crm_list_has(const struct crm_list *l, const char *item)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i], item) == 0)
            return 1;
    }
    return 0;
}

int crm_list_add(struct crm_list *l, const char *item)
{
    char **grown;
    char *copy;

    if (crm_list_has(l, item))
        return 0;
    copy = strdup(item);
    grown = copy ? realloc(l->v, (l->n + 1) * sizeof(*l->v)) : NULL;
    if (grown == NULL) {
        free(copy);
        return -1;
    }
    l->v = grown;
    l->v[l->n++] = copy;
    return 0;
}
