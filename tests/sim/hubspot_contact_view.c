/* A HubSpot contact as the API shows it: the property view (defaults,
 * `properties=` lists, what a batch write echoes), as a jansson object for
 * the single-record endpoints and through the JSON writer for batch
 * answers, and the batch envelope around the results. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubspot_contact.h"
#include "sim_json.h"
#include "sim_time.h"

static const char *const default_view[] = {
    "createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname", NULL};
static const char *const always_view[] = {"createdate", "hs_object_id", "lastmodifieddate", NULL};

/* "a,b,c" from the query string into an array (NULL when absent). */
json_t *hs_wanted_from_query(const struct sim_request *req)
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

const char *hs_memo_format(struct hs_time_memo *m, int64_t ms)
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
json_t *hs_written_view(json_t *written)
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

/* A contact object's first members, up to the opened "properties". */
static void write_head(struct sim_jw *w, const struct sim_record *rec)
{
    char id[24];

    snprintf(id, sizeof(id), "%llu", (unsigned long long)rec->id);
    sim_jw_key(w, "id");
    sim_jw_str(w, id);
    sim_jw_key(w, "properties");
    sim_jw_obj_begin(w);
}

/* A contact object's members after "properties". */
static void write_tail(struct sim_jw *w, const struct sim_record *rec, json_t *view,
                       struct hs_time_memo *created)
{
    char t1[32], t2[32];
    json_t *upd = json_object_get(view, "lastmodifieddate");
    bool archived = view == rec->props && rec->archived;

    sim_jw_key(w, "createdAt");
    sim_jw_str(w, hs_memo_format(created, rec->created_ms));
    sim_jw_key(w, "updatedAt");
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

/* Writes the members of hs_contact_json()'s object into an object the
 * caller has opened, byte for byte what dumping that object gives, so
 * batch answers need no tree. */
void hs_contact_write_fields(struct sim_jw *w, const struct sim_record *rec, json_t *view,
                             const json_t *wanted, struct hs_time_memo *created)
{
    write_head(w, rec);
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
    write_tail(w, rec, view, created);
}

/* A property of an upsert answer: SimplePublicUpsertObject's properties
 * are strings, not nullable (SimplePublicObject's, in reads, are), so a
 * property without a value is left out. */
static void write_prop_held(struct sim_jw *w, json_t *view, const char *name)
{
    if (json_is_string(json_object_get(view, name)))
        write_prop(w, view, name);
}

void hs_contact_write_written(struct sim_jw *w, const struct sim_record *rec,
                              const char *const *written, size_t nwritten,
                              struct hs_time_memo *created)
{
    size_t ndefault = sizeof(default_view) / sizeof(default_view[0]) - 1;

    write_head(w, rec);
    for (size_t i = 0; i < ndefault; i++)
        write_prop_held(w, rec->props, default_view[i]);
    for (size_t i = 0; i < nwritten; i++) {
        if (!seen_before(default_view, ndefault, written[i]) &&
            !seen_before(written, i, written[i]))
            write_prop_held(w, rec->props, written[i]);
    }
    sim_jw_obj_end(w);
    write_tail(w, rec, rec->props, created);
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

json_t *hs_batch_envelope(json_t *results_take, json_t *errors_take, int64_t started, int64_t now)
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

json_t *hs_not_found_error(json_t *ids_take)
{
    return json_pack("{s:s, s:s, s:s, s:{s:o}, s:[]}", "status", "error", "category",
                     "OBJECT_NOT_FOUND", "message",
                     "Could not get some CONTACT objects, they may be deleted or not exist. "
                     "Check that ids are valid.",
                     "context", "ids", ids_take, "errors");
}
