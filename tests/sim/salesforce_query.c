/* Salesforce flavour: /query, /queryAll and query locators (nextRecordsUrl).
 *
 * A query is parsed (soql.c), bound to the object's schema (unknown object
 * or field, literal of the wrong type -> the errors Salesforce gives), run
 * over the collection, sorted, cut by OFFSET/LIMIT, and paged: the first
 * page comes back at once, the rest stays in a cursor whose locator is
 * "01g<15 chars>-<offset>". As in Salesforce, a user has at most 10 open
 * cursors; opening an 11th drops the least recently used one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "salesforce.h"
#include "sim_time.h"
#include "soql.h"

struct row_ctx {
    const struct sf_object *obj;
    const struct sim_record *rec;
    char idbuf[19];
};

static int get_value(void *vctx, int fi, const char *name, struct soql_value *out)
{
    struct row_ctx *ctx = vctx;
    const struct sf_field *f;
    const char *v;

    (void)name;
    memset(out, 0, sizeof(*out));
    if (fi < 0 || (size_t)fi >= ctx->obj->nfields)
        return -1;
    f = &ctx->obj->fields[fi];
    if (f->flags & SF_F_SYSTEM) {
        if (strcmp(f->name, "Id") == 0) {
            sf_id_format(ctx->obj, ctx->rec->id, ctx->idbuf);
            ctx->idbuf[15] = '\0';
            out->type = SOQL_STRING;
            out->s = ctx->idbuf;
            out->case_sensitive = true;
        } else if (strcmp(f->name, "IsDeleted") == 0) {
            out->type = SOQL_BOOL;
            out->b = ctx->rec->archived;
        } else {
            out->type = SOQL_DATETIME;
            out->ms =
                strcmp(f->name, "CreatedDate") == 0 ? ctx->rec->created_ms : ctx->rec->updated_ms;
        }
        return 0;
    }
    v = json_string_value(json_object_get(ctx->rec->props, f->name));
    if (v == NULL) {
        if (f->type == SF_T_BOOL) {
            out->type = SOQL_BOOL;
            out->b = false;
        }
        return 0; /* SOQL_NULL */
    }
    switch (f->type) {
    case SF_T_BOOL:
        out->type = SOQL_BOOL;
        out->b = strcmp(v, "true") == 0;
        break;
    case SF_T_DOUBLE:
        out->type = SOQL_NUMBER;
        out->num = strtod(v, NULL);
        break;
    case SF_T_DATE:
    case SF_T_DATETIME:
        out->type = f->type == SF_T_DATE ? SOQL_DATE : SOQL_DATETIME;
        if (sim_time_parse(v, &out->ms) != 0)
            out->type = SOQL_NULL;
        break;
    case SF_T_REF:
        snprintf(ctx->idbuf, 16, "%s", v);
        out->type = SOQL_STRING;
        out->s = ctx->idbuf;
        out->case_sensitive = true;
        break;
    default:
        out->type = SOQL_STRING;
        out->s = v;
        break;
    }
    return 0;
}

static enum soql_vtype literal_type(enum sf_type t)
{
    switch (t) {
    case SF_T_BOOL:
        return SOQL_BOOL;
    case SF_T_DOUBLE:
        return SOQL_NUMBER;
    case SF_T_DATE:
        return SOQL_DATE;
    case SF_T_DATETIME:
        return SOQL_DATETIME;
    default:
        return SOQL_STRING;
    }
}

static const char *type_word(enum soql_vtype t)
{
    switch (t) {
    case SOQL_BOOL:
        return "boolean";
    case SOQL_NUMBER:
        return "double";
    case SOQL_DATE:
        return "date";
    case SOQL_DATETIME:
        return "dateTime";
    default:
        return "string";
    }
}

static const char *no_column =
    "No such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure "
    "to append the '__c' after the custom field name. Please reference your WSDL or the "
    "describe call for the appropriate names.";

/* Resolves fields and checks literal types. Returns 0 or fills resp. */
static int bind_node(struct sf_object *obj, struct soql_node *n, const char *text,
                     struct sim_response *resp)
{
    const struct sf_field *f;
    enum soql_vtype want;

    if (n == NULL)
        return 0;
    if (n->kind != SOQL_CMP)
        return bind_node(obj, n->a, text, resp) || bind_node(obj, n->b, text, resp);
    n->field_index = sf_field_find(obj, n->field);
    if (n->field_index < 0) {
        char msg[600];

        snprintf(msg, sizeof(msg), no_column, n->field, obj->name);
        sf_error(resp, 400, "INVALID_FIELD", "\n%s\nERROR at Row:1:Column:%d\n%s", text, n->col,
                 msg);
        return -1;
    }
    f = &obj->fields[n->field_index];
    want = literal_type(f->type);
    for (size_t i = 0; i < n->nvals; i++) {
        struct soql_value *v = &n->vals[i];

        if (v->type == SOQL_NULL)
            continue;
        if (v->type != want || (n->op == SOQL_LIKE && want != SOQL_STRING)) {
            sf_error(resp, 400, "INVALID_FIELD",
                     "\n%s\nERROR at Row:1:Column:%d\nvalue of filter criterion for field '%s' "
                     "must be of type %s and should not be enclosed in quotes",
                     text, n->col, f->name, type_word(want));
            return -1;
        }
        /* Ids compare on their 15-character, case-sensitive form. */
        if ((f->type == SF_T_ID || f->type == SF_T_REF) && strlen(v->s) > 15)
            ((char *)v->s)[15] = '\0';
        if (f->type == SF_T_ID || f->type == SF_T_REF)
            v->case_sensitive = true;
    }
    return 0;
}

struct sort_ctx {
    const struct sf_object *obj;
    const struct soql_query *q;
};

static int cmp_rows(const void *pa, const void *pb, void *vctx)
{
    const struct sort_ctx *sc = vctx;
    const struct sim_record *a = *(struct sim_record *const *)pa;
    const struct sim_record *b = *(struct sim_record *const *)pb;
    struct row_ctx ca = {.obj = sc->obj, .rec = a}, cb = {.obj = sc->obj, .rec = b};

    for (size_t i = 0; i < sc->q->norder; i++) {
        const struct soql_order *o = &sc->q->order[i];
        struct soql_value va, vb;
        int c;

        get_value(&ca, o->field_index, o->field, &va);
        get_value(&cb, o->field_index, o->field, &vb);
        if ((va.type == SOQL_NULL) != (vb.type == SOQL_NULL)) {
            c = va.type == SOQL_NULL ? -1 : 1;
            if (o->nulls_last)
                c = -c;
            return c;
        }
        c = soql_value_cmp(&va, &vb);
        if (o->desc)
            c = -c;
        if (c != 0)
            return c;
    }
    return a->id < b->id ? -1 : a->id > b->id ? 1 : 0;
}

static size_t page_size(struct sim *sim, struct sim_request *req)
{
    const char *opt = sim_req_header(req, "Sforce-Query-Options");
    size_t batch = (size_t)sim->opt.sf_query_batch;
    const char *p = opt ? strstr(opt, "batchSize=") : NULL;

    /* The header's batchSize is a hint between 200 and 2000. */
    if (p != NULL) {
        long b = strtol(p + 10, NULL, 10);

        if (b >= 200 && b <= 2000 && (size_t)b < batch)
            batch = (size_t)b;
    }
    return batch;
}

static struct sf_cursor *cursor_new(struct sf_state *sf, int64_t now)
{
    size_t slot = 0;
    struct sf_cursor *c;
    char tmp[19];

    for (size_t i = 0; i < SF_MAX_CURSORS; i++) {
        if (sf->cursors[i] == NULL) {
            slot = i;
            break;
        }
        if (sf->cursors[i]->used_ms < sf->cursors[slot]->used_ms)
            slot = i;
    }
    if (sf->cursors[slot] != NULL) {
        free(sf->cursors[slot]->nums);
        free(sf->cursors[slot]->cols);
        free(sf->cursors[slot]);
        sf->cursors[slot] = NULL;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    {
        struct sf_object fake;

        memset(&fake, 0, sizeof(fake));
        memcpy(fake.prefix, "01g", 4);
        sf_id_format(&fake, sf->next_cursor++, tmp);
    }
    snprintf(c->locator, sizeof(c->locator), "%s", tmp);
    c->used_ms = now;
    sf->cursors[slot] = c;
    return c;
}

static json_t *page(const struct sf_cursor *c, size_t from, size_t batch, const char *version,
                    bool all, const char *kind, struct sim_response *resp)
{
    json_t *records = json_array();
    size_t end = from + batch < c->n ? from + batch : c->n;
    json_t *body;

    for (size_t i = from; i < end; i++) {
        const struct sim_record *rec = sim_coll_get(c->obj->coll, c->nums[i]);

        if (rec == NULL || (rec->archived && !all))
            continue; /* deleted since the query ran */
        json_array_append_new(records, sf_record_json(c->obj, rec, c->cols, c->ncols, version));
    }
    resp->records_in = json_array_size(records);
    body = json_pack("{s:I, s:b}", "totalSize", (json_int_t)c->n, "done", end >= c->n);
    if (end < c->n) {
        char url[128];

        snprintf(url, sizeof(url), "/services/data/%s/%s/%s-%zu", version, kind, c->locator, end);
        json_object_set_new(body, "nextRecordsUrl", json_string(url));
    }
    json_object_set_new(body, "records", records);
    return body;
}

static void run_query(struct sim *sim, struct sim_request *req, struct sim_response *resp, bool all)
{
    struct sf_state *sf = sf_state(sim);
    const char *text = sim_req_query(req, "q");
    const char *version = req->caps[0];
    struct soql_query *q = NULL;
    struct sf_object *obj;
    struct sim_record **rows = NULL;
    size_t nrows = 0;
    char err[512];
    struct sf_cursor tmp, *c = NULL;
    size_t batch, start, count;

    memset(&tmp, 0, sizeof(tmp));
    if (text == NULL || text[0] == '\0') {
        sf_error(resp, 400, "MALFORMED_QUERY", "A query string has to be specified");
        return;
    }
    if (soql_parse(text, &q, err, sizeof(err)) != 0) {
        sf_error(resp, 400, "MALFORMED_QUERY", "\n%s\n%s", text, err);
        return;
    }
    obj = sf_object_find(sf, q->object);
    if (obj == NULL) {
        sf_error(resp, 400, "INVALID_TYPE",
                 "\n%s\nsObject type '%s' is not supported. If you are attempting to use a "
                 "custom object, be sure to append the '__c' after the entity name. Please "
                 "reference your WSDL or the describe call for the appropriate names.",
                 text, q->object);
        goto out;
    }
    for (size_t i = 0; i < q->nfields; i++) {
        q->field_index[i] = sf_field_find(obj, q->fields[i]);
        if (q->field_index[i] < 0) {
            char msg[600];

            snprintf(msg, sizeof(msg), no_column, q->fields[i], obj->name);
            sf_error(resp, 400, "INVALID_FIELD", "\n%s\n%s", text, msg);
            goto out;
        }
    }
    for (size_t i = 0; i < q->norder; i++) {
        q->order[i].field_index = sf_field_find(obj, q->order[i].field);
        if (q->order[i].field_index < 0) {
            char msg[600];

            snprintf(msg, sizeof(msg), no_column, q->order[i].field, obj->name);
            sf_error(resp, 400, "INVALID_FIELD", "\n%s\n%s", text, msg);
            goto out;
        }
    }
    if (bind_node(obj, q->where, text, resp) != 0)
        goto out;

    rows = malloc((obj->coll->n ? obj->coll->n : 1) * sizeof(*rows));
    if (rows == NULL) {
        sf_error(resp, 500, "UNKNOWN_EXCEPTION", "out of memory");
        goto out;
    }
    for (size_t i = 0; i < obj->coll->n; i++) {
        struct row_ctx ctx = {.obj = obj, .rec = obj->coll->recs[i]};

        if (ctx.rec->archived && !all)
            continue;
        if (soql_eval(q->where, get_value, &ctx))
            rows[nrows++] = obj->coll->recs[i];
    }
    if (q->norder > 0) {
        struct sort_ctx sc = {.obj = obj, .q = q};

        qsort_r(rows, nrows, sizeof(*rows), cmp_rows, &sc);
    }
    start = (size_t)q->offset < nrows ? (size_t)q->offset : nrows;
    count = nrows - start;
    if (q->limit >= 0 && (size_t)q->limit < count)
        count = (size_t)q->limit;
    batch = page_size(sim, req);

    c = count > batch ? cursor_new(sf, req->now_ms) : &tmp;
    if (c == NULL) {
        sf_error(resp, 500, "UNKNOWN_EXCEPTION", "out of memory");
        goto out;
    }
    c->obj = obj;
    c->n = count;
    c->nums = malloc((count ? count : 1) * sizeof(*c->nums));
    c->cols = malloc(q->nfields * sizeof(*c->cols));
    if (c->nums == NULL || c->cols == NULL) {
        sf_error(resp, 500, "UNKNOWN_EXCEPTION", "out of memory");
        goto out;
    }
    for (size_t i = 0; i < count; i++)
        c->nums[i] = rows[start + i]->id;
    memcpy(c->cols, q->field_index, q->nfields * sizeof(*c->cols));
    c->ncols = q->nfields;
    sim_resp_json(resp, 200, page(c, 0, batch, version, all, all ? "queryAll" : "query", resp));
out:
    if (c == &tmp) {
        free(tmp.nums);
        free(tmp.cols);
    }
    free(rows);
    soql_free(q);
}

void sf_query(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    run_query(sim, req, resp, false);
}

void sf_query_all(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    run_query(sim, req, resp, true);
}

void sf_query_more(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    struct sf_state *sf = sf_state(sim);
    const char *loc = req->caps[1];
    const char *dash = strchr(loc, '-');
    struct sf_cursor *c = NULL;
    char *end;
    unsigned long long from;
    bool all = strstr(req->path, "/queryAll/") != NULL;

    if (dash != NULL && dash - loc == 18) {
        for (size_t i = 0; i < SF_MAX_CURSORS; i++) {
            if (sf->cursors[i] != NULL && strncmp(sf->cursors[i]->locator, loc, 18) == 0)
                c = sf->cursors[i];
        }
    }
    if (c == NULL) {
        sf_error(resp, 400, "INVALID_QUERY_LOCATOR", "invalid query locator");
        return;
    }
    from = strtoull(dash + 1, &end, 10);
    if (*end != '\0' || dash[1] == '\0' || from > c->n) {
        sf_error(resp, 400, "INVALID_QUERY_LOCATOR", "invalid query locator");
        return;
    }
    c->used_ms = req->now_ms;
    sim_resp_json(resp, 200,
                  page(c, (size_t)from, page_size(sim, req), req->caps[0], all,
                       all ? "queryAll" : "query", resp));
}
