/* HubSpot contacts batch read, create, update and archive (at most 100
 * inputs; 200/201, or 207 with `errors` for ids that match nothing). A
 * batch write is validated whole before anything is applied.
 *
 * Request shapes from HubSpot's published description of the 2026-09 API
 * (CRM/Contacts/Rollouts/424/2026-09/contacts.json): a read is
 * BatchReadInputSimplePublicObjectId (inputs, properties and
 * propertiesWithHistory required, every id a string: SimplePublicObjectId),
 * an archive BatchInputSimplePublicObjectId. */
#include <stdio.h>
#include <string.h>

#include "hubspot_contact.h"
#include "sim_json.h"

void hs_contacts_batch_archive(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    json_t *body;
    json_t *inputs = hs_batch_inputs(sim, req, resp, &body);
    size_t i;
    json_t *in;

    if (inputs != NULL && !hs_input_ids_ok(inputs, resp))
        inputs = NULL;
    if (inputs != NULL) {
        json_array_foreach(inputs, i, in)
        {
            struct sim_record *rec = hs_contact_lookup(sim, hs_input_id(in), NULL, false);

            if (rec != NULL) {
                sim_coll_archive(hs_contacts(sim), rec, req->now_ms, sim->opt.search_lag_ms);
                resp->written++;
            }
        }
        sim_resp_empty(resp, 204);
    }
    json_decref(body);
}

void hs_contacts_batch_read(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    struct hs_time_memo created = {0};
    json_t *body;
    json_t *inputs = hs_batch_inputs(sim, req, resp, &body);
    const char *arch = sim_req_query(req, "archived");
    bool archived = arch != NULL && strcmp(arch, "true") == 0;
    json_t *missing, *errors, *wanted;
    struct sim_jw w;
    const char *id_prop;
    size_t i;
    json_t *in;

    if (inputs == NULL || !hs_input_ids_ok(inputs, resp))
        goto out;
    id_prop = json_string_value(json_object_get(body, "idProperty"));
    if (!hs_id_prop_ok(sim, id_prop)) {
        hs_error_body(resp, 400, "VALIDATION_ERROR", "idProperty must be a unique property");
        goto out;
    }
    wanted = json_object_get(body, "properties");
    if (!hs_string_array(wanted) ||
        !hs_string_array(json_object_get(body, "propertiesWithHistory"))) {
        hs_error_body(resp, 400, "VALIDATION_ERROR",
                      "Invalid input JSON: 'properties' and 'propertiesWithHistory' are required "
                      "arrays of property names");
        goto out;
    }
    hs_batch_begin(&w, json_array_size(inputs));
    missing = json_array();
    json_array_foreach(inputs, i, in)
    {
        const char *id = hs_input_id(in);
        struct sim_record *rec = hs_contact_lookup(sim, id, id_prop, archived);

        if (rec != NULL) {
            sim_jw_obj_begin(&w);
            hs_contact_write_fields(&w, rec, rec->props, wanted, &created);
            sim_jw_obj_end(&w);
        } else {
            json_array_append_new(missing, json_string(id ? id : ""));
        }
    }
    errors = json_array();
    if (json_array_size(missing) > 0)
        json_array_append_new(errors, hs_not_found_error(missing));
    else
        json_decref(missing);
    hs_batch_end(&w, errors, req->now_ms, sim_now_ms(sim));
    sim_resp_jw(resp, json_array_size(errors) > 0 ? 207 : 200, &w);
    json_decref(errors);
out:
    json_decref(body);
}

void hs_contacts_batch_create(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    struct hs_time_memo memo = {0}, created = {0};
    json_t *body;
    json_t *inputs = hs_batch_inputs(sim, req, resp, &body);
    json_t *norms = NULL, *errs = NULL, *claimed = NULL;
    struct sim_jw w;
    size_t i;
    json_t *in;

    if (inputs == NULL)
        goto out;
    norms = json_array();
    errs = json_array();
    claimed = json_object();
    /* Validate everything first: a batch is applied whole or not at all. */
    json_array_foreach(inputs, i, in)
    {
        json_t *props = json_object_get(in, "properties");

        if (!json_is_object(props)) {
            hs_error_body(resp, 400, "VALIDATION_ERROR",
                          "Invalid input JSON: every input needs 'properties'");
            goto out;
        }
        json_array_append_new(norms, hs_normalise_props(sim, props, errs));
    }
    if (json_array_size(errs) > 0) {
        hs_validation_failed(resp, errs);
        goto out;
    }
    json_array_foreach(norms, i, in)
    {
        const char *prop = NULL;
        uint64_t holder = hs_unique_clash(sim, NULL, in, claimed, i, &prop);

        if (holder != 0) {
            hs_conflict(resp, prop, holder);
            goto out;
        }
    }
    hs_batch_begin(&w, json_array_size(norms));
    json_array_foreach(norms, i, in)
    {
        struct sim_record *rec = hs_contact_create_record(sim, in, req->now_ms, &memo);

        if (rec != NULL) {
            sim_jw_obj_begin(&w);
            json_t *shown = hs_written_view(in);
            hs_contact_write_fields(&w, rec, rec->props, shown, &created);
            json_decref(shown);
            sim_jw_obj_end(&w);
            resp->written++;
        }
    }
    hs_batch_end(&w, NULL, req->now_ms, sim_now_ms(sim));
    sim_resp_jw(resp, 201, &w);
out:
    json_decref(norms);
    json_decref(errs);
    json_decref(claimed);
    json_decref(body);
}

void hs_contacts_batch_update(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    struct hs_time_memo memo = {0}, created = {0};
    json_t *body;
    json_t *inputs = hs_batch_inputs(sim, req, resp, &body);
    json_t *norms = NULL, *errs = NULL, *claimed = NULL, *missing = NULL;
    uint64_t recs[HS_BATCH_MAX]; /* record id per input, 0 when missing */
    json_t *errors;
    struct sim_jw w;
    size_t i;
    json_t *in;

    if (inputs == NULL || hs_duplicate_ids(inputs, resp))
        goto out;
    norms = json_array();
    errs = json_array();
    claimed = json_object();
    missing = json_array();
    json_array_foreach(inputs, i, in)
    {
        json_t *props = json_object_get(in, "properties");
        const char *id_prop = json_string_value(json_object_get(in, "idProperty"));
        struct sim_record *rec;

        if (!json_is_object(props) || hs_input_id(in) == NULL) {
            hs_error_body(resp, 400, "VALIDATION_ERROR",
                          "Invalid input JSON: every input needs 'id' and 'properties'");
            goto out;
        }
        if (!hs_id_prop_ok(sim, id_prop)) {
            hs_error_body(resp, 400, "VALIDATION_ERROR", "idProperty must be a unique property");
            goto out;
        }
        json_array_append_new(norms, hs_normalise_props(sim, props, errs));
        rec = hs_contact_lookup(sim, hs_input_id(in), id_prop, false);
        recs[i] = rec ? rec->id : 0;
        if (rec == NULL)
            json_array_append_new(missing, json_string(hs_input_id(in)));
    }
    if (json_array_size(errs) > 0) {
        hs_validation_failed(resp, errs);
        goto out;
    }
    json_array_foreach(norms, i, in)
    {
        uint64_t id = recs[i];
        const char *prop = NULL;
        uint64_t holder;

        if (id == 0)
            continue;
        holder = hs_unique_clash(sim, sim_coll_get(hs_contacts(sim), id), in, claimed, i, &prop);
        if (holder != 0) {
            hs_conflict(resp, prop, holder);
            goto out;
        }
    }
    hs_batch_begin(&w, json_array_size(norms));
    json_array_foreach(norms, i, in)
    {
        uint64_t id = recs[i];
        struct sim_record *rec = id ? sim_coll_get(hs_contacts(sim), id) : NULL;

        if (rec == NULL)
            continue;
        hs_contact_update_record(sim, rec, in, req->now_ms, &memo);
        sim_jw_obj_begin(&w);
        {
            json_t *shown = hs_written_view(in);
            hs_contact_write_fields(&w, rec, rec->props, shown, &created);
            json_decref(shown);
        }
        sim_jw_obj_end(&w);
        resp->written++;
    }
    errors = json_array();
    if (json_array_size(missing) > 0)
        json_array_append_new(errors, hs_not_found_error(json_incref(missing)));
    hs_batch_end(&w, errors, req->now_ms, sim_now_ms(sim));
    sim_resp_jw(resp, json_array_size(errors) > 0 ? 207 : 200, &w);
    json_decref(errors);
out:
    json_decref(norms);
    json_decref(errs);
    json_decref(claimed);
    json_decref(missing);
    json_decref(body);
}
