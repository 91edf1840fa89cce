#include "sim_store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_time.h"

struct sim_store *sim_store_new(void)
{
    return calloc(1, sizeof(struct sim_store));
}

static void record_free(struct sim_record *rec)
{
    if (rec == NULL)
        return;
    json_decref(rec->props);
    json_decref(rec->indexed);
    free(rec);
}

static void coll_clear(struct sim_coll *coll)
{
    const char *key;
    json_t *idx;

    for (size_t i = 0; i < coll->n; i++)
        record_free(coll->recs[i]);
    coll->n = 0;
    coll->next_id = 1;
    json_object_foreach(coll->unique, key, idx)
    {
        json_object_clear(idx);
    }
}

void sim_store_clear(struct sim_store *store)
{
    for (size_t i = 0; i < store->ncolls; i++)
        coll_clear(store->colls[i]);
}

void sim_store_free(struct sim_store *store)
{
    if (store == NULL)
        return;
    for (size_t i = 0; i < store->ncolls; i++) {
        coll_clear(store->colls[i]);
        free(store->colls[i]->recs);
        json_decref(store->colls[i]->unique);
        free(store->colls[i]);
    }
    free(store->colls);
    free(store);
}

struct sim_coll *sim_store_coll(struct sim_store *store, const char *name, bool create)
{
    struct sim_coll *coll = NULL;
    struct sim_coll **grown;

    for (size_t i = 0; i < store->ncolls; i++) {
        if (strcmp(store->colls[i]->name, name) == 0)
            return store->colls[i];
    }
    if (!create || strlen(name) >= sizeof(coll->name))
        return NULL;
    grown = realloc(store->colls, (store->ncolls + 1) * sizeof(*grown));
    if (grown == NULL)
        return NULL;
    store->colls = grown;
    coll = calloc(1, sizeof(*coll));
    if (coll == NULL)
        return NULL;
    memcpy(coll->name, name, strlen(name) + 1);
    coll->next_id = 1;
    coll->unique = json_object();
    store->colls[store->ncolls++] = coll;
    return coll;
}

static void id_key(uint64_t id, char *buf, size_t bufsize)
{
    snprintf(buf, bufsize, "%" PRIu64, id);
}

int sim_coll_add_unique(struct sim_coll *coll, const char *prop)
{
    json_t *idx;

    if (json_object_get(coll->unique, prop) != NULL)
        return 0;
    idx = json_object();
    for (size_t i = 0; i < coll->n; i++) {
        struct sim_record *rec = coll->recs[i];
        const char *v;

        if (rec->archived)
            continue;
        v = json_string_value(json_object_get(rec->props, prop));
        if (v == NULL || v[0] == '\0')
            continue;
        if (json_object_get(idx, v) != NULL) {
            json_decref(idx);
            return -1;
        }
        json_object_set_new(idx, v, json_integer((json_int_t)rec->id));
    }
    json_object_set_new(coll->unique, prop, idx);
    return 0;
}

bool sim_coll_is_unique(const struct sim_coll *coll, const char *prop)
{
    return json_object_get(coll->unique, prop) != NULL;
}

static size_t lower_bound(const struct sim_coll *coll, uint64_t id)
{
    size_t lo = 0, hi = coll->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (coll->recs[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct sim_record *sim_coll_get(const struct sim_coll *coll, uint64_t id)
{
    size_t i = lower_bound(coll, id);

    if (i < coll->n && coll->recs[i]->id == id)
        return coll->recs[i];
    return NULL;
}

size_t sim_coll_after(const struct sim_coll *coll, uint64_t after)
{
    if (after == UINT64_MAX)
        return coll->n;
    return lower_bound(coll, after + 1);
}

struct sim_record *sim_coll_find_unique(const struct sim_coll *coll, const char *prop,
                                        const char *value)
{
    json_t *idx = json_object_get(coll->unique, prop);
    json_t *id;

    if (idx == NULL || value == NULL)
        return NULL;
    id = json_object_get(idx, value);
    if (id == NULL)
        return NULL;
    return sim_coll_get(coll, (uint64_t)json_integer_value(id));
}

static void index_del(struct sim_coll *coll, const struct sim_record *rec, const char *prop,
                      const char *value)
{
    json_t *idx = json_object_get(coll->unique, prop);
    json_t *id;

    if (idx == NULL || value == NULL)
        return;
    id = json_object_get(idx, value);
    if (id != NULL && (uint64_t)json_integer_value(id) == rec->id)
        json_object_del(idx, value);
}

static void index_add(struct sim_coll *coll, const struct sim_record *rec, const char *prop,
                      const char *value)
{
    json_t *idx = json_object_get(coll->unique, prop);

    if (idx == NULL || value == NULL || value[0] == '\0' || rec->archived)
        return;
    json_object_set_new(idx, value, json_integer((json_int_t)rec->id));
}

void sim_coll_set_prop(struct sim_coll *coll, struct sim_record *rec, const char *prop,
                       const char *value)
{
    const char *old = json_string_value(json_object_get(rec->props, prop));

    /* Rewriting a value unchanged is common (upserts of the same data): keep
     * the string. A unique property's index entry must also point at this
     * record already (a live record's does; otherwise take the long way,
     * which re-points it). */
    if (old != NULL && value != NULL && strcmp(old, value) == 0) {
        json_t *idx = json_object_get(coll->unique, prop);
        json_t *id = idx ? json_object_get(idx, value) : NULL;

        if (idx == NULL || rec->archived ||
            (id != NULL && (uint64_t)json_integer_value(id) == rec->id))
            return;
    }
    index_del(coll, rec, prop, old);
    if (value == NULL) {
        json_object_del(rec->props, prop);
        return;
    }
    json_object_set_new(rec->props, prop, json_string(value));
    index_add(coll, rec, prop, value);
}

struct sim_record *sim_coll_create(struct sim_coll *coll, uint64_t id, json_t *props, int64_t now,
                                   int64_t lag_ms)
{
    struct sim_record *rec;
    size_t pos;
    const char *key;
    json_t *val;

    if (id == 0)
        id = coll->next_id;
    pos = lower_bound(coll, id);
    if (pos < coll->n && coll->recs[pos]->id == id)
        return NULL;
    if (coll->n == coll->cap) {
        size_t cap = coll->cap ? coll->cap * 2 : 1024;
        struct sim_record **grown = realloc(coll->recs, cap * sizeof(*grown));

        if (grown == NULL)
            return NULL;
        coll->recs = grown;
        coll->cap = cap;
    }
    rec = calloc(1, sizeof(*rec));
    if (rec == NULL)
        return NULL;
    rec->id = id;
    rec->created_ms = now;
    rec->updated_ms = now;
    rec->props = json_object();
    rec->visible_ms = now + lag_ms;
    memmove(&coll->recs[pos + 1], &coll->recs[pos], (coll->n - pos) * sizeof(*coll->recs));
    coll->recs[pos] = rec;
    coll->n++;
    if (id >= coll->next_id)
        coll->next_id = id + 1;
    json_object_foreach(props, key, val)
    {
        char text[64];

        /* Properties are strings; seeds may carry typed scalars (Salesforce
         * booleans and numbers), kept in their JSON text form. */
        if (json_is_string(val)) {
            sim_coll_set_prop(coll, rec, key, json_string_value(val));
        } else if (json_is_boolean(val)) {
            sim_coll_set_prop(coll, rec, key, json_is_true(val) ? "true" : "false");
        } else if (json_is_integer(val)) {
            snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(val));
            sim_coll_set_prop(coll, rec, key, text);
        } else if (json_is_real(val)) {
            snprintf(text, sizeof(text), "%.17g", json_real_value(val));
            sim_coll_set_prop(coll, rec, key, text);
        }
    }
    return rec;
}

void sim_coll_remove(struct sim_coll *coll, struct sim_record *rec)
{
    size_t pos = lower_bound(coll, rec->id);
    const char *prop;
    json_t *idx;

    if (pos >= coll->n || coll->recs[pos] != rec)
        return;
    json_object_foreach(coll->unique, prop, idx)
    {
        index_del(coll, rec, prop, json_string_value(json_object_get(rec->props, prop)));
    }
    memmove(&coll->recs[pos], &coll->recs[pos + 1], (coll->n - pos - 1) * sizeof(*coll->recs));
    coll->n--;
    record_free(rec);
}

void sim_record_touch(struct sim_record *rec, int64_t now, int64_t lag_ms, bool bump_updated)
{
    if (lag_ms > 0 && now >= rec->visible_ms) {
        /* The version search sees right now is the current one: keep it
         * until the new version is indexed. A second write inside the lag
         * keeps the older snapshot, as an index that lags would. */
        json_decref(rec->indexed);
        rec->indexed = json_deep_copy(rec->props);
        rec->indexed_archived = rec->archived;
    }
    if (lag_ms > 0)
        rec->visible_ms = now + lag_ms;
    else
        rec->visible_ms = now;
    if (bump_updated)
        rec->updated_ms = now;
}

void sim_coll_archive(struct sim_coll *coll, struct sim_record *rec, int64_t now, int64_t lag_ms)
{
    const char *prop;
    json_t *idx;

    if (rec->archived)
        return;
    sim_record_touch(rec, now, lag_ms, false);
    json_object_foreach(coll->unique, prop, idx)
    {
        index_del(coll, rec, prop, json_string_value(json_object_get(rec->props, prop)));
    }
    rec->archived = true;
    rec->archived_ms = now;
}

json_t *sim_record_searchable(const struct sim_record *rec, int64_t now)
{
    if (now >= rec->visible_ms)
        return rec->archived ? NULL : rec->props;
    return rec->indexed_archived ? NULL : rec->indexed;
}

json_t *sim_store_dump(const struct sim_store *store)
{
    json_t *out = json_object();

    for (size_t c = 0; c < store->ncolls; c++) {
        const struct sim_coll *coll = store->colls[c];
        json_t *arr = json_array();

        for (size_t i = 0; i < coll->n; i++) {
            const struct sim_record *rec = coll->recs[i];
            char id[24], t1[32], t2[32];
            json_t *o;

            id_key(rec->id, id, sizeof(id));
            o = json_pack("{s:s, s:s, s:s, s:b, s:O}", "id", id, "createdAt",
                          sim_time_format(rec->created_ms, t1, sizeof(t1)), "updatedAt",
                          sim_time_format(rec->updated_ms, t2, sizeof(t2)), "archived",
                          rec->archived, "properties", rec->props);
            if (rec->archived)
                json_object_set_new(o, "archivedAt",
                                    json_string(sim_time_format(rec->archived_ms, t1, sizeof(t1))));
            json_array_append_new(arr, o);
        }
        json_object_set_new(out, coll->name, arr);
    }
    return out;
}

static int parse_id(json_t *v, uint64_t *id)
{
    char *end;
    unsigned long long n;

    *id = 0;
    if (v == NULL)
        return 0;
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        *id = (uint64_t)json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    errno = 0;
    n = strtoull(json_string_value(v), &end, 10);
    if (errno != 0 || *end != '\0' || n == 0)
        return -1;
    *id = n;
    return 0;
}

static int parse_time(json_t *v, int64_t def, int64_t *out)
{
    *out = def;
    if (v == NULL)
        return 0;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    return sim_time_parse(json_string_value(v), out);
}

int sim_store_seed(struct sim_store *store, json_t *colls, int64_t now, char *err, size_t errlen)
{
    const char *name;
    json_t *arr;

    if (!json_is_object(colls)) {
        snprintf(err, errlen, "'collections' must be an object of arrays");
        return -1;
    }
    json_object_foreach(colls, name, arr)
    {
        struct sim_coll *coll = sim_store_coll(store, name, true);
        size_t i;
        json_t *item;

        if (coll == NULL || !json_is_array(arr)) {
            snprintf(err, errlen, "collection '%s': expected an array", name);
            return -1;
        }
        json_array_foreach(arr, i, item)
        {
            json_t *props = json_object_get(item, "properties");
            struct sim_record *rec;
            uint64_t id;
            int64_t created, updated, archived_at;
            const char *prop;
            json_t *idx;

            if (!json_is_object(item) || (props != NULL && !json_is_object(props)) ||
                parse_id(json_object_get(item, "id"), &id) != 0 ||
                parse_time(json_object_get(item, "createdAt"), now, &created) != 0 ||
                parse_time(json_object_get(item, "updatedAt"), created, &updated) != 0 ||
                parse_time(json_object_get(item, "archivedAt"), updated, &archived_at) != 0) {
                snprintf(err, errlen, "%s[%zu]: bad record (id, createdAt, updatedAt, properties)",
                         name, i);
                return -1;
            }
            json_object_foreach(coll->unique, prop, idx)
            {
                const char *v = json_string_value(json_object_get(props, prop));

                if (v != NULL && json_object_get(idx, v) != NULL &&
                    !json_is_true(json_object_get(item, "archived"))) {
                    snprintf(err, errlen, "%s[%zu]: duplicate value for unique property %s", name,
                             i, prop);
                    return -1;
                }
            }
            if (props == NULL) {
                json_t *empty = json_object();

                rec = sim_coll_create(coll, id, empty, created, 0);
                json_decref(empty);
            } else {
                rec = sim_coll_create(coll, id, props, created, 0);
            }
            if (rec == NULL) {
                snprintf(err, errlen, "%s[%zu]: duplicate id", name, i);
                return -1;
            }
            rec->updated_ms = updated;
            rec->visible_ms = 0; /* seeded data is already indexed */
            if (json_is_true(json_object_get(item, "archived")))
                sim_coll_archive(coll, rec, archived_at, 0);
            rec->visible_ms = 0;
        }
    }
    return 0;
}
