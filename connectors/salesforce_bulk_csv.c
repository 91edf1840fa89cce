/* Pure: the Bulk API 2.0 upload CSV of a Contact plan (sf_bulk_csv;
 * docs/salesforce.md "Bulk"). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "salesforce.h"

/* --- Bulk API 2.0 upload CSV --- */

struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *p;
        while (b->len + n + 1 > cap)
            cap *= 2;
        p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* One CSV field (RFC 4180): quoted when it holds a comma, a quote, CR or
 * LF, or starts or ends with a blank (Bulk would keep them, a reader might
 * not); quotes doubled. */
static void sb_field(struct sbuf *b, const char *s)
{
    size_t n = strlen(s);
    int quote = n > 0 && (s[0] == ' ' || s[n - 1] == ' ');

    if (strpbrk(s, ",\"\r\n") != NULL)
        quote = 1;
    if (!quote) {
        sb_put(b, s, n);
        return;
    }
    sb_put(b, "\"", 1);
    for (const char *q = s; *q != '\0'; q++) {
        if (*q == '"')
            sb_put(b, "\"\"", 2);
        else
            sb_put(b, q, 1);
    }
    sb_put(b, "\"", 1);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The cell of one JSON value: "" = untouched (absent), "#N/A" = null (an
 * empty string is null to Salesforce too). */
static void sb_value(struct sbuf *b, const json_t *v)
{
    char num[64];

    if (v == NULL)
        return;
    if (json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0)) {
        sb_put(b, "#N/A", 4);
    } else if (json_is_string(v)) {
        sb_field(b, json_string_value(v));
    } else if (json_is_true(v)) {
        sb_put(b, "true", 4);
    } else if (json_is_false(v)) {
        sb_put(b, "false", 5);
    } else if (json_is_integer(v)) {
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        sb_put(b, num, strlen(num));
    } else if (json_is_real(v)) {
        snprintf(num, sizeof(num), "%.17g", json_real_value(v));
        sb_put(b, num, strlen(num));
    }
}

char *sf_bulk_csv(const struct sf_map *m, const struct crm_plan *p, const size_t *sel, size_t nsel)
{
    struct sbuf b = {0};
    const char **cols = NULL;
    size_t ncols = 0, cap = 0;
    int need_last = 0;

    /* Columns: the external id, then every field any row sets, sorted. */
    for (size_t k = 0; k < nsel; k++) {
        const struct crm_group *g = &p->g[sel[k]];
        const char *key;
        json_t *v;
        if (g->placeholder && m->last_name_placeholder[0] != '\0')
            need_last = 1;
        json_object_foreach(g->fields, key, v)
        {
            size_t c;
            (void)v;
            for (c = 0; c < ncols && strcmp(cols[c], key) != 0; c++)
                ;
            if (c < ncols)
                continue;
            if (ncols == cap) {
                const char **n = realloc(cols, (cap ? cap * 2 : 16) * sizeof(*cols));
                if (n == NULL)
                    goto oom;
                cols = n;
                cap = cap ? cap * 2 : 16;
            }
            cols[ncols++] = key;
        }
    }
    if (need_last) {
        size_t c;
        for (c = 0; c < ncols && strcmp(cols[c], "LastName") != 0; c++)
            ;
        if (c == ncols) {
            const char **n = realloc(cols, (ncols + 1) * sizeof(*cols));
            if (n == NULL)
                goto oom;
            cols = n;
            cols[ncols++] = "LastName";
        }
    }
    if (ncols > 1)
        qsort(cols, ncols, sizeof(*cols), cmp_str);
    sb_field(&b, m->ext_id);
    for (size_t c = 0; c < ncols; c++) {
        sb_put(&b, ",", 1);
        sb_field(&b, cols[c]);
    }
    sb_put(&b, "\n", 1);
    for (size_t k = 0; k < nsel; k++) {
        const struct crm_group *g = &p->g[sel[k]];
        sb_field(&b, g->member);
        for (size_t c = 0; c < ncols; c++) {
            const json_t *v = json_object_get(g->fields, cols[c]);
            sb_put(&b, ",", 1);
            if (v == NULL && g->placeholder && strcmp(cols[c], "LastName") == 0 &&
                m->last_name_placeholder[0] != '\0')
                sb_field(&b, m->last_name_placeholder);
            else
                sb_value(&b, v);
        }
        sb_put(&b, "\n", 1);
    }
    free(cols);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
oom:
    free(cols);
    free(b.p);
    return NULL;
}
