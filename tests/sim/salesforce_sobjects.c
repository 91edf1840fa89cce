/* Salesforce flavour: sObject Collections (create, update, upsert by
 * external id, delete), the single-record sObject resources and getDeleted.
 * Collections answer 200 with one result per input record, in input order,
 * even when items fail; only a request that is not well formed gets 400. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "salesforce.h"
#include "sim_time.h"

static const char *record_type(json_t *rec)
{
    return json_string_value(json_object_get(json_object_get(rec, "attributes"), "type"));
}

/* Parses {"allOrNone": b, "records": [...]} and checks the size limit.
 * Returns the records array (borrowed from *body) or NULL with resp set. */
static json_t *collection_body(struct sim *sim, struct sim_request *req, struct sim_response *resp,
                               json_t **body, bool *all_or_none)
{
    json_t *records;

    *body = sim_req_json(sim, req, resp);
    if (*body == NULL)
        return NULL;
    records = json_object_get(*body, "records");
    if (!json_is_array(records)) {
        sf_error(resp, 400, "JSON_PARSER_ERROR",
                 "Cannot deserialize the request: expected {\"allOrNone\": boolean, "
                 "\"records\": [...]}");
        return NULL;
    }
    if (json_array_size(records) > SF_COLLECTION_MAX) {
        sf_error(resp, 400, "EXCEEDED_ID_LIMIT",
                 "record limit reached. cannot submit more than %d records into this call",
                 SF_COLLECTION_MAX);
        return NULL;
    }
    *all_or_none = json_is_true(json_object_get(*body, "allOrNone"));
    resp->records_in = json_array_size(records);
    return records;
}

static json_t *item_result(const struct sf_item *it, enum sf_op op)
{
    json_t *o = json_object();

    if (it->errors == NULL) {
        json_object_set_new(o, "id", json_string(it->id));
        json_object_set_new(o, "success", json_true());
        json_object_set_new(o, "errors", json_array());
        if (op == SF_OP_UPSERT)
            json_object_set_new(o, "created", json_boolean(it->created));
    } else {
        if (op == SF_OP_UPDATE && it->target != NULL)
            json_object_set_new(o, "id", json_string(it->id));
        json_object_set_new(o, "success", json_false());
        json_object_set_new(o, "errors", json_incref(it->errors));
    }
    return o;
}

/* Runs one object's items through the write path. Returns 0 or sets resp. */
static int write_items(struct sim *sim, struct sf_object *obj, enum sf_op op, int ext,
                       struct sf_item *items, size_t n, bool all_or_none, struct sim_request *req,
                       struct sim_response *resp)
{
    char code[64], msg[512];

    if (sf_write(sim, obj, op, ext, items, n, all_or_none, false, req->now_ms, code, sizeof(code),
                 msg, sizeof(msg)) != 0) {
        sf_error(resp, 400, code, "%s", msg);
        return -1;
    }
    return 0;
}

static void collections_write(struct sim *sim, struct sim_request *req, struct sim_response *resp,
                              enum sf_op op)
{
    struct sf_state *sf = sf_state(sim);
    json_t *body = NULL;
    json_t *records;
    bool all_or_none = false;
    struct sf_item *items = NULL;
    size_t n;
    json_t *out;
    json_t *rec;
    size_t i;

    records = collection_body(sim, req, resp, &body, &all_or_none);
    if (records == NULL)
        goto out;
    n = json_array_size(records);
    items = calloc(n ? n : 1, sizeof(*items));
    if (items == NULL) {
        sf_error(resp, 500, "UNKNOWN_EXCEPTION", "out of memory");
        goto out;
    }
    json_array_foreach(records, i, rec)
    {
        if (record_type(rec) == NULL || sf_object_find(sf, record_type(rec)) == NULL) {
            sf_error(resp, 400, "INVALID_TYPE", "%s",
                     record_type(rec) ? "sObject type is not supported"
                                      : "Must send a concrete entity type.");
            goto out;
        }
        items[i].in = rec;
    }
    /* Records may be of several types: each type is one write (allOrNone
     * then holds per type; see README.md). Results keep input order. */
    for (i = 0; i < n; i++) {
        struct sf_object *obj = sf_object_find(sf, record_type(items[i].in));
        struct sf_item *group;
        size_t *idx, ng = 0;
        bool seen = false;

        for (size_t k = 0; k < i; k++) {
            if (sf_object_find(sf, record_type(items[k].in)) == obj)
                seen = true;
        }
        if (seen)
            continue;
        group = calloc(n, sizeof(*group));
        idx = calloc(n, sizeof(*idx));
        if (group == NULL || idx == NULL) {
            free(group);
            free(idx);
            sf_error(resp, 500, "UNKNOWN_EXCEPTION", "out of memory");
            goto out;
        }
        for (size_t k = i; k < n; k++) {
            if (sf_object_find(sf, record_type(items[k].in)) == obj) {
                group[ng].in = items[k].in;
                idx[ng++] = k;
            }
        }
        if (write_items(sim, obj, op, -1, group, ng, all_or_none, req, resp) != 0) {
            sf_items_free(group, ng);
            free(idx);
            goto out;
        }
        for (size_t k = 0; k < ng; k++) {
            items[idx[k]] = group[k];
            group[k].vals = group[k].errors = NULL;
        }
        sf_items_free(group, ng);
        free(idx);
    }
    out = json_array();
    for (i = 0; i < n; i++) {
        json_array_append_new(out, item_result(&items[i], op));
        if (items[i].errors == NULL)
            resp->written++;
    }
    sim_resp_json(resp, 200, out);
out:
    if (items != NULL)
        sf_items_free(items, json_array_size(records));
    json_decref(body);
}

void sf_collections_create(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    collections_write(sim, req, resp, SF_OP_CREATE);
}

void sf_collections_update(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    collections_write(sim, req, resp, SF_OP_UPDATE);
}

/* Resolves /sobjects/{SObject}/{ExternalIdField}. Returns the field index
 * or -1 with resp set. */
static int ext_field(struct sim *sim, const char *oname, const char *fname, struct sf_object **obj,
                     struct sim_response *resp)
{
    int fi;

    *obj = sf_object_find(sf_state(sim), oname);
    if (*obj == NULL) {
        sf_error(resp, 404, "NOT_FOUND", "The requested resource does not exist");
        return -1;
    }
    fi = sf_field_find(*obj, fname);
    if (fi < 0 || !((*obj)->fields[fi].flags & SF_F_EXTID)) {
        sf_error(resp, 404, "NOT_FOUND",
                 "Provided external ID field does not exist or is not accessible: %s", fname);
        return -1;
    }
    return fi;
}

void sf_collections_upsert(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    struct sf_object *obj;
    json_t *body = NULL;
    json_t *records, *rec;
    bool all_or_none = false;
    struct sf_item *items = NULL;
    size_t n = 0, i;
    int fi;
    json_t *out;

    fi = ext_field(sim, req->caps[1], req->caps[2], &obj, resp);
    if (fi < 0)
        return;
    records = collection_body(sim, req, resp, &body, &all_or_none);
    if (records == NULL)
        goto out;
    n = json_array_size(records);
    items = calloc(n ? n : 1, sizeof(*items));
    if (items == NULL) {
        sf_error(resp, 500, "UNKNOWN_EXCEPTION", "out of memory");
        goto out;
    }
    json_array_foreach(records, i, rec)
    {
        const char *type = record_type(rec);

        if (type == NULL) {
            sf_error(resp, 400, "INVALID_TYPE", "Must send a concrete entity type.");
            goto out;
        }
        if (strcasecmp(type, obj->name) != 0) {
            sf_error(resp, 400, "INVALID_TYPE",
                     "The sObject type %s of record %zu does not match the type %s in the URI",
                     type, i, obj->name);
            goto out;
        }
        items[i].in = rec;
    }
    if (write_items(sim, obj, SF_OP_UPSERT, fi, items, n, all_or_none, req, resp) != 0)
        goto out;
    out = json_array();
    for (i = 0; i < n; i++) {
        json_array_append_new(out, item_result(&items[i], SF_OP_UPSERT));
        if (items[i].errors == NULL)
            resp->written++;
    }
    sim_resp_json(resp, 200, out);
out:
    if (items != NULL)
        sf_items_free(items, n);
    json_decref(body);
}

/* Finds a live record by id. Returns it, or NULL with *why set. */
static struct sim_record *by_id(struct sim *sim, const char *id, struct sf_object **obj,
                                const char **code, const char **why)
{
    uint64_t num;
    struct sim_record *rec;

    *obj = sf_object_of_id(sf_state(sim), id);
    if (*obj == NULL || sf_id_parse(*obj, id, &num) != 0) {
        *code = "MALFORMED_ID";
        *why = "malformed id";
        return NULL;
    }
    rec = sim_coll_get((*obj)->coll, num);
    if (rec == NULL || rec->archived) {
        *code = "ENTITY_IS_DELETED";
        *why = "entity is deleted";
        return NULL;
    }
    return rec;
}

void sf_collections_delete(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    const char *ids = sim_req_query(req, "ids");
    const char *aon = sim_req_query(req, "allOrNone");
    bool all_or_none = aon != NULL && strcasecmp(aon, "true") == 0;
    char *copy, *save = NULL, *tok;
    json_t *out = json_array();
    struct {
        char id[40];
        struct sim_record *rec;
        struct sf_object *obj;
        const char *code, *why;
    } *list = NULL;
    size_t n = 0, failed = 0;

    if (ids == NULL || ids[0] == '\0') {
        json_decref(out);
        sf_error(resp, 400, "MISSING_ARGUMENT", "ids must be specified");
        return;
    }
    copy = strdup(ids);
    list = calloc(SF_COLLECTION_MAX + 1, sizeof(*list));
    if (copy == NULL || list == NULL) {
        sf_error(resp, 500, "UNKNOWN_EXCEPTION", "out of memory");
        goto out;
    }
    for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        if (n == SF_COLLECTION_MAX) {
            sf_error(resp, 400, "EXCEEDED_ID_LIMIT",
                     "record limit reached. cannot submit more than %d records into this call",
                     SF_COLLECTION_MAX);
            goto out;
        }
        snprintf(list[n].id, sizeof(list[n].id), "%s", tok);
        list[n].rec = by_id(sim, tok, &list[n].obj, &list[n].code, &list[n].why);
        if (list[n].rec == NULL)
            failed++;
        n++;
    }
    resp->records_in = n;
    for (size_t i = 0; i < n; i++) {
        json_t *errs = json_array();
        bool ok = list[i].rec != NULL && !(all_or_none && failed > 0);

        if (list[i].rec == NULL)
            json_array_append_new(errs, sf_item_error(list[i].code, NULL, "%s", list[i].why));
        else if (!ok)
            json_array_append_new(errs,
                                  sf_item_error("ALL_OR_NONE_OPERATION_ROLLED_BACK", NULL,
                                                "Record rolled back because not all records "
                                                "were valid and the request was using AllOrNone "
                                                "header"));
        if (ok) {
            sf_delete(sim, list[i].obj, list[i].rec, req->now_ms);
            resp->written++;
        }
        json_array_append_new(
            out, json_pack("{s:s, s:b, s:o}", "id", list[i].id, "success", ok, "errors", errs));
    }
    sim_resp_json(resp, 200, out);
    out = NULL;
out:
    json_decref(out);
    free(copy);
    free(list);
}

/* --- single-record resources --- */

static void single_write(struct sim *sim, struct sim_request *req, struct sim_response *resp,
                         struct sf_object *obj, enum sf_op op, int fi, json_t *in)
{
    struct sf_item it;
    char code[64], msg[512];

    memset(&it, 0, sizeof(it));
    it.in = in;
    resp->records_in = 1;
    if (sf_write(sim, obj, op, fi, &it, 1, true, false, req->now_ms, code, sizeof(code), msg,
                 sizeof(msg)) != 0) {
        sf_error(resp, 400, code, "%s", msg);
    } else if (it.errors != NULL) {
        /* Single-record errors are the top-level error array. */
        json_t *arr = json_array();
        size_t i;
        json_t *e;

        json_array_foreach(it.errors, i, e)
        {
            json_array_append_new(arr, json_pack("{s:O, s:O, s:O}", "message",
                                                 json_object_get(e, "message"), "errorCode",
                                                 json_object_get(e, "statusCode"), "fields",
                                                 json_object_get(e, "fields")));
        }
        sim_resp_json(resp, 400, arr);
    } else if (op == SF_OP_UPDATE) {
        resp->written = 1;
        sim_resp_empty(resp, 204);
    } else {
        json_t *o = json_pack("{s:s, s:b, s:[]}", "id", it.id, "success", 1, "errors");

        if (op == SF_OP_UPSERT)
            json_object_set_new(o, "created", json_boolean(it.created));
        resp->written = 1;
        sim_resp_json(resp, it.created ? 201 : 200, o);
    }
    json_decref(it.vals);
    json_decref(it.errors);
}

void sf_sobject_create(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    struct sf_object *obj = sf_object_find(sf_state(sim), req->caps[1]);
    json_t *body;

    if (obj == NULL) {
        sf_error(resp, 404, "NOT_FOUND", "The requested resource does not exist");
        return;
    }
    body = sim_req_json(sim, req, resp);
    if (body != NULL)
        single_write(sim, req, resp, obj, SF_OP_CREATE, -1, body);
    json_decref(body);
}

void sf_sobject_get(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    struct sf_object *obj = sf_object_find(sf_state(sim), req->caps[1]);
    struct sf_object *of;
    const char *code, *why;
    struct sim_record *rec;

    if (obj == NULL) {
        sf_error(resp, 404, "NOT_FOUND", "The requested resource does not exist");
        return;
    }
    rec = by_id(sim, req->caps[2], &of, &code, &why);
    if (rec == NULL || of != obj) {
        sf_error(resp, 404, "NOT_FOUND", "The requested resource does not exist");
        return;
    }
    sim_resp_json(resp, 200, sf_record_json(obj, rec, NULL, 0, req->caps[0]));
}

void sf_sobject_delete(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    struct sf_object *obj = sf_object_find(sf_state(sim), req->caps[1]);
    struct sf_object *of;
    const char *code, *why;
    struct sim_record *rec;

    if (obj == NULL) {
        sf_error(resp, 404, "NOT_FOUND", "The requested resource does not exist");
        return;
    }
    rec = by_id(sim, req->caps[2], &of, &code, &why);
    if (rec == NULL || of != obj) {
        sf_error(resp, 404, rec == NULL ? code : "NOT_FOUND", "%s",
                 rec == NULL ? why : "The requested resource does not exist");
        return;
    }
    sf_delete(sim, obj, rec, req->now_ms);
    resp->records_in = resp->written = 1;
    sim_resp_empty(resp, 204);
}

/* PATCH /sobjects/{SObject}/{ExternalIdField}/{value} (and .../Id/{id}):
 * 201 created, 200 updated (API 46.0+ bodies), 300 with the matching
 * records' URLs when the external id is not unique, 400 for item errors. */
void sf_sobject_upsert(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    struct sf_object *obj;
    json_t *body, *in = NULL;
    struct sim_record *found[16];
    size_t n;
    int fi;
    const char *key;
    json_t *v;

    if (strcmp(req->caps[2], "Id") == 0) {
        obj = sf_object_find(sf_state(sim), req->caps[1]);
        if (obj == NULL) {
            sf_error(resp, 404, "NOT_FOUND", "The requested resource does not exist");
            return;
        }
        body = sim_req_json(sim, req, resp);
        if (body == NULL)
            return;
        in = json_deep_copy(body);
        json_object_set_new(in, "Id", json_string(req->caps[3]));
        single_write(sim, req, resp, obj, SF_OP_UPDATE, -1, in);
        json_decref(in);
        json_decref(body);
        return;
    }
    fi = ext_field(sim, req->caps[1], req->caps[2], &obj, resp);
    if (fi < 0)
        return;
    body = sim_req_json(sim, req, resp);
    if (body == NULL)
        return;
    if (!json_is_object(body)) {
        sf_error(resp, 400, "JSON_PARSER_ERROR", "Cannot deserialize instance of %s", obj->name);
        goto out;
    }
    json_object_foreach(body, key, v)
    {
        if (strcasecmp(key, obj->fields[fi].name) == 0 &&
            !(json_is_string(v) && strcmp(json_string_value(v), req->caps[3]) == 0)) {
            sf_error(resp, 400, "INVALID_FIELD",
                     "The value of the external ID field %s in the request body does not "
                     "match the URI",
                     obj->fields[fi].name);
            goto out;
        }
    }
    n = sf_find_by_field(obj, fi, req->caps[3], found, 16);
    if (n > 1) {
        json_t *urls = json_array();
        char id[19], url[160];

        for (size_t i = 0; i < n && i < 16; i++) {
            sf_id_format(obj, found[i]->id, id);
            snprintf(url, sizeof(url), "/services/data/%s/sobjects/%s/%s", req->caps[0], obj->name,
                     id);
            json_array_append_new(urls, json_string(url));
        }
        sim_resp_json(resp, 300, urls);
        goto out;
    }
    in = json_deep_copy(body);
    json_object_set_new(in, obj->fields[fi].name, json_string(req->caps[3]));
    single_write(sim, req, resp, obj, SF_OP_UPSERT, fi, in);
out:
    json_decref(in);
    json_decref(body);
}

/* --- getDeleted --- */

void sf_get_deleted(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    struct sf_state *sf = sf_state(sim);
    struct sf_object *obj = sf_object_find(sf, req->caps[1]);
    const char *s_start = sim_req_query(req, "start");
    const char *s_end = sim_req_query(req, "end");
    int64_t start, end, horizon, covered;
    int64_t now = req->now_ms;
    bool purged_refused;
    json_t *recs;
    size_t keep = 0;
    char t1[40], t2[40];

    if (obj == NULL) {
        sf_error(resp, 404, "NOT_FOUND", "The requested resource does not exist");
        return;
    }
    if (s_start == NULL || s_end == NULL || sim_time_parse(s_start, &start) != 0 ||
        sim_time_parse(s_end, &end) != 0) {
        sf_error(resp, 400, "INVALID_REPLICATION_DATE",
                 "start and end must be given as dateTime values");
        return;
    }
    /* A start before earliestDateAvailable (the newest entry purged from
     * the delete log, which Salesforce may purge early when it grows: REST
     * API "sObject Get Deleted") cannot be answered completely. */
    purged_refused = obj->purged_ms > 0 && start < obj->purged_ms;
    /* The API ignores seconds. */
    start -= ((start % 60000) + 60000) % 60000;
    end -= ((end % 60000) + 60000) % 60000;
    horizon = now - (int64_t)SF_DELETE_LOG_DAYS * 86400000;
    /* Purge the delete log past its horizon. */
    for (size_t i = 0; i < obj->ndels; i++) {
        if (obj->dels[i].ms < horizon) {
            if (obj->dels[i].ms > obj->purged_ms)
                obj->purged_ms = obj->dels[i].ms;
        } else {
            obj->dels[keep++] = obj->dels[i];
        }
    }
    obj->ndels = keep;
    if (end <= start) {
        sf_error(resp, 400, "INVALID_REPLICATION_DATE",
                 "startDate must chronologically precede endDate");
        return;
    }
    if (purged_refused) {
        sf_error(resp, 400, "INVALID_REPLICATION_DATE",
                 "startDate is before earliestDateAvailable: the delete log was purged");
        return;
    }
    if (start < horizon - 60000) {
        sf_error(resp, 400, "INVALID_REPLICATION_DATE", "startDate cannot be more than %d days ago",
                 SF_DELETE_LOG_DAYS);
        return;
    }
    covered = end < now ? end : now - ((now % 60000) + 60000) % 60000;
    recs = json_array();
    for (size_t i = 0; i < obj->ndels; i++) {
        char id[19];

        if (obj->dels[i].ms < start || obj->dels[i].ms > covered)
            continue;
        sf_id_format(obj, obj->dels[i].num, id);
        json_array_append_new(recs, json_pack("{s:s, s:s}", "id", id, "deletedDate",
                                              sf_datetime(obj->dels[i].ms, t1, sizeof(t1))));
    }
    resp->records_in = json_array_size(recs);
    sim_resp_json(resp, 200,
                  json_pack("{s:o, s:s, s:s}", "deletedRecords", recs, "earliestDateAvailable",
                            sf_datetime(obj->purged_ms ? obj->purged_ms
                                                       : sf->started_ms - sf->started_ms % 60000,
                                        t1, sizeof(t1)),
                            "latestDateCovered", sf_datetime(covered, t2, sizeof(t2))));
}
