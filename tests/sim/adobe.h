/* crmsim Adobe Campaign v8 flavour (internal header).
 *
 * One SOAP endpoint, POST /nl/jsp/soaprouter.jsp, plus the IMS token
 * endpoint. Files:
 *   adobe.c           flavour table, IMS token endpoint, TPS throttle, dump/seed/reset
 *   adobe_soap.c      envelope parsing (libxml2, no entities, no DTD, size cap),
 *                     dispatch on SOAPAction, auth (bearer / session), faults,
 *                     response writer, xtk:session logon/logoff
 *   adobe_schema.c    the schemas the SDK loads (GetEntityIfMoreRecent) and our
 *                     data model: fields, links, row values
 *   adobe_write.c     xtk:session#Write / WriteCollection (undo log: all or nothing)
 *   adobe_query.c     xtk:queryDef#ExecuteQuery
 *   adobe_where.c     the XTK filter expression subset (pure)
 *   adobe_subscribe.c nms:subscription#Subscribe / Unsubscribe
 *
 * Records live in core collections named after their schema ("nms:recipient",
 * "nms:service", "nms:subscription", "nms:subHisto", "nms:group",
 * "nms:rcpGrpRel"); @id is the store id, @created / @lastModified the store's
 * created/updated times, links are "<link>-id" properties. */
#ifndef CRMSIM_ADOBE_H
#define CRMSIM_ADOBE_H

#include <libxml/tree.h>
#include <libxml/xmlwriter.h>
#include <stdbool.h>

#include "sim.h"
#include "sim_ratelimit.h"
#include "sim_store.h"

enum ad_type { AD_STRING, AD_LONG, AD_DOUBLE, AD_BOOL, AD_DATETIME };

struct ad_field {
    char name[48];
    enum ad_type type;
    int length; /* strings: longest value accepted (PostgreSQL varchar) */
};

struct ad_link {
    const char *name;   /* "service" */
    const char *fk;     /* "service-id" */
    const char *target; /* "nms:service" */
};

#define AD_MAX_FIELDS 48

struct ad_schema {
    const char *id;   /* "nms:recipient" */
    const char *elem; /* "recipient" */
    struct ad_field fields[AD_MAX_FIELDS];
    size_t nfields;
    const struct ad_link *links; /* terminated by {NULL} */
    bool stamps;                 /* has @created / @lastModified */
    const char *created_as;      /* name of the creation stamp ("created", "date") */
    struct sim_coll *coll;
};

enum ad_schema_ix {
    AD_RECIPIENT,
    AD_SERVICE,
    AD_SUBSCRIPTION,
    AD_SUBHISTO,
    AD_GROUP,
    AD_RCPGRPREL,
    AD_NSCHEMAS
};

struct ad_state {
    struct ad_schema schemas[AD_NSCHEMAS];
    json_t *sessions; /* session token -> {"security": S} (expiry in sim->auth) */
    uint64_t sessions_opened;
    json_t *methods; /* "urn#Method" -> {calls, faults, records, written} */
    struct sim_window tps;
    int64_t tps_max; /* what tps was built with */
    char unique[4][48];
    size_t nunique;
};

static inline struct ad_state *ad_state(struct sim *sim)
{
    return sim->flavor_data;
}

/* --- adobe_schema.c --- */
int ad_schema_init(struct ad_state *ad, struct sim *sim, char *err, size_t errlen);
struct ad_schema *ad_schema_find(struct ad_state *ad, const char *id);
const struct ad_field *ad_field_find(const struct ad_schema *s, const char *name);
const struct ad_link *ad_link_find(const struct ad_schema *s, const char *name);
/* "2026-12-07 10:00:00.123Z" (Campaign's XML datetime). buf >= 32. */
const char *ad_datetime(int64_t ms, char *buf, size_t bufsize);
/* Writes the schema document for GetEntityIfMoreRecent ("xtk:session",
 * "xtk:queryDef", "nms:subscription", ...). Returns 0, or -1 if unknown. */
int ad_schema_write_entity(xmlTextWriterPtr w, const char *name);
/* The data schemas (nms:recipient, ...) from the live model. 0 or -1. */
int ad_schema_write_data(xmlTextWriterPtr w, struct ad_state *ad, const char *name);

/* A row's value for a normalised path ("@email", "@id", "service/@name",
 * "@service-id"); NULL if missing. Formatted values go to ctx->buf. */
struct ad_row {
    struct ad_state *ad;
    struct ad_schema *schema;
    struct sim_record *rec;
    char buf[4][64];
    int next;
};
const char *ad_row_get(void *row, const char *path);
/* 0 if the path names a field of the schema (or of a linked schema). */
int ad_path_check(const struct ad_schema *s, struct ad_state *ad, const char *path);

/* --- adobe_soap.c --- */
#define AD_NS_ENV "http://schemas.xmlsoap.org/soap/envelope/"
#define AD_NS_XSI "http://www.w3.org/2001/XMLSchema-instance"
#define AD_NS_XSD "http://www.w3.org/2001/XMLSchema"
#define AD_NS_SOAPENC "http://schemas.xmlsoap.org/soap/encoding/"
#define AD_NS_LITERAL "http://xml.apache.org/xml-soap/literalxml"

/* A parsed call: positional parameters (never matched by name). */
struct ad_call {
    char urn[96];    /* "xtk:persist|xtk:session" */
    char method[64]; /* "WriteCollection" */
    xmlNodePtr params[16];
    size_t nparams;
    bool session_mode; /* authenticated by session token, not bearer */
    char session[128];
};

/* Response writer: envelope + <MethodResponse xmlns='urn:...'>. */
struct ad_out {
    xmlBufferPtr buf;
    xmlTextWriterPtr w;
};
int ad_out_begin(struct ad_out *o, const char *urn, const char *method);
/* <name xsi:type='ns:Element' SOAP-ENV:encodingStyle='literalxml'> (open) */
void ad_out_param_elem(struct ad_out *o, const char *name);
void ad_out_param_string(struct ad_out *o, const char *name, const char *value);
void ad_out_finish(struct ad_out *o, struct sim_response *resp);
void ad_out_free(struct ad_out *o);

/* HTTP 500 SOAP-ENV:Fault; faultstring starts with the Campaign code. */
void ad_fault(struct sim_response *resp, const char *faultcode, const char *faultstring,
              const char *detail);
/* The generic "Error while executing the method" fault (SOP-330011) with a
 * detail naming the data error (PGS-/XSV-/SOP- code first). */
void ad_method_fault(struct sim_response *resp, const struct ad_call *call, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

const char *ad_attr(xmlNodePtr el, const char *name, char *buf, size_t bufsize);
xmlNodePtr ad_first_elem(xmlNodePtr n);
xmlNodePtr ad_next_elem(xmlNodePtr n);
/* Text of a string/boolean parameter, or "" */
const char *ad_param_text(const struct ad_call *call, size_t i, char *buf, size_t bufsize);
/* First element child of a DOMElement/DOMDocument parameter, or NULL. */
xmlNodePtr ad_param_doc(const struct ad_call *call, size_t i);

void ad_soaprouter(struct sim *sim, struct sim_request *req, struct sim_response *resp);

/* --- method handlers (call params: [0] = session token, then the method's) --- */
void ad_write(struct sim *sim, struct sim_request *req, struct ad_call *call,
              struct sim_response *resp);
void ad_execute_query(struct sim *sim, struct sim_request *req, struct ad_call *call,
                      struct sim_response *resp);
void ad_subscribe(struct sim *sim, struct sim_request *req, struct ad_call *call,
                  struct sim_response *resp);

/* --- shared by write and subscribe (adobe_write.c) --- */

/* Undo log: a failing WriteCollection leaves nothing behind (one
 * transaction, as Campaign writes a collection). */
struct ad_undo;
struct ad_undo *ad_undo_new(void);
void ad_undo_rollback(struct ad_undo *u);
void ad_undo_free(struct ad_undo *u);

/* Looks a recipient (or group) up by the element's _key (comma-separated
 * XPaths: "@email", "email", "[@memberKey]", "@email,@memberKey"); *nkeys
 * 0 means no key could be formed. Returns the oldest match or NULL. err
 * gets a message if the key is malformed (return -1). */
int ad_find_by_key(struct sim *sim, struct ad_schema *s, xmlNodePtr el, int64_t now,
                   struct sim_record **out, size_t *nkeys, char *err, size_t errlen);
/* Applies the element's attributes to rec (created when rec == NULL).
 * Returns the record, or NULL with a data fault text in err. */
struct sim_record *ad_apply_attrs(struct sim *sim, struct ad_schema *s, struct sim_record *rec,
                                  xmlNodePtr el, int64_t now, struct ad_undo *u, char *err,
                                  size_t errlen);
/* Records a change to rec before it happens (update). */
void ad_undo_touch(struct ad_undo *u, struct ad_schema *s, struct sim_record *rec);
/* Creates a row (subscription, subHisto, rcpGrpRel, group) with props. */
struct sim_record *ad_row_create(struct sim *sim, struct ad_schema *s, json_t *props, int64_t now,
                                 struct ad_undo *u);
/* Hard delete of one row, logged. */
void ad_row_remove(struct ad_schema *s, struct sim_record *rec, struct ad_undo *u);

#endif
