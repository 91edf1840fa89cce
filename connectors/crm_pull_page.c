/* One pulled field, applied and observed (crm_pull_page.h). */
#include "crm_pull_page.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

struct change crm_pulled_change(const char *origin, const char *member, enum change_kind kind,
                                const char *field, const char *value_json, int64_t occurred_at,
                                const char *idem_key, const char *source_ref,
                                const struct consent_value *cv)
{
    struct change c = {0};

    c.origin = origin;
    c.member_key = member;
    c.kind = kind;
    c.field = field;
    c.value_json = value_json;
    c.occurred_at = occurred_at;
    c.idem_key = idem_key;
    c.source_ref = source_ref;
    if (cv != NULL)
        c.consent = *cv;
    return c;
}

void crm_page_init(struct crm_page *pg, struct connector *conn, const char *subsystem,
                   crm_project_fn project, void *project_ctx)
{
    memset(pg, 0, sizeof(*pg));
    pg->conn = conn;
    pg->subsystem = subsystem;
    pg->project = project;
    pg->project_ctx = project_ctx;
}

/* 1 when the local value of (member, field) projects to projection. */
static int local_same(struct crm_page *pg, const char *member, enum change_kind kind,
                      const char *field, const char *projection)
{
    struct pull_sink *sink = pg->conn->sink;
    char *cur = sink->current ? sink->current(sink->ctx, pg->conn, member, field) : NULL;
    char proj[1024];
    int same = cur != NULL &&
               pg->project(pg->project_ctx, kind, field, cur, proj, sizeof(proj)) == 0 &&
               strcmp(proj, projection) == 0;

    free(cur);
    return same;
}

int crm_page_field(struct crm_page *pg, const char *member, enum change_kind kind,
                   const char *field, const struct change *c, const char *projection)
{
    struct connector *conn = pg->conn;
    struct pull_sink *sink = conn->sink;

    if (c != NULL && !local_same(pg, member, kind, field, projection)) {
        enum apply_result res;
        struct error aerr = {""};
        if (sink->change(sink->ctx, conn, c, &res, &aerr) != 0) {
            pg->err = aerr;
            return -1;
        }
        if (res == APPLY_APPLIED)
            pg->applied++;
        else if (res == APPLY_REJECTED && pg->log_rejected)
            log_warn(pg->subsystem, conn->name, "record %s %s: %s",
                     c->source_ref ? c->source_ref : "?", field, aerr.msg);
    }
    if (sink->observe != NULL &&
        sink->observe(sink->ctx, conn, member, kind, field, projection, &pg->err) != 0)
        return -1;
    return 0;
}
