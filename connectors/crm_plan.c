/* Records grouped by member (crm_plan.h). */
#include "crm_plan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t member_hash(const char *m)
{
    uint64_t h = 1469598103934665603ULL;

    for (const char *c = m; *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ULL;
    return (size_t)h;
}

/* Room in the index for one more group: rebuilt from p->g twice as large
 * when it would be more than half full. 0, or -1 when out of memory (the
 * index is dropped and the caller scans the groups instead). */
static int index_reserve(struct crm_plan *p)
{
    size_t cap = p->nslots ? p->nslots : 64, *slots;

    if (p->slots != NULL && 2 * (p->ng + 1) <= p->nslots)
        return 0;
    while (2 * (p->ng + 1) > cap)
        cap *= 2;
    free(p->slots);
    p->slots = NULL;
    p->nslots = 0;
    slots = calloc(cap, sizeof(*slots));
    if (slots == NULL)
        return -1;
    for (size_t g = 0; g < p->ng; g++) {
        size_t i;
        if (p->g[g].member == NULL)
            continue;
        for (i = member_hash(p->g[g].member) & (cap - 1); slots[i] != 0; i = (i + 1) & (cap - 1))
            ;
        slots[i] = g + 1;
    }
    p->slots = slots;
    p->nslots = cap;
    return 0;
}

/* The group of member, added (member set, nothing else) when it has none;
 * *added says which. p->g must have room for one more group. */
static size_t group_for(struct crm_plan *p, const char *member, int *added)
{
    size_t g, i = 0;
    int indexed = index_reserve(p) == 0;

    *added = 0;
    if (indexed) {
        for (i = member_hash(member) & (p->nslots - 1); p->slots[i] != 0;
             i = (i + 1) & (p->nslots - 1)) {
            g = p->slots[i] - 1;
            if (p->g[g].member != NULL && strcmp(p->g[g].member, member) == 0)
                return g;
        }
    } else {
        for (g = 0; g < p->ng; g++) {
            if (p->g[g].member != NULL && strcmp(p->g[g].member, member) == 0)
                return g;
        }
    }
    g = p->ng++;
    p->g[g].member = member;
    if (indexed)
        p->slots[i] = g + 1;
    *added = 1;
    return g;
}

int crm_plan_members(const struct push_record *recs, size_t n, struct push_result *res,
                     crm_plan_id_fn is_id, crm_plan_field_fn field, const void *map, unsigned flags,
                     struct crm_plan *p)
{
    unsigned char *used = NULL;

    memset(p, 0, sizeof(*p));
    p->g = calloc(n ? n : 1, sizeof(*p->g));
    p->rec_group = calloc(n ? n : 1, sizeof(*p->rec_group));
    if (p->g == NULL || p->rec_group == NULL)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        int added;
        size_t g = group_for(p, recs[i].member_key, &added);

        if (added) {
            p->g[g].fields = json_object();
            if (p->g[g].fields == NULL)
                goto oom;
        }
        if (p->g[g].remote_id == NULL && is_id != NULL && is_id(recs[i].remote_id))
            p->g[g].remote_id = recs[i].remote_id;
        p->rec_group[i] = g;
        if (field != NULL && field(map, &recs[i], p->g[g].fields, &res[i]) != 0)
            p->rec_group[i] = SIZE_MAX;
    }
    if (flags & CRM_PLAN_DROP_EMPTY) {
        used = calloc(p->ng ? p->ng : 1, 1);
        if (used == NULL)
            goto oom;
        for (size_t i = 0; i < n; i++) {
            if (p->rec_group[i] != SIZE_MAX)
                used[p->rec_group[i]] = 1;
        }
        for (size_t g = 0; g < p->ng; g++) {
            if (!used[g])
                p->g[g].member = NULL;
        }
        free(used);
    }
    return 0;
oom:
    crm_plan_free(p);
    return -1;
}

void crm_plan_free(struct crm_plan *p)
{
    for (size_t g = 0; g < p->ng; g++)
        json_decref(p->g[g].fields);
    free(p->g);
    free(p->rec_group);
    free(p->slots);
    memset(p, 0, sizeof(*p));
}

size_t crm_plan_join(struct crm_plan *p, size_t i, const char *member)
{
    int added;
    size_t g = group_for(p, member, &added);

    p->rec_group[i] = g;
    return g;
}
