/* HubSpot contact merge: POST /crm/objects/V/contacts/merge with
 * {"primaryObjectId", "objectIdToMerge"} (developers.hubspot.com, "Merge two
 * contacts"). What the simulator does, following HubSpot's knowledge base
 * article on merging records:
 *
 *   - the primary survives with its id; where it has no value for a
 *     property, it takes the merged contact's (a unique property included:
 *     the merged contact is archived first, which frees its values);
 *   - hs_merged_object_ids on the survivor lists the merged id (and the ids
 *     merged into that one before), ";"-separated as HubSpot's
 *     multiple-checkbox values are;
 *   - the merged contact is archived (GET by id is a 404, it shows in
 *     archived=true listings) and its list memberships move to the
 *     survivor;
 *   - lastmodifieddate of the survivor moves to now.
 *
 * The answer is the survivor as GET shows it. */
#include <stdio.h>
#include <string.h>

#include "hubspot_contact.h"

#define MERGED_PROP "hs_merged_object_ids"

static void move_memberships(struct sim *sim, uint64_t from, uint64_t to)
{
    char f[24], t[24];
    const char *key;
    json_t *list;

    snprintf(f, sizeof(f), "%llu", (unsigned long long)from);
    snprintf(t, sizeof(t), "%llu", (unsigned long long)to);
    json_object_foreach(hs_state(sim)->lists, key, list)
    {
        json_t *members = json_object_get(list, "members");
        json_t *since = json_object_get(members, f);

        if (since == NULL)
            continue;
        if (json_object_get(members, t) == NULL)
            json_object_set(members, t, since);
        json_object_del(members, f);
    }
}

/* "a;b" of the survivor plus the merged id and the ids merged into it. */
static void merged_ids(const struct sim_record *primary, const struct sim_record *merged, char *out,
                       size_t outsize)
{
    const char *a = json_string_value(json_object_get(primary->props, MERGED_PROP));
    const char *b = json_string_value(json_object_get(merged->props, MERGED_PROP));

    snprintf(out, outsize, "%s%s%llu%s%s", a != NULL && a[0] ? a : "", a != NULL && a[0] ? ";" : "",
             (unsigned long long)merged->id, b != NULL && b[0] ? ";" : "",
             b != NULL && b[0] ? b : "");
}

void hs_contacts_merge(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    struct hs_time_memo memo = {0};
    struct sim_coll *coll = hs_contacts(sim);
    json_t *body = sim_req_json(sim, req, resp);
    json_t *take = NULL;
    struct sim_record *primary, *merged;
    const char *key;
    json_t *val;
    char ids[1024];

    if (body == NULL)
        return;
    resp->records_in = 2;
    primary = hs_contact_lookup(sim, json_string_value(json_object_get(body, "primaryObjectId")),
                                NULL, false);
    merged = hs_contact_lookup(sim, json_string_value(json_object_get(body, "objectIdToMerge")),
                               NULL, false);
    if (!json_is_string(json_object_get(body, "primaryObjectId")) ||
        !json_is_string(json_object_get(body, "objectIdToMerge"))) {
        hs_error_body(resp, 400, "VALIDATION_ERROR",
                      "primaryObjectId and objectIdToMerge are required strings");
        goto out;
    }
    if (primary == NULL || merged == NULL) {
        hs_error_body(resp, 404, "OBJECT_NOT_FOUND", "resource not found");
        goto out;
    }
    if (primary == merged) {
        hs_error_body(resp, 400, "VALIDATION_ERROR", "cannot merge a contact with itself");
        goto out;
    }
    merged_ids(primary, merged, ids, sizeof(ids));
    /* What the survivor takes: the merged contact's values for properties
     * the primary lacks (system properties are the survivor's own). */
    take = json_object();
    json_object_foreach(merged->props, key, val)
    {
        if (strcmp(key, "hs_object_id") == 0 || strcmp(key, "createdate") == 0 ||
            strcmp(key, "lastmodifieddate") == 0 || strcmp(key, MERGED_PROP) == 0)
            continue;
        if (json_object_get(primary->props, key) == NULL)
            json_object_set(take, key, val);
    }
    sim_coll_archive(coll, merged, req->now_ms, sim->opt.search_lag_ms);
    move_memberships(sim, merged->id, primary->id);
    sim_record_touch(primary, req->now_ms, sim->opt.search_lag_ms, true);
    json_object_foreach(take, key, val)
    {
        sim_coll_set_prop(coll, primary, key, json_string_value(val));
    }
    sim_coll_set_prop(coll, primary, MERGED_PROP, ids);
    hs_contact_stamp(coll, primary, req->now_ms, &memo);
    resp->written = 2;
    sim_resp_json(resp, 200, hs_contact_json(sim, primary, primary->props, NULL));
out:
    json_decref(take);
    json_decref(body);
}
