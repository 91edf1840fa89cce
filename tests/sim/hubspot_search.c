/* HubSpot CRM search for contacts: POST .../contacts/search. Sees the
 * search index, which lags writes by --search-lag-ms (eventual
 * consistency), never archived records, and at most 10,000 results. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubspot.h"
#include "hubspot_filter.h"
#include "hubspot_order.h"

static const char *const search_default_view[] = {
    "createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname", NULL};

static enum hs_type type_of(const char *prop, void *ctx)
{
    const char *t = hs_property_type(ctx, prop);

    if (strcmp(t, "datetime") == 0 || strcmp(t, "date") == 0)
        return HS_T_DATETIME;
    if (strcmp(t, "number") == 0)
        return HS_T_NUMBER;
    return HS_T_STRING;
}

static json_t *wanted_props(const struct hs_search *q)
{
    json_t *arr;

    if (q->properties != NULL)
        return json_incref(q->properties);
    arr = json_array();
    for (const char *const *n = search_default_view; *n != NULL; n++)
        json_array_append_new(arr, json_string(*n));
    return arr;
}

void hs_contacts_search(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    struct sim_coll *coll = hs_contacts(sim);
    json_t *body = sim_req_json(sim, req, resp);
    struct hs_search q;
    struct hs_hit *hits = NULL;
    size_t nhits = 0;
    struct hs_order order;
    struct hs_prepared *prep = NULL;
    json_t *results, *wanted, *out;
    char err[512];

    if (body == NULL)
        return;
    if (hs_search_parse(body, &q, err, sizeof(err)) != 0) {
        hs_error_body(resp, 400, "VALIDATION_ERROR", err);
        goto out;
    }
    hits = malloc((coll->n ? coll->n : 1) * sizeof(*hits));
    prep = malloc(sizeof(*prep));
    if (hits == NULL || prep == NULL) {
        hs_error_body(resp, 500, "INTERNAL_ERROR", "out of memory");
        goto out;
    }
    order.by_value = q.sort_prop != NULL;
    order.type = q.sort_prop ? type_of(q.sort_prop, sim) : HS_T_STRING;
    order.desc = q.sort_desc;
    hs_search_prepare(&q, type_of, sim, prep);
    for (size_t i = 0; i < coll->n; i++) {
        json_t *view = sim_record_searchable(coll->recs[i], req->now_ms);

        if (view != NULL && hs_prepared_match(&q, prep, view)) {
            hits[nhits].rec = coll->recs[i];
            hits[nhits].view = view;
            hits[nhits].id = coll->recs[i]->id;
            hs_hit_key(&order, &hits[nhits],
                       q.sort_prop ? json_string_value(json_object_get(view, q.sort_prop)) : NULL);
            nhits++;
        }
    }
    /* Only the pages up to this one need their order (after + limit is at
     * most 10,000, the hits can be every contact). */
    hs_hits_order(hits, nhits, q.after + q.limit, &order);

    results = json_array();
    wanted = wanted_props(&q);
    for (size_t i = q.after; i < nhits && i < q.after + q.limit; i++) {
        json_t *o = hs_contact_json(sim, hits[i].rec, hits[i].view, wanted);

        /* The index knows the version it holds; its timestamps come from it. */
        json_array_append_new(results, o);
    }
    json_decref(wanted);
    resp->records_in = json_array_size(results);
    out = json_pack("{s:I, s:o}", "total", (json_int_t)nhits, "results", results);
    if (q.after + q.limit < nhits) {
        char next[24];

        snprintf(next, sizeof(next), "%zu", q.after + q.limit);
        json_object_set_new(out, "paging", json_pack("{s:{s:s}}", "next", "after", next));
    }
    sim_resp_json(resp, 200, out);
out:
    free(prep);
    free(hits);
    json_decref(body);
}
