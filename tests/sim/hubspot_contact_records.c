/* The HubSpot contacts collection: finding a contact by id or by a unique
 * property, and writing normalised values to a new or an existing one with
 * the system properties HubSpot stamps on every write. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubspot_contact.h"
#include "sim_time.h"

struct sim_coll *hs_contacts(struct sim *sim)
{
    return sim_store_coll(sim->store, HS_COLL_CONTACTS, false);
}

int hs_parse_u64(const char *s, uint64_t *out)
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

void hs_lower_copy(const char *in, char *out, size_t outlen)
{
    size_t i;

    for (i = 0; in[i] != '\0' && i + 1 < outlen; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
}

/* Finds a contact by record id or by a unique property value. */
struct sim_record *hs_contact_lookup(struct sim *sim, const char *value, const char *id_prop,
                                     bool archived)
{
    struct sim_coll *coll = hs_contacts(sim);
    struct sim_record *rec = NULL;

    if (value == NULL)
        return NULL;
    if (id_prop == NULL || strcmp(id_prop, "hs_object_id") == 0) {
        uint64_t id;

        if (hs_parse_u64(value, &id) == 0)
            rec = sim_coll_get(coll, id);
    } else if (strcmp(id_prop, "email") == 0) {
        char low[512];

        hs_lower_copy(value, low, sizeof(low));
        rec = sim_coll_find_unique(coll, "email", low);
    } else {
        rec = sim_coll_find_unique(coll, id_prop, value);
    }
    if (rec == NULL || rec->archived != archived)
        return NULL;
    return rec;
}

/* The system properties HubSpot sets on every write. */
void hs_contact_stamp(struct sim_coll *coll, struct sim_record *rec, int64_t now,
                      struct hs_time_memo *memo)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)rec->id);
    sim_coll_set_prop(coll, rec, "hs_object_id", buf);
    sim_coll_set_prop(coll, rec, "lastmodifieddate", hs_memo_format(memo, now));
    if (json_object_get(rec->props, "createdate") == NULL)
        sim_coll_set_prop(coll, rec, "createdate",
                          sim_time_format(rec->created_ms, buf, sizeof(buf)));
}

struct sim_record *hs_contact_create_record(struct sim *sim, json_t *norm, int64_t now,
                                            struct hs_time_memo *memo)
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
        hs_contact_stamp(coll, rec, now, memo);
    return rec;
}

void hs_contact_update_record(struct sim *sim, struct sim_record *rec, json_t *norm, int64_t now,
                              struct hs_time_memo *memo)
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
    hs_contact_stamp(coll, rec, now, memo);
}

/* Common checks on a batch body: {"inputs": [...]} with 1..100 objects. */
