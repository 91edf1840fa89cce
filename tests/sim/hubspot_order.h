/* The order of HubSpot search results: by one property (typed, records
 * without it last either way) then by id, or by id alone. Pure (no server,
 * no store), unit-tested in tests/unit/test_sim_hubspot_order.c.
 *
 * A search pages through at most 10,000 results, but the hits can be every
 * contact: sorting them all on each page (with the property looked up and
 * parsed in each comparison) took ~1-2 s a page at 200,000 contacts. Each
 * hit's key is parsed once, and when the keys order totally only the first
 * `after + limit` hits are selected and sorted. */
#ifndef CRMSIM_HUBSPOT_ORDER_H
#define CRMSIM_HUBSPOT_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hubspot_filter.h"

struct hs_hit {
    const void *rec; /* the caller's record */
    void *view;      /* the caller's view of it */
    uint64_t id;
    const char *value; /* the sort property's value; NULL: the record lacks it */
    int64_t ms;        /* value as a datetime (HS_T_DATETIME, parsed) */
    double num;        /* value as a number (HS_T_NUMBER, parsed) */
    bool parsed;       /* value parses as the sort type (hs_value_cmp's test) */
};

struct hs_order {
    bool by_value; /* false: by id alone */
    enum hs_type type;
    bool desc;
};

/* Sets h->value and its parsed key for the order. */
void hs_hit_key(const struct hs_order *o, struct hs_hit *h, const char *value);
/* The comparison of hs_value_cmp() on the parsed keys, then by id. */
int hs_hit_cmp(const struct hs_hit *x, const struct hs_hit *y, const struct hs_order *o);
/* Puts the first min(first, n) hits of the order, in order, at the front of
 * hits; the rest are left in no order. The result is the prefix of a full
 * qsort_r() by hs_hit_cmp() over the same input. */
void hs_hits_order(struct hs_hit *hits, size_t n, size_t first, const struct hs_order *o);

#endif
