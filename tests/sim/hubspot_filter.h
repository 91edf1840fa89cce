/* HubSpot CRM search request: parsing/validation against the documented
 * limits, and filter evaluation on one record's properties. Pure (no
 * server, no store), unit-tested in tests/unit/test_sim_hubspot_filter.c. */
#ifndef CRMSIM_HUBSPOT_FILTER_H
#define CRMSIM_HUBSPOT_FILTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits from the search guide and the 2024-08 changelog ("Expanded
 * filtering capabilities"): 5 groups, 10 filters per group, 25 in all;
 * 200 results per page; 10,000 results per query. */
#define HS_MAX_GROUPS 5
#define HS_MAX_FILTERS_PER_GROUP 10
#define HS_MAX_FILTERS_TOTAL 25
#define HS_SEARCH_MAX_LIMIT 200
#define HS_SEARCH_DEFAULT_LIMIT 10
#define HS_SEARCH_MAX_RESULTS 10000

enum hs_type { HS_T_STRING, HS_T_NUMBER, HS_T_DATETIME };

typedef enum hs_type (*hs_type_fn)(const char *prop, void *ctx);

struct hs_search {
    json_t *groups;        /* borrowed from the body; array (may be empty) */
    const char *sort_prop; /* NULL: by id */
    bool sort_desc;
    size_t limit;
    size_t after;
    json_t *properties; /* borrowed array or NULL */
    const char *query;  /* free-text query or NULL */
};

/* A value parsed as its property's type once (hs_value_cmp's test). */
struct hs_key {
    const char *text;
    bool parsed;
    int64_t ms;
    double num;
};

/* One filter with what does not depend on the record worked out once per
 * search (operator, property type, value text and parsed value): the
 * search tests it on every contact. */
struct hs_prepared_filter {
    json_t *f; /* borrowed; IN/NOT_IN read its values */
    const char *prop;
    int op;
    enum hs_type type;
    char val[512];
    char high[512];
    struct hs_key kv;
    struct hs_key kh;
};

struct hs_prepared {
    size_t ngroups;
    size_t first[HS_MAX_GROUPS + 1]; /* group g is f[first[g]] .. f[first[g + 1] - 1] */
    struct hs_prepared_filter f[HS_MAX_FILTERS_TOTAL];
};

/* Validates a search body. Returns 0, or -1 with HubSpot-style message. */
int hs_search_parse(json_t *body, struct hs_search *q, char *err, size_t errlen);
/* Prepares a parsed (valid) search's filters for hs_prepared_match(). */
void hs_search_prepare(const struct hs_search *q, hs_type_fn type_of, void *ctx,
                       struct hs_prepared *p);
/* Whether props (string values) match the filter groups (OR of ANDs). */
bool hs_prepared_match(const struct hs_search *q, const struct hs_prepared *p, json_t *props);
/* The same, preparing the filters for this one call. */
bool hs_search_match(const struct hs_search *q, json_t *props, hs_type_fn type_of, void *ctx);
/* Typed comparison; values that do not parse as the type compare as text. */
int hs_value_cmp(enum hs_type type, const char *a, const char *b);

#endif
