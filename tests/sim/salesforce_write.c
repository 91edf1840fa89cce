/* Salesforce flavour: the write path shared by sObject Collections, the
 * single-record resources and Bulk API 2.0 jobs.
 *
 * Two passes. The first resolves each item's target (by Id or external id),
 * converts and validates its fields and checks required and unique fields,
 * against the store and against earlier items of the same request (as a
 * transaction would see them). The second applies the items that passed,
 * or none of them with allOrNone when any failed. Unique fields use the
 * store's value index, so an upsert of 200 records is 200 hash lookups. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "salesforce.h"
#include "sim_time.h"

void sf_items_free(struct sf_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_decref(items[i].vals);
        json_decref(items[i].errors);
    }
    free(items);
}

static void add_error(struct sf_item *it, json_t *err_take)
{
    if (it->errors == NULL)
        it->errors = json_array();
    json_array_append_new(it->errors, err_take);
}

static json_t *one_field(const char *name)
{
    return json_pack("[s]", name);
}

size_t sf_find_by_field(struct sf_object *obj, int field, const char *value,
                        struct sim_record **out, size_t max)
{
    const struct sf_field *f = &obj->fields[field];
    size_t n = 0;

    if (f->flags & SF_F_UNIQUE) {
        struct sim_record *rec = sim_coll_find_unique(obj->coll, f->name, value);

        if (rec != NULL && max > 0)
            out[n++] = rec;
        return n;
    }
    /* A non-unique external id has no index in the store: scan. Only the
     * duplicate-key demonstration field (Legacy_Key__c) takes this path. */
    for (size_t i = 0; i < obj->coll->n; i++) {
        struct sim_record *rec = obj->coll->recs[i];
        const char *v;

        if (rec->archived)
            continue;
        v = json_string_value(json_object_get(rec->props, f->name));
        if (v != NULL && strcmp(v, value) == 0) {
            if (n < max)
                out[n] = rec;
            n++;
        }
    }
    return n;
}

static bool email_ok(const char *s)
{
    const char *at = strchr(s, '@');

    return at != NULL && at != s && strchr(at + 1, '.') != NULL && strchr(at + 1, '@') == NULL &&
           at[1] != '.' && s[strlen(s) - 1] != '.' && strchr(s, ' ') == NULL;
}

/* Converts one input value to the stored string (or JSON null). Returns 0,
 * 1 with an item error added, or -1 with a whole-request error. */
static int convert(struct sim *sim, const struct sf_field *f, json_t *in, bool from_csv,
                   struct sf_item *it, json_t **out, char *code, size_t codelen, char *msg,
                   size_t msglen)
{
    char buf[64];
    const char *s = json_string_value(in);

    *out = NULL;
    if (json_is_null(in) || (from_csv && s != NULL && strcmp(s, "#N/A") == 0)) {
        *out = json_null();
        return 0;
    }
    if (!from_csv && !json_is_string(in) && f->type != SF_T_BOOL && f->type != SF_T_DOUBLE) {
        snprintf(code, codelen, "JSON_PARSER_ERROR");
        snprintf(msg, msglen, "Cannot deserialize instance of string from %s value for %s",
                 json_is_object(in)  ? "START_OBJECT"
                 : json_is_array(in) ? "START_ARRAY"
                                     : "scalar",
                 f->name);
        return -1;
    }
    switch (f->type) {
    case SF_T_BOOL:
        if (json_is_boolean(in)) {
            *out = json_string(json_is_true(in) ? "true" : "false");
        } else if (from_csv && s != NULL &&
                   (strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0 ||
                    strcasecmp(s, "false") == 0 || strcmp(s, "0") == 0)) {
            *out =
                json_string(strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0 ? "true" : "false");
        } else if (from_csv) {
            add_error(it, sf_item_error("INVALID_TYPE_ON_FIELD_IN_RECORD", one_field(f->name),
                                        "%s: value not of required type: %s", f->name, s));
            return 1;
        } else {
            snprintf(code, codelen, "JSON_PARSER_ERROR");
            snprintf(msg, msglen, "Cannot deserialize instance of boolean from %s value for %s",
                     json_is_string(in) ? "VALUE_STRING" : "non-boolean", f->name);
            return -1;
        }
        return 0;
    case SF_T_DOUBLE: {
        double d;
        char *end = NULL;

        if (json_is_number(in)) {
            d = json_number_value(in);
        } else if (s != NULL) {
            errno = 0;
            d = strtod(s, &end);
            if (*s == '\0' || *end != '\0' || errno != 0 || !isfinite(d)) {
                add_error(it, sf_item_error("INVALID_TYPE_ON_FIELD_IN_RECORD", one_field(f->name),
                                            "%s: value not of required type: %s", f->name, s));
                return 1;
            }
        } else {
            snprintf(code, codelen, "JSON_PARSER_ERROR");
            snprintf(msg, msglen, "Cannot deserialize instance of double for %s", f->name);
            return -1;
        }
        snprintf(buf, sizeof(buf), "%.17g", d);
        *out = json_string(buf);
        return 0;
    }
    case SF_T_DATE:
    case SF_T_DATETIME: {
        int64_t ms;
        char t[32];

        if (sim_time_parse(s, &ms) != 0 || (f->type == SF_T_DATE && strlen(s) != 10) ||
            (f->type == SF_T_DATETIME && strlen(s) < 11) ||
            (s[0] >= '0' && strlen(s) > 10 && s[10] != 'T')) {
            add_error(it, sf_item_error("INVALID_TYPE_ON_FIELD_IN_RECORD", one_field(f->name),
                                        "%s: value not of required type: %s", f->name, s));
            return 1;
        }
        if (f->type == SF_T_DATE)
            *out = json_string(s);
        else
            *out = json_string(sim_time_format(ms, t, sizeof(t)));
        return 0;
    }
    case SF_T_REF: {
        struct sf_state *sf = sf_state(sim);
        struct sf_object *target = sf_object_find(sf, f->ref);
        uint64_t num;
        struct sim_record *rec;
        char id[19];

        if (target == NULL || sf_id_parse(target, s, &num) != 0) {
            add_error(it, sf_item_error("FIELD_INTEGRITY_EXCEPTION", one_field(f->name),
                                        "%s: id value of incorrect type: %s", f->name, s));
            return 1;
        }
        rec = sim_coll_get(target->coll, num);
        if (rec == NULL || rec->archived) {
            add_error(it, sf_item_error(rec ? "ENTITY_IS_DELETED" : "INVALID_CROSS_REFERENCE_KEY",
                                        one_field(f->name), "%s",
                                        rec ? "entity is deleted" : "invalid cross reference id"));
            return 1;
        }
        sf_id_format(target, num, id);
        *out = json_string(id);
        return 0;
    }
    case SF_T_PICKLIST: {
        bool ok = false;

        for (size_t i = 0; f->values[i] != NULL; i++) {
            if (strcmp(f->values[i], s) == 0)
                ok = true;
        }
        if (!ok) {
            add_error(it,
                      sf_item_error("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", one_field(f->name),
                                    "%s: bad value for restricted picklist field: %s", f->name, s));
            return 1;
        }
        *out = json_string(s);
        return 0;
    }
    case SF_T_EMAIL:
        if (!email_ok(s)) {
            add_error(it, sf_item_error("INVALID_EMAIL_ADDRESS", one_field(f->name),
                                        "%s: invalid email address: %s", f->name, s));
            return 1;
        }
        break;
    default:
        break;
    }
    if (f->length > 0 && strlen(s) > (size_t)f->length) {
        add_error(it, sf_item_error("STRING_TOO_LONG", one_field(f->name),
                                    "%s: data value too large: %.40s (max length=%d)", f->name, s,
                                    f->length));
        return 1;
    }
    *out = json_string(s);
    return 0;
}

/* Resolves the item's target record. Returns 0, or 1 with an item error. */
static int resolve(struct sf_object *obj, enum sf_op op, int ext_field, struct sf_item *it,
                   json_t *claimed_ext, size_t index)
{
    json_t *jid = NULL;
    const char *key;
    json_t *v;

    json_object_foreach(it->in, key, v)
    {
        if (strcasecmp(key, "Id") == 0)
            jid = v;
    }
    if (op == SF_OP_CREATE) {
        if (jid != NULL && !json_is_null(jid)) {
            add_error(it, sf_item_error("INVALID_FIELD_FOR_INSERT_UPDATE", one_field("Id"),
                                        "cannot specify Id in an insert call"));
            return 1;
        }
        return 0;
    }
    if (op == SF_OP_UPDATE) {
        uint64_t num;
        const char *id = json_string_value(jid);

        if (id == NULL || id[0] == '\0') {
            add_error(
                it, sf_item_error("MISSING_ARGUMENT", NULL, "Id not specified in an update call"));
            return 1;
        }
        if (sf_id_parse(obj, id, &num) != 0) {
            add_error(it, sf_item_error("MALFORMED_ID", one_field("Id"),
                                        "%s ID: id value of incorrect type: %s", obj->name, id));
            return 1;
        }
        it->target = sim_coll_get(obj->coll, num);
        if (it->target == NULL || it->target->archived) {
            it->target = NULL;
            add_error(it, sf_item_error("ENTITY_IS_DELETED", NULL, "entity is deleted"));
            return 1;
        }
        return 0;
    }
    /* upsert by external id */
    {
        const struct sf_field *f = &obj->fields[ext_field];
        const char *value = NULL;
        struct sim_record *found[2];
        size_t n;
        char buf[64];

        json_object_foreach(it->in, key, v)
        {
            if (strcasecmp(key, f->name) == 0) {
                if (json_is_string(v))
                    value = json_string_value(v);
                else if (json_is_integer(v)) {
                    snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
                    value = buf;
                }
            }
        }
        if (jid != NULL && !json_is_null(jid)) {
            add_error(it, sf_item_error("INVALID_FIELD", one_field("Id"),
                                        "Id not allowed in an upsert by %s; only external ids "
                                        "are supported",
                                        f->name));
            return 1;
        }
        if (value == NULL || value[0] == '\0') {
            add_error(it, sf_item_error("MISSING_ARGUMENT", one_field(f->name), "%s not specified",
                                        f->name));
            return 1;
        }
        /* Two items with one key would race in Salesforce too: both fail. */
        if (json_object_get(claimed_ext, value) != NULL) {
            add_error(it, sf_item_error("DUPLICATE_EXTERNAL_ID", one_field(f->name),
                                        "Duplicate external id specified: %s", value));
            json_object_set_new(claimed_ext, value, json_integer(-1));
            return 1;
        }
        json_object_set_new(claimed_ext, value, json_integer((json_int_t)index));
        n = sf_find_by_field(obj, ext_field, value, found, 2);
        if (n > 1) {
            char id1[19], id2[19];

            sf_id_format(obj, found[0]->id, id1);
            sf_id_format(obj, found[1]->id, id2);
            add_error(it, sf_item_error("DUPLICATE_EXTERNAL_ID", one_field(f->name),
                                        "%s: more than one record found for external id field: "
                                        "[%s, %s]",
                                        f->name, id1, id2));
            return 1;
        }
        it->target = n == 1 ? found[0] : NULL;
        return 0;
    }
}

static int check_fields(struct sim *sim, struct sf_object *obj, struct sf_item *it, bool from_csv,
                        char *code, size_t codelen, char *msg, size_t msglen)
{
    const char *key;
    json_t *v;
    json_t *bad = NULL;

    it->vals = json_object();
    json_object_foreach(it->in, key, v)
    {
        int fi;
        const struct sf_field *f;
        json_t *out;
        int rc;

        if (strcmp(key, "attributes") == 0)
            continue;
        fi = sf_field_find(obj, key);
        if (fi < 0) {
            snprintf(code, codelen, "INVALID_FIELD");
            snprintf(msg, msglen, "No such column '%s' on sobject of type %s", key, obj->name);
            return -1;
        }
        f = &obj->fields[fi];
        if (f->flags & SF_F_SYSTEM) {
            if (strcmp(f->name, "Id") == 0)
                continue; /* resolved already */
        }
        if ((f->flags & (SF_F_SYSTEM | SF_F_READONLY)) ||
            ((f->flags & SF_F_NOUPDATE) && it->target != NULL)) {
            if (bad == NULL)
                bad = json_array();
            json_array_append_new(bad, json_string(f->name));
            continue;
        }
        rc = convert(sim, f, v, from_csv, it, &out, code, codelen, msg, msglen);
        if (rc < 0)
            return -1;
        if (rc == 0)
            json_object_set_new(it->vals, f->name, out);
    }
    if (bad != NULL) {
        char names[512] = "";

        for (size_t i = 0; i < json_array_size(bad); i++)
            snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? ", " : "",
                     json_string_value(json_array_get(bad, i)));
        add_error(it, sf_item_error("INVALID_FIELD_FOR_INSERT_UPDATE", bad,
                                    "Unable to create/update fields: %s. Please check the "
                                    "security settings of this field and verify that it is "
                                    "read/write for your profile or permission set.",
                                    names));
    }
    return 0;
}

static void check_required(struct sf_object *obj, struct sf_item *it)
{
    json_t *missing = NULL;
    char names[512] = "";

    for (size_t i = 0; i < obj->nfields; i++) {
        const struct sf_field *f = &obj->fields[i];
        json_t *v;

        if (!(f->flags & SF_F_REQUIRED))
            continue;
        v = json_object_get(it->vals, f->name);
        if ((it->target == NULL && (v == NULL || json_is_null(v))) ||
            (it->target != NULL && v != NULL && json_is_null(v))) {
            if (missing == NULL)
                missing = json_array();
            json_array_append_new(missing, json_string(f->name));
            snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
                     names[0] ? ", " : "", f->name);
        }
    }
    if (missing != NULL)
        add_error(it, sf_item_error("REQUIRED_FIELD_MISSING", missing,
                                    "Required fields are missing: [%s]", names));
}

/* Unique values against the store and earlier items of this request. */
static void check_unique(struct sf_object *obj, struct sf_item *it, json_t *claimed)
{
    for (size_t i = 0; i < obj->nfields; i++) {
        const struct sf_field *f = &obj->fields[i];
        const char *v;
        struct sim_record *other;
        json_t *per;

        if (!(f->flags & SF_F_UNIQUE))
            continue;
        v = json_string_value(json_object_get(it->vals, f->name));
        if (v == NULL || v[0] == '\0')
            continue;
        other = sim_coll_find_unique(obj->coll, f->name, v);
        per = json_object_get(claimed, f->name);
        if (other != NULL && other != it->target) {
            char id[19];

            sf_id_format(obj, other->id, id);
            add_error(it, sf_item_error("DUPLICATE_VALUE", NULL,
                                        "duplicate value found: %s duplicates value on record "
                                        "with id: %s",
                                        f->name, id));
        } else if (per != NULL && json_object_get(per, v) != NULL) {
            add_error(it, sf_item_error("DUPLICATE_VALUE", NULL,
                                        "duplicate value found: <unknown> duplicates value on "
                                        "record with id: <unknown>"));
        }
    }
    if (it->errors != NULL)
        return;
    for (size_t i = 0; i < obj->nfields; i++) {
        const struct sf_field *f = &obj->fields[i];
        const char *v;
        json_t *per;

        if (!(f->flags & SF_F_UNIQUE))
            continue;
        v = json_string_value(json_object_get(it->vals, f->name));
        if (v == NULL || v[0] == '\0')
            continue;
        per = json_object_get(claimed, f->name);
        if (per == NULL) {
            per = json_object();
            json_object_set_new(claimed, f->name, per);
        }
        json_object_set_new(per, v, json_true());
    }
}

/* A Contact is in a Campaign once: creating a second CampaignMember of the
 * same CampaignId and ContactId fails (Object Reference, CampaignMember:
 * the API finds the existing record and returns an error, no update is
 * made), as DUPLICATE_VALUE "Already a campaign member.". Found through
 * sf->cm_pairs, filled as members are created (records seeded into the
 * state are not in it). */
static bool cm_pair_key(const struct sf_object *obj, const struct sf_item *it, char *key,
                        size_t size)
{
    const char *campaign = json_string_value(json_object_get(it->vals, "CampaignId"));
    const char *contact = json_string_value(json_object_get(it->vals, "ContactId"));

    if (strcmp(obj->name, "CampaignMember") != 0 || campaign == NULL || contact == NULL)
        return false;
    snprintf(key, size, "%s|%s", campaign, contact);
    return true;
}

static void check_campaign_member(struct sim *sim, struct sf_object *obj, struct sf_item *it,
                                  json_t *claimed)
{
    char key[64];
    json_t *num, *per;
    struct sim_record *rec = NULL;

    if (it->target != NULL || !cm_pair_key(obj, it, key, sizeof(key)))
        return;
    num = json_object_get(sf_state(sim)->cm_pairs, key);
    if (num != NULL)
        rec = sim_coll_get(obj->coll, (uint64_t)json_integer_value(num));
    if (rec != NULL && !rec->archived) {
        const char *c = json_string_value(json_object_get(rec->props, "CampaignId"));
        const char *t = json_string_value(json_object_get(rec->props, "ContactId"));
        char have[64];
        snprintf(have, sizeof(have), "%s|%s", c ? c : "", t ? t : "");
        if (strcmp(have, key) != 0)
            rec = NULL;
    } else {
        rec = NULL;
    }
    per = json_object_get(claimed, "\001campaign member");
    if (rec != NULL || (per != NULL && json_object_get(per, key) != NULL)) {
        add_error(it, sf_item_error("DUPLICATE_VALUE", NULL, "Already a campaign member."));
        return;
    }
    if (per == NULL) {
        per = json_object();
        json_object_set_new(claimed, "\001campaign member", per);
    }
    json_object_set_new(per, key, json_true());
}

/* --- Loyalty Management: what a program process does ---
 * Salesforce moves a balance only through the program's processes, which
 * take Pending journals of a journal type (Loyalty Management developer
 * guide: TransactionJournal, "Process Transaction Journals"). The simulator
 * has one process per program: a Pending journal (Status absent counts as
 * Pending) of type "Accrual" adds its TransactionAmount to the member's
 * currency rows of every currency of the program (non-qualifying points
 * and qualifying tier points alike), one of type "Redemption" subtracts it
 * from the non-qualifying ones only; the journal becomes Processed. A
 * journal created Processed, of no or another type, of another program's
 * member, or of a program without currencies is left as it is: no process
 * handles it. Nothing is undone when a journal changes or is deleted. */

static const char *prop(const struct sim_record *rec, const char *name)
{
    return rec ? json_string_value(json_object_get(rec->props, name)) : NULL;
}

static struct sim_record *record_of(struct sim *sim, const char *object, const char *id)
{
    struct sf_object *obj = sf_object_find(sf_state(sim), object);
    uint64_t num;

    if (obj == NULL || id == NULL || sf_id_parse(obj, id, &num) != 0)
        return NULL;
    return sim_coll_get(obj->coll, num);
}

static bool same_id(const char *a, const char *b)
{
    return a != NULL && b != NULL && strncmp(a, b, 15) == 0;
}

static void credit(struct sim *sim, const char *member_id, const char *cur_id, const char *cur_name,
                   double points, int64_t now)
{
    struct sf_object *cur = sf_object_find(sf_state(sim), "LoyaltyMemberCurrency");
    struct sim_record *rec = NULL;
    const char *old;
    char buf[64];

    if (cur == NULL)
        return;
    for (size_t i = 0; i < cur->coll->n && rec == NULL; i++) {
        struct sim_record *r = cur->coll->recs[i];

        if (!r->archived && same_id(prop(r, "LoyaltyMemberId"), member_id) &&
            same_id(prop(r, "LoyaltyProgramCurrencyId"), cur_id))
            rec = r;
    }
    if (rec == NULL) {
        json_t *props = json_pack("{s:s, s:s, s:s, s:s}", "LoyaltyMemberId", member_id,
                                  "LoyaltyProgramCurrencyId", cur_id, "Name",
                                  cur_name ? cur_name : "Points", "PointsBalance", "0");

        rec = sim_coll_create(cur->coll, 0, props, sf_stamp(now), 0);
        json_decref(props);
        if (rec == NULL)
            return;
    }
    old = prop(rec, "PointsBalance");
    snprintf(buf, sizeof(buf), "%.17g", (old ? strtod(old, NULL) : 0) + points);
    sim_coll_set_prop(cur->coll, rec, "PointsBalance", buf);
    sim_record_touch(rec, sf_stamp(now), 0, true);
}

static bool is_journal(const struct sf_object *obj)
{
    return strcmp(obj->name, "TransactionJournal") == 0;
}

static void run_program_process(struct sim *sim, struct sf_object *obj, struct sim_record *j,
                                int64_t now)
{
    struct sf_object *pc = sf_object_find(sf_state(sim), "LoyaltyProgramCurrency");
    const char *status = prop(j, "Status");
    const char *program = prop(j, "LoyaltyProgramId");
    const char *member = prop(j, "MemberId");
    const char *type = prop(record_of(sim, "JournalType", prop(j, "JournalTypeId")), "Name");
    struct sim_record *lpm = record_of(sim, "LoyaltyProgramMember", member);
    const char *amount = prop(j, "TransactionAmount");
    double points = amount ? strtod(amount, NULL) : 0;
    bool accrual, ran = false;
    char member_id[19], cur_id[19];

    if (status != NULL && strcmp(status, "Pending") != 0)
        return;
    if (type == NULL || pc == NULL || lpm == NULL || !same_id(prop(lpm, "ProgramId"), program))
        return;
    accrual = strcmp(type, "Accrual") == 0;
    if (!accrual && strcmp(type, "Redemption") != 0)
        return;
    sf_id_format(sf_object_find(sf_state(sim), "LoyaltyProgramMember"), lpm->id, member_id);
    for (size_t i = 0; i < pc->coll->n; i++) {
        struct sim_record *c = pc->coll->recs[i];
        const char *ctype = prop(c, "CurrencyType");
        bool qualifying = ctype != NULL && strcmp(ctype, "Qualifying") == 0;

        if (c->archived || !same_id(prop(c, "LoyaltyProgramId"), program))
            continue;
        ran = true;
        if (!accrual && qualifying)
            continue;
        sf_id_format(pc, c->id, cur_id);
        credit(sim, member_id, cur_id, prop(c, "Name"), accrual ? points : -points, now);
    }
    if (ran) {
        sim_coll_set_prop(obj->coll, j, "Status", "Processed");
        sim_record_touch(j, sf_stamp(now), 0, true);
    }
}

/* --- apply --- */

static void apply(struct sim *sim, struct sf_object *obj, struct sf_item *it, int64_t now)
{
    int64_t stamp = sf_stamp(now);
    const char *key;
    json_t *v;

    if (it->target == NULL) {
        json_t *props = json_object();

        json_object_foreach(it->vals, key, v)
        {
            if (json_is_string(v))
                json_object_set(props, key, v);
        }
        it->target = sim_coll_create(obj->coll, 0, props, stamp, 0);
        json_decref(props);
        if (it->target == NULL) {
            add_error(it, sf_item_error("UNKNOWN_EXCEPTION", NULL, "out of memory"));
            return;
        }
        it->created = true;
    } else {
        json_object_foreach(it->vals, key, v)
        {
            sim_coll_set_prop(obj->coll, it->target, key,
                              json_is_string(v) ? json_string_value(v) : NULL);
        }
        sim_record_touch(it->target, stamp, 0, true);
    }
    sf_id_format(obj, it->target->id, it->id);
    if (it->created) {
        char pair[64];
        if (cm_pair_key(obj, it, pair, sizeof(pair)))
            json_object_set_new(sf_state(sim)->cm_pairs, pair,
                                json_integer((json_int_t)it->target->id));
    }
    if (is_journal(obj) && it->created)
        run_program_process(sim, obj, it->target, now);
}

int sf_write(struct sim *sim, struct sf_object *obj, enum sf_op op, int ext_field,
             struct sf_item *items, size_t n, bool all_or_none, bool from_csv, int64_t now,
             char *code, size_t codelen, char *msg, size_t msglen)
{
    json_t *claimed = json_object();     /* unique field -> {value: true} */
    json_t *claimed_ext = json_object(); /* external id value -> item */
    size_t failed = 0;
    int rc = -1;

    for (size_t i = 0; i < n; i++) {
        struct sf_item *it = &items[i];

        if (!json_is_object(it->in)) {
            snprintf(code, codelen, "JSON_PARSER_ERROR");
            snprintf(msg, msglen, "Cannot deserialize instance of %s from a non-object", obj->name);
            goto out;
        }
        if (resolve(obj, op, ext_field, it, claimed_ext, i) != 0) {
            /* Still validate the fields: an unknown one fails the request. */
            json_t *saved = it->errors;

            it->errors = NULL;
            if (check_fields(sim, obj, it, from_csv, code, codelen, msg, msglen) != 0) {
                it->errors = saved;
                goto out;
            }
            json_decref(it->errors);
            it->errors = saved;
            failed++;
            continue;
        }
        if (check_fields(sim, obj, it, from_csv, code, codelen, msg, msglen) != 0)
            goto out;
        if (it->errors == NULL)
            check_required(obj, it);
        if (it->errors == NULL)
            check_unique(obj, it, claimed);
        if (it->errors == NULL)
            check_campaign_member(sim, obj, it, claimed);
        if (it->errors != NULL)
            failed++;
    }
    /* An external id claimed twice fails both items (the first was let
     * through when it was seen). */
    if (op == SF_OP_UPSERT) {
        for (size_t i = 0; i < n; i++) {
            const char *key;
            json_t *v;

            if (items[i].errors != NULL)
                continue;
            json_object_foreach(items[i].in, key, v)
            {
                json_t *c;

                if (strcasecmp(key, obj->fields[ext_field].name) != 0 || !json_is_string(v))
                    continue;
                c = json_object_get(claimed_ext, json_string_value(v));
                if (c != NULL && json_integer_value(c) == -1) {
                    add_error(&items[i], sf_item_error("DUPLICATE_EXTERNAL_ID",
                                                       one_field(obj->fields[ext_field].name),
                                                       "Duplicate external id specified: %s",
                                                       json_string_value(v)));
                    failed++;
                }
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct sf_item *it = &items[i];

        if (it->errors != NULL)
            continue;
        if (all_or_none && failed > 0) {
            add_error(it, sf_item_error("ALL_OR_NONE_OPERATION_ROLLED_BACK", NULL,
                                        "Record rolled back because not all records were valid "
                                        "and the request was using AllOrNone header"));
            continue;
        }
        if (op == SF_OP_UPDATE || op == SF_OP_UPSERT || it->target == NULL)
            apply(sim, obj, it, now);
    }
    rc = 0;
out:
    json_decref(claimed);
    json_decref(claimed_ext);
    return rc;
}

void sf_delete(struct sim *sim, struct sf_object *obj, struct sim_record *rec, int64_t now)
{
    int64_t stamp = sf_stamp(now);

    if (obj->ndels == obj->capdels) {
        size_t cap = obj->capdels ? obj->capdels * 2 : 64;
        struct sf_deleted *grown = realloc(obj->dels, cap * sizeof(*grown));

        if (grown != NULL) {
            obj->dels = grown;
            obj->capdels = cap;
        }
    }
    if (obj->ndels < obj->capdels) {
        obj->dels[obj->ndels].num = rec->id;
        obj->dels[obj->ndels].ms = stamp;
        obj->ndels++;
    }
    if (strcmp(obj->name, "Contact") == 0) {
        /* A Contact's campaign memberships go with it (hard deletes here,
         * so getDeleted lists them). */
        struct sf_object *cm = sf_object_find(sf_state(sim), "CampaignMember");
        char cid[19];

        sf_id_format(obj, rec->id, cid);
        for (size_t i = cm != NULL ? cm->coll->n : 0; i-- > 0;) {
            struct sim_record *m = cm->coll->recs[i];
            const char *ref = json_string_value(json_object_get(m->props, "ContactId"));

            if (!m->archived && ref != NULL && strncmp(ref, cid, 15) == 0)
                sf_delete(sim, cm, m, now);
        }
    }
    if (obj->hard_delete) {
        sim_coll_remove(obj->coll, rec);
        return;
    }
    /* Soft delete: the recycle bin; queryAll shows it with IsDeleted and a
     * new SystemModstamp. */
    sim_coll_archive(obj->coll, rec, stamp, 0);
    rec->updated_ms = stamp;
}
