/* The records of a contact batch grouped by member (issue 13 part 1): one
 * upsert input per member carrying the fields of all its records, as
 * HubSpot's batch upsert and Salesforce's Contact collection (or Bulk job)
 * both send them. The CRM's mapping fills each member's fields. Pure. */
#ifndef CRMSYNC_CRM_PLAN_H
#define CRMSYNC_CRM_PLAN_H

#include <jansson.h>
#include <stddef.h>

#include "connector.h"

/* One upsert input: every record of one member. */
struct crm_group {
    const char *member;    /* NULL: not sent (no record left) */
    const char *remote_id; /* the CRM's record id, NULL when unknown */
    json_t *fields;        /* CRM field/property -> value */
    int placeholder;       /* Salesforce: add LastName = placeholder (a create needs one) */
};

struct crm_plan {
    struct crm_group *g;
    size_t ng;
    size_t *rec_group; /* per record: its group, or SIZE_MAX (result set already) */
    /* Member -> group (open addressing, group index + 1, 0 empty; at most
     * half full): a Bulk batch of 10,000 records found its member's group
     * by scanning every group before it (issue 17). NULL until first use,
     * freed by crm_plan_free(). */
    size_t *slots;
    size_t nslots;
};

/* Writes rec into its member's fields: 0, or -1 when rec cannot be mapped
 * (res holds its rejection). */
typedef int (*crm_plan_field_fn)(const void *map, const struct push_record *rec, json_t *fields,
                                 struct push_result *res);
/* 1 when a push record's remote_id addresses a record of the CRM (and not
 * a marker such as "archived:12"). */
typedef int (*crm_plan_id_fn)(const char *remote_id);

enum {
    CRM_PLAN_DROP_EMPTY = 1, /* a member left without a record (all rejected) is not sent */
};

/* Groups recs[0..n) by member; a member's group takes the first remote_id
 * is_id accepts. field NULL: groups only, no fields mapped. 0, or -1 on out
 * of memory (p is left empty). */
int crm_plan_members(const struct push_record *recs, size_t n, struct push_result *res,
                     crm_plan_id_fn is_id, crm_plan_field_fn field, const void *map, unsigned flags,
                     struct crm_plan *p);
void crm_plan_free(struct crm_plan *p);

/* Record i joins its member's group, which is added (member set, no
 * fields yet) when the member has none: p->g and p->rec_group must have
 * room for it. The group's index. */
size_t crm_plan_join(struct crm_plan *p, size_t i, const char *member);

#endif
