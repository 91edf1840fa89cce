/* Records grouped by member (crm_plan.h). */
#include "crm_plan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int crm_plan_members(const struct push_record *recs, size_t n, struct push_result *res,
                     crm_plan_id_fn is_id, crm_plan_field_fn field, const void *map, unsigned flags,
                     struct crm_plan *p)
{
    memset(p, 0, sizeof(*p));
    p->g = calloc(n ? n : 1, sizeof(*p->g));
    p->rec_group = calloc(n ? n : 1, sizeof(*p->rec_group));
    if (p->g == NULL || p->rec_group == NULL)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        size_t g;

        for (g = 0; g < p->ng; g++) {
            if (strcmp(p->g[g].member, recs[i].member_key) == 0)
                break;
        }
        if (g == p->ng) {
            p->g[g].member = recs[i].member_key;
            p->g[g].fields = json_object();
            if (p->g[g].fields == NULL)
                goto oom;
            p->ng++;
        }
        if (p->g[g].remote_id == NULL && is_id != NULL && is_id(recs[i].remote_id))
            p->g[g].remote_id = recs[i].remote_id;
        p->rec_group[i] = g;
        if (field != NULL && field(map, &recs[i], p->g[g].fields, &res[i]) != 0)
            p->rec_group[i] = SIZE_MAX;
    }
    if (flags & CRM_PLAN_DROP_EMPTY) {
        for (size_t g = 0; g < p->ng; g++) {
            int used = 0;
            for (size_t i = 0; i < n && !used; i++)
                used = p->rec_group[i] == g;
            if (!used)
                p->g[g].member = NULL;
        }
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
    memset(p, 0, sizeof(*p));
}

size_t crm_plan_join(struct crm_plan *p, size_t i, const char *member)
{
    size_t g;

    for (g = 0; g < p->ng; g++) {
        if (strcmp(p->g[g].member, member) == 0)
            break;
    }
    if (g == p->ng) {
        p->g[g].member = member;
        p->ng++;
    }
    p->rec_group[i] = g;
    return g;
}
