/* Adobe flavour: the data model (a subset of nms:recipient, nms:service,
 * nms:subscription, nms:subHisto, nms:group, nms:rcpGrpRel with the
 * retailer's configurable recipient extensions), row values by XPath, and
 * the schema documents Adobe's client loads through
 * xtk:persist#GetEntityIfMoreRecent before it calls a method. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adobe.h"

static const struct ad_link no_links[] = {{NULL, NULL, NULL}};
static const struct ad_link sub_links[] = {{"recipient", "recipient-id", "nms:recipient"},
                                           {"service", "service-id", "nms:service"},
                                           {NULL, NULL, NULL}};
static const struct ad_link rel_links[] = {{"rcpGroup", "rcpGroup-id", "nms:group"},
                                           {"recipient", "recipient-id", "nms:recipient"},
                                           {NULL, NULL, NULL}};

struct field_def {
    const char *name;
    enum ad_type type;
    int length;
};

/* The nms:recipient attributes a loyalty/consent connector touches (the
 * out-of-the-box schema has many more). */
static const struct field_def recipient_fields[] = {
    {"email", AD_STRING, 128},
    {"firstName", AD_STRING, 64},
    {"lastName", AD_STRING, 64},
    {"mobilePhone", AD_STRING, 32},
    {"phone", AD_STRING, 32},
    {"account", AD_STRING, 32},
    {"company", AD_STRING, 80},
    {"salutation", AD_STRING, 80},
    {"language", AD_STRING, 16},
    {"birthDate", AD_DATETIME, 0},
    {"gender", AD_LONG, 0},
    {"emailFormat", AD_LONG, 0},
    {"blackList", AD_BOOL, 0},
    {"blackListEmail", AD_BOOL, 0},
    {"blackListMobile", AD_BOOL, 0},
    {"blackListPhone", AD_BOOL, 0},
    {"blackListFax", AD_BOOL, 0},
    {"blackListPostalMail", AD_BOOL, 0},
    {NULL, AD_STRING, 0},
};
static const struct field_def service_fields[] = {
    {"name", AD_STRING, 64},
    {"label", AD_STRING, 128},
    {"messageType", AD_LONG, 0},
    {NULL, AD_STRING, 0},
};
static const struct field_def subscription_fields[] = {
    {"recipient-id", AD_LONG, 0},
    {"service-id", AD_LONG, 0},
    {NULL, AD_STRING, 0},
};
static const struct field_def subhisto_fields[] = {
    {"recipient-id", AD_LONG, 0}, {"service-id", AD_LONG, 0}, {"action", AD_LONG, 0},
    {"origin", AD_STRING, 128},   {NULL, AD_STRING, 0},
};
static const struct field_def group_fields[] = {
    {"name", AD_STRING, 64},
    {"label", AD_STRING, 128},
    {"type", AD_LONG, 0},
    {NULL, AD_STRING, 0},
};
static const struct field_def rel_fields[] = {
    {"rcpGroup-id", AD_LONG, 0},
    {"recipient-id", AD_LONG, 0},
    {NULL, AD_STRING, 0},
};

static int add_field(struct ad_schema *s, const char *name, enum ad_type type, int length)
{
    if (s->nfields == AD_MAX_FIELDS || strlen(name) >= sizeof(s->fields[0].name) ||
        ad_field_find(s, name) != NULL)
        return -1;
    snprintf(s->fields[s->nfields].name, sizeof(s->fields[0].name), "%s", name);
    s->fields[s->nfields].type = type;
    s->fields[s->nfields].length = length;
    s->nfields++;
    return 0;
}

static void define(struct ad_schema *s, const char *id, const char *elem,
                   const struct field_def *fields, const struct ad_link *links, bool stamps,
                   const char *created_as)
{
    s->id = id;
    s->elem = elem;
    s->links = links;
    s->stamps = stamps;
    s->created_as = created_as;
    for (const struct field_def *f = fields; f->name != NULL; f++)
        add_field(s, f->name, f->type, f->length);
}

/* "memberKey:string:64,loyaltyPoints:long,loyaltyTier" */
static int add_extensions(struct ad_schema *s, const char *spec, char *err, size_t errlen)
{
    const char *p = spec;

    while (*p != '\0') {
        char item[128], *type, *len;
        size_t n = strcspn(p, ",");
        enum ad_type t = AD_STRING;
        long length = 255;

        if (n == 0 || n >= sizeof(item)) {
            snprintf(err, errlen, "--adobe-extensions: bad item near '%s'", p);
            return -1;
        }
        memcpy(item, p, n);
        item[n] = '\0';
        p += n;
        if (*p == ',')
            p++;
        type = strchr(item, ':');
        len = NULL;
        if (type != NULL) {
            *type++ = '\0';
            len = strchr(type, ':');
            if (len != NULL)
                *len++ = '\0';
            if (strcmp(type, "long") == 0)
                t = AD_LONG;
            else if (strcmp(type, "double") == 0)
                t = AD_DOUBLE;
            else if (strcmp(type, "boolean") == 0)
                t = AD_BOOL;
            else if (strcmp(type, "datetime") == 0)
                t = AD_DATETIME;
            else if (strcmp(type, "string") != 0) {
                snprintf(err, errlen, "--adobe-extensions: unknown type '%s'", type);
                return -1;
            }
            if (len != NULL) {
                char *end;

                length = strtol(len, &end, 10);
                if (*end != '\0' || length < 1 || length > 4000) {
                    snprintf(err, errlen, "--adobe-extensions: bad length '%s'", len);
                    return -1;
                }
            }
        }
        if (add_field(s, item, t, (int)length) != 0) {
            snprintf(err, errlen, "--adobe-extensions: '%s' is a duplicate or too many fields",
                     item);
            return -1;
        }
    }
    return 0;
}

int ad_schema_init(struct ad_state *ad, struct sim *sim, char *err, size_t errlen)
{
    struct ad_schema *s = ad->schemas;
    const char *p;

    define(&s[AD_RECIPIENT], "nms:recipient", "recipient", recipient_fields, no_links, true,
           "created");
    define(&s[AD_SERVICE], "nms:service", "service", service_fields, no_links, true, "created");
    define(&s[AD_SUBSCRIPTION], "nms:subscription", "subscription", subscription_fields, sub_links,
           true, "created");
    define(&s[AD_SUBHISTO], "nms:subHisto", "subHisto", subhisto_fields, sub_links, false, "date");
    define(&s[AD_GROUP], "nms:group", "group", group_fields, no_links, true, "created");
    define(&s[AD_RCPGRPREL], "nms:rcpGrpRel", "rcpGrpRel", rel_fields, rel_links, false, NULL);
    if (add_extensions(&s[AD_RECIPIENT], sim->opt.adobe_extensions, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < AD_NSCHEMAS; i++) {
        s[i].coll = sim_store_coll(sim->store, s[i].id, true);
        if (s[i].coll == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    /* Services and lists are found by name (their schemas' keys). */
    if (sim_coll_add_unique(s[AD_SERVICE].coll, "name") != 0 ||
        sim_coll_add_unique(s[AD_GROUP].coll, "name") != 0) {
        snprintf(err, errlen, "cannot index names");
        return -1;
    }
    if (sim->opt.adobe_enterprise)
        return 0;
    p = sim->opt.adobe_unique;
    while (*p != '\0') {
        size_t n = strcspn(p, ",");

        if (n == 0 || n >= sizeof(ad->unique[0]) || ad->nunique == 4) {
            snprintf(err, errlen, "--adobe-unique: bad list '%s'", sim->opt.adobe_unique);
            return -1;
        }
        memcpy(ad->unique[ad->nunique], p, n);
        ad->unique[ad->nunique][n] = '\0';
        if (ad_field_find(&s[AD_RECIPIENT], ad->unique[ad->nunique]) == NULL) {
            snprintf(err, errlen, "--adobe-unique: '%s' is not a field of nms:recipient",
                     ad->unique[ad->nunique]);
            return -1;
        }
        if (sim_coll_add_unique(s[AD_RECIPIENT].coll, ad->unique[ad->nunique]) != 0) {
            snprintf(err, errlen, "cannot index %s", ad->unique[ad->nunique]);
            return -1;
        }
        ad->nunique++;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

struct ad_schema *ad_schema_find(struct ad_state *ad, const char *id)
{
    for (size_t i = 0; i < AD_NSCHEMAS; i++) {
        if (strcmp(ad->schemas[i].id, id) == 0)
            return &ad->schemas[i];
    }
    return NULL;
}

const struct ad_field *ad_field_find(const struct ad_schema *s, const char *name)
{
    for (size_t i = 0; i < s->nfields; i++) {
        if (strcmp(s->fields[i].name, name) == 0)
            return &s->fields[i];
    }
    return NULL;
}

const struct ad_link *ad_link_find(const struct ad_schema *s, const char *name)
{
    for (const struct ad_link *l = s->links; l->name != NULL; l++) {
        if (strcmp(l->name, name) == 0)
            return l;
    }
    return NULL;
}

const char *ad_datetime(int64_t ms, char *buf, size_t bufsize)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    snprintf(buf, bufsize, "%04d-%02d-%02d %02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    return buf;
}

static bool is_stamp(const struct ad_schema *s, const char *name, bool *created)
{
    if (s->created_as != NULL && strcmp(name, s->created_as) == 0) {
        *created = true;
        return true;
    }
    if (s->stamps && strcmp(name, "lastModified") == 0) {
        *created = false;
        return true;
    }
    return false;
}

int ad_path_check(const struct ad_schema *s, struct ad_state *ad, const char *path)
{
    const char *slash = strchr(path, '/');
    bool created;

    if (slash != NULL) {
        char link[48];
        const struct ad_link *l;
        size_t n = (size_t)(slash - path);

        if (n >= sizeof(link))
            return -1;
        memcpy(link, path, n);
        link[n] = '\0';
        l = ad_link_find(s, link);
        if (l == NULL)
            return -1;
        return ad_path_check(ad_schema_find(ad, l->target), ad, slash + 1);
    }
    if (path[0] != '@')
        return -1;
    path++;
    if (strcmp(path, "id") == 0 || is_stamp(s, path, &created) || ad_field_find(s, path) != NULL)
        return 0;
    return -1;
}

const char *ad_row_get(void *ctx, const char *path)
{
    struct ad_row *row = ctx;
    const char *slash = strchr(path, '/');
    char *buf = row->buf[row->next];
    bool created;

    row->next = (row->next + 1) % 4;
    if (slash != NULL) {
        char link[48];
        const struct ad_link *l;
        struct ad_row sub;
        const char *fk, *v;
        size_t n = (size_t)(slash - path);
        char *end;
        unsigned long long id;

        if (n >= sizeof(link))
            return NULL;
        memcpy(link, path, n);
        link[n] = '\0';
        l = ad_link_find(row->schema, link);
        if (l == NULL)
            return NULL;
        fk = json_string_value(json_object_get(row->rec->props, l->fk));
        if (fk == NULL)
            return NULL;
        id = strtoull(fk, &end, 10);
        memset(&sub, 0, sizeof(sub));
        sub.ad = row->ad;
        sub.schema = ad_schema_find(row->ad, l->target);
        sub.rec = sub.schema ? sim_coll_get(sub.schema->coll, id) : NULL;
        if (*end != '\0' || sub.rec == NULL)
            return NULL;
        v = ad_row_get(&sub, slash + 1);
        if (v == NULL)
            return NULL;
        snprintf(buf, sizeof(row->buf[0]), "%s", v);
        return buf;
    }
    if (path[0] == '@')
        path++;
    if (strcmp(path, "id") == 0) {
        snprintf(buf, sizeof(row->buf[0]), "%llu", (unsigned long long)row->rec->id);
        return buf;
    }
    if (is_stamp(row->schema, path, &created))
        return ad_datetime(created ? row->rec->created_ms : row->rec->updated_ms, buf,
                           sizeof(row->buf[0]));
    return json_string_value(json_object_get(row->rec->props, path));
}

/* --- schema documents for GetEntityIfMoreRecent --- */

static void param(xmlTextWriterPtr w, const char *name, const char *type, bool out)
{
    xmlTextWriterStartElement(w, BAD_CAST "param");
    xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST name);
    xmlTextWriterWriteAttribute(w, BAD_CAST "type", BAD_CAST type);
    if (out)
        xmlTextWriterWriteAttribute(w, BAD_CAST "inout", BAD_CAST "out");
    xmlTextWriterEndElement(w);
}

/* <method name static|const> with params "name:type" ("<" prefix: out). */
static void method(xmlTextWriterPtr w, const char *name, const char *kind,
                   const char *const *params)
{
    xmlTextWriterStartElement(w, BAD_CAST "method");
    xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST name);
    if (kind != NULL)
        xmlTextWriterWriteAttribute(w, BAD_CAST kind, BAD_CAST "true");
    if (params != NULL && params[0] != NULL) {
        xmlTextWriterStartElement(w, BAD_CAST "parameters");
        for (const char *const *p = params; *p != NULL; p++) {
            char buf[64];
            const char *s = *p;
            bool out = s[0] == '<';
            const char *colon;

            if (out)
                s++;
            colon = strchr(s, ':');
            snprintf(buf, sizeof(buf), "%.*s", (int)(colon - s), s);
            param(w, buf, colon + 1, out);
        }
        xmlTextWriterEndElement(w);
    }
    xmlTextWriterEndElement(w);
}

static void schema_start(xmlTextWriterPtr w, const char *ns, const char *name, const char *impl)
{
    xmlTextWriterStartElement(w, BAD_CAST "schema");
    xmlTextWriterWriteAttribute(w, BAD_CAST "namespace", BAD_CAST ns);
    xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST name);
    if (impl != NULL)
        xmlTextWriterWriteAttribute(w, BAD_CAST "implements", BAD_CAST impl);
    xmlTextWriterWriteAttribute(w, BAD_CAST "xtkschema", BAD_CAST "xtk:schema");
}

static const char *type_name(enum ad_type t)
{
    switch (t) {
    case AD_LONG:
        return "long";
    case AD_DOUBLE:
        return "double";
    case AD_BOOL:
        return "boolean";
    case AD_DATETIME:
        return "datetime";
    default:
        return "string";
    }
}

static void data_schema(xmlTextWriterPtr w, const struct ad_schema *s)
{
    char ns[16];
    const char *colon = strchr(s->id, ':');

    snprintf(ns, sizeof(ns), "%.*s", (int)(colon - s->id), s->id);
    schema_start(w, ns, colon + 1, NULL);
    xmlTextWriterStartElement(w, BAD_CAST "element");
    xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST s->elem);
    xmlTextWriterStartElement(w, BAD_CAST "attribute");
    xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST "id");
    xmlTextWriterWriteAttribute(w, BAD_CAST "type", BAD_CAST "long");
    xmlTextWriterEndElement(w);
    for (size_t i = 0; i < s->nfields; i++) {
        if (strchr(s->fields[i].name, '-') != NULL)
            continue; /* link foreign keys are shown as links */
        xmlTextWriterStartElement(w, BAD_CAST "attribute");
        xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST s->fields[i].name);
        xmlTextWriterWriteAttribute(w, BAD_CAST "type", BAD_CAST type_name(s->fields[i].type));
        if (s->fields[i].type == AD_STRING)
            xmlTextWriterWriteFormatAttribute(w, BAD_CAST "length", "%d", s->fields[i].length);
        xmlTextWriterEndElement(w);
    }
    for (const struct ad_link *l = s->links; l->name != NULL; l++) {
        xmlTextWriterStartElement(w, BAD_CAST "element");
        xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST l->name);
        xmlTextWriterWriteAttribute(w, BAD_CAST "type", BAD_CAST "link");
        xmlTextWriterWriteAttribute(w, BAD_CAST "target", BAD_CAST l->target);
        xmlTextWriterEndElement(w);
    }
    xmlTextWriterEndElement(w); /* element */
    xmlTextWriterEndElement(w); /* schema */
}

int ad_schema_write_entity(xmlTextWriterPtr w, const char *name)
{
    static const char *const write_p[] = {"doc:DOMDocument", NULL};
    static const char *const entity_p[] = {"pk:string", "md5:string", "mustExist:boolean",
                                           "<doc:DOMDocument", NULL};
    static const char *const bearer_p[] = {"bearerToken:string", "<sessionToken:string",
                                           "<sessionInfo:DOMDocument", "<securityToken:string",
                                           NULL};
    static const char *const query_p[] = {"<output:DOMDocument", NULL};
    static const char *const sub_p[] = {"serviceName:string", "recipient:DOMElement",
                                        "create:boolean", NULL};
    static const char *const unsub_p[] = {"serviceName:string", "recipient:DOMElement", NULL};

    if (strcmp(name, "xtk:session") == 0) {
        schema_start(w, "xtk", "session", "xtk:persist");
        xmlTextWriterStartElement(w, BAD_CAST "interface");
        xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST "persist");
        method(w, "Write", "static", write_p);
        method(w, "WriteCollection", "static", write_p);
        method(w, "GetEntityIfMoreRecent", "static", entity_p);
        xmlTextWriterEndElement(w);
        xmlTextWriterStartElement(w, BAD_CAST "element");
        xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST "session");
        xmlTextWriterEndElement(w);
        xmlTextWriterStartElement(w, BAD_CAST "methods");
        method(w, "BearerTokenLogon", "static", bearer_p);
        method(w, "Logoff", "static", NULL);
        xmlTextWriterEndElement(w);
        xmlTextWriterEndElement(w);
        return 0;
    }
    if (strcmp(name, "xtk:queryDef") == 0) {
        schema_start(w, "xtk", "queryDef", NULL);
        xmlTextWriterStartElement(w, BAD_CAST "element");
        xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST "queryDef");
        xmlTextWriterEndElement(w);
        xmlTextWriterStartElement(w, BAD_CAST "methods");
        method(w, "ExecuteQuery", "const", query_p);
        xmlTextWriterEndElement(w);
        xmlTextWriterEndElement(w);
        return 0;
    }
    if (strcmp(name, "nms:subscription") == 0) {
        schema_start(w, "nms", "subscription", NULL);
        xmlTextWriterStartElement(w, BAD_CAST "element");
        xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST "subscription");
        xmlTextWriterEndElement(w);
        xmlTextWriterStartElement(w, BAD_CAST "methods");
        method(w, "Subscribe", "static", sub_p);
        method(w, "Unsubscribe", "static", unsub_p);
        xmlTextWriterEndElement(w);
        xmlTextWriterEndElement(w);
        return 0;
    }
    return -1;
}

int ad_schema_write_data(xmlTextWriterPtr w, struct ad_state *ad, const char *name)
{
    struct ad_schema *s = ad_schema_find(ad, name);

    if (s == NULL || s->id == NULL || strcmp(name, "nms:subscription") == 0)
        return -1;
    data_schema(w, s);
    return 0;
}
