/* HubSpot contacts list: GET /contacts in id order with `after` paging,
 * `limit` 1..100 and archived=true. */
#include <stdio.h>
#include <string.h>

#include "hubspot_contact.h"

void hs_contacts_list(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    struct sim_coll *coll = hs_contacts(sim);
    const char *lim = sim_req_query(req, "limit");
    const char *after = sim_req_query(req, "after");
    const char *arch = sim_req_query(req, "archived");
    bool archived = arch != NULL && strcmp(arch, "true") == 0;
    uint64_t limit = 10, after_id = 0, last = 0;
    json_t *results = json_array();
    json_t *wanted;
    json_t *body;
    size_t i;
    bool more = false;

    if ((lim != NULL && (hs_parse_u64(lim, &limit) != 0 || limit < 1 || limit > 100)) ||
        (after != NULL && hs_parse_u64(after, &after_id) != 0)) {
        json_decref(results);
        hs_error_body(resp, 400, "VALIDATION_ERROR",
                      "limit must be an integer from 1 to 100 and after a paging cursor");
        return;
    }
    wanted = hs_wanted_from_query(req);
    for (i = sim_coll_after(coll, after_id); i < coll->n; i++) {
        struct sim_record *rec = coll->recs[i];

        if (rec->archived != archived)
            continue;
        if (json_array_size(results) == limit) {
            more = true;
            break;
        }
        json_array_append_new(results, hs_contact_json(sim, rec, rec->props, wanted));
        last = rec->id;
    }
    json_decref(wanted);
    resp->records_in = json_array_size(results);
    body = json_pack("{s:o}", "results", results);
    if (more) {
        char next[24], link[160];

        snprintf(next, sizeof(next), "%llu", (unsigned long long)last);
        snprintf(link, sizeof(link), "%s?after=%s", req->path, next);
        json_object_set_new(body, "paging",
                            json_pack("{s:{s:s, s:s}}", "next", "after", next, "link", link));
    }
    sim_resp_json(resp, 200, body);
}
