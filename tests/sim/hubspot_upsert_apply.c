/* A batch upsert parsed by hubspot_upsert_parse.c, applied under sim->lock
 * (see hubspot_upsert.h): the same checks, writes and answer as the
 * general path in hubspot_batch_upsert.c, without jansson trees. Every
 * check comes before the first write, so declining changes nothing. */
#include <stdlib.h>
#include <string.h>

#include "hubspot_contact.h"
#include "hubspot_upsert.h"
#include "sim_json.h"

/* Unique values claimed by the batch's inputs: (name, value) -> input. */
struct claim {
    const char *value; /* NULL: free slot */
    uint16_t name;
    size_t input;
};

struct claims {
    struct claim *slots;
    size_t mask;
};

static size_t hash_value(uint16_t name, const char *v)
{
    size_t h = 1469598103934665603u ^ name;

    for (; *v != '\0'; v++)
        h = (h ^ (unsigned char)*v) * 1099511628211u;
    return h;
}

/* Claims (name, value) for input; false when another input holds it. */
static bool claim(struct claims *c, uint16_t name, const char *value, size_t input)
{
    size_t i = hash_value(name, value) & c->mask;

    while (c->slots[i].value != NULL) {
        struct claim *s = &c->slots[i];

        if (s->name == name && strcmp(s->value, value) == 0)
            return s->input == input;
        i = (i + 1) & c->mask;
    }
    c->slots[i].value = value;
    c->slots[i].name = name;
    c->slots[i].input = input;
    return true;
}

/* What the definitions say about each name: known and writable (else the
 * general path answers 400), and whether it holds unique values. */
static bool check_names(struct sim *sim, const struct hs_upsert_batch *b, bool *unique)
{
    struct sim_coll *coll = hs_contacts(sim);

    for (size_t i = 0; i < b->nnames; i++) {
        json_t *def = hs_property_def(sim, b->names[i]);

        if (def == NULL || json_is_true(json_object_get(
                               json_object_get(def, "modificationMetadata"), "readOnlyValue")))
            return false;
        unique[i] = sim_coll_is_unique(coll, b->names[i]);
    }
    return true;
}

/* Finds each input's contact; false when an idProperty cannot be used. */
static bool find_records(struct sim *sim, const struct hs_upsert_batch *b, const bool *unique,
                         struct sim_record **recs)
{
    for (size_t i = 0; i < b->ninputs; i++) {
        const struct hs_upsert_input *in = &b->inputs[i];
        const char *id_prop = b->names[in->id_prop];

        if (!unique[in->id_prop] || strcmp(id_prop, "hs_object_id") == 0)
            return false;
        recs[i] = hs_contact_lookup(sim, in->id, id_prop, false);
    }
    return true;
}

/* No unique value held by another contact or by another input. */
static bool values_free(struct sim *sim, const struct hs_upsert_batch *b, const bool *unique,
                        struct sim_record *const *recs)
{
    struct sim_coll *coll = hs_contacts(sim);
    struct claims c = {NULL, 0};
    size_t n = 0, size = 16;
    bool ok = false;

    for (size_t i = 0; i < b->nprops; i++)
        n += unique[b->props[i].name];
    while (size < 2 * n)
        size *= 2;
    c.slots = calloc(size, sizeof(*c.slots));
    if (c.slots == NULL)
        return false;
    c.mask = size - 1;
    for (size_t i = 0; i < b->ninputs; i++) {
        const struct hs_upsert_input *in = &b->inputs[i];

        for (size_t k = in->first; k < in->first + in->nprops; k++) {
            const struct hs_upsert_prop *p = &b->props[k];
            struct sim_record *other;

            if (!unique[p->name] || p->value[0] == '\0')
                continue;
            other = sim_coll_find_unique(coll, b->names[p->name], p->value);
            if ((other != NULL && other != recs[i]) || !claim(&c, p->name, p->value, i))
                goto out;
        }
    }
    ok = true;
out:
    free(c.slots);
    return ok;
}

/* Creates or updates one input's contact; NULL when out of memory. */
static struct sim_record *write_record(struct sim *sim, const struct hs_upsert_batch *b,
                                       const struct hs_upsert_input *in, struct sim_record *rec,
                                       int64_t now, struct hs_time_memo *memo)
{
    struct sim_coll *coll = hs_contacts(sim);
    bool is_new = rec == NULL;

    if (is_new)
        rec = sim_coll_create(coll, 0, NULL, now, sim->opt.search_lag_ms);
    else
        sim_record_touch(rec, now, sim->opt.search_lag_ms, true);
    if (rec == NULL)
        return NULL;
    for (size_t k = in->first; k < in->first + in->nprops; k++) {
        const struct hs_upsert_prop *p = &b->props[k];

        if (p->value[0] != '\0')
            sim_coll_set_prop(coll, rec, b->names[p->name], p->value);
        else if (!is_new)
            sim_coll_set_prop(coll, rec, b->names[p->name], NULL);
    }
    hs_contact_stamp(coll, rec, now, memo);
    return rec;
}

bool hs_upsert_apply(struct sim *sim, const struct hs_upsert_batch *b, struct sim_request *req,
                     struct sim_response *resp)
{
    struct hs_time_memo memo = {0}, created = {0};
    bool unique[HS_UPSERT_MAX_NAMES];
    struct sim_record *recs[HS_BATCH_MAX];
    const char *shown[HS_UPSERT_MAX_NAMES];
    struct sim_jw w;

    if (!check_names(sim, b, unique) || !find_records(sim, b, unique, recs) ||
        !values_free(sim, b, unique, recs))
        return false;
    resp->records_in = b->ninputs;
    hs_batch_begin(&w, b->ninputs);
    for (size_t i = 0; i < b->ninputs; i++) {
        const struct hs_upsert_input *in = &b->inputs[i];
        struct sim_record *rec = write_record(sim, b, in, recs[i], req->now_ms, &memo);

        if (rec == NULL)
            continue;
        for (size_t k = 0; k < in->nprops; k++)
            shown[k] = b->names[b->props[in->first + k].name];
        sim_jw_obj_begin(&w);
        hs_contact_write_written(&w, rec, shown, in->nprops, &created);
        sim_jw_key(&w, "new");
        sim_jw_bool(&w, recs[i] == NULL);
        sim_jw_obj_end(&w);
        resp->written++;
    }
    hs_batch_end(&w, NULL, req->now_ms, sim_now_ms(sim));
    sim_resp_jw(resp, 200, &w);
    return true;
}
