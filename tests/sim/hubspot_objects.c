/* HubSpot CRM objects API for contacts: single-record CRUD, list with
 * `after` paging, and the batch read/create/update/upsert/archive family
 * (at most 100 inputs, 200/201 or 207 with `results` and `errors`). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubspot.h"
#include "sim_json.h"
#include "sim_time.h"

static const char *const default_view[] = {"createdate", "email",    "firstname", "hs_object_id",
                                           "lastmodifieddate", "lastname", NULL};
static const char *const always_view[] = {"createdate", "hs_object_id", "lastmodifieddate", NULL};

struct sim_coll *hs_contacts(struct sim *sim)
{
    return sim_store_coll(sim->store, HS_COLL_CONTACTS, false);
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (s == NULL || !isdigit((unsigned char)s[0]))
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

static void lower_copy(const char *in, char *out, size_t outlen)
{
    size_t i;

    for (i = 0; in[i] != '\0' && i + 1 < outlen; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
}

/* Finds a contact by record id or by a unique property value. */
static struct sim_record *lookup(struct sim *sim, const char *value, const char *id_prop,
                                 bool archived)
{
    struct sim_coll *coll = hs_contacts(sim);
    struct sim_record *rec = NULL;

    if (value == NULL)
        return NULL;
    if (id_prop == NULL || strcmp(id_prop, "hs_object_id") == 0) {
        uint64_t id;

        if (parse_u64(value, &id) == 0)
            rec = sim_coll_get(coll, id);
    } else if (strcmp(id_prop, "email") == 0) {
        char low[512];

        lower_copy(value, low, sizeof(low));
        rec = sim_coll_find_unique(coll, "email", low);
    } else {
        rec = sim_coll_find_unique(coll, id_prop, value);
    }
    if (rec == NULL || rec->archived != archived)
        return NULL;
    return rec;
}

/* "a,b,c" from the query string into an array (NULL when absent). */
static json_t *wanted_from_query(const struct sim_request *req)
{
    const char *q = sim_req_query(req, "properties");
    json_t *arr;

    if (q == NULL || q[0] == '\0')
        return NULL;
    arr = json_array();
    while (*q != '\0') {
        size_t len = strcspn(q, ",");

        if (len > 0)
            json_array_append_new(arr, json_stringn(q, len));
        q += len;
        if (*q == ',')
            q++;
    }
    return arr;
}

json_t *hs_contact_json(struct sim *sim, const struct sim_record *rec, json_t *view,
                        const json_t *wanted)
{
    json_t *props = json_object();
    char id[24], t1[32], t2[32];
    const char *updated;
    json_t *o;

    (void)sim;
    if (wanted != NULL) {
        size_t i;
        json_t *name;

        json_array_foreach(wanted, i, name)
        {
            const char *n = json_string_value(name);
            json_t *v = n ? json_object_get(view, n) : NULL;

            if (n != NULL)
                json_object_set_new(props, n, v ? json_incref(v) : json_null());
        }
        for (const char *const *n = always_view; *n != NULL; n++) {
            json_t *v = json_object_get(view, *n);

            json_object_set_new(props, *n, v ? json_incref(v) : json_null());
        }
    } else {
        for (const char *const *n = default_view; *n != NULL; n++) {
            json_t *v = json_object_get(view, *n);

            json_object_set_new(props, *n, v ? json_incref(v) : json_null());
        }
    }
    snprintf(id, sizeof(id), "%llu", (unsigned long long)rec->id);
    updated = json_string_value(json_object_get(view, "lastmodifieddate"));
    if (updated == NULL)
        updated = sim_time_format(rec->updated_ms, t2, sizeof(t2));
    o = json_pack("{s:s, s:o, s:s, s:s, s:b}", "id", id, "properties", props, "createdAt",
                  sim_time_format(rec->created_ms, t1, sizeof(t1)), "updatedAt", updated,
                  "archived", view == rec->props && rec->archived);
    if (view == rec->props && rec->archived)
        json_object_set_new(o, "archivedAt",
                            json_string(sim_time_format(rec->archived_ms, t1, sizeof(t1))));
    return o;
}

/* One remembered sim_time_format() answer: a batch formats the same
 * request time and, mostly, the same creation time for every record. */
struct time_memo {
    int64_t ms;
    bool set;
    char text[32];
};

static const char *memo_format(struct time_memo *m, int64_t ms)
{
    if (!m->set || m->ms != ms) {
        sim_time_format(ms, m->text, sizeof(m->text));
        m->ms = ms;
        m->set = true;
    }
    return m->text;
}

static void write_prop(struct sim_jw *w, json_t *view, const char *name)
{
    json_t *v = json_object_get(view, name);

    sim_jw_key(w, name);
    if (v == NULL)
        sim_jw_null(w);
    else if (json_is_string(v))
        sim_jw_strn(w, json_string_value(v), json_string_length(v));
    else
        sim_jw_json(w, v);
}

/* Whether names[0..n) holds name: a property asked for twice is written
 * once, at its first place, as json_object_set_new() keeps it. */
static bool seen_before(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], name) == 0)
            return true;
    }
    return false;
}

/* The properties a batch write answers with: the default ones plus those
 * the input wrote (HubSpot's batch update example echoes the written
 * values; a client matches results to inputs by its unique property). */
static json_t *written_view(json_t *written)
{
    json_t *names = json_array();
    const char *k;
    json_t *v;

    for (const char *const *n = default_view; *n != NULL; n++)
        json_array_append_new(names, json_string(*n));
    json_object_foreach(written, k, v)
    {
        (void)v;
        json_array_append_new(names, json_string(k));
    }
    return names;
}

/* Writes the members of hs_contact_json()'s object into an object the
 * caller has opened, byte for byte what dumping that object gives, so
 * batch answers need no tree. */
static void write_contact_fields(struct sim_jw *w, const struct sim_record *rec, json_t *view,
                                 const json_t *wanted, struct time_memo *created)
{
    char id[24], t1[32], t2[32];
    json_t *upd;
    bool archived = view == rec->props && rec->archived;

    snprintf(id, sizeof(id), "%llu", (unsigned long long)rec->id);
    sim_jw_key(w, "id");
    sim_jw_str(w, id);
    sim_jw_key(w, "properties");
    sim_jw_obj_begin(w);
    if (wanted != NULL) {
        size_t nw = json_array_size(wanted);
        size_t nnames = 0;
        const char *stack[64];
        const char **names = nw + 3 <= 64 ? stack : malloc((nw + 3) * sizeof(*names));

        if (names == NULL) {
            w->failed = true;
            return;
        }
        for (size_t i = 0; i < nw; i++) {
            const char *n = json_string_value(json_array_get(wanted, i));

            if (n != NULL && !seen_before(names, nnames, n))
                names[nnames++] = n;
        }
        for (const char *const *n = always_view; *n != NULL; n++) {
            if (!seen_before(names, nnames, *n))
                names[nnames++] = *n;
        }
        for (size_t i = 0; i < nnames; i++)
            write_prop(w, view, names[i]);
        if (names != stack)
            free(names);
    } else {
        for (const char *const *n = default_view; *n != NULL; n++)
            write_prop(w, view, *n);
    }
    sim_jw_obj_end(w);
    sim_jw_key(w, "createdAt");
    sim_jw_str(w, memo_format(created, rec->created_ms));
    sim_jw_key(w, "updatedAt");
    upd = json_object_get(view, "lastmodifieddate");
    if (json_is_string(upd))
        sim_jw_strn(w, json_string_value(upd), json_string_length(upd));
    else
        sim_jw_str(w, sim_time_format(rec->updated_ms, t2, sizeof(t2)));
    sim_jw_key(w, "archived");
    sim_jw_bool(w, archived);
    if (archived) {
        sim_jw_key(w, "archivedAt");
        sim_jw_str(w, sim_time_format(rec->archived_ms, t1, sizeof(t1)));
    }
}

void hs_batch_begin(struct sim_jw *w, size_t nresults)
{
    sim_jw_init(w, 256 + nresults * 512);
    sim_jw_obj_begin(w);
    sim_jw_key(w, "status");
    sim_jw_str(w, "COMPLETE");
    sim_jw_key(w, "results");
    sim_jw_arr_begin(w);
}

void hs_batch_end(struct sim_jw *w, const json_t *errors, int64_t started, int64_t now)
{
    char t[32];

    sim_jw_arr_end(w);
    sim_jw_key(w, "startedAt");
    sim_jw_str(w, sim_time_format(started, t, sizeof(t)));
    sim_jw_key(w, "completedAt");
    sim_jw_str(w, sim_time_format(now, t, sizeof(t)));
    if (errors != NULL && json_array_size(errors) > 0) {
        sim_jw_key(w, "numErrors");
        sim_jw_int(w, (long long)json_array_size(errors));
        sim_jw_key(w, "errors");
        sim_jw_json(w, errors);
    }
    sim_jw_obj_end(w);
}

json_t *hs_batch_envelope(json_t *results_take, json_t *errors_take, int64_t started,
                          int64_t now)
{
    char t1[32], t2[32];
    json_t *o = json_pack("{s:s, s:o, s:s, s:s}", "status", "COMPLETE", "results", results_take,
                          "startedAt", sim_time_format(started, t1, sizeof(t1)), "completedAt",
                          sim_time_format(now, t2, sizeof(t2)));

    if (errors_take != NULL && json_array_size(errors_take) > 0) {
        json_object_set_new(o, "numErrors", json_integer((json_int_t)json_array_size(errors_take)));
        json_object_set_new(o, "errors", errors_take);
    } else {
        json_decref(errors_take);
    }
    return o;
}

static json_t *not_found_error(json_t *ids_take)
{
    return json_pack("{s:s, s:s, s:s, s:{s:o}, s:[]}", "status", "error", "category",
                     "OBJECT_NOT_FOUND", "message",
                     "Could not get some CONTACT objects, they may be deleted or not exist. "
                     "Check that ids are valid.",
                     "context", "ids", ids_take, "errors");
}

/* --- property validation --- */

static bool valid_email(const char *s)
{
    const char *at = strchr(s, '@');
    const char *dot;

    if (at == NULL || at == s || strchr(at + 1, '@') != NULL || strchr(s, ' ') != NULL)
        return false;
    dot = strrchr(at + 1, '.');
    return dot != NULL && dot > at + 1 && dot[1] != '\0';
}

static void add_invalid(json_t *errs, const char *name, const char *error, const char *msg)
{
    json_array_append_new(errs, json_pack("{s:b, s:s, s:s, s:s, s:s}", "isValid", 0, "message",
                                          msg, "error", error, "name", name,
                                          "localizedErrorMessage", msg));
}

/* Checks one property value against its definition and normalises it to
 * a string ("" clears). Returns a new reference, or NULL after appending
 * HubSpot's validation object to errs. */
static json_t *normalise_one(struct sim *sim, const char *key, json_t *val, json_t *errs)
{
    json_t *def = hs_property_def(sim, key);
    char msg[600];
    char text[512];

    if (def == NULL) {
        snprintf(msg, sizeof(msg), "Property \"%s\" does not exist", key);
        add_invalid(errs, key, "PROPERTY_DOESNT_EXIST", msg);
        return NULL;
    }
    if (json_is_true(
            json_object_get(json_object_get(def, "modificationMetadata"), "readOnlyValue"))) {
        snprintf(msg, sizeof(msg), "\"%s\" is a read only property; its value cannot be set.",
                 key);
        add_invalid(errs, key, "READ_ONLY_VALUE", msg);
        return NULL;
    }
    /* Most values are strings that need no change: share them rather than
     * copy (the copy below truncates at sizeof(text), so only short ones). */
    if (json_is_string(val) && json_string_length(val) < sizeof(text) &&
        strlen(json_string_value(val)) == json_string_length(val) && strcmp(key, "email") != 0)
        return json_incref(val);
    if (json_is_string(val))
        snprintf(text, sizeof(text), "%s", json_string_value(val));
    else if (json_is_integer(val))
        snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(val));
    else if (json_is_real(val))
        snprintf(text, sizeof(text), "%.17g", json_real_value(val));
    else if (json_is_boolean(val))
        snprintf(text, sizeof(text), "%s", json_is_true(val) ? "true" : "false");
    else if (json_is_null(val))
        text[0] = '\0';
    else {
        snprintf(msg, sizeof(msg), "%s was not a valid value for property %s",
                 json_is_object(val) ? "an object" : "an array", key);
        add_invalid(errs, key, "INVALID_PROPERTY_VALUE", msg);
        return NULL;
    }
    if (strcmp(key, "email") == 0 && text[0] != '\0') {
        char low[512];

        lower_copy(text, low, sizeof(low));
        if (!valid_email(low)) {
            snprintf(msg, sizeof(msg), "Email address %s is invalid", low);
            add_invalid(errs, key, "INVALID_EMAIL", msg);
            return NULL;
        }
        snprintf(text, sizeof(text), "%s", low);
    }
    return json_string(text);
}

/* Checks one input's properties against the definitions and normalises the
 * values to strings ("" clears). Appends HubSpot's per-property validation
 * objects to errs; returns the normalised object (caller owns). */
static json_t *normalise_props(struct sim *sim, json_t *props, json_t *errs)
{
    json_t *norm = json_object();
    const char *key;
    json_t *val;

    json_object_foreach(props, key, val)
    {
        json_t *v = normalise_one(sim, key, val, errs);

        if (v != NULL)
            json_object_set_new(norm, key, v);
    }
    return norm;
}

/* Fills resp with the 400 HubSpot sends for invalid property values. */
static void validation_failed(struct sim_response *resp, json_t *errs)
{
    char *dump = json_dumps(errs, JSON_COMPACT);
    char msg[1024];

    snprintf(msg, sizeof(msg), "Property values were not valid: %s", dump ? dump : "[]");
    free(dump);
    hs_error_body(resp, 400, "VALIDATION_ERROR", msg);
}

/* Unique-value check: another live contact, or another input of the same
 * batch (tracked in `claimed` as value -> input number), already holds a
 * value of a unique property. Returns the holder's id, UINT64_MAX for a
 * clash inside the batch, or 0. */
static uint64_t unique_clash(struct sim *sim, const struct sim_record *self, json_t *norm,
                             json_t *claimed, size_t input_no, const char **prop_out)
{
    struct sim_coll *coll = hs_contacts(sim);
    const char *key;
    json_t *val;

    json_object_foreach(norm, key, val)
    {
        const char *v = json_string_value(val);
        struct sim_record *other;
        char ck[600];
        json_t *by;

        if (!sim_coll_is_unique(coll, key) || v[0] == '\0')
            continue;
        *prop_out = key;
        other = sim_coll_find_unique(coll, key, v);
        if (other != NULL && other != self)
            return other->id;
        if (claimed == NULL)
            continue;
        snprintf(ck, sizeof(ck), "%s\n%s", key, v);
        by = json_object_get(claimed, ck);
        if (by != NULL && (size_t)json_integer_value(by) != input_no)
            return UINT64_MAX;
        json_object_set_new(claimed, ck, json_integer((json_int_t)input_no));
    }
    return 0;
}

static void conflict(struct sim_response *resp, const char *prop, uint64_t holder)
{
    char msg[256];

    if (holder == UINT64_MAX)
        snprintf(msg, sizeof(msg), "Duplicate value for unique property %s in batch input",
                 prop);
    else if (strcmp(prop, "email") == 0)
        snprintf(msg, sizeof(msg), "Contact already exists. Existing ID: %llu",
                 (unsigned long long)holder);
    else
        snprintf(msg, sizeof(msg),
                 "A contact with this value for unique property %s already exists. "
                 "Existing ID: %llu",
                 prop, (unsigned long long)holder);
    hs_error_body(resp, 409, "CONFLICT", msg);
}

static void stamp_system(struct sim_coll *coll, struct sim_record *rec, int64_t now,
                         struct time_memo *memo)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)rec->id);
    sim_coll_set_prop(coll, rec, "hs_object_id", buf);
    sim_coll_set_prop(coll, rec, "lastmodifieddate", memo_format(memo, now));
    if (json_object_get(rec->props, "createdate") == NULL)
        sim_coll_set_prop(coll, rec, "createdate",
                          sim_time_format(rec->created_ms, buf, sizeof(buf)));
}

static struct sim_record *create_contact(struct sim *sim, json_t *norm, int64_t now,
                                         struct time_memo *memo)
{
    struct sim_coll *coll = hs_contacts(sim);
    json_t *clean = json_object();
    const char *key;
    json_t *val;
    struct sim_record *rec;

    json_object_foreach(norm, key, val)
    {
        if (json_string_value(val)[0] != '\0')
            json_object_set(clean, key, val);
    }
    rec = sim_coll_create(coll, 0, clean, now, sim->opt.search_lag_ms);
    json_decref(clean);
    if (rec != NULL)
        stamp_system(coll, rec, now, memo);
    return rec;
}

static void update_contact(struct sim *sim, struct sim_record *rec, json_t *norm, int64_t now,
                           struct time_memo *memo)
{
    struct sim_coll *coll = hs_contacts(sim);
    const char *key;
    json_t *val;

    sim_record_touch(rec, now, sim->opt.search_lag_ms, true);
    json_object_foreach(norm, key, val)
    {
        const char *v = json_string_value(val);

        sim_coll_set_prop(coll, rec, key, v[0] != '\0' ? v : NULL);
    }
    stamp_system(coll, rec, now, memo);
}

/* Common checks on a batch body: {"inputs": [...]} with 1..100 objects. */
static json_t *batch_inputs(struct sim *sim, struct sim_request *req, struct sim_response *resp,
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

static const char *input_id(json_t *input)
{
    json_t *id = json_object_get(input, "id");

    return json_string_value(id);
}

static bool id_prop_ok(struct sim *sim, const char *id_prop)
{
    return id_prop == NULL || strcmp(id_prop, "hs_object_id") == 0 ||
           sim_coll_is_unique(hs_contacts(sim), id_prop);
}

/* Rejects inputs naming the same record twice (HubSpot answers 400). */
static bool duplicate_ids(json_t *inputs, struct sim_response *resp)
{
    json_t *seen = json_object();
    size_t i;
    json_t *in;
    bool dup = false;

    json_array_foreach(inputs, i, in)
    {
        const char *id = input_id(in);
        char low[512];

        if (id == NULL)
            continue;
        lower_copy(id, low, sizeof(low));
        if (json_object_get(seen, low) != NULL) {
            char msg[600];

            snprintf(msg, sizeof(msg), "Duplicate IDs found in batch input: [%s]. IDs must be "
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

/* --- handlers --- */

void hs_contacts_get(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    const char *id_prop = sim_req_query(req, "idProperty");
    const char *arch = sim_req_query(req, "archived");
    struct sim_record *rec;
    json_t *wanted;

    if (!id_prop_ok(sim, id_prop)) {
        hs_error_body(resp, 400, "VALIDATION_ERROR", "idProperty must be a unique property");
        return;
    }
    rec = lookup(sim, req->caps[0], id_prop, arch != NULL && strcmp(arch, "true") == 0);
    if (rec == NULL) {
        hs_error_body(resp, 404, "OBJECT_NOT_FOUND", "resource not found");
        return;
    }
    wanted = wanted_from_query(req);
    sim_resp_json(resp, 200, hs_contact_json(sim, rec, rec->props, wanted));
    json_decref(wanted);
    resp->records_in = 1;
}

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

    if ((lim != NULL && (parse_u64(lim, &limit) != 0 || limit < 1 || limit > 100)) ||
        (after != NULL && parse_u64(after, &after_id) != 0)) {
        json_decref(results);
        hs_error_body(resp, 400, "VALIDATION_ERROR",
                      "limit must be an integer from 1 to 100 and after a paging cursor");
        return;
    }
    wanted = wanted_from_query(req);
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

void hs_contacts_create(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    struct time_memo memo = {0};
    json_t *body = sim_req_json(sim, req, resp);
    json_t *errs, *norm;
    const char *prop = NULL;
    uint64_t holder;
    struct sim_record *rec;

    if (body == NULL)
        return;
    resp->records_in = 1;
    if (!json_is_object(json_object_get(body, "properties"))) {
        hs_error_body(resp, 400, "VALIDATION_ERROR", "Invalid input JSON: 'properties' is required");
        json_decref(body);
        return;
    }
    errs = json_array();
    norm = normalise_props(sim, json_object_get(body, "properties"), errs);
    if (json_array_size(errs) > 0) {
        validation_failed(resp, errs);
    } else if ((holder = unique_clash(sim, NULL, norm, NULL, 0, &prop)) != 0) {
        conflict(resp, prop, holder);
    } else if ((rec = create_contact(sim, norm, req->now_ms, &memo)) != NULL) {
        resp->written = 1;
        sim_resp_json(resp, 201, hs_contact_json(sim, rec, rec->props, NULL));
    }
    json_decref(errs);
    json_decref(norm);
    json_decref(body);
}

void hs_contacts_update(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    struct time_memo memo = {0};
    const char *id_prop = sim_req_query(req, "idProperty");
    json_t *body, *errs, *norm;
    struct sim_record *rec;
    const char *prop = NULL;
    uint64_t holder;

    if (!id_prop_ok(sim, id_prop)) {
        hs_error_body(resp, 400, "VALIDATION_ERROR", "idProperty must be a unique property");
        return;
    }
    body = sim_req_json(sim, req, resp);
    if (body == NULL)
        return;
    resp->records_in = 1;
    rec = lookup(sim, req->caps[0], id_prop, false);
    if (rec == NULL) {
        hs_error_body(resp, 404, "OBJECT_NOT_FOUND", "resource not found");
        json_decref(body);
        return;
    }
    errs = json_array();
    norm = normalise_props(sim, json_object_get(body, "properties"), errs);
    if (!json_is_object(json_object_get(body, "properties"))) {
        hs_error_body(resp, 400, "VALIDATION_ERROR", "Invalid input JSON: 'properties' is required");
    } else if (json_array_size(errs) > 0) {
        validation_failed(resp, errs);
    } else if ((holder = unique_clash(sim, rec, norm, NULL, 0, &prop)) != 0) {
        conflict(resp, prop, holder);
    } else {
        update_contact(sim, rec, norm, req->now_ms, &memo);
        resp->written = 1;
        sim_resp_json(resp, 200, hs_contact_json(sim, rec, rec->props, NULL));
    }
    json_decref(errs);
    json_decref(norm);
    json_decref(body);
}

/* Archiving does not change lastmodifieddate (HubSpot keeps it; only
 * archivedAt is set). Unknown ids are ignored, as HubSpot answers 204. */
void hs_contacts_archive(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    struct sim_record *rec = lookup(sim, req->caps[0], NULL, false);

    resp->records_in = 1;
    if (rec != NULL) {
        sim_coll_archive(hs_contacts(sim), rec, req->now_ms, sim->opt.search_lag_ms);
        resp->written = 1;
    }
    sim_resp_empty(resp, 204);
}

void hs_contacts_batch_archive(struct sim *sim, struct sim_request *req,
                               struct sim_response *resp)
{
    json_t *body;
    json_t *inputs = batch_inputs(sim, req, resp, &body);
    size_t i;
    json_t *in;

    if (inputs != NULL) {
        json_array_foreach(inputs, i, in)
        {
            struct sim_record *rec = lookup(sim, input_id(in), NULL, false);

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
    struct time_memo created = {0};
    json_t *body;
    json_t *inputs = batch_inputs(sim, req, resp, &body);
    const char *arch = sim_req_query(req, "archived");
    bool archived = arch != NULL && strcmp(arch, "true") == 0;
    json_t *missing, *errors, *wanted;
    struct sim_jw w;
    const char *id_prop;
    size_t i;
    json_t *in;

    if (inputs == NULL)
        goto out;
    id_prop = json_string_value(json_object_get(body, "idProperty"));
    if (!id_prop_ok(sim, id_prop)) {
        hs_error_body(resp, 400, "VALIDATION_ERROR", "idProperty must be a unique property");
        goto out;
    }
    wanted = json_object_get(body, "properties");
    if (wanted != NULL && !json_is_array(wanted)) {
        hs_error_body(resp, 400, "VALIDATION_ERROR", "'properties' must be an array");
        goto out;
    }
    hs_batch_begin(&w, json_array_size(inputs));
    missing = json_array();
    json_array_foreach(inputs, i, in)
    {
        const char *id = input_id(in);
        struct sim_record *rec = lookup(sim, id, id_prop, archived);

        if (rec != NULL) {
            sim_jw_obj_begin(&w);
            write_contact_fields(&w, rec, rec->props, wanted, &created);
            sim_jw_obj_end(&w);
        } else {
            json_array_append_new(missing, json_string(id ? id : ""));
        }
    }
    errors = json_array();
    if (json_array_size(missing) > 0)
        json_array_append_new(errors, not_found_error(missing));
    else
        json_decref(missing);
    hs_batch_end(&w, errors, req->now_ms, sim_now_ms(sim));
    sim_resp_jw(resp, json_array_size(errors) > 0 ? 207 : 200, &w);
    json_decref(errors);
out:
    json_decref(body);
}

void hs_contacts_batch_create(struct sim *sim, struct sim_request *req,
                              struct sim_response *resp)
{
    struct time_memo memo = {0}, created = {0};
    json_t *body;
    json_t *inputs = batch_inputs(sim, req, resp, &body);
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
        json_array_append_new(norms, normalise_props(sim, props, errs));
    }
    if (json_array_size(errs) > 0) {
        validation_failed(resp, errs);
        goto out;
    }
    json_array_foreach(norms, i, in)
    {
        const char *prop = NULL;
        uint64_t holder = unique_clash(sim, NULL, in, claimed, i, &prop);

        if (holder != 0) {
            conflict(resp, prop, holder);
            goto out;
        }
    }
    hs_batch_begin(&w, json_array_size(norms));
    json_array_foreach(norms, i, in)
    {
        struct sim_record *rec = create_contact(sim, in, req->now_ms, &memo);

        if (rec != NULL) {
            sim_jw_obj_begin(&w);
            json_t *shown = written_view(in);
            write_contact_fields(&w, rec, rec->props, shown, &created);
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

void hs_contacts_batch_update(struct sim *sim, struct sim_request *req,
                              struct sim_response *resp)
{
    struct time_memo memo = {0}, created = {0};
    json_t *body;
    json_t *inputs = batch_inputs(sim, req, resp, &body);
    json_t *norms = NULL, *errs = NULL, *claimed = NULL, *missing = NULL;
    uint64_t recs[HS_BATCH_MAX]; /* record id per input, 0 when missing */
    json_t *errors;
    struct sim_jw w;
    size_t i;
    json_t *in;

    if (inputs == NULL || duplicate_ids(inputs, resp))
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

        if (!json_is_object(props) || input_id(in) == NULL) {
            hs_error_body(resp, 400, "VALIDATION_ERROR",
                          "Invalid input JSON: every input needs 'id' and 'properties'");
            goto out;
        }
        if (!id_prop_ok(sim, id_prop)) {
            hs_error_body(resp, 400, "VALIDATION_ERROR", "idProperty must be a unique property");
            goto out;
        }
        json_array_append_new(norms, normalise_props(sim, props, errs));
        rec = lookup(sim, input_id(in), id_prop, false);
        recs[i] = rec ? rec->id : 0;
        if (rec == NULL)
            json_array_append_new(missing, json_string(input_id(in)));
    }
    if (json_array_size(errs) > 0) {
        validation_failed(resp, errs);
        goto out;
    }
    json_array_foreach(norms, i, in)
    {
        uint64_t id = recs[i];
        const char *prop = NULL;
        uint64_t holder;

        if (id == 0)
            continue;
        holder = unique_clash(sim, sim_coll_get(hs_contacts(sim), id), in, claimed, i, &prop);
        if (holder != 0) {
            conflict(resp, prop, holder);
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
        update_contact(sim, rec, in, req->now_ms, &memo);
        sim_jw_obj_begin(&w);
        {
            json_t *shown = written_view(in);
            write_contact_fields(&w, rec, rec->props, shown, &created);
            json_decref(shown);
        }
        sim_jw_obj_end(&w);
        resp->written++;
    }
    errors = json_array();
    if (json_array_size(missing) > 0)
        json_array_append_new(errors, not_found_error(json_incref(missing)));
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

/* Upsert by a unique property: each input {id, idProperty, properties}
 * updates the contact holding that value or creates one with it. */
void hs_contacts_batch_upsert(struct sim *sim, struct sim_request *req,
                              struct sim_response *resp)
{
    struct time_memo memo = {0}, created = {0};
    json_t *body;
    json_t *inputs = batch_inputs(sim, req, resp, &body);
    json_t *norms = NULL, *errs = NULL, *claimed = NULL;
    uint64_t recs[HS_BATCH_MAX]; /* record id per input, 0 for a new one */
    struct sim_jw w;
    size_t i;
    json_t *in;

    if (inputs == NULL || duplicate_ids(inputs, resp))
        goto out;
    norms = json_array();
    errs = json_array();
    claimed = json_object();
    json_array_foreach(inputs, i, in)
    {
        json_t *props = json_object_get(in, "properties");
        const char *id_prop = json_string_value(json_object_get(in, "idProperty"));
        const char *id = input_id(in);
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
        norm = normalise_props(sim, props, errs);
        /* The id value is the record's value for idProperty. */
        {
            json_t *idv = json_string(id);
            json_t *idnorm = idv ? normalise_one(sim, id_prop, idv, errs) : NULL;

            if (idnorm != NULL)
                json_object_set_new(norm, id_prop, idnorm);
            json_decref(idv);
        }
        rec = lookup(sim, id, id_prop, false);
        recs[i] = rec ? rec->id : 0;
        json_array_append_new(norms, norm);
    }
    if (json_array_size(errs) > 0) {
        validation_failed(resp, errs);
        goto out;
    }
    json_array_foreach(norms, i, in)
    {
        uint64_t id = recs[i];
        const char *prop = NULL;
        uint64_t holder = unique_clash(sim, id ? sim_coll_get(hs_contacts(sim), id) : NULL, in,
                                       claimed, i, &prop);

        if (holder != 0) {
            conflict(resp, prop, holder);
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
            rec = create_contact(sim, in, req->now_ms, &memo);
        else
            update_contact(sim, rec, in, req->now_ms, &memo);
        if (rec == NULL)
            continue;
        sim_jw_obj_begin(&w);
        {
            json_t *shown = written_view(in);
            write_contact_fields(&w, rec, rec->props, shown, &created);
            json_decref(shown);
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
