/* The Adobe Campaign pull queries (adobe.h): xtk:queryDef#ExecuteQuery
 * bodies, select nodes, where conditions in XTK syntax (literals through
 * the XTK escaping of adobe_xml.c) and an orderBy: recipients by keyset,
 * nms:subHisto since a date, the denylist flags of a batch's members, list
 * memberships, the recipients absent from a list, the lists. Pure. Moved
 * out of adobe_map.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adobe.h"

#define X(s) ((const xmlChar *)(s))

static void select_node(xmlTextWriterPtr w, const char *expr, int *e)
{
    *e |= xmlTextWriterStartElement(w, X("node")) < 0;
    *e |= xmlTextWriterWriteAttribute(w, X("expr"), X(expr)) < 0;
    *e |= xmlTextWriterEndElement(w) < 0;
}

static void select_attr(xmlTextWriterPtr w, const char *attr, int *e)
{
    char expr[200];

    if (attr == NULL || attr[0] == '\0')
        return;
    snprintf(expr, sizeof(expr), "@%s", attr);
    select_node(w, expr, e);
}

/* Starts <queryDef> inside the ExecuteQuery's entity parameter. NULL
 * with nothing left to free (as acc_env_begin) when it cannot. */
static xmlTextWriterPtr query_begin(struct acc_env *e, const char *session_token,
                                    const char *schema, long line_count, long start_line)
{
    char num[32];
    xmlTextWriterPtr w;
    int err = 0;

    if (acc_env_begin(e, "xtk:queryDef", "ExecuteQuery", session_token) != 0)
        return NULL;
    acc_env_param_elem_begin(e, "entity");
    w = acc_env_writer(e);
    err |= xmlTextWriterStartElement(w, X("queryDef")) < 0;
    err |= xmlTextWriterWriteAttribute(w, X("schema"), X(schema)) < 0;
    err |= xmlTextWriterWriteAttribute(w, X("operation"), X("select")) < 0;
    snprintf(num, sizeof(num), "%ld", line_count);
    err |= xmlTextWriterWriteAttribute(w, X("lineCount"), X(num)) < 0;
    if (start_line > 0) {
        snprintf(num, sizeof(num), "%ld", start_line);
        err |= xmlTextWriterWriteAttribute(w, X("startLine"), X(num)) < 0;
    }
    /* Every query names its columns first. */
    err |= xmlTextWriterStartElement(w, X("select")) < 0;
    if (err || e->failed) {
        acc_env_free(e);
        return NULL;
    }
    return w;
}

/* <where><condition expr="cond"/></where> */
static void where_cond(xmlTextWriterPtr w, const char *cond, int *e)
{
    *e |= xmlTextWriterStartElement(w, X("where")) < 0;
    *e |= xmlTextWriterStartElement(w, X("condition")) < 0;
    *e |= xmlTextWriterWriteAttribute(w, X("expr"), X(cond)) < 0;
    *e |= xmlTextWriterEndElement(w) < 0;
    *e |= xmlTextWriterEndElement(w) < 0;
}

static void where_order(xmlTextWriterPtr w, const char *cond, const char *first, int *e)
{
    where_cond(w, cond, e);
    *e |= xmlTextWriterStartElement(w, X("orderBy")) < 0;
    select_node(w, first, e);
    select_node(w, "@id", e);
    *e |= xmlTextWriterEndElement(w) < 0;
}

char *acc_compose_recipient_query(const struct acc_map *m, const char *session_token,
                                  const struct acc_keyset *after, long line_count)
{
    struct acc_env e;
    xmlTextWriterPtr w = query_begin(&e, session_token, "nms:recipient", line_count, 0);
    char dt[64], cond[256];
    int err = 0;

    if (w == NULL)
        return NULL;
    select_node(w, "@id", &err);
    select_node(w, "@lastModified", &err);
    select_node(w, m->key_expr, &err);
    select_node(w, "@blackList", &err);
    for (size_t i = 0; i < m->flags.n; i++)
        select_attr(w, m->flags.p[i].val, &err);
    for (size_t i = 0; i < m->attrs.n; i++)
        select_attr(w, m->attrs.p[i].val, &err);
    select_attr(w, m->points_attr, &err);
    select_attr(w, m->tier_attr, &err);
    err |= xmlTextWriterEndElement(w) < 0;
    if (acc_xtk_datetime(after->modified_ms, dt, sizeof(dt)) != 0)
        err = 1;
    /* Keyset: strictly after (lastModified, id); rows without a member
     * key are not ours to read. */
    snprintf(cond, sizeof(cond),
             "(@lastModified > %s OR (@lastModified = %s AND @id > %" PRId64
             ")) AND %s IS NOT NULL",
             dt, dt, after->id, m->key_expr);
    where_order(w, cond, "@lastModified", &err);
    if (err)
        e.failed = 1;
    return acc_env_finish(&e);
}

char *acc_compose_subhisto_query(const struct acc_map *m, const char *session_token,
                                 int64_t since_ms, long start_line, long line_count)
{
    struct acc_env e;
    xmlTextWriterPtr w = query_begin(&e, session_token, "nms:subHisto", line_count, start_line);
    char dt[64], cond[128], rcp[200];
    int err = 0;

    if (w == NULL)
        return NULL;
    select_node(w, "@id", &err);
    select_node(w, "@action", &err);
    select_node(w, "@date", &err);
    select_node(w, "[service/@name]", &err);
    snprintf(rcp, sizeof(rcp), "[recipient/%s]", m->key_expr);
    select_node(w, rcp, &err);
    err |= xmlTextWriterEndElement(w) < 0;
    if (acc_xtk_datetime(since_ms, dt, sizeof(dt)) != 0)
        err = 1;
    snprintf(cond, sizeof(cond), "@date >= %s", dt);
    where_order(w, cond, "@date", &err);
    if (err)
        e.failed = 1;
    return acc_env_finish(&e);
}

char *acc_compose_flags_query(const struct acc_map *m, const char *session_token,
                              const char *const *keys, size_t n)
{
    struct acc_env e;
    xmlTextWriterPtr w = query_begin(&e, session_token, "nms:recipient", (long)n, 0);
    size_t cap = 64, used = 0;
    char *cond = NULL;
    int err = 0;

    if (w == NULL || n == 0) {
        acc_env_free(&e);
        return NULL;
    }
    select_node(w, m->key_expr, &err);
    select_node(w, "@lastModified", &err);
    select_node(w, "@blackList", &err);
    for (size_t i = 0; i < m->flags.n; i++)
        select_attr(w, m->flags.p[i].val, &err);
    err |= xmlTextWriterEndElement(w) < 0;
    /* key = 'a' OR key = 'b' ...: every key is an XTK literal, escaped
     * before the writer escapes the expression as XML. */
    cond = malloc(cap);
    for (size_t i = 0; i < n && cond != NULL && !err; i++) {
        char lit[600];
        size_t need;
        if (acc_xtk_string(keys[i], lit, sizeof(lit)) != 0) {
            err = 1;
            break;
        }
        need = used + strlen(m->key_expr) + strlen(lit) + 8;
        if (need > cap) {
            char *grown;
            while (cap < need)
                cap *= 2;
            grown = realloc(cond, cap);
            if (grown == NULL) {
                err = 1;
                break;
            }
            cond = grown;
        }
        used += (size_t)snprintf(cond + used, cap - used, "%s%s = %s", i ? " OR " : "", m->key_expr,
                                 lit);
    }
    if (cond == NULL)
        err = 1;
    if (!err)
        where_cond(w, cond, &err);
    free(cond);
    if (err)
        e.failed = 1;
    return acc_env_finish(&e);
}

char *acc_compose_members_query(const struct acc_map *m, const char *session_token, long start_line,
                                long line_count)
{
    struct acc_env e;
    xmlTextWriterPtr w = query_begin(&e, session_token, "nms:rcpGrpRel", line_count, start_line);
    char rcp[200], cond[240];
    int err = 0;

    if (w == NULL)
        return NULL;
    snprintf(rcp, sizeof(rcp), "[recipient/%s]", m->key_expr);
    select_node(w, "[rcpGroup/@name]", &err);
    select_node(w, rcp, &err);
    err |= xmlTextWriterEndElement(w) < 0;
    snprintf(cond, sizeof(cond), "%s IS NOT NULL", rcp);
    where_cond(w, cond, &err);
    if (err)
        e.failed = 1;
    return acc_env_finish(&e);
}

/* The end of a query paged by @id: <orderBy><node expr="@id"/></orderBy>,
 * the envelope closed (NULL when anything failed). */
static char *by_id_finish(struct acc_env *e, xmlTextWriterPtr w, int err)
{
    err |= xmlTextWriterStartElement(w, X("orderBy")) < 0;
    select_node(w, "@id", &err);
    err |= xmlTextWriterEndElement(w) < 0;
    if (err)
        e->failed = 1;
    return acc_env_finish(e);
}

char *acc_compose_absent_query(const struct acc_map *m, const char *session_token,
                               const char *group, int64_t after_id, long line_count)
{
    struct acc_env e;
    xmlTextWriterPtr w;
    char lit[600], inner[700], cond[256];
    int err = 0;

    if (acc_xtk_string(group, lit, sizeof(lit)) != 0 ||
        snprintf(inner, sizeof(inner), "[rcpGroup/@name] = %s", lit) >= (int)sizeof(inner))
        return NULL;
    w = query_begin(&e, session_token, "nms:recipient", line_count, 0);
    if (w == NULL)
        return NULL;
    select_node(w, "@id", &err);
    select_node(w, m->key_expr, &err);
    err |= xmlTextWriterEndElement(w) < 0;
    /* "Collection links (1N): the filtering on the fields of a collection
     * table must be performed via the EXISTS or NOT EXISTS operator" (Data
     * oriented APIs, Examples on links); paged by @id. */
    snprintf(cond, sizeof(cond), "@id > %" PRId64 " AND %s IS NOT NULL", after_id, m->key_expr);
    err |= xmlTextWriterStartElement(w, X("where")) < 0;
    err |= xmlTextWriterStartElement(w, X("condition")) < 0;
    err |= xmlTextWriterWriteAttribute(w, X("expr"), X(cond)) < 0;
    err |= xmlTextWriterEndElement(w) < 0;
    err |= xmlTextWriterStartElement(w, X("condition")) < 0;
    err |= xmlTextWriterWriteAttribute(w, X("expr"), X("rcpGrpRel")) < 0;
    err |= xmlTextWriterWriteAttribute(w, X("setOperator"), X("NOT EXISTS")) < 0;
    err |= xmlTextWriterStartElement(w, X("condition")) < 0;
    err |= xmlTextWriterWriteAttribute(w, X("expr"), X(inner)) < 0;
    err |= xmlTextWriterEndElement(w) < 0;
    err |= xmlTextWriterEndElement(w) < 0;
    err |= xmlTextWriterEndElement(w) < 0;
    return by_id_finish(&e, w, err);
}

char *acc_compose_groups_query(const char *session_token, int64_t after_id, long line_count)
{
    struct acc_env e;
    xmlTextWriterPtr w = query_begin(&e, session_token, "nms:group", line_count, 0);
    char cond[64];
    int err = 0;

    if (w == NULL)
        return NULL;
    select_node(w, "@id", &err);
    select_node(w, "@name", &err);
    err |= xmlTextWriterEndElement(w) < 0;
    snprintf(cond, sizeof(cond), "@id > %" PRId64, after_id);
    where_cond(w, cond, &err);
    return by_id_finish(&e, w, err);
}
