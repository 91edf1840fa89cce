/* HubSpot single-contact endpoints: read, create, update (PATCH) and
 * archive one contact by record id or unique property. */
#include <string.h>

#include "hubspot_contact.h"

void hs_contacts_get(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    const char *id_prop = sim_req_query(req, "idProperty");
    const char *arch = sim_req_query(req, "archived");
    struct sim_record *rec;
    json_t *wanted;

    if (!hs_id_prop_ok(sim, id_prop)) {
        hs_error_body(resp, 400, "VALIDATION_ERROR", "idProperty must be a unique property");
        return;
    }
    rec = hs_contact_lookup(sim, req->caps[0], id_prop, arch != NULL && strcmp(arch, "true") == 0);
    if (rec == NULL) {
        hs_error_body(resp, 404, "OBJECT_NOT_FOUND", "resource not found");
        return;
    }
    wanted = hs_wanted_from_query(req);
    sim_resp_json(resp, 200, hs_contact_json(sim, rec, rec->props, wanted));
    json_decref(wanted);
    resp->records_in = 1;
}

void hs_contacts_create(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    struct hs_time_memo memo = {0};
    json_t *body = sim_req_json(sim, req, resp);
    json_t *errs, *norm;
    const char *prop = NULL;
    uint64_t holder;
    struct sim_record *rec;

    if (body == NULL)
        return;
    resp->records_in = 1;
    if (!json_is_object(json_object_get(body, "properties"))) {
        hs_error_body(resp, 400, "VALIDATION_ERROR",
                      "Invalid input JSON: 'properties' is required");
        json_decref(body);
        return;
    }
    errs = json_array();
    norm = hs_normalise_props(sim, json_object_get(body, "properties"), errs);
    if (json_array_size(errs) > 0) {
        hs_validation_failed(resp, errs);
        goto out;
    }
    holder = hs_unique_clash(sim, NULL, norm, NULL, 0, &prop);
    if (holder != 0) {
        hs_conflict(resp, prop, holder);
        goto out;
    }
    rec = hs_contact_create_record(sim, norm, req->now_ms, &memo);
    if (rec != NULL) {
        resp->written = 1;
        sim_resp_json(resp, 201, hs_contact_json(sim, rec, rec->props, NULL));
    }
out:
    json_decref(errs);
    json_decref(norm);
    json_decref(body);
}

void hs_contacts_update(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    struct hs_time_memo memo = {0};
    const char *id_prop = sim_req_query(req, "idProperty");
    json_t *body, *errs, *norm;
    struct sim_record *rec;
    const char *prop = NULL;
    uint64_t holder;

    if (!hs_id_prop_ok(sim, id_prop)) {
        hs_error_body(resp, 400, "VALIDATION_ERROR", "idProperty must be a unique property");
        return;
    }
    body = sim_req_json(sim, req, resp);
    if (body == NULL)
        return;
    resp->records_in = 1;
    rec = hs_contact_lookup(sim, req->caps[0], id_prop, false);
    if (rec == NULL) {
        hs_error_body(resp, 404, "OBJECT_NOT_FOUND", "resource not found");
        json_decref(body);
        return;
    }
    errs = json_array();
    norm = hs_normalise_props(sim, json_object_get(body, "properties"), errs);
    if (!json_is_object(json_object_get(body, "properties"))) {
        hs_error_body(resp, 400, "VALIDATION_ERROR",
                      "Invalid input JSON: 'properties' is required");
    } else if (json_array_size(errs) > 0) {
        hs_validation_failed(resp, errs);
    } else {
        holder = hs_unique_clash(sim, rec, norm, NULL, 0, &prop);
        if (holder != 0) {
            hs_conflict(resp, prop, holder);
        } else {
            hs_contact_update_record(sim, rec, norm, req->now_ms, &memo);
            resp->written = 1;
            sim_resp_json(resp, 200, hs_contact_json(sim, rec, rec->props, NULL));
        }
    }
    json_decref(errs);
    json_decref(norm);
    json_decref(body);
}

/* Archiving does not change lastmodifieddate (HubSpot keeps it; only
 * archivedAt is set). Unknown ids are ignored, as HubSpot answers 204. */
void hs_contacts_archive(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    struct sim_record *rec = hs_contact_lookup(sim, req->caps[0], NULL, false);

    resp->records_in = 1;
    if (rec != NULL) {
        sim_coll_archive(hs_contacts(sim), rec, req->now_ms, sim->opt.search_lag_ms);
        resp->written = 1;
    }
    sim_resp_empty(resp, 204);
}
