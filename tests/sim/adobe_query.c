/* Adobe flavour: xtk:queryDef#ExecuteQuery on the data schemas.
 *
 *   <queryDef schema="nms:recipient" operation="select|get|getIfExists|count"
 *             lineCount="100" startLine="200">
 *     <select><node expr="@email"/><node expr="[service/@name]" alias="@svc"/></select>
 *     <where><condition expr="@lastModified &gt;= #2026-12-07 10:00:00.000Z#"
 *                       bool-operator="OR"/><condition expr="..."/></where>
 *     <orderBy><node expr="@lastModified"/><node expr="@id" sortDesc="true"/></orderBy>
 *   </queryDef>
 *
 * Conditions combine left to right with each one's bool-operator (AND by
 * default); a <condition> holding conditions is a parenthesised group, or,
 * with setOperator="EXISTS" / "NOT EXISTS" and expr naming a collection
 * link (rcpGrpRel, subscription, subHisto of a recipient), a filter on the
 * linked rows: <condition expr="rcpGrpRel" setOperator="NOT EXISTS">
 * <condition expr="[rcpGroup/@name] = 'vip'"/></condition>.
 * select answers <recipient-collection><recipient .../></recipient-collection>,
 * get one element (fault when absent), getIfExists one element or an empty
 * one, count <recipient count="N"/>. Without lineCount a select returns at
 * most --adobe-line-cap rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adobe.h"
#include "adobe_where.h"

#define MAX_NODES 48

struct sel {
    char path[96];  /* normalised: "@email", "service/@name" */
    char alias[64]; /* attribute name in the output ("" = from path) */
    bool desc;      /* orderBy only */
};

struct query {
    struct ad_schema *schema;
    struct sel select[MAX_NODES];
    size_t nselect;
    struct sel order[8];
    size_t norder;
    struct aw_node *where;
};

/* "[service/@name]" -> "service/@name"; "@email" stays. Returns 0 or -1
 * when expr is not a plain field path. */
static int norm_path(const char *expr, char *out, size_t outlen)
{
    size_t n;

    while (*expr == ' ')
        expr++;
    n = strlen(expr);
    while (n > 0 && expr[n - 1] == ' ')
        n--;
    if (n >= 2 && expr[0] == '[' && expr[n - 1] == ']') {
        expr++;
        n -= 2;
    }
    if (n == 0 || n >= outlen)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = expr[i];

        if (!(c == '@' || c == '/' || c == '-' || c == '_' || c == ':' || (c >= 'a' && c <= 'z') ||
              (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return -1;
    }
    memcpy(out, expr, n);
    out[n] = '\0';
    return 0;
}

struct check_ctx {
    struct ad_schema *s;
    struct ad_state *ad;
    char bad[96];
};

static int check_field(void *ctx, const char *path)
{
    struct check_ctx *c = ctx;

    if (ad_path_check(c->s, c->ad, path) == 0)
        return 0;
    snprintf(c->bad, sizeof(c->bad), "%s", path);
    return -1;
}

static struct aw_node *join(enum aw_op op, struct aw_node *l, struct aw_node *r)
{
    struct aw_node *n = calloc(1, sizeof(*n));

    if (n == NULL) {
        aw_free(l);
        aw_free(r);
        return NULL;
    }
    n->op = op;
    n->l = l;
    n->r = r;
    return n;
}

/* The schema a collection link of s leads to: the one whose element is
 * named link and that links back to s ("rcpGrpRel" from nms:recipient:
 * nms:rcpGrpRel by its recipient link), and the foreign key it holds. */
static struct ad_schema *collection_of(struct ad_state *ad, const struct ad_schema *s,
                                       const char *link, const char **fk)
{
    for (size_t i = 0; i < AD_NSCHEMAS; i++) {
        struct ad_schema *t = &ad->schemas[i];

        if (strcmp(t->elem, link) != 0)
            continue;
        for (const struct ad_link *l = t->links; l->name != NULL; l++) {
            if (strcmp(l->target, s->id) == 0) {
                *fk = l->fk;
                return t;
            }
        }
    }
    return NULL;
}

static int build_where(struct ad_state *ad, struct ad_schema *s, xmlNodePtr parent,
                       struct aw_node **out, char *err, size_t errlen);

/* <condition expr="rcpGrpRel" setOperator="NOT EXISTS"><condition
 * expr="[rcpGroup/@name] = 'vip'"/></condition>: "Collection links (1N):
 * the filtering on the fields of a collection table must be performed via
 * the EXISTS or NOT EXISTS operator" (Data oriented APIs, Examples on
 * links). The inner conditions read the linked schema. 0 or -1. */
static int build_set(struct ad_state *ad, struct ad_schema *s, xmlNodePtr c, const char *setop,
                     struct aw_node **out, char *err, size_t errlen)
{
    char link[96];
    const char *fk = NULL;
    struct ad_schema *t;
    struct aw_node *inner = NULL, *n;
    int negate = strcasecmp(setop, "NOT EXISTS") == 0;

    *out = NULL;
    if (!negate && strcasecmp(setop, "EXISTS") != 0) {
        snprintf(err, errlen,
                 "XTK-170040 setOperator '%s' is not supported by the simulator (EXISTS and NOT "
                 "EXISTS on a collection link only).",
                 setop);
        return -1;
    }
    if (ad_attr(c, "expr", link, sizeof(link)) == NULL)
        link[0] = '\0';
    t = collection_of(ad, s, link, &fk);
    if (t == NULL) {
        snprintf(err, errlen,
                 "XTK-170027 '%s' is not a collection link of schema '%s' (setOperator '%s').",
                 link, s->id, setop);
        return -1;
    }
    if (build_where(ad, t, c, &inner, err, errlen) != 0)
        return -1;
    n = calloc(1, sizeof(*n));
    if (n != NULL) {
        n->op = AW_EXISTS;
        n->a.kind = AW_STRING;
        n->a.text = strdup(link);
        n->l = inner;
        inner = NULL;
        if (n->a.text == NULL) {
            aw_free(n);
            n = NULL;
        }
    }
    if (n != NULL && negate)
        n = join(AW_NOT, n, NULL);
    aw_free(inner);
    if (n == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    *out = n;
    return 0;
}

/* One condition's expr: parsed, its fields checked against the schema. */
static int build_expr(struct ad_state *ad, struct ad_schema *s, const char *expr,
                      struct aw_node **n, char *err, size_t errlen)
{
    char perr[256];
    struct check_ctx cc = {s, ad, ""};

    if (aw_parse(expr, n, perr, sizeof(perr)) != 0) {
        snprintf(err, errlen, "XTK-170014 Unable to parse expression '%.200s' (%s).", expr, perr);
        return -1;
    }
    if (aw_fields(*n, check_field, &cc) != 0) {
        snprintf(err, errlen,
                 "XTK-170027 The XPath '%s' is unknown in schema '%s' (expression "
                 "'%.200s').",
                 cc.bad, s->id, expr);
        aw_free(*n);
        *n = NULL;
        return -1;
    }
    return 0;
}

/* The conditions under parent, combined left to right. *out NULL = none.
 * An expr is read whole, whatever its length: a fixed 2 kB buffer cut a
 * key list of 100 members (bench/adobe.sh, 100 OR'd keys) into an
 * expression that did not parse, a limit of ours, not Campaign's. */
static int build_where(struct ad_state *ad, struct ad_schema *s, xmlNodePtr parent,
                       struct aw_node **out, char *err, size_t errlen)
{
    struct aw_node *acc = NULL;
    enum aw_op pending = AW_AND;

    *out = NULL;
    for (xmlNodePtr c = ad_first_elem(parent); c != NULL; c = ad_next_elem(c)) {
        char bop[16], setop[32];
        xmlChar *expr = NULL;
        struct aw_node *n = NULL;

        int rc;

        if (strcmp((const char *)c->name, "condition") != 0)
            continue;
        expr = xmlGetNoNsProp(c, BAD_CAST "expr");
        if (ad_attr(c, "setOperator", setop, sizeof(setop)) != NULL)
            rc = build_set(ad, s, c, setop, &n, err, errlen);
        else if (expr != NULL && expr[0] != '\0')
            rc = build_expr(ad, s, (const char *)expr, &n, err, errlen);
        else
            rc = build_where(ad, s, c, &n, err, errlen);
        xmlFree(expr);
        if (rc != 0) {
            aw_free(acc);
            return -1;
        }
        if (n != NULL) {
            acc = acc == NULL ? n : join(pending, acc, n);
            if (acc == NULL) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
        }
        pending = ad_attr(c, "bool-operator", bop, sizeof(bop)) != NULL &&
                          (strcmp(bop, "OR") == 0 || strcmp(bop, "or") == 0)
                      ? AW_OR
                      : AW_AND;
    }
    *out = acc;
    return 0;
}

/* AW_EXISTS: a row of the collection link that belongs to the row in ctx
 * (its foreign key is the row's @id) and satisfies inner. */
static bool row_exists(void *ctx, const char *link, const struct aw_node *inner)
{
    const struct ad_row *row = ctx;
    const char *fk = NULL;
    struct ad_schema *t = collection_of(row->ad, row->schema, link, &fk);

    for (size_t i = 0; t != NULL && i < t->coll->n; i++) {
        struct sim_record *r = t->coll->recs[i];
        const char *v = json_string_value(json_object_get(r->props, fk));
        struct ad_row sub = {row->ad, t, r, {{0}}, 0};

        if (v == NULL || strtoull(v, NULL, 10) != row->rec->id)
            continue;
        if (inner == NULL || aw_eval_sets(inner, ad_row_get, row_exists, &sub))
            return true;
    }
    return false;
}

static int read_nodes(struct ad_state *ad, struct ad_schema *s, xmlNodePtr parent, struct sel *out,
                      size_t max, size_t *n, char *err, size_t errlen)
{
    *n = 0;
    for (xmlNodePtr c = ad_first_elem(parent); c != NULL; c = ad_next_elem(c)) {
        char expr[256], alias[96], desc[16];
        struct sel *sl;

        if (strcmp((const char *)c->name, "node") != 0)
            continue;
        if (*n == max) {
            snprintf(err, errlen, "XTK-170041 Too many nodes (at most %zu).", max);
            return -1;
        }
        sl = &out[*n];
        memset(sl, 0, sizeof(*sl));
        if (ad_attr(c, "expr", expr, sizeof(expr)) == NULL ||
            norm_path(expr, sl->path, sizeof(sl->path)) != 0) {
            snprintf(err, errlen,
                     "XTK-170014 Unsupported expression '%.200s' (the simulator answers field "
                     "paths only: @f, [@f], [link/@f]).",
                     ad_attr(c, "expr", expr, sizeof(expr)) ? expr : "");
            return -1;
        }
        if (ad_path_check(s, ad, sl->path) != 0) {
            snprintf(err, errlen, "XTK-170027 The XPath '%s' is unknown in schema '%s'.", sl->path,
                     s->id);
            return -1;
        }
        if (ad_attr(c, "alias", alias, sizeof(alias)) != NULL) {
            const char *a = alias[0] == '@' ? alias + 1 : alias;

            snprintf(sl->alias, sizeof(sl->alias), "%s", a);
        }
        sl->desc = ad_attr(c, "sortDesc", desc, sizeof(desc)) != NULL &&
                   (strcmp(desc, "true") == 0 || strcmp(desc, "1") == 0);
        (*n)++;
    }
    return 0;
}

/* --- sorting --- */

struct sort_item {
    struct sim_record *rec;
};

static _Thread_local struct {
    struct query *q;
    struct ad_state *ad;
} sort_ctx;

static bool numeric_path(const struct ad_schema *s, const char *path)
{
    const struct ad_field *f;

    if (strcmp(path, "@id") == 0)
        return true;
    if (path[0] != '@' || strchr(path, '/') != NULL)
        return false;
    f = ad_field_find(s, path + 1);
    return f != NULL && (f->type == AD_LONG || f->type == AD_DOUBLE || f->type == AD_BOOL);
}

static int cmp_items(const void *pa, const void *pb)
{
    const struct sort_item *a = pa, *b = pb;
    struct query *q = sort_ctx.q;

    for (size_t k = 0; k < q->norder; k++) {
        struct ad_row ra = {sort_ctx.ad, q->schema, a->rec, {{0}}, 0};
        struct ad_row rb = {sort_ctx.ad, q->schema, b->rec, {{0}}, 0};
        const char *va = ad_row_get(&ra, q->order[k].path);
        const char *vb = ad_row_get(&rb, q->order[k].path);
        int c;

        /* PostgreSQL: NULLs sort last ascending, first descending. */
        if (va == NULL || vb == NULL) {
            c = va == vb ? 0 : va == NULL ? 1 : -1;
        } else if (numeric_path(q->schema, q->order[k].path)) {
            double x = strtod(va, NULL), y = strtod(vb, NULL);

            c = x < y ? -1 : x > y ? 1 : 0;
        } else {
            c = strcmp(va, vb);
        }
        if (c != 0)
            return q->order[k].desc ? -c : c;
    }
    return a->rec->id < b->rec->id ? -1 : a->rec->id > b->rec->id ? 1 : 0;
}

/* --- output --- */

static void write_row(struct ad_out *o, struct ad_state *ad, struct query *q,
                      struct sim_record *rec)
{
    struct ad_row row = {ad, q->schema, rec, {{0}}, 0};
    bool done[MAX_NODES] = {false};

    xmlTextWriterStartElement(o->w, BAD_CAST q->schema->elem);
    for (size_t i = 0; i < q->nselect; i++) {
        const struct sel *sl = &q->select[i];
        const char *v;

        if (strchr(sl->path, '/') != NULL && sl->alias[0] == '\0')
            continue;
        done[i] = true;
        v = ad_row_get(&row, sl->path);
        if (v != NULL)
            xmlTextWriterWriteAttribute(
                o->w, BAD_CAST(sl->alias[0] ? sl->alias : strrchr(sl->path, '@') + 1), BAD_CAST v);
    }
    /* [link/@f] without alias: <link f=".."/> children, one per link. */
    for (size_t i = 0; i < q->nselect; i++) {
        const char *slash;
        size_t llen;

        if (done[i])
            continue;
        slash = strchr(q->select[i].path, '/');
        llen = (size_t)(slash - q->select[i].path);
        {
            char link[48];

            snprintf(link, sizeof(link), "%.*s", (int)llen, q->select[i].path);
            xmlTextWriterStartElement(o->w, BAD_CAST link);
        }
        for (size_t j = i; j < q->nselect; j++) {
            const char *p = q->select[j].path;
            const char *v;

            if (done[j] || strncmp(p, q->select[i].path, llen + 1) != 0 ||
                strchr(p + llen + 1, '/') != NULL)
                continue;
            done[j] = true;
            v = ad_row_get(&row, p);
            if (v != NULL)
                xmlTextWriterWriteAttribute(o->w, BAD_CAST(p + llen + 2), BAD_CAST v);
        }
        xmlTextWriterEndElement(o->w);
    }
    xmlTextWriterEndElement(o->w);
}

static long long attr_ll(xmlNodePtr el, const char *name, long long def, bool *bad)
{
    char buf[32], *end;
    long long v;

    if (ad_attr(el, name, buf, sizeof(buf)) == NULL || buf[0] == '\0')
        return def;
    v = strtoll(buf, &end, 10);
    if (*end != '\0' || v < 0)
        *bad = true;
    return v;
}

void ad_execute_query(struct sim *sim, struct sim_request *req, struct ad_call *call,
                      struct sim_response *resp)
{
    struct ad_state *ad = ad_state(sim);
    xmlNodePtr qd = ad_param_doc(call, 1);
    struct query *q = NULL;
    struct sort_item *items = NULL;
    size_t nitems = 0;
    char schema[96], op[32], err[1024];
    long long line_count, start_line;
    bool bad = false;
    struct ad_out o;

    (void)req;
    if (qd == NULL || strcmp((const char *)qd->name, "queryDef") != 0) {
        ad_method_fault(resp, call, "SOP-330008 Missing <queryDef> document (position 2).");
        return;
    }
    q = calloc(1, sizeof(*q));
    if (q == NULL) {
        sim_resp_empty(resp, 500);
        return;
    }
    if (ad_attr(qd, "schema", schema, sizeof(schema)) == NULL)
        schema[0] = '\0';
    if (ad_attr(qd, "operation", op, sizeof(op)) == NULL)
        snprintf(op, sizeof(op), "select");
    q->schema = ad_schema_find(ad, schema);
    if (q->schema == NULL) {
        ad_method_fault(resp, call, "XTK-170006 Unable to find entity '%s' of type 'xtk:schema'.",
                        schema);
        goto out;
    }
    if (strcmp(op, "select") != 0 && strcmp(op, "get") != 0 && strcmp(op, "getIfExists") != 0 &&
        strcmp(op, "count") != 0) {
        ad_method_fault(resp, call,
                        "XTK-170042 Unsupported queryDef operation '%s' (select, get, getIfExists, "
                        "count).",
                        op);
        goto out;
    }
    line_count = attr_ll(qd, "lineCount", sim->opt.adobe_line_cap, &bad);
    start_line = attr_ll(qd, "startLine", 0, &bad);
    if (bad) {
        ad_method_fault(resp, call, "XTK-170043 Invalid lineCount or startLine.");
        goto out;
    }
    err[0] = '\0';
    for (xmlNodePtr c = ad_first_elem(qd); c != NULL; c = ad_next_elem(c)) {
        const char *name = (const char *)c->name;
        int rc = 0;

        if (strcmp(name, "select") == 0)
            rc = read_nodes(ad, q->schema, c, q->select, MAX_NODES, &q->nselect, err, sizeof(err));
        else if (strcmp(name, "orderBy") == 0)
            rc = read_nodes(ad, q->schema, c, q->order, 8, &q->norder, err, sizeof(err));
        else if (strcmp(name, "where") == 0 && q->where == NULL)
            rc = build_where(ad, q->schema, c, &q->where, err, sizeof(err));
        if (rc != 0) {
            ad_method_fault(resp, call, "%s", err);
            goto out;
        }
    }
    items = malloc((q->schema->coll->n + 1) * sizeof(*items));
    if (items == NULL) {
        sim_resp_empty(resp, 500);
        goto out;
    }
    for (size_t i = 0; i < q->schema->coll->n; i++) {
        struct ad_row row = {ad, q->schema, q->schema->coll->recs[i], {{0}}, 0};

        if (q->where == NULL || aw_eval_sets(q->where, ad_row_get, row_exists, &row))
            items[nitems++].rec = q->schema->coll->recs[i];
    }
    if (q->norder > 0) {
        sort_ctx.q = q;
        sort_ctx.ad = ad;
        qsort(items, nitems, sizeof(*items), cmp_items);
    }
    if (strcmp(op, "get") == 0 && nitems == 0) {
        ad_method_fault(resp, call,
                        "XTK-170037 The query on schema '%s' (operation 'get') returned no record.",
                        q->schema->id);
        goto out;
    }
    if (ad_out_begin(&o, "xtk:queryDef", call->method) != 0) {
        sim_resp_empty(resp, 500);
        goto out;
    }
    ad_out_param_elem(&o, "pdomOutput");
    if (strcmp(op, "count") == 0) {
        xmlTextWriterStartElement(o.w, BAD_CAST q->schema->elem);
        xmlTextWriterWriteFormatAttribute(o.w, BAD_CAST "count", "%zu", nitems);
        xmlTextWriterEndElement(o.w);
    } else if (strcmp(op, "select") != 0) {
        if (nitems > 0) {
            write_row(&o, ad, q, items[0].rec);
        } else {
            xmlTextWriterStartElement(o.w, BAD_CAST q->schema->elem);
            xmlTextWriterEndElement(o.w);
        }
    } else {
        char coll[96];
        size_t from = (size_t)start_line < nitems ? (size_t)start_line : nitems;
        size_t to = nitems - from > (size_t)line_count ? from + (size_t)line_count : nitems;

        snprintf(coll, sizeof(coll), "%s-collection", q->schema->elem);
        xmlTextWriterStartElement(o.w, BAD_CAST coll);
        for (size_t i = from; i < to; i++)
            write_row(&o, ad, q, items[i].rec);
        xmlTextWriterEndElement(o.w);
        resp->records_in = to - from;
    }
    xmlTextWriterEndElement(o.w);
    ad_out_finish(&o, resp);
out:
    free(items);
    if (q != NULL)
        aw_free(q->where);
    free(q);
}
