/* One pulled field, applied and observed (crm_pull_page.h). */
#include "crm_pull_page.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "change_json.h"
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

int crm_record_field(const struct crm_record *r, enum change_kind kind, const char *field,
                     const char *value_json, int64_t occurred, const char *version,
                     const struct consent_value *cv, const char *projection)
{
    char idem[512];
    struct change c;

    if (value_json == NULL)
        return r->fn(r->arg, r->member, kind, field, NULL, projection);
    snprintf(idem, sizeof(idem), "%s:%s:%s:%s", r->origin, r->id, field, version);
    c = crm_pulled_change(r->origin, r->member, kind, field, value_json, occurred, idem, r->id, cv);
    return r->fn(r->arg, r->member, kind, field, &c, projection);
}

int crm_record_profile(const struct crm_record *r, const char *attr, const char *text,
                       int64_t occurred, const char *version)
{
    json_t *o = json_pack("{s:s}", "value", text);
    char *json = o != NULL ? canonical_dumps(o) : NULL;
    char field[300];
    int rc;

    json_decref(o);
    if (json == NULL)
        return -1;
    snprintf(field, sizeof(field), "profile/%s", attr);
    rc = crm_record_field(r, CHANGE_PROFILE, field, json, occurred, version, NULL, text);
    free(json);
    return rc;
}

int crm_record_profile_empty(const struct crm_record *r, const char *attr)
{
    char field[300];

    snprintf(field, sizeof(field), "profile/%s", attr);
    return crm_record_field(r, CHANGE_PROFILE, field, NULL, 0, NULL, NULL, "");
}

int crm_record_profile_json(const struct crm_record *r, const char *attr, const json_t *v,
                            const char *none, int64_t occurred, const char *version)
{
    if (json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0) ||
        (none != NULL && json_is_string(v) && strcmp(json_string_value(v), none) == 0))
        return crm_record_profile_empty(r, attr);
    if (!json_is_string(v))
        return 0;
    return crm_record_profile(r, attr, json_string_value(v), occurred, version);
}

int crm_page_field_fn(void *pg, const char *member, enum change_kind kind, const char *field,
                      const struct change *c, const char *projection)
{
    return crm_page_field(pg, member, kind, field, c, projection);
}

void crm_page_init(struct crm_page *pg, struct connector *conn, const char *subsystem)
{
    memset(pg, 0, sizeof(*pg));
    pg->conn = conn;
    pg->subsystem = subsystem;
}

int crm_page_begin(struct crm_page *pg)
{
    struct connector *conn = pg->conn;

    conn->busy = 1;
    if (conn->sink->begin(conn->sink->ctx, conn, &pg->err) != 0) {
        conn->busy = 0;
        return -1;
    }
    pg->open = 1;
    return 0;
}

int crm_page_commit(struct crm_page *pg, const char *watermark)
{
    struct connector *conn = pg->conn;
    int rc = conn->sink->commit(conn->sink->ctx, conn, watermark, &pg->err);

    conn->busy = 0;
    pg->open = 0;
    return rc;
}

void crm_page_abort(struct crm_page *pg)
{
    struct connector *conn = pg->conn;

    conn->sink->abort(conn->sink->ctx, conn);
    conn->busy = 0;
    pg->open = 0;
}

int crm_page_rows(struct crm_page *pg, json_t *rows, crm_row_fn row, void *arg)
{
    size_t i;
    json_t *r;

    if (crm_page_begin(pg) != 0)
        return -1;
    json_array_foreach(rows, i, r)
    {
        if (row(arg, pg, r) != 0)
            return -1;
    }
    return 0;
}

void crm_page_failed(struct crm_page *pg, const char *what)
{
    if (pg->open)
        crm_page_abort(pg);
    log_error(pg->subsystem, pg->conn->name, "%s not applied: %s", what, pg->err.msg);
}

void crm_pull_done(struct connector *conn, const char *subsystem, int status, long pages)
{
    if (status == 0)
        log_debug(subsystem, conn->name, "pull done: %ld page(s)", pages);
    if (conn->host != NULL && conn->host->pull_done != NULL)
        conn->host->pull_done(conn->host->ctx, conn, status);
}

void crm_pull_end(struct connector *conn, const char *subsystem, int status, long pages,
                  json_t **root)
{
    json_decref(*root);
    *root = NULL;
    crm_pull_done(conn, subsystem, status, pages);
}

int crm_page_field(struct crm_page *pg, const char *member, enum change_kind kind,
                   const char *field, const struct change *c, const char *projection)
{
    struct connector *conn = pg->conn;
    struct pull_sink *sink = conn->sink;
    enum apply_result res = APPLY_UNCHANGED;
    struct error aerr = {""};

    /* The echo rule is the host's (pull_sink.pulled): a connector only says
     * what the CRM holds and what change that makes. */
    if (sink->pulled(sink->ctx, conn, member, kind, field, c, projection, &res, &aerr) != 0) {
        pg->err = aerr;
        return -1;
    }
    if (res == APPLY_APPLIED)
        pg->applied++;
    else if (res == APPLY_REJECTED && pg->log_rejected && c != NULL)
        log_warn(pg->subsystem, conn->name, "record %s %s: %s", c->source_ref ? c->source_ref : "?",
                 field, aerr.msg);
    return 0;
}
