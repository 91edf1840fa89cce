/* HubSpot contacts batch upsert: by a unique property, each input updates
 * the contact holding its id value or creates one with it. This is the
 * general path, over jansson trees; a body prepared before the lock goes
 * the fast path first (hubspot_upsert.h), which leaves this one whatever
 * it does not answer itself (errors, unusual shapes). */
#include <stdio.h>
#include <string.h>

#include "hubspot_contact.h"
#include "hubspot_upsert.h"
#include "sim_json.h"

/* Upsert by a unique property: each input {id, idProperty, properties}
 * updates the contact holding that value or creates one with it. */
void hs_contacts_batch_upsert(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    struct hs_time_memo memo = {0}, created = {0};
    json_t *body = NULL, *inputs;
    json_t *norms = NULL, *errs = NULL, *claimed = NULL;
    uint64_t recs[HS_BATCH_MAX]; /* record id per input, 0 for a new one */
    struct sim_jw w;
    size_t i;
    json_t *in;

    if (req->prepared != NULL && sim->opt.fast_paths &&
        hs_upsert_apply(sim, req->prepared, req, resp))
        return;
    inputs = hs_batch_inputs(sim, req, resp, &body);
    if (inputs == NULL || hs_duplicate_ids(inputs, resp))
        goto out;
    norms = json_array();
    errs = json_array();
    claimed = json_object();
    json_array_foreach(inputs, i, in)
    {
        json_t *props = json_object_get(in, "properties");
        const char *id_prop = json_string_value(json_object_get(in, "idProperty"));
        const char *id = hs_input_id(in);
        struct sim_record *rec;
        json_t *norm;

        if (!json_is_object(props) || id == NULL || id[0] == '\0') {
            hs_error_body(resp, 400, "VALIDATION_ERROR",
                          "Invalid input JSON: every input needs 'id' and 'properties'");
            goto out;
        }
        if (id_prop == NULL || strcmp(id_prop, "hs_object_id") == 0 ||
            !sim_coll_is_unique(hs_contacts(sim), id_prop)) {
            char msg[256];

            snprintf(msg, sizeof(msg),
                     "idProperty '%s' is not a unique value property; upsert needs one",
                     id_prop ? id_prop : "");
            hs_error_body(resp, 400, "VALIDATION_ERROR", msg);
            goto out;
        }
        norm = hs_normalise_props(sim, props, errs);
        /* The id value is the record's value for idProperty. */
        {
            json_t *idv = json_string(id);
            json_t *idnorm = idv ? hs_normalise_one(sim, id_prop, idv, errs) : NULL;

            if (idnorm != NULL)
                json_object_set_new(norm, id_prop, idnorm);
            json_decref(idv);
        }
        rec = hs_contact_lookup(sim, id, id_prop, false);
        recs[i] = rec ? rec->id : 0;
        json_array_append_new(norms, norm);
    }
    if (json_array_size(errs) > 0) {
        hs_validation_failed(resp, errs);
        goto out;
    }
    json_array_foreach(norms, i, in)
    {
        uint64_t id = recs[i];
        const char *prop = NULL;
        uint64_t holder = hs_unique_clash(sim, id ? sim_coll_get(hs_contacts(sim), id) : NULL, in,
                                          claimed, i, &prop);

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
        bool is_new = rec == NULL;

        if (rec == NULL)
            rec = hs_contact_create_record(sim, in, req->now_ms, &memo);
        else
            hs_contact_update_record(sim, rec, in, req->now_ms, &memo);
        if (rec == NULL)
            continue;
        sim_jw_obj_begin(&w);
        {
            const char *shown[256];
            size_t nshown = 0;
            const char *k;
            json_t *v;

            json_object_foreach(in, k, v)
            {
                (void)v;
                if (nshown < sizeof(shown) / sizeof(shown[0]))
                    shown[nshown++] = k;
            }
            hs_contact_write_written(&w, rec, shown, nshown, &created);
        }
        sim_jw_key(&w, "new");
        sim_jw_bool(&w, is_new);
        sim_jw_obj_end(&w);
        resp->written++;
    }
    hs_batch_end(&w, NULL, req->now_ms, sim_now_ms(sim));
    sim_resp_jw(resp, 200, &w);
out:
    json_decref(norms);
    json_decref(errs);
    json_decref(claimed);
    json_decref(body);
}
