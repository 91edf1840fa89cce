/* HubSpot lists (v3 shapes): create MANUAL/SNAPSHOT contact lists, add and
 * remove members by record id, read memberships with paging.
 *
 * Shapes from HubSpot's published description of the 2026-09 API
 * (CRM/Lists/Rollouts/144891/2026-09/lists.json): a list is PublicObjectList
 * (processingStatus required), record ids are strings in
 * MembershipChangeRequest (both arrays required) and in the add/remove
 * bodies, and every membership change answers MembershipsUpdateResponse:
 * recordIdsMissing, recordIdsRemoved and recordsIdsAdded (HubSpot's
 * spelling), all three required. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hubspot.h"
#include "sim_time.h"

static json_t *list_public(json_t *list)
{
    json_t *o = json_deep_copy(list);

    json_object_set_new(
        o, "size", json_integer((json_int_t)json_object_size(json_object_get(list, "members"))));
    json_object_del(o, "members");
    /* MANUAL and SNAPSHOT lists built here are complete at once. */
    if (json_object_get(o, "processingStatus") == NULL)
        json_object_set_new(o, "processingStatus", json_string("COMPLETE"));
    return o;
}

static json_t *find_list(struct sim *sim, const char *id)
{
    return json_object_get(hs_state(sim)->lists, id);
}

void hs_lists_create(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    struct hs_state *hs = hs_state(sim);
    json_t *body = sim_req_json(sim, req, resp);
    const char *name, *otype, *ptype;
    const char *key;
    json_t *l;
    char id[24], t[32];

    if (body == NULL)
        return;
    name = json_string_value(json_object_get(body, "name"));
    otype = json_string_value(json_object_get(body, "objectTypeId"));
    ptype = json_string_value(json_object_get(body, "processingType"));
    if (name == NULL || otype == NULL || ptype == NULL) {
        hs_error_body(resp, 400, "VALIDATION_ERROR",
                      "name, objectTypeId and processingType are required");
        goto out;
    }
    if (strcmp(otype, "0-1") != 0) {
        hs_error_body(resp, 400, "VALIDATION_ERROR",
                      "the simulator supports contact lists only (objectTypeId 0-1)");
        goto out;
    }
    if (strcmp(ptype, "MANUAL") != 0 && strcmp(ptype, "SNAPSHOT") != 0) {
        hs_error_body(resp, 400, "VALIDATION_ERROR",
                      strcmp(ptype, "DYNAMIC") == 0
                          ? "DYNAMIC lists are not supported by the simulator"
                          : "processingType must be MANUAL, SNAPSHOT or DYNAMIC");
        goto out;
    }
    json_object_foreach(hs->lists, key, l)
    {
        if (strcmp(json_string_value(json_object_get(l, "name")), name) == 0) {
            hs_error_body(resp, 400, "VALIDATION_ERROR", "A list with this name already exists");
            goto out;
        }
    }
    snprintf(id, sizeof(id), "%llu", (unsigned long long)hs->next_list_id++);
    sim_time_format(req->now_ms, t, sizeof(t));
    l = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:{}}", "listId", id, "name", name,
                  "objectTypeId", otype, "processingType", ptype, "listVersion", 1, "createdAt", t,
                  "updatedAt", t, "members");
    json_object_set_new(hs->lists, id, l);
    resp->written = 1;
    sim_resp_json(resp, 200, json_pack("{s:o}", "list", list_public(l)));
out:
    json_decref(body);
}

void hs_lists_get(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    json_t *l = find_list(sim, req->caps[0]);

    if (l == NULL) {
        hs_error_body(resp, 404, "OBJECT_NOT_FOUND", "List does not exist");
        return;
    }
    sim_resp_json(resp, 200, json_pack("{s:o}", "list", list_public(l)));
}

/* GET .../object-type-id/{objectTypeId}/name/{listName}: the name is not
 * case sensitive (HubSpot's "Fetch List by Name"). */
void hs_lists_get_by_name(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    const char *key;
    json_t *l;

    json_object_foreach(hs_state(sim)->lists, key, l)
    {
        if (strcmp(json_string_value(json_object_get(l, "objectTypeId")), req->caps[0]) == 0 &&
            strcasecmp(json_string_value(json_object_get(l, "name")), req->caps[1]) == 0) {
            sim_resp_json(resp, 200, json_pack("{s:o}", "list", list_public(l)));
            return;
        }
    }
    hs_error_body(resp, 404, "OBJECT_NOT_FOUND", "List does not exist");
}

static bool contact_exists(struct sim *sim, const char *id)
{
    char *end;
    unsigned long long n = strtoull(id, &end, 10);
    struct sim_record *rec;

    if (*end != '\0' || id[0] == '\0')
        return false;
    rec = sim_coll_get(hs_contacts(sim), n);
    return rec != NULL && !rec->archived;
}

static bool ids_ok(json_t *ids)
{
    size_t i;
    json_t *v;

    if (!json_is_array(ids))
        return false;
    json_array_foreach(ids, i, v)
    {
        if (!json_is_string(v))
            return false;
    }
    return true;
}

/* Applies adds and removes (arrays of string record ids). */
static void change_members(struct sim *sim, struct sim_request *req, struct sim_response *resp,
                           json_t *adds, json_t *removes)
{
    json_t *l = find_list(sim, req->caps[0]);
    json_t *members, *added, *removed, *missing, *out;
    size_t i;
    json_t *v;
    char t[32];

    if (l == NULL) {
        hs_error_body(resp, 404, "OBJECT_NOT_FOUND", "List does not exist");
        return;
    }
    if ((adds != NULL && !ids_ok(adds)) || (removes != NULL && !ids_ok(removes))) {
        hs_error_body(resp, 400, "VALIDATION_ERROR",
                      "Invalid input JSON: record ids must be an array of strings");
        return;
    }
    members = json_object_get(l, "members");
    added = json_array();
    removed = json_array();
    missing = json_array();
    sim_time_format(req->now_ms, t, sizeof(t));
    json_array_foreach(adds, i, v)
    {
        char id[32];

        snprintf(id, sizeof(id), "%s", json_string_value(v));
        if (!contact_exists(sim, id)) {
            json_array_append_new(missing, json_string(id));
        } else if (json_object_get(members, id) == NULL) {
            json_object_set_new(members, id, json_string(t));
            json_array_append_new(added, json_string(id));
        }
    }
    json_array_foreach(removes, i, v)
    {
        char id[32];

        snprintf(id, sizeof(id), "%s", json_string_value(v));
        if (json_object_get(members, id) != NULL) {
            json_object_del(members, id);
            json_array_append_new(removed, json_string(id));
        } else if (!contact_exists(sim, id)) {
            json_array_append_new(missing, json_string(id));
        }
    }
    resp->records_in = json_array_size(adds) + json_array_size(removes);
    resp->written = json_array_size(added) + json_array_size(removed);
    out = json_pack("{s:o, s:o, s:o}", "recordIdsMissing", missing, "recordIdsRemoved", removed,
                    "recordsIdsAdded", added);
    sim_resp_json(resp, 200, out);
}

void hs_lists_add(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    json_t *body = sim_req_json(sim, req, resp);

    if (body != NULL)
        change_members(sim, req, resp, body, NULL);
    json_decref(body);
}

void hs_lists_remove(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    json_t *body = sim_req_json(sim, req, resp);

    if (body != NULL)
        change_members(sim, req, resp, NULL, body);
    json_decref(body);
}

void hs_lists_add_remove(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    json_t *body = sim_req_json(sim, req, resp);

    if (body != NULL && (json_object_get(body, "recordIdsToAdd") == NULL ||
                         json_object_get(body, "recordIdsToRemove") == NULL))
        hs_error_body(resp, 400, "VALIDATION_ERROR",
                      "Invalid input JSON: recordIdsToAdd and recordIdsToRemove are required");
    else if (body != NULL)
        change_members(sim, req, resp, json_object_get(body, "recordIdsToAdd"),
                       json_object_get(body, "recordIdsToRemove"));
    json_decref(body);
}

static int cmp_ids(const void *a, const void *b)
{
    unsigned long long x = strtoull(*(const char *const *)a, NULL, 10);
    unsigned long long y = strtoull(*(const char *const *)b, NULL, 10);

    return x < y ? -1 : x > y;
}

void hs_lists_memberships(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    json_t *l = find_list(sim, req->caps[0]);
    const char *lim = sim_req_query(req, "limit");
    const char *after = sim_req_query(req, "after");
    unsigned long long limit = lim ? strtoull(lim, NULL, 10) : 100;
    unsigned long long after_id = after ? strtoull(after, NULL, 10) : 0;
    json_t *members, *results, *out;
    const char **ids;
    const char *key;
    json_t *v;
    size_t n = 0, i;

    if (l == NULL) {
        hs_error_body(resp, 404, "OBJECT_NOT_FOUND", "List does not exist");
        return;
    }
    if (limit < 1 || limit > 250) {
        hs_error_body(resp, 400, "VALIDATION_ERROR", "limit must be from 1 to 250");
        return;
    }
    members = json_object_get(l, "members");
    ids = malloc((json_object_size(members) + 1) * sizeof(*ids));
    if (ids == NULL) {
        hs_error_body(resp, 500, "INTERNAL_ERROR", "out of memory");
        return;
    }
    json_object_foreach(members, key, v)
    {
        ids[n++] = key;
    }
    qsort(ids, n, sizeof(*ids), cmp_ids);
    results = json_array();
    for (i = 0; i < n; i++) {
        if (strtoull(ids[i], NULL, 10) <= after_id)
            continue;
        if (json_array_size(results) == limit)
            break;
        json_array_append_new(results,
                              json_pack("{s:s, s:O}", "recordId", ids[i], "membershipTimestamp",
                                        json_object_get(members, ids[i])));
    }
    out = json_pack("{s:o, s:I}", "results", results, "total", (json_int_t)n);
    if (i < n && json_array_size(results) > 0) {
        json_t *last = json_array_get(results, json_array_size(results) - 1);

        json_object_set_new(
            out, "paging",
            json_pack("{s:{s:O}}", "next", "after", json_object_get(last, "recordId")));
    }
    resp->records_in = json_array_size(results);
    free(ids);
    sim_resp_json(resp, 200, out);
}

/* POST .../search (ListSearchRequest): lists whose name holds query (not
 * case sensitive; "" pages through all), in listId order, count per page
 * (default 20, at most 500), from offset; ListSearchResponse: lists,
 * hasMore, offset (of the next page), total. */
void hs_lists_search(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    json_t *body = sim_req_json(sim, req, resp);
    const char *query, *key;
    json_int_t offset, count;
    const char **ids = NULL;
    json_t *l, *lists;
    size_t n = 0, total = 0, i;

    if (body == NULL)
        return;
    query = json_string_value(json_object_get(body, "query"));
    offset = json_integer_value(json_object_get(body, "offset"));
    count =
        json_object_get(body, "count") ? json_integer_value(json_object_get(body, "count")) : 20;
    if (offset < 0 || count < 1 || count > 500) {
        hs_error_body(resp, 400, "VALIDATION_ERROR", "offset must be >= 0, count from 1 to 500");
        goto out;
    }
    ids = malloc((json_object_size(hs_state(sim)->lists) + 1) * sizeof(*ids));
    if (ids == NULL) {
        hs_error_body(resp, 500, "INTERNAL_ERROR", "out of memory");
        goto out;
    }
    json_object_foreach(hs_state(sim)->lists, key, l)
    {
        const char *name = json_string_value(json_object_get(l, "name"));
        if (query == NULL || query[0] == '\0' || (name != NULL && strcasestr(name, query) != NULL))
            ids[n++] = key;
    }
    qsort(ids, n, sizeof(*ids), cmp_ids);
    lists = json_array();
    for (i = (size_t)offset; i < n && total < (size_t)count; i++, total++)
        json_array_append_new(lists, list_public(find_list(sim, ids[i])));
    resp->records_in = json_array_size(lists);
    sim_resp_json(resp, 200,
                  json_pack("{s:o, s:b, s:I, s:I}", "lists", lists, "hasMore", i < n, "offset",
                            (json_int_t)i, "total", (json_int_t)n));
out:
    free(ids);
    json_decref(body);
}
