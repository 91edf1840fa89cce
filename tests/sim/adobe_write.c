/* Adobe flavour: xtk:session#Write / WriteCollection (xtk:persist
 * interface) on nms:recipient and nms:group. Each element carries its
 * _operation (insert, insertOrUpdate [default], update, delete, none) and
 * _key (comma-separated XPaths; without one, @id if given, else insert).
 * A recipient may carry nested <rcpGrpRel><rcpGroup name=".."/></rcpGrpRel>
 * list memberships. A collection is one transaction: the first data error
 * rolls every change of the call back (undo log) and faults. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adobe.h"
#include "adobe_where.h"

/* --- undo log --- */

enum undo_kind { U_CREATED, U_UPDATED, U_REMOVED };

struct undo_entry {
    enum undo_kind kind;
    struct sim_coll *coll;
    uint64_t id;
    json_t *props;
    int64_t created_ms, updated_ms;
};

struct ad_undo {
    struct undo_entry *e;
    size_t n, cap;
};

struct ad_undo *ad_undo_new(void)
{
    return calloc(1, sizeof(struct ad_undo));
}

static void undo_push(struct ad_undo *u, enum undo_kind kind, struct sim_coll *coll,
                      const struct sim_record *rec)
{
    struct undo_entry *e;

    if (u == NULL)
        return;
    if (u->n == u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 64;
        struct undo_entry *grown = realloc(u->e, cap * sizeof(*grown));

        if (grown == NULL)
            return;
        u->e = grown;
        u->cap = cap;
    }
    e = &u->e[u->n++];
    e->kind = kind;
    e->coll = coll;
    e->id = rec->id;
    e->props = kind == U_CREATED ? NULL : json_deep_copy(rec->props);
    e->created_ms = rec->created_ms;
    e->updated_ms = rec->updated_ms;
}

void ad_undo_touch(struct ad_undo *u, struct ad_schema *s, struct sim_record *rec)
{
    undo_push(u, U_UPDATED, s->coll, rec);
}

void ad_undo_rollback(struct ad_undo *u)
{
    for (size_t i = u->n; i-- > 0;) {
        struct undo_entry *e = &u->e[i];
        struct sim_record *rec = sim_coll_get(e->coll, e->id);
        const char *key;
        json_t *val;
        void *tmp;

        switch (e->kind) {
        case U_CREATED:
            if (rec != NULL)
                sim_coll_remove(e->coll, rec);
            break;
        case U_UPDATED:
            if (rec == NULL)
                break;
            json_object_foreach_safe(rec->props, tmp, key, val)
            {
                if (json_object_get(e->props, key) == NULL)
                    sim_coll_set_prop(e->coll, rec, key, NULL);
            }
            json_object_foreach(e->props, key, val)
            {
                sim_coll_set_prop(e->coll, rec, key, json_string_value(val));
            }
            rec->updated_ms = e->updated_ms;
            rec->visible_ms = e->updated_ms;
            json_decref(rec->indexed);
            rec->indexed = NULL;
            break;
        case U_REMOVED:
            rec = sim_coll_create(e->coll, e->id, e->props, e->created_ms, 0);
            if (rec != NULL)
                rec->updated_ms = e->updated_ms;
            break;
        }
    }
}

void ad_undo_free(struct ad_undo *u)
{
    if (u == NULL)
        return;
    for (size_t i = 0; i < u->n; i++)
        json_decref(u->e[i].props);
    free(u->e);
    free(u);
}

static int64_t lag_of(struct sim *sim)
{
    return sim->opt.adobe_enterprise ? sim->opt.search_lag_ms : 0;
}

struct sim_record *ad_row_create(struct sim *sim, struct ad_schema *s, json_t *props, int64_t now,
                                 struct ad_undo *u)
{
    struct sim_record *rec = sim_coll_create(s->coll, 0, props, now, lag_of(sim));

    if (rec != NULL)
        undo_push(u, U_CREATED, s->coll, rec);
    return rec;
}

void ad_row_remove(struct ad_schema *s, struct sim_record *rec, struct ad_undo *u)
{
    undo_push(u, U_REMOVED, s->coll, rec);
    sim_coll_remove(s->coll, rec);
}

/* --- keys --- */

#define MAX_KEYS 4

/* "@email, [@memberKey]" -> {"email", "memberKey"}. */
static int parse_key(const char *spec, char keys[][48], size_t *n, char *err, size_t errlen)
{
    const char *p = spec;

    *n = 0;
    while (*p != '\0') {
        size_t len;
        const char *q;

        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        len = strcspn(p, ",");
        while (len > 0 && p[len - 1] == ' ')
            len--;
        q = p;
        if (*q == '[' && len >= 2 && q[len - 1] == ']') {
            q++;
            len -= 2;
        }
        if (*q == '@') {
            q++;
            len--;
        }
        if (len == 0 || len >= 48 || *n == MAX_KEYS || memchr(q, '/', len) != NULL) {
            snprintf(err, errlen,
                     "XTK-170024 The reconciliation key '%s' is not supported (simple attributes "
                     "of the element only).",
                     spec);
            return -1;
        }
        memcpy(keys[*n], q, len);
        keys[*n][len] = '\0';
        (*n)++;
        p += strcspn(p, ",");
    }
    return 0;
}

int ad_find_by_key(struct sim *sim, struct ad_schema *s, xmlNodePtr el, int64_t now,
                   struct sim_record **out, size_t *nkeys, char *err, size_t errlen)
{
    char keys[MAX_KEYS][48], vals[MAX_KEYS][256], spec[256];
    bool lagged = sim->opt.adobe_enterprise;

    *out = NULL;
    *nkeys = 0;
    if (ad_attr(el, "_key", spec, sizeof(spec)) == NULL) {
        if (ad_attr(el, "id", vals[0], sizeof(vals[0])) == NULL)
            return 0;
        snprintf(spec, sizeof(spec), "@id");
    }
    if (parse_key(spec, keys, nkeys, err, errlen) != 0)
        return -1;
    for (size_t k = 0; k < *nkeys; k++) {
        if (ad_attr(el, keys[k], vals[k], sizeof(vals[k])) == NULL || vals[k][0] == '\0') {
            snprintf(err, errlen,
                     "XTK-170025 Unable to reconcile the element '%s': the key field '@%s' has no "
                     "value.",
                     s->elem, keys[k]);
            return -1;
        }
        if (strcmp(keys[k], "id") != 0 && ad_field_find(s, keys[k]) == NULL) {
            snprintf(err, errlen, "XTK-170024 The key field '@%s' is not defined in schema '%s'.",
                     keys[k], s->id);
            return -1;
        }
    }
    if (*nkeys == 1 && strcmp(keys[0], "id") == 0) {
        char *end;
        unsigned long long id = strtoull(vals[0], &end, 10);

        *out = *end == '\0' ? sim_coll_get(s->coll, id) : NULL;
        return 0;
    }
    if (*nkeys == 1 && !lagged && sim_coll_is_unique(s->coll, keys[0])) {
        *out = sim_coll_find_unique(s->coll, keys[0], vals[0]);
        return 0;
    }
    /* No index: scan in id order, so the oldest match wins. Enterprise
     * (FFDA) mode sees a write only once it is replicated (search lag). */
    for (size_t i = 0; i < s->coll->n; i++) {
        struct sim_record *rec = s->coll->recs[i];
        json_t *props = lagged ? sim_record_searchable(rec, now) : rec->props;
        size_t k;

        if (props == NULL)
            continue;
        for (k = 0; k < *nkeys; k++) {
            const char *v;

            if (strcmp(keys[k], "id") == 0) {
                char idb[24];

                snprintf(idb, sizeof(idb), "%llu", (unsigned long long)rec->id);
                if (strcmp(idb, vals[k]) != 0)
                    break;
                continue;
            }
            v = json_string_value(json_object_get(props, keys[k]));
            if (v == NULL || strcmp(v, vals[k]) != 0)
                break;
        }
        if (k == *nkeys) {
            *out = rec;
            return 0;
        }
    }
    return 0;
}

/* --- attribute values --- */

static int normalise(const struct ad_field *f, const char *in, char *out, size_t outlen, char *err,
                     size_t errlen)
{
    char *end;

    switch (f->type) {
    case AD_STRING:
        if ((int)strlen(in) > f->length) {
            snprintf(err, errlen,
                     "PGS-220000 PostgreSQL error: ERROR:  value too long for type character "
                     "varying(%d) (field '@%s')",
                     f->length, f->name);
            return -1;
        }
        snprintf(out, outlen, "%s", in);
        return 0;
    case AD_LONG: {
        long long v = strtoll(in, &end, 10);

        if (end == in || *end != '\0') {
            snprintf(err, errlen,
                     "PGS-220000 PostgreSQL error: ERROR:  invalid input syntax for type integer: "
                     "\"%.64s\" (field '@%s')",
                     in, f->name);
            return -1;
        }
        snprintf(out, outlen, "%lld", v);
        return 0;
    }
    case AD_DOUBLE: {
        double v = strtod(in, &end);

        if (end == in || *end != '\0') {
            snprintf(err, errlen,
                     "PGS-220000 PostgreSQL error: ERROR:  invalid input syntax for type double "
                     "precision: \"%.64s\" (field '@%s')",
                     in, f->name);
            return -1;
        }
        snprintf(out, outlen, "%.15g", v);
        return 0;
    }
    case AD_BOOL:
        if (strcmp(in, "1") == 0 || strcmp(in, "true") == 0) {
            snprintf(out, outlen, "1");
            return 0;
        }
        if (strcmp(in, "0") == 0 || strcmp(in, "false") == 0) {
            snprintf(out, outlen, "0");
            return 0;
        }
        snprintf(err, errlen,
                 "PGS-220000 PostgreSQL error: ERROR:  invalid input syntax for type smallint: "
                 "\"%.64s\" (field '@%s')",
                 in, f->name);
        return -1;
    case AD_DATETIME: {
        int64_t ms;

        if (aw_parse_datetime(in, strlen(in), &ms) != 0) {
            snprintf(err, errlen,
                     "XTK-170036 Unable to parse the date '%.64s' of field '@%s'. Expected "
                     "YYYY-MM-DD HH:MM:SS.mmmZ.",
                     in, f->name);
            return -1;
        }
        ad_datetime(ms, out, outlen);
        return 0;
    }
    }
    return -1;
}

static bool ignored_attr(const char *name)
{
    return name[0] == '_' || strcmp(name, "xtkschema") == 0 || strcmp(name, "id") == 0 ||
           strcmp(name, "created") == 0 || strcmp(name, "lastModified") == 0;
}

struct sim_record *ad_apply_attrs(struct sim *sim, struct ad_schema *s, struct sim_record *rec,
                                  xmlNodePtr el, int64_t now, struct ad_undo *u, char *err,
                                  size_t errlen)
{
    json_t *vals = json_object(); /* field -> normalised value, "" = clear */
    const char *key;
    json_t *val;

    /* Everything is checked before the first change. Attributes that are
     * not fields of the schema are ignored, as Campaign's writer does. */
    for (xmlAttrPtr a = el->properties; a != NULL; a = a->next) {
        const char *name = (const char *)a->name;
        const struct ad_field *f;
        xmlChar *v;
        char norm[512];
        int rc;

        if (a->ns != NULL || ignored_attr(name))
            continue;
        f = ad_field_find(s, name);
        if (f == NULL)
            continue;
        v = xmlNodeListGetString(el->doc, a->children, 1);
        if (v == NULL || v[0] == '\0') {
            json_object_set_new(vals, name, json_string(""));
            xmlFree(v);
            continue;
        }
        rc = normalise(f, (const char *)v, norm, sizeof(norm), err, errlen);
        xmlFree(v);
        if (rc != 0) {
            json_decref(vals);
            return NULL;
        }
        if (sim_coll_is_unique(s->coll, name)) {
            struct sim_record *other = sim_coll_find_unique(s->coll, name, norm);

            if (other != NULL && other != rec) {
                snprintf(err, errlen,
                         "PGS-220000 PostgreSQL error: ERROR:  duplicate key value violates unique "
                         "constraint \"%s_%s\" DETAIL:  Key (%s)=(%.64s) already exists.",
                         s->elem, name, name, norm);
                json_decref(vals);
                return NULL;
            }
        }
        json_object_set_new(vals, name, json_string(norm));
    }
    if (rec == NULL) {
        json_t *props = json_object();

        json_object_foreach(vals, key, val)
        {
            if (json_string_length(val) > 0)
                json_object_set(props, key, val);
        }
        rec = ad_row_create(sim, s, props, now, u);
        json_decref(props);
        if (rec == NULL)
            snprintf(err, errlen, "PGS-220000 PostgreSQL error: out of memory");
    } else {
        ad_undo_touch(u, s, rec);
        sim_record_touch(rec, now, lag_of(sim), true);
        json_object_foreach(vals, key, val)
        {
            const char *v = json_string_value(val);

            sim_coll_set_prop(s->coll, rec, key, v[0] != '\0' ? v : NULL);
        }
    }
    json_decref(vals);
    return rec;
}

/* --- rows linked to a recipient --- */

static bool fk_is(const struct sim_record *rec, const char *fk, uint64_t id)
{
    const char *v = json_string_value(json_object_get(rec->props, fk));

    return v != NULL && strtoull(v, NULL, 10) == id;
}

/* Deleting a recipient deletes what it owns: subscriptions, list
 * memberships and subscription history. */
static void cascade_delete(struct ad_state *ad, uint64_t rid, struct ad_undo *u)
{
    static const enum ad_schema_ix owned[] = {AD_SUBSCRIPTION, AD_RCPGRPREL, AD_SUBHISTO};

    for (size_t k = 0; k < sizeof(owned) / sizeof(owned[0]); k++) {
        struct ad_schema *s = &ad->schemas[owned[k]];

        for (size_t i = s->coll->n; i-- > 0;) {
            if (fk_is(s->coll->recs[i], "recipient-id", rid))
                ad_row_remove(s, s->coll->recs[i], u);
        }
    }
}

/* <rcpGrpRel [_operation]><rcpGroup name="L" [_operation="none"]/></rcpGrpRel> */
static int write_membership(struct sim *sim, struct sim_record *rcp, xmlNodePtr rel, int64_t now,
                            struct ad_undo *u, char *err, size_t errlen)
{
    struct ad_state *ad = ad_state(sim);
    struct ad_schema *groups = &ad->schemas[AD_GROUP], *rels = &ad->schemas[AD_RCPGRPREL];
    xmlNodePtr g = ad_first_elem(rel);
    char op[32], gop[32], name[128];
    struct sim_record *grp;
    struct sim_record *found = NULL;
    char gid[24], rid[24];

    if (ad_attr(rel, "_operation", op, sizeof(op)) == NULL)
        snprintf(op, sizeof(op), "insertOrUpdate");
    while (g != NULL && strcmp((const char *)g->name, "rcpGroup") != 0)
        g = ad_next_elem(g);
    if (g == NULL || ad_attr(g, "name", name, sizeof(name)) == NULL || name[0] == '\0') {
        snprintf(err, errlen,
                 "XTK-170025 Unable to reconcile the element 'rcpGrpRel': expected "
                 "<rcpGroup name=\"...\"/>.");
        return -1;
    }
    grp = sim_coll_find_unique(groups->coll, "name", name);
    if (grp == NULL) {
        if ((ad_attr(g, "_operation", gop, sizeof(gop)) != NULL && strcmp(gop, "none") == 0) ||
            strcmp(op, "delete") == 0) {
            if (strcmp(op, "delete") == 0)
                return 0;
            snprintf(err, errlen,
                     "XTK-170026 The list 'rcpGroup' with key '@name'='%s' does not exist "
                     "(_operation=\"none\" on a link never creates it).",
                     name);
            return -1;
        }
        grp = ad_apply_attrs(sim, groups, NULL, g, now, u, err, errlen);
        if (grp == NULL)
            return -1;
        if (json_object_get(grp->props, "label") == NULL)
            sim_coll_set_prop(groups->coll, grp, "label", name);
        sim_coll_set_prop(groups->coll, grp, "type", "1");
    }
    for (size_t i = 0; i < rels->coll->n; i++) {
        if (fk_is(rels->coll->recs[i], "rcpGroup-id", grp->id) &&
            fk_is(rels->coll->recs[i], "recipient-id", rcp->id)) {
            found = rels->coll->recs[i];
            break;
        }
    }
    if (strcmp(op, "delete") == 0) {
        if (found != NULL)
            ad_row_remove(rels, found, u);
        return 0;
    }
    if (found != NULL || strcmp(op, "update") == 0 || strcmp(op, "none") == 0)
        return 0;
    snprintf(gid, sizeof(gid), "%llu", (unsigned long long)grp->id);
    snprintf(rid, sizeof(rid), "%llu", (unsigned long long)rcp->id);
    {
        json_t *props = json_pack("{s:s, s:s}", "rcpGroup-id", gid, "recipient-id", rid);
        struct sim_record *r = ad_row_create(sim, rels, props, now, u);

        json_decref(props);
        if (r == NULL) {
            snprintf(err, errlen, "PGS-220000 PostgreSQL error: out of memory");
            return -1;
        }
    }
    return 0;
}

static bool valid_op(const char *op)
{
    return strcmp(op, "insert") == 0 || strcmp(op, "insertOrUpdate") == 0 ||
           strcmp(op, "update") == 0 || strcmp(op, "delete") == 0 || strcmp(op, "none") == 0;
}

/* One element. Returns 1 if it changed something, 0 if not, -1 on error. */
static int write_one(struct sim *sim, struct ad_schema *s, xmlNodePtr el, int64_t now,
                     struct ad_undo *u, char *err, size_t errlen)
{
    char op[32];
    struct sim_record *rec = NULL;
    size_t nkeys = 0;
    int changed = 0;

    if (ad_attr(el, "_operation", op, sizeof(op)) == NULL)
        snprintf(op, sizeof(op), "insertOrUpdate");
    if (!valid_op(op)) {
        snprintf(err, errlen,
                 "XTK-170023 Invalid value '%.32s' for attribute '_operation' (insert, "
                 "insertOrUpdate, update, delete, none).",
                 op);
        return -1;
    }
    if (strcmp(op, "insert") != 0 &&
        ad_find_by_key(sim, s, el, now, &rec, &nkeys, err, errlen) != 0)
        return -1;
    if (strcmp(op, "delete") == 0) {
        if (nkeys == 0) {
            snprintf(err, errlen,
                     "XTK-170025 Unable to reconcile the element '%s' to delete: no key.", s->elem);
            return -1;
        }
        if (rec == NULL)
            return 0;
        if (s == &ad_state(sim)->schemas[AD_RECIPIENT])
            cascade_delete(ad_state(sim), rec->id, u);
        ad_row_remove(s, rec, u);
        return 1;
    }
    if (strcmp(op, "none") == 0 || (strcmp(op, "update") == 0 && rec == NULL))
        return 0;
    rec = ad_apply_attrs(sim, s, strcmp(op, "insert") == 0 ? NULL : rec, el, now, u, err, errlen);
    if (rec == NULL)
        return -1;
    changed = 1;
    if (s == &ad_state(sim)->schemas[AD_RECIPIENT]) {
        for (xmlNodePtr c = ad_first_elem(el); c != NULL; c = ad_next_elem(c)) {
            if (strcmp((const char *)c->name, "rcpGrpRel") == 0 &&
                write_membership(sim, rec, c, now, u, err, errlen) != 0)
                return -1;
        }
    }
    return changed;
}

/* The schema a document is written to: its xtkschema attribute, else the
 * element name in the nms namespace. */
static struct ad_schema *doc_schema(struct sim *sim, xmlNodePtr root, bool collection, char *name,
                                    size_t namelen)
{
    char elem[96];

    if (ad_attr(root, "xtkschema", name, namelen) == NULL) {
        size_t n = strlen((const char *)root->name);

        if (collection && n > 11 && strcmp((const char *)root->name + n - 11, "-collection") == 0)
            n -= 11;
        snprintf(elem, sizeof(elem), "%.*s", (int)n, (const char *)root->name);
        snprintf(name, namelen, "nms:%s", elem);
    }
    return ad_schema_find(ad_state(sim), name);
}

void ad_write(struct sim *sim, struct sim_request *req, struct ad_call *call,
              struct sim_response *resp)
{
    bool collection = strcmp(call->method, "WriteCollection") == 0;
    xmlNodePtr root = ad_param_doc(call, 1);
    struct ad_schema *s;
    struct ad_undo *u = NULL;
    char name[96], err[1024];
    size_t index = 0;
    struct ad_out o;

    if (root == NULL) {
        ad_method_fault(resp, call, "SOP-330008 Missing document parameter (position 2).");
        return;
    }
    s = doc_schema(sim, root, collection, name, sizeof(name));
    if (s == NULL ||
        (s != &ad_state(sim)->schemas[AD_RECIPIENT] && s != &ad_state(sim)->schemas[AD_GROUP])) {
        ad_method_fault(resp, call,
                        "XTK-170018 The schema '%s' cannot be written through this simulator "
                        "(nms:recipient and nms:group only).",
                        name);
        return;
    }
    u = ad_undo_new();
    if (u == NULL) {
        sim_resp_empty(resp, 500);
        return;
    }
    for (xmlNodePtr el = collection ? ad_first_elem(root) : root; el != NULL;
         el = collection ? ad_next_elem(el) : NULL) {
        int rc;

        resp->records_in++;
        if (strcmp((const char *)el->name, s->elem) != 0) {
            snprintf(err, sizeof(err),
                     "XTK-170019 Element '%s' found where '%s' (schema '%s') was expected.",
                     (const char *)el->name, s->elem, s->id);
            rc = -1;
        } else {
            rc = write_one(sim, s, el, req->now_ms, u, err, sizeof(err));
        }
        if (rc < 0) {
            ad_undo_rollback(u);
            ad_undo_free(u);
            resp->written = 0;
            if (collection)
                ad_method_fault(resp, call, "%s (element %zu of the collection)", err, index + 1);
            else
                ad_method_fault(resp, call, "%s", err);
            return;
        }
        resp->written += (size_t)rc;
        index++;
    }
    ad_undo_free(u);
    if (ad_out_begin(&o, "xtk:session", call->method) != 0) {
        sim_resp_empty(resp, 500);
        return;
    }
    ad_out_finish(&o, resp);
}
