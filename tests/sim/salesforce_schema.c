/* Salesforce flavour: the sObject schema (what fields exist, their types
 * and attributes), record ids, and how a stored record is shown. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "salesforce.h"
#include "sim_time.h"

/* --- default schema ---
 * Standard fields as the object references document them; custom fields
 * (__c) are this project's choice (tests/sim/README.md) and more can be
 * declared by seeding {"flavor_state": {"fields": {...}}}. */

struct def_field {
    const char *name;
    enum sf_type type;
    int length;
    unsigned flags;
    const char *ref;
    const char *values; /* picklist, comma-separated */
};

struct def_object {
    const char *name;
    const char *prefix;
    bool hard_delete;
    const struct def_field *fields;
};

#define SYSTEM_FIELDS                                                                              \
    {"Id", SF_T_ID, 18, SF_F_SYSTEM, NULL, NULL},                                                  \
        {"IsDeleted", SF_T_BOOL, 0, SF_F_SYSTEM, NULL, NULL},                                      \
        {"CreatedDate", SF_T_DATETIME, 0, SF_F_SYSTEM, NULL, NULL},                                \
        {"LastModifiedDate", SF_T_DATETIME, 0, SF_F_SYSTEM, NULL, NULL},                           \
    {                                                                                              \
        "SystemModstamp", SF_T_DATETIME, 0, SF_F_SYSTEM, NULL, NULL                                \
    }

static const struct def_field contact_fields[] = {
    SYSTEM_FIELDS,
    {"FirstName", SF_T_STRING, 40, 0, NULL, NULL},
    {"LastName", SF_T_STRING, 80, SF_F_REQUIRED, NULL, NULL},
    {"Email", SF_T_EMAIL, 80, 0, NULL, NULL},
    {"Phone", SF_T_PHONE, 40, 0, NULL, NULL},
    {"MobilePhone", SF_T_PHONE, 40, 0, NULL, NULL},
    {"Birthdate", SF_T_DATE, 0, 0, NULL, NULL}, /* standard Contact field */
    {"HasOptedOutOfEmail", SF_T_BOOL, 0, 0, NULL, NULL},
    {"HasOptedOutOfFax", SF_T_BOOL, 0, 0, NULL, NULL},
    {"DoNotCall", SF_T_BOOL, 0, 0, NULL, NULL},
    {"IndividualId", SF_T_REF, 18, 0, "Individual", NULL},
    {"Member_Key__c", SF_T_STRING, 64, SF_F_EXTID | SF_F_UNIQUE, NULL, NULL},
    {"Legacy_Key__c", SF_T_STRING, 64, SF_F_EXTID, NULL, NULL},
    {"Loyalty_Points__c", SF_T_DOUBLE, 0, 0, NULL, NULL},
    {"Loyalty_Tier__c", SF_T_STRING, 40, 0, NULL, NULL},
    {"SMS_Opt_Out__c", SF_T_BOOL, 0, 0, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};

static const struct def_field individual_fields[] = {
    SYSTEM_FIELDS,
    {"FirstName", SF_T_STRING, 40, 0, NULL, NULL},
    {"LastName", SF_T_STRING, 80, SF_F_REQUIRED, NULL, NULL},
    {"HasOptedOutTracking", SF_T_BOOL, 0, 0, NULL, NULL},
    {"HasOptedOutProcessing", SF_T_BOOL, 0, 0, NULL, NULL},
    {"HasOptedOutSolicit", SF_T_BOOL, 0, 0, NULL, NULL},
    {"ShouldForget", SF_T_BOOL, 0, 0, NULL, NULL},
    {"Member_Key__c", SF_T_STRING, 64, SF_F_EXTID | SF_F_UNIQUE, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};

static const struct def_field purpose_fields[] = {
    SYSTEM_FIELDS,
    {"Name", SF_T_STRING, 80, SF_F_REQUIRED, NULL, NULL},
    {"Description", SF_T_STRING, 1000, 0, NULL, NULL},
    {"CanDataSubjectOptOut", SF_T_BOOL, 0, 0, NULL, NULL},
    {"Purpose_Key__c", SF_T_STRING, 64, SF_F_EXTID | SF_F_UNIQUE, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};

static const struct def_field cptc_fields[] = {
    SYSTEM_FIELDS,
    {"Name", SF_T_STRING, 255, SF_F_REQUIRED, NULL, NULL},
    {"PartyId", SF_T_REF, 18, SF_F_REQUIRED, "Individual", NULL},
    {"ContactPointType", SF_T_PICKLIST, 40, 0, NULL, "Email,Phone,MailingAddress,Web,Social"},
    {"DataUsePurposeId", SF_T_REF, 18, 0, "DataUsePurpose", NULL},
    {"PrivacyConsentStatus", SF_T_PICKLIST, 40, SF_F_REQUIRED, NULL, "OptIn,OptOut,Seen,NotSeen"},
    {"CaptureDate", SF_T_DATETIME, 0, 0, NULL, NULL},
    {"CaptureSource", SF_T_STRING, 255, 0, NULL, NULL},
    {"CaptureContactPointType", SF_T_PICKLIST, 40, 0, NULL, "Email,Phone,Web,Social"},
    {"DoubleConsentCaptureDate", SF_T_DATETIME, 0, 0, NULL, NULL},
    {"EffectiveFrom", SF_T_DATETIME, 0, 0, NULL, NULL},
    {"EffectiveTo", SF_T_DATETIME, 0, 0, NULL, NULL},
    /* What tells an SMS consent from a phone one (both ContactPointType
     * Phone): the EngagementChannelType it names. */
    {"EngagementChannelTypeId", SF_T_REF, 18, 0, "EngagementChannelType", NULL},
    {"Consent_Key__c", SF_T_STRING, 128, SF_F_EXTID | SF_F_UNIQUE, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};

/* EngagementChannelType: Name is an idLookup string, not unique. */
static const struct def_field ect_fields[] = {
    SYSTEM_FIELDS,
    {"Name", SF_T_STRING, 255, SF_F_REQUIRED, NULL, NULL},
    {"ContactPointType", SF_T_PICKLIST, 40, 0, NULL,
     "Email,InPerson,MailingAddress,Phone,Social,Video,Web"},
    {"IsActive", SF_T_BOOL, 0, 0, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};

static const struct def_field campaign_fields[] = {
    SYSTEM_FIELDS,
    {"Name", SF_T_STRING, 80, SF_F_REQUIRED, NULL, NULL},
    {"IsActive", SF_T_BOOL, 0, 0, NULL, NULL},
    {"Campaign_Key__c", SF_T_STRING, 64, SF_F_EXTID | SF_F_UNIQUE, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};

static const struct def_field member_fields[] = {
    SYSTEM_FIELDS,
    {"CampaignId", SF_T_REF, 18, SF_F_REQUIRED | SF_F_NOUPDATE, "Campaign", NULL},
    {"ContactId", SF_T_REF, 18, SF_F_NOUPDATE, "Contact", NULL},
    {"Status", SF_T_STRING, 40, 0, NULL, NULL},
    {"Membership_Key__c", SF_T_STRING, 128, SF_F_EXTID | SF_F_UNIQUE, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};

static const struct def_field program_fields[] = {
    SYSTEM_FIELDS,
    {"Name", SF_T_STRING, 80, SF_F_REQUIRED, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};

static const struct def_field lpm_fields[] = {
    SYSTEM_FIELDS,
    {"ProgramId", SF_T_REF, 18, SF_F_REQUIRED, "LoyaltyProgram", NULL},
    {"ContactId", SF_T_REF, 18, 0, "Contact", NULL},
    {"MembershipNumber", SF_T_STRING, 255, SF_F_REQUIRED | SF_F_EXTID | SF_F_UNIQUE, NULL, NULL},
    {"MemberStatus", SF_T_PICKLIST, 40, 0, NULL, "Active,Inactive,Custom"},
    /* Required, as the Loyalty Management object reference has them. */
    {"MemberType", SF_T_PICKLIST, 40, SF_F_REQUIRED, NULL, "Individual,Corporate"},
    {"EnrollmentDate", SF_T_DATE, 0, SF_F_REQUIRED, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};

/* JournalType / JournalSubType: the types a program process handles
 * ("Accrual", "Redemption"); seeded by tests. */
static const struct def_field jtype_fields[] = {
    SYSTEM_FIELDS,
    {"Name", SF_T_STRING, 80, SF_F_REQUIRED, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};

static const struct def_field jsubtype_fields[] = {
    SYSTEM_FIELDS,
    {"Name", SF_T_STRING, 80, SF_F_REQUIRED, NULL, NULL},
    {"JournalTypeId", SF_T_REF, 18, SF_F_REQUIRED, "JournalType", NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};

/* A program's currencies: qualifying (tier) and non-qualifying (points). */
static const struct def_field lpcur_fields[] = {
    SYSTEM_FIELDS,
    {"Name", SF_T_STRING, 80, SF_F_REQUIRED, NULL, NULL},
    {"LoyaltyProgramId", SF_T_REF, 18, SF_F_REQUIRED, "LoyaltyProgram", NULL},
    {"CurrencyType", SF_T_PICKLIST, 40, 0, NULL, "Qualifying,NonQualifying"},
    {"IsActive", SF_T_BOOL, 0, 0, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};

static const struct def_field journal_fields[] = {
    SYSTEM_FIELDS,
    /* LoyaltyProgramId (ProgramId is LoyaltyProgramMember's); no points
     * field: a program process computes points from the journal. */
    {"LoyaltyProgramId", SF_T_REF, 18, 0, "LoyaltyProgram", NULL},
    {"MemberId", SF_T_REF, 18, SF_F_REQUIRED, "LoyaltyProgramMember", NULL},
    {"ActivityDate", SF_T_DATETIME, 0, SF_F_REQUIRED, NULL, NULL},
    /* An idLookup string, not an external id, not unique. */
    {"ExternalTransactionNumber", SF_T_STRING, 40, 0, NULL, NULL},
    {"JournalTypeId", SF_T_REF, 18, 0, "JournalType", NULL},
    {"JournalSubTypeId", SF_T_REF, 18, 0, "JournalSubType", NULL},
    {"Status", SF_T_PICKLIST, 40, 0, NULL, "Pending,Processed,Cancelled,Error"},
    {"TransactionAmount", SF_T_DOUBLE, 0, 0, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};

static const struct def_field currency_fields[] = {
    SYSTEM_FIELDS,
    {"Name", SF_T_STRING, 80, 0, NULL, NULL},
    /* One row per member and program currency. */
    {"LoyaltyMemberId", SF_T_REF, 18, SF_F_REQUIRED | SF_F_NOUPDATE, "LoyaltyProgramMember", NULL},
    {"LoyaltyProgramCurrencyId", SF_T_REF, 18, 0, "LoyaltyProgramCurrency", NULL},
    {"PointsBalance", SF_T_DOUBLE, 0, SF_F_READONLY, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};

/* Key prefixes: 003/701/00v are Salesforce's well-known ones; the others
 * are guesses in the same shape (see README.md). */
static const struct def_object default_objects[] = {
    {"Contact", "003", false, contact_fields},
    {"Individual", "0PK", false, individual_fields},
    {"DataUsePurpose", "0ZW", false, purpose_fields},
    {"ContactPointTypeConsent", "0ZY", false, cptc_fields},
    {"EngagementChannelType", "0eC", false, ect_fields},
    {"Campaign", "701", false, campaign_fields},
    {"CampaignMember", "00v", true, member_fields},
    {"LoyaltyProgram", "0lp", false, program_fields},
    {"LoyaltyProgramMember", "0lM", false, lpm_fields},
    {"TransactionJournal", "0lV", false, journal_fields},
    {"LoyaltyMemberCurrency", "0lz", false, currency_fields},
    {"JournalType", "0lE", false, jtype_fields},
    {"JournalSubType", "0lS", false, jsubtype_fields},
    {"LoyaltyProgramCurrency", "0lc", false, lpcur_fields},
};

#define NDEFAULT (sizeof(default_objects) / sizeof(default_objects[0]))

static void lower(const char *s, char *out, size_t outlen)
{
    size_t i = 0;

    for (; s[i] != '\0' && i + 1 < outlen; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[i] = '\0';
}

int sf_field_add(struct sf_object *obj, const struct sf_field *f)
{
    struct sf_field *grown;
    char key[64];

    if (sf_field_find(obj, f->name) >= 0)
        return -1;
    grown = realloc(obj->fields, (obj->nfields + 1) * sizeof(*grown));
    if (grown == NULL)
        return -1;
    obj->fields = grown;
    obj->fields[obj->nfields] = *f;
    lower(f->name, key, sizeof(key));
    json_object_set_new(obj->by_name, key, json_integer((json_int_t)obj->nfields));
    obj->nfields++;
    if ((f->flags & SF_F_UNIQUE) && sim_coll_add_unique(obj->coll, f->name) != 0)
        return -1;
    return 0;
}

/* Picklist values point into a static string or into `storage` kept for
 * the flavour's lifetime; defaults use static copies. */
static json_t *picklist_strings;

static void set_picklist(struct sf_field *f, const char *csv)
{
    size_t n = 0;
    const char *p = csv;

    if (picklist_strings == NULL)
        picklist_strings = json_array();
    while (p != NULL && *p != '\0' && n < SF_PICKLIST_MAX) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char buf[64];
        json_t *s;

        snprintf(buf, sizeof(buf), "%.*s", (int)len, p);
        s = json_string(buf);
        json_array_append_new(picklist_strings, s);
        f->values[n++] = json_string_value(s);
        p = comma ? comma + 1 : NULL;
    }
    f->values[n] = NULL;
}

int sf_schema_init(struct sf_state *sf, struct sim_store *store)
{
    sf->objects = calloc(NDEFAULT, sizeof(*sf->objects));
    if (sf->objects == NULL)
        return -1;
    sf->nobjects = NDEFAULT;
    for (size_t i = 0; i < NDEFAULT; i++) {
        const struct def_object *d = &default_objects[i];
        struct sf_object *obj = &sf->objects[i];

        snprintf(obj->name, sizeof(obj->name), "%s", d->name);
        snprintf(obj->prefix, sizeof(obj->prefix), "%s", d->prefix);
        obj->hard_delete = d->hard_delete;
        obj->by_name = json_object();
        obj->coll = sim_store_coll(store, d->name, true);
        if (obj->coll == NULL || obj->by_name == NULL)
            return -1;
        for (const struct def_field *df = d->fields; df->name != NULL; df++) {
            struct sf_field f;

            memset(&f, 0, sizeof(f));
            snprintf(f.name, sizeof(f.name), "%s", df->name);
            f.type = df->type;
            f.length = df->length;
            f.flags = df->flags;
            if (df->ref != NULL)
                snprintf(f.ref, sizeof(f.ref), "%s", df->ref);
            if (df->values != NULL)
                set_picklist(&f, df->values);
            if (sf_field_add(obj, &f) != 0)
                return -1;
        }
    }
    return 0;
}

void sf_schema_fini(struct sf_state *sf)
{
    for (size_t i = 0; i < sf->nobjects; i++) {
        free(sf->objects[i].fields);
        free(sf->objects[i].dels);
        json_decref(sf->objects[i].by_name);
    }
    free(sf->objects);
    sf->objects = NULL;
    sf->nobjects = 0;
    json_decref(picklist_strings);
    picklist_strings = NULL;
}

struct sf_object *sf_object_find(struct sf_state *sf, const char *name)
{
    for (size_t i = 0; i < sf->nobjects; i++) {
        if (strcasecmp(sf->objects[i].name, name) == 0)
            return &sf->objects[i];
    }
    return NULL;
}

int sf_field_find(const struct sf_object *obj, const char *name)
{
    char key[64];
    json_t *v;

    if (strlen(name) >= sizeof(key))
        return -1;
    lower(name, key, sizeof(key));
    v = json_object_get(obj->by_name, key);
    return v ? (int)json_integer_value(v) : -1;
}

static const char *const type_names[] = {"id",     "string", "email",    "phone",     "boolean",
                                         "double", "date",   "datetime", "reference", "picklist"};

static int type_from_name(const char *s, enum sf_type *t)
{
    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
        if (strcasecmp(type_names[i], s) == 0) {
            *t = (enum sf_type)i;
            return 0;
        }
    }
    return -1;
}

/* {"Contact": [{"name": "Store__c", "type": "string", "length": 40,
 *   "externalId": false, "unique": false, "required": false,
 *   "referenceTo": "...", "picklistValues": "A,B"}]} */
int sf_schema_seed(struct sf_state *sf, json_t *fields, char *err, size_t errlen)
{
    const char *oname;
    json_t *arr;

    if (fields == NULL)
        return 0;
    if (!json_is_object(fields)) {
        snprintf(err, errlen, "flavor_state.fields: expected {\"SObject\": [field, ...]}");
        return -1;
    }
    json_object_foreach(fields, oname, arr)
    {
        struct sf_object *obj = sf_object_find(sf, oname);
        size_t i;
        json_t *jf;

        if (obj == NULL || !json_is_array(arr)) {
            snprintf(err, errlen, "flavor_state.fields.%s: unknown sObject or not an array", oname);
            return -1;
        }
        json_array_foreach(arr, i, jf)
        {
            struct sf_field f;
            const char *name = json_string_value(json_object_get(jf, "name"));
            const char *type = json_string_value(json_object_get(jf, "type"));
            const char *ref = json_string_value(json_object_get(jf, "referenceTo"));
            const char *pick = json_string_value(json_object_get(jf, "picklistValues"));

            memset(&f, 0, sizeof(f));
            if (name == NULL || strlen(name) >= sizeof(f.name) || strlen(name) < 4 ||
                strcmp(name + strlen(name) - 3, "__c") != 0 ||
                type_from_name(type ? type : "string", &f.type) != 0 || f.type == SF_T_ID) {
                snprintf(err, errlen,
                         "flavor_state.fields.%s[%zu]: need a custom \"name\" ending in __c and "
                         "a \"type\" (string email phone boolean double date datetime "
                         "reference picklist)",
                         oname, i);
                return -1;
            }
            snprintf(f.name, sizeof(f.name), "%s", name);
            f.length = (int)json_integer_value(json_object_get(jf, "length"));
            if (f.length == 0 && (f.type == SF_T_STRING || f.type == SF_T_PICKLIST))
                f.length = 255;
            if (json_is_true(json_object_get(jf, "externalId")))
                f.flags |= SF_F_EXTID;
            if (json_is_true(json_object_get(jf, "unique")))
                f.flags |= SF_F_UNIQUE;
            if (json_is_true(json_object_get(jf, "required")))
                f.flags |= SF_F_REQUIRED;
            if (ref != NULL)
                snprintf(f.ref, sizeof(f.ref), "%s", ref);
            if (pick != NULL)
                set_picklist(&f, pick);
            if ((f.type == SF_T_REF && sf_object_find(sf, f.ref) == NULL) ||
                sf_field_add(obj, &f) != 0) {
                snprintf(err, errlen,
                         "flavor_state.fields.%s[%zu]: field exists, bad reference, or "
                         "existing values collide with unique",
                         oname, i);
                return -1;
            }
        }
    }
    return 0;
}

json_t *sf_schema_dump(const struct sf_state *sf)
{
    json_t *out = json_object();

    for (size_t i = 0; i < sf->nobjects; i++) {
        const struct sf_object *obj = &sf->objects[i];
        json_t *arr = json_array();

        for (size_t k = 0; k < obj->nfields; k++) {
            const struct sf_field *f = &obj->fields[k];
            json_t *o = json_pack("{s:s, s:s}", "name", f->name, "type", type_names[f->type]);

            if (f->length > 0 && f->type != SF_T_ID && f->type != SF_T_REF)
                json_object_set_new(o, "length", json_integer(f->length));
            if (f->flags & SF_F_EXTID)
                json_object_set_new(o, "externalId", json_true());
            if (f->flags & SF_F_UNIQUE)
                json_object_set_new(o, "unique", json_true());
            if (f->flags & SF_F_REQUIRED)
                json_object_set_new(o, "required", json_true());
            if (f->flags & (SF_F_SYSTEM | SF_F_READONLY))
                json_object_set_new(o, "readOnly", json_true());
            if (f->ref[0] != '\0')
                json_object_set_new(o, "referenceTo", json_string(f->ref));
            json_array_append_new(arr, o);
        }
        json_object_set_new(out, obj->name,
                            json_pack("{s:s, s:b, s:o}", "keyPrefix", obj->prefix, "hardDelete",
                                      obj->hard_delete, "fields", arr));
    }
    return out;
}

/* --- ids ---
 * 15 characters: key prefix (3), "Sm0" (pod and reserved digits), and the
 * store id in 9 base-62 digits. The digit alphabet is in ASCII order, so
 * comparing ids as strings orders them like the store ids (ORDER BY Id and
 * an "Id > 'x'" cursor agree with creation order). The 18-character form
 * appends Salesforce's documented case-safe checksum: one character per
 * 5-character chunk, whose bit i says "character i is upper case". */

static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static void id_suffix(const char *id15, char *out3)
{
    static const char map[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

    for (int chunk = 0; chunk < 3; chunk++) {
        int flags = 0;

        for (int i = 0; i < 5; i++) {
            char c = id15[chunk * 5 + i];

            if (c >= 'A' && c <= 'Z')
                flags |= 1 << i;
        }
        out3[chunk] = map[flags];
    }
}

void sf_id_format(const struct sf_object *obj, uint64_t num, char *buf)
{
    memcpy(buf, obj->prefix, 3);
    memcpy(buf + 3, "Sm0", 3);
    for (int i = 14; i >= 6; i--) {
        buf[i] = b62[num % 62];
        num /= 62;
    }
    id_suffix(buf, buf + 15);
    buf[18] = '\0';
}

int sf_id_parse(const struct sf_object *obj, const char *id, uint64_t *num)
{
    size_t len = strlen(id);
    uint64_t n = 0;
    char suffix[3];

    if ((len != 15 && len != 18) || strncmp(id, obj->prefix, 3) != 0 ||
        strncmp(id + 3, "Sm0", 3) != 0)
        return -1;
    for (int i = 6; i < 15; i++) {
        const char *p = strchr(b62, id[i]);

        if (p == NULL || id[i] == '\0')
            return -1;
        n = n * 62 + (uint64_t)(p - b62);
    }
    if (len == 18) {
        id_suffix(id, suffix);
        if (strncasecmp(suffix, id + 15, 3) != 0)
            return -1;
    }
    *num = n;
    return 0;
}

struct sf_object *sf_object_of_id(struct sf_state *sf, const char *id)
{
    if (strlen(id) < 3)
        return NULL;
    for (size_t i = 0; i < sf->nobjects; i++) {
        if (strncmp(sf->objects[i].prefix, id, 3) == 0)
            return &sf->objects[i];
    }
    return NULL;
}

/* --- values --- */

const char *sf_datetime(int64_t ms, char *buf, size_t bufsize)
{
    char t[32];
    size_t n;

    sim_time_format(ms, t, sizeof(t)); /* 2026-11-24T10:00:00.123Z */
    n = strlen(t);
    if (n > 0 && t[n - 1] == 'Z')
        t[n - 1] = '\0';
    snprintf(buf, bufsize, "%s+0000", t);
    return buf;
}

json_t *sf_field_json(const struct sf_object *obj, const struct sf_field *f,
                      const struct sim_record *rec)
{
    char buf[40];
    const char *v;

    if (f->flags & SF_F_SYSTEM) {
        if (strcmp(f->name, "Id") == 0) {
            sf_id_format(obj, rec->id, buf);
            return json_string(buf);
        }
        if (strcmp(f->name, "IsDeleted") == 0)
            return json_boolean(rec->archived);
        if (strcmp(f->name, "CreatedDate") == 0)
            return json_string(sf_datetime(rec->created_ms, buf, sizeof(buf)));
        return json_string(sf_datetime(rec->updated_ms, buf, sizeof(buf)));
    }
    v = json_string_value(json_object_get(rec->props, f->name));
    switch (f->type) {
    case SF_T_BOOL:
        return json_boolean(v != NULL && strcmp(v, "true") == 0);
    case SF_T_DOUBLE:
        return v ? json_real(strtod(v, NULL)) : json_null();
    case SF_T_DATETIME: {
        int64_t ms;

        if (v == NULL || sim_time_parse(v, &ms) != 0)
            return json_null();
        return json_string(sf_datetime(ms, buf, sizeof(buf)));
    }
    default:
        return v ? json_string(v) : json_null();
    }
}

void sf_field_text(const struct sf_object *obj, const struct sf_field *f,
                   const struct sim_record *rec, char *buf, size_t bufsize)
{
    json_t *j = sf_field_json(obj, f, rec);

    if (json_is_string(j))
        snprintf(buf, bufsize, "%s", json_string_value(j));
    else if (json_is_boolean(j))
        snprintf(buf, bufsize, "%s", json_is_true(j) ? "true" : "false");
    else if (json_is_real(j))
        snprintf(buf, bufsize, "%.17g", json_real_value(j));
    else
        buf[0] = '\0';
    json_decref(j);
}

json_t *sf_record_json(const struct sf_object *obj, const struct sim_record *rec, const int *cols,
                       size_t ncols, const char *version)
{
    char id[19], url[160];
    json_t *o;
    size_t n = cols ? ncols : obj->nfields;

    sf_id_format(obj, rec->id, id);
    snprintf(url, sizeof(url), "/services/data/%s/sobjects/%s/%s", version, obj->name, id);
    o = json_pack("{s:{s:s, s:s}}", "attributes", "type", obj->name, "url", url);
    for (size_t i = 0; i < n; i++) {
        const struct sf_field *f = &obj->fields[cols ? cols[i] : (int)i];

        json_object_set_new(o, f->name, sf_field_json(obj, f, rec));
    }
    return o;
}
