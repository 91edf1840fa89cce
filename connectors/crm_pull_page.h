/* One field of a pulled record, as every CRM connector applies it
 * (issue 13 part 1): the change is applied unless the local value already
 * projects to what the CRM holds (our own write coming back, or nothing
 * new), and the state is told what the CRM holds (the shadow; drift is
 * repaired by the engine). Called inside a page (sink->begin done). */
#ifndef CRMSYNC_CRM_PULL_PAGE_H
#define CRMSYNC_CRM_PULL_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include "connector.h"

/* The connector's projection of a canonical value (connector_ops.project
 * without the instance). 0, or -1 when not representable. */
typedef int (*crm_project_fn)(void *ctx, enum change_kind kind, const char *field,
                              const char *value_json, char *out, size_t outsize);

struct crm_page {
    struct connector *conn;
    const char *subsystem;
    crm_project_fn project;
    void *project_ctx;
    int log_rejected; /* log a change the merge rules dead-lettered */
    long applied;     /* changes that changed the local state */
    struct error err; /* the sink's error when a call returned -1 */
};

/* The change a pulled value makes: origin (the connector), member, kind,
 * field, value, when it happened, its idempotency key, the CRM record it
 * came from, and for consent the parsed value (may be NULL). The strings
 * are borrowed. */
struct change crm_pulled_change(const char *origin, const char *member, enum change_kind kind,
                                const char *field, const char *value_json, int64_t occurred_at,
                                const char *idem_key, const char *source_ref,
                                const struct consent_value *cv);

void crm_page_init(struct crm_page *pg, struct connector *conn, const char *subsystem,
                   crm_project_fn project, void *project_ctx);

/* c: the change the CRM's value makes (NULL: only observe). projection:
 * what the CRM holds, in the connector's projection. 0, or -1 when the
 * sink failed (pg->err says why; the page must abort). */
int crm_page_field(struct crm_page *pg, const char *member, enum change_kind kind,
                   const char *field, const struct change *c, const char *projection);

#endif
