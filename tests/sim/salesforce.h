/* Salesforce flavour internals shared by salesforce_*.c.
 *
 * Records live in the core store, one collection per sObject ("Contact",
 * "TransactionJournal", ...), properties as strings keyed by the field's API
 * name. The flavour adds a schema (field types, lengths, required, external
 * id, unique), 18-character Salesforce ids derived from the store's numeric
 * id, query cursors, the delete log for getDeleted, Bulk API 2.0 jobs and the
 * API request budget. */
#ifndef CRMSIM_SALESFORCE_H
#define CRMSIM_SALESFORCE_H

#include "sim.h"
#include "sim_store.h"

/* Route flags (struct sim_route.flags). */
#define SF_NOAUTH 0x1u /* the token endpoint: no session, no API budget */

#define SF_COLLECTION_MAX 200
#define SF_MAX_CURSORS 10 /* open query cursors per user, as Salesforce allows */
#define SF_DELETE_LOG_DAYS 15

enum sf_type {
    SF_T_ID,
    SF_T_STRING,
    SF_T_EMAIL,
    SF_T_PHONE,
    SF_T_BOOL,
    SF_T_DOUBLE,
    SF_T_DATE,
    SF_T_DATETIME,
    SF_T_REF,
    SF_T_PICKLIST,
};

#define SF_F_REQUIRED 0x01u /* required on create (and cannot be set to null) */
#define SF_F_EXTID 0x02u    /* External ID attribute: upsert key */
#define SF_F_UNIQUE 0x04u   /* Unique attribute (case-sensitive) */
#define SF_F_SYSTEM 0x08u   /* Id, CreatedDate, ...: from the record, never written */
#define SF_F_READONLY 0x10u /* computed (PointsBalance) */
#define SF_F_NOUPDATE 0x20u /* createable, not updateable (CampaignMember.ContactId) */

#define SF_PICKLIST_MAX 8

struct sf_field {
    char name[64];
    enum sf_type type;
    int length; /* strings; 0 = no limit */
    unsigned flags;
    char ref[48];                            /* SF_T_REF: the referenced sObject */
    const char *values[SF_PICKLIST_MAX + 1]; /* SF_T_PICKLIST, NULL-terminated */
};

struct sf_deleted {
    uint64_t num; /* store id */
    int64_t ms;
};

struct sf_object {
    char name[48];
    char prefix[4];
    bool hard_delete; /* deletes skip the recycle bin (CampaignMember) */
    struct sf_field *fields;
    size_t nfields;
    json_t *by_name; /* lower-case field name -> index */
    struct sim_coll *coll;
    struct sf_deleted *dels; /* delete log, oldest first */
    size_t ndels, capdels;
    int64_t purged_ms; /* deletedDate of the newest entry purged from the log */
};

struct sf_cursor {
    char locator[20]; /* "01g" + 15 */
    struct sf_object *obj;
    uint64_t *nums; /* matched store ids, in query order */
    size_t n;
    int *cols; /* selected field indexes */
    size_t ncols;
    int64_t used_ms;
};

struct sf_job;

struct sf_state {
    struct sf_object *objects;
    size_t nobjects;
    struct sf_cursor *cursors[SF_MAX_CURSORS];
    uint64_t next_cursor;
    struct sf_job **jobs;
    size_t njobs;
    uint64_t next_job;
    uint64_t api_used;
    int64_t api_day;
    int64_t started_ms;
    void *jwt_key; /* EVP_PKEY * */
    /* CampaignMembers created: "<CampaignId>|<ContactId>" -> record number
     * (salesforce_write.c; an entry whose record is gone is stale). */
    json_t *cm_pairs;
    /* Requests still to refuse with the concurrent long-running request
     * limit (seeded as "concurrentLimit": N). */
    int concurrent_refusals;
};

static inline struct sf_state *sf_state(struct sim *sim)
{
    return sim->flavor_data;
}

/* salesforce.c */
void sf_error(struct sim_response *resp, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* {"message", "errorCode"/"statusCode", "fields"} for item results. */
json_t *sf_item_error(const char *code, json_t *fields_take, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "http://127.0.0.1:PORT" (https with TLS). */
void sf_base_url(struct sim *sim, char *buf, size_t bufsize);
/* The whole-second stamp Salesforce keeps for CreatedDate/SystemModstamp. */
int64_t sf_stamp(int64_t now_ms);
void sf_cursors_clear(struct sf_state *sf);

/* salesforce_schema.c */
int sf_schema_init(struct sf_state *sf, struct sim_store *store);
void sf_schema_fini(struct sf_state *sf);
struct sf_object *sf_object_find(struct sf_state *sf, const char *name);
/* Field index by name, case-insensitive; -1 if unknown. */
int sf_field_find(const struct sf_object *obj, const char *name);
int sf_field_add(struct sf_object *obj, const struct sf_field *f);
/* Adds custom fields from seed JSON {"Contact": [{"name","type",...}]}. */
int sf_schema_seed(struct sf_state *sf, json_t *fields, char *err, size_t errlen);
json_t *sf_schema_dump(const struct sf_state *sf);
/* 18-character id of store record `num`. buf >= 19 bytes. */
void sf_id_format(const struct sf_object *obj, uint64_t num, char *buf);
/* Parses a 15- or 18-character id of this object. Returns 0 or -1. */
int sf_id_parse(const struct sf_object *obj, const char *id, uint64_t *num);
/* The object an id belongs to (by key prefix), or NULL. */
struct sf_object *sf_object_of_id(struct sf_state *sf, const char *id);
/* A field's value as JSON for responses (typed); new reference. */
json_t *sf_field_json(const struct sf_object *obj, const struct sf_field *f,
                      const struct sim_record *rec);
/* The record as the REST API shows it: attributes + fields (all if cols is
 * NULL). version is "v60.0". */
json_t *sf_record_json(const struct sf_object *obj, const struct sim_record *rec, const int *cols,
                       size_t ncols, const char *version);
/* The text form of a field for CSV results ("" for null). */
void sf_field_text(const struct sf_object *obj, const struct sf_field *f,
                   const struct sim_record *rec, char *buf, size_t bufsize);
const char *sf_datetime(int64_t ms, char *buf, size_t bufsize); /* ...000+0000 */

/* salesforce_auth.c */
int sf_auth_init(struct sim *sim, char *err, size_t errlen);
void sf_auth_fini(struct sim *sim);
void sf_oauth_token(struct sim *sim, struct sim_request *req, struct sim_response *resp);

/* salesforce_write.c: the write path shared by REST and Bulk. */
enum sf_op { SF_OP_CREATE, SF_OP_UPDATE, SF_OP_UPSERT };

struct sf_item {
    json_t *in;                /* borrowed: field -> value (JSON types; strings from CSV) */
    struct sim_record *target; /* matched record (update, upsert) */
    json_t *vals;              /* canonical field -> string or null */
    json_t *errors;            /* array, NULL while the item is fine */
    bool created;
    char id[19];
};

/* Validates and applies n items of one object. Whole-request problems
 * (unknown field, JSON type mismatch) return -1 with a Salesforce errorCode
 * and message; item problems go into items[i].errors. from_csv: values are
 * text to parse by field type (Bulk API). */
int sf_write(struct sim *sim, struct sf_object *obj, enum sf_op op, int ext_field,
             struct sf_item *items, size_t n, bool all_or_none, bool from_csv, int64_t now,
             char *code, size_t codelen, char *msg, size_t msglen);
void sf_items_free(struct sf_item *items, size_t n);
/* Deletes one record: soft (recycle bin, IsDeleted) or hard per object. */
void sf_delete(struct sim *sim, struct sf_object *obj, struct sim_record *rec, int64_t now);
/* Every record of obj matching value in field (index for unique fields). */
size_t sf_find_by_field(struct sf_object *obj, int field, const char *value,
                        struct sim_record **out, size_t max);

/* salesforce_query.c */
void sf_query(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void sf_query_all(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void sf_query_more(struct sim *sim, struct sim_request *req, struct sim_response *resp);

/* salesforce_sobjects.c */
void sf_collections_create(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void sf_collections_update(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void sf_collections_upsert(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void sf_collections_delete(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void sf_sobject_create(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void sf_sobject_get(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void sf_sobject_upsert(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void sf_sobject_delete(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void sf_get_deleted(struct sim *sim, struct sim_request *req, struct sim_response *resp);

/* salesforce_bulk.c */
void sf_bulk_create(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void sf_bulk_upload(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void sf_bulk_patch(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void sf_bulk_get(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void sf_bulk_delete(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void sf_bulk_results(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void sf_bulk_free_all(struct sf_state *sf);
json_t *sf_bulk_dump(const struct sf_state *sf);

#endif
