/* Contact property values: checked against the property definitions,
 * normalised to strings (emails lower-cased and validated), and checked
 * for unique-value clashes, with HubSpot's 400 and 409 bodies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubspot_contact.h"

bool hs_valid_email(const char *s)
{
    const char *at = strchr(s, '@');
    const char *dot;

    if (at == NULL || at == s || strchr(at + 1, '@') != NULL || strchr(s, ' ') != NULL)
        return false;
    dot = strrchr(at + 1, '.');
    return dot != NULL && dot > at + 1 && dot[1] != '\0';
}

static void add_invalid(json_t *errs, const char *name, const char *error, const char *msg)
{
    json_array_append_new(errs,
                          json_pack("{s:b, s:s, s:s, s:s, s:s}", "isValid", 0, "message", msg,
                                    "error", error, "name", name, "localizedErrorMessage", msg));
}

/* Checks one property value against its definition and normalises it to
 * a string ("" clears). Returns a new reference, or NULL after appending
 * HubSpot's validation object to errs. */
json_t *hs_normalise_one(struct sim *sim, const char *key, json_t *val, json_t *errs)
{
    json_t *def = hs_property_def(sim, key);
    char msg[600];
    char text[512];

    if (def == NULL) {
        snprintf(msg, sizeof(msg), "Property \"%s\" does not exist", key);
        add_invalid(errs, key, "PROPERTY_DOESNT_EXIST", msg);
        return NULL;
    }
    if (json_is_true(
            json_object_get(json_object_get(def, "modificationMetadata"), "readOnlyValue"))) {
        snprintf(msg, sizeof(msg), "\"%s\" is a read only property; its value cannot be set.", key);
        add_invalid(errs, key, "READ_ONLY_VALUE", msg);
        return NULL;
    }
    /* Most values are strings that need no change: share them rather than
     * copy (the copy below truncates at sizeof(text), so only short ones). */
    if (json_is_string(val) && json_string_length(val) < sizeof(text) &&
        strlen(json_string_value(val)) == json_string_length(val) && strcmp(key, "email") != 0)
        return json_incref(val);
    if (json_is_string(val)) {
        snprintf(text, sizeof(text), "%s", json_string_value(val));
    } else {
        /* The published input schemas (SimplePublicObjectBatchInputUpsert,
         * SimplePublicObjectInputForCreate, ...) allow strings only: a
         * number, boolean or null is refused, "" clears. */
        snprintf(msg, sizeof(msg), "%s was not a valid value for property %s: values are strings",
                 json_is_object(val)    ? "an object"
                 : json_is_array(val)   ? "an array"
                 : json_is_null(val)    ? "null"
                 : json_is_boolean(val) ? "a boolean"
                                        : "a number",
                 key);
        add_invalid(errs, key, "INVALID_PROPERTY_VALUE", msg);
        return NULL;
    }
    if (strcmp(key, "email") == 0 && text[0] != '\0') {
        char low[512];

        hs_lower_copy(text, low, sizeof(low));
        if (!hs_valid_email(low)) {
            snprintf(msg, sizeof(msg), "Email address %s is invalid", low);
            add_invalid(errs, key, "INVALID_EMAIL", msg);
            return NULL;
        }
        snprintf(text, sizeof(text), "%s", low);
    }
    return json_string(text);
}

/* Checks one input's properties against the definitions and normalises the
 * values to strings ("" clears). Appends HubSpot's per-property validation
 * objects to errs; returns the normalised object (caller owns). */
json_t *hs_normalise_props(struct sim *sim, json_t *props, json_t *errs)
{
    json_t *norm = json_object();
    const char *key;
    json_t *val;

    json_object_foreach(props, key, val)
    {
        json_t *v = hs_normalise_one(sim, key, val, errs);

        if (v != NULL)
            json_object_set_new(norm, key, v);
    }
    return norm;
}

/* Fills resp with the 400 HubSpot sends for invalid property values. */
void hs_validation_failed(struct sim_response *resp, json_t *errs)
{
    char *dump = json_dumps(errs, JSON_COMPACT);
    char msg[1024];

    snprintf(msg, sizeof(msg), "Property values were not valid: %s", dump ? dump : "[]");
    free(dump);
    hs_error_body(resp, 400, "VALIDATION_ERROR", msg);
}

/* Unique-value check: another live contact, or another input of the same
 * batch (tracked in `claimed` as value -> input number), already holds a
 * value of a unique property. Returns the holder's id, UINT64_MAX for a
 * clash inside the batch, or 0. */
uint64_t hs_unique_clash(struct sim *sim, const struct sim_record *self, json_t *norm,
                         json_t *claimed, size_t input_no, const char **prop_out)
{
    struct sim_coll *coll = hs_contacts(sim);
    const char *key;
    json_t *val;

    json_object_foreach(norm, key, val)
    {
        const char *v = json_string_value(val);
        struct sim_record *other;
        char ck[600];
        json_t *by;

        if (!sim_coll_is_unique(coll, key) || v[0] == '\0')
            continue;
        *prop_out = key;
        other = sim_coll_find_unique(coll, key, v);
        if (other != NULL && other != self)
            return other->id;
        if (claimed == NULL)
            continue;
        snprintf(ck, sizeof(ck), "%s\n%s", key, v);
        by = json_object_get(claimed, ck);
        if (by != NULL && (size_t)json_integer_value(by) != input_no)
            return UINT64_MAX;
        json_object_set_new(claimed, ck, json_integer((json_int_t)input_no));
    }
    return 0;
}

void hs_conflict(struct sim_response *resp, const char *prop, uint64_t holder)
{
    char msg[256];

    if (holder == UINT64_MAX)
        snprintf(msg, sizeof(msg), "Duplicate value for unique property %s in batch input", prop);
    else if (strcmp(prop, "email") == 0)
        snprintf(msg, sizeof(msg), "Contact already exists. Existing ID: %llu",
                 (unsigned long long)holder);
    else
        snprintf(msg, sizeof(msg),
                 "A contact with this value for unique property %s already exists. "
                 "Existing ID: %llu",
                 prop, (unsigned long long)holder);
    hs_error_body(resp, 409, "CONFLICT", msg);
}
