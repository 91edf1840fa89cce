#include "hubspot_order.h"

#include <math.h>
#include <stdlib.h>
#include <strings.h>

#include "sim_time.h"

void hs_hit_key(const struct hs_order *o, struct hs_hit *h, const char *value)
{
    h->value = value;
    h->parsed = false;
    if (!o->by_value || value == NULL)
        return;
    if (o->type == HS_T_DATETIME) {
        h->parsed = sim_time_parse(value, &h->ms) == 0;
    } else if (o->type == HS_T_NUMBER) {
        char *end;

        h->num = strtod(value, &end);
        h->parsed = *value != '\0' && *end == '\0';
    }
}

int hs_hit_cmp(const struct hs_hit *x, const struct hs_hit *y, const struct hs_order *o)
{
    int c = 0;

    if (o->by_value) {
        /* Records without the property sort last either way. */
        if (x->value == NULL || y->value == NULL) {
            c = (x->value == NULL) - (y->value == NULL);
        } else {
            if (x->parsed && y->parsed && o->type == HS_T_DATETIME)
                c = x->ms < y->ms ? -1 : x->ms > y->ms;
            else if (x->parsed && y->parsed && o->type == HS_T_NUMBER)
                c = x->num < y->num ? -1 : x->num > y->num;
            else
                c = strcasecmp(x->value, y->value);
            if (o->desc)
                c = -c;
        }
    }
    if (c == 0)
        c = x->id < y->id ? -1 : x->id > y->id;
    return c;
}

static int cmp_qsort(const void *a, const void *b, void *arg)
{
    return hs_hit_cmp(a, b, arg);
}

/* Whether hs_hit_cmp() is a total order over these hits: text, or every
 * value parsed (a text comparison between a parsed and an unparsed value,
 * or a NaN, can make it intransitive; then only the full sort gives the
 * order the search always gave). */
static bool total_order(const struct hs_hit *hits, size_t n, const struct hs_order *o)
{
    if (!o->by_value || o->type == HS_T_STRING)
        return true;
    for (size_t i = 0; i < n; i++) {
        if (hits[i].value == NULL)
            continue;
        if (!hits[i].parsed || (o->type == HS_T_NUMBER && isnan(hits[i].num)))
            return false;
    }
    return true;
}

static void swap_hits(struct hs_hit *a, struct hs_hit *b)
{
    struct hs_hit t = *a;

    *a = *b;
    *b = t;
}

/* Max-heap on hs_hit_cmp: the root is the last of the hits kept. */
static void sift_down(struct hs_hit *heap, size_t n, size_t i, const struct hs_order *o)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, top = i;

        if (l < n && hs_hit_cmp(&heap[l], &heap[top], o) > 0)
            top = l;
        if (r < n && hs_hit_cmp(&heap[r], &heap[top], o) > 0)
            top = r;
        if (top == i)
            return;
        swap_hits(&heap[i], &heap[top]);
        i = top;
    }
}

void hs_hits_order(struct hs_hit *hits, size_t n, size_t first, const struct hs_order *o)
{
    size_t k = first < n ? first : n;

    if (k == n || !total_order(hits, n, o)) {
        qsort_r(hits, n, sizeof(*hits), cmp_qsort, (void *)o);
        return;
    }
    if (k == 0)
        return;
    for (size_t i = k / 2; i-- > 0;)
        sift_down(hits, k, i, o);
    for (size_t i = k; i < n; i++) {
        if (hs_hit_cmp(&hits[i], &hits[0], o) < 0) {
            swap_hits(&hits[i], &hits[0]);
            sift_down(hits, k, 0, o);
        }
    }
    qsort_r(hits, k, sizeof(*hits), cmp_qsort, (void *)o);
}
