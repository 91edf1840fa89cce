/* What every contacts batch endpoint checks first: the {"inputs": [...]}
 * shape and size, input ids, the idProperty, duplicate ids. */
#include <stdio.h>
#include <string.h>

#include "hubspot_contact.h"

json_t *hs_batch_inputs(struct sim *sim, struct sim_request *req, struct sim_response *resp,
                        json_t **body_out)
{
    json_t *body = sim_req_json(sim, req, resp);
    json_t *inputs;

    *body_out = body;
    if (body == NULL)
        return NULL;
    inputs = json_object_get(body, "inputs");
    if (!json_is_array(inputs)) {
        hs_error_body(resp, 400, "VALIDATION_ERROR", "Invalid input JSON: 'inputs' is required");
        return NULL;
    }
    if (json_array_size(inputs) > HS_BATCH_MAX) {
        char msg[128];

        snprintf(msg, sizeof(msg), "Batch input exceeds the maximum size of %d: %zu inputs",
                 HS_BATCH_MAX, json_array_size(inputs));
        hs_error_body(resp, 400, "VALIDATION_ERROR", msg);
        return NULL;
    }
    resp->records_in = json_array_size(inputs);
    return inputs;
}

const char *hs_input_id(json_t *input)
{
    json_t *id = json_object_get(input, "id");

    return json_string_value(id);
}

bool hs_id_prop_ok(struct sim *sim, const char *id_prop)
{
    return id_prop == NULL || strcmp(id_prop, "hs_object_id") == 0 ||
           sim_coll_is_unique(hs_contacts(sim), id_prop);
}

/* Rejects inputs naming the same record twice (HubSpot answers 400). */
bool hs_duplicate_ids(json_t *inputs, struct sim_response *resp)
{
    json_t *seen = json_object();
    size_t i;
    json_t *in;
    bool dup = false;

    json_array_foreach(inputs, i, in)
    {
        const char *id = hs_input_id(in);
        char low[512];

        if (id == NULL)
            continue;
        hs_lower_copy(id, low, sizeof(low));
        if (json_object_get(seen, low) != NULL) {
            char msg[600];

            snprintf(msg, sizeof(msg),
                     "Duplicate IDs found in batch input: [%s]. IDs must be "
                     "unique",
                     id);
            hs_error_body(resp, 400, "VALIDATION_ERROR", msg);
            dup = true;
            break;
        }
        json_object_set_new(seen, low, json_true());
    }
    json_decref(seen);
    return dup;
}

bool hs_string_array(json_t *a)
{
    size_t i;
    json_t *v;

    if (!json_is_array(a))
        return false;
    json_array_foreach(a, i, v)
    {
        if (!json_is_string(v))
            return false;
    }
    return true;
}

/* SimplePublicObjectId: {"id": "<string>"}; a number is refused (400). */
bool hs_input_ids_ok(json_t *inputs, struct sim_response *resp)
{
    size_t i;
    json_t *in;

    json_array_foreach(inputs, i, in)
    {
        if (!json_is_string(json_object_get(in, "id"))) {
            char msg[128];

            snprintf(msg, sizeof(msg), "Invalid input JSON: inputs[%zu].id must be a string", i);
            hs_error_body(resp, 400, "VALIDATION_ERROR", msg);
            return false;
        }
    }
    return true;
}
