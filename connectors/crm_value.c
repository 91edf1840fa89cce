/* Canonical values as the CRM connectors write them (crm_value.h). */
#include "crm_value.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

int crm_value_text(const char *value_json, unsigned flags, char *out, size_t outsize, int *is_null)
{
    json_t *root = json_loads(value_json, 0, NULL);
    json_t *v = json_object_get(root, "value");
    int rc = 0;

    if (is_null != NULL)
        *is_null = 0;
    if (v == NULL) {
        rc = -1;
    } else if (json_is_null(v)) {
        snprintf(out, outsize, "%s", "");
        if (is_null != NULL)
            *is_null = 1;
    } else if (json_is_string(v)) {
        snprintf(out, outsize, "%s", json_string_value(v));
    } else if (json_is_integer(v)) {
        snprintf(out, outsize, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else if (json_is_boolean(v) && (flags & CRM_VT_BOOL_WORDS)) {
        snprintf(out, outsize, "%s", json_is_true(v) ? "true" : "false");
    } else if (json_is_boolean(v) && (flags & CRM_VT_BOOL_DIGITS)) {
        snprintf(out, outsize, "%s", json_is_true(v) ? "1" : "0");
    } else if (json_is_real(v) && (flags & CRM_VT_REAL)) {
        snprintf(out, outsize, "%.17g", json_real_value(v));
    } else {
        rc = -1;
    }
    json_decref(root);
    return rc;
}

int crm_balance_of(const char *value_json, int64_t *out)
{
    json_t *root = json_loads(value_json, 0, NULL);
    json_t *b = json_object_get(root, "balance");
    int rc = json_is_integer(b) ? 0 : -1;

    if (rc == 0)
        *out = (int64_t)json_integer_value(b);
    json_decref(root);
    return rc;
}

int crm_project_balance(const char *value_json, char *out, size_t outsize)
{
    int64_t b;

    if (crm_balance_of(value_json, &b) != 0)
        return -1;
    snprintf(out, outsize, "%" PRId64, b);
    return 0;
}

int crm_segment_status(const char *value_json)
{
    json_t *root = json_loads(value_json, 0, NULL);
    const char *s = json_string_value(json_object_get(root, "status"));
    int rc = s == NULL ? -1 : strcmp(s, "in") == 0 ? 1 : strcmp(s, "out") == 0 ? 0 : -1;

    json_decref(root);
    return rc;
}

int crm_project_shared(enum change_kind kind, const char *value_json, unsigned text_flags,
                       char *out, size_t outsize)
{
    int in;

    if (kind == CHANGE_TIER || kind == CHANGE_PROFILE)
        return crm_value_text(value_json, text_flags, out, outsize, NULL);
    if (kind == CHANGE_ERASE) {
        snprintf(out, outsize, "erased");
        return 0;
    }
    if (kind != CHANGE_SEGMENT)
        return -1;
    in = crm_segment_status(value_json);
    if (in < 0)
        return -1;
    snprintf(out, outsize, "%s", in ? "in" : "out");
    return 0;
}

void crm_reject(struct push_result *r, const char *fmt, const char *arg)
{
    r->outcome = PUSH_REJECT;
    push_result_set_reason(r, fmt, arg);
}

const char *crm_profile_target(const struct crm_pairs *attrs, const char *field,
                               struct push_result *r)
{
    const char *attr = strncmp(field, "profile/", 8) == 0 ? field + 8 : "";
    const char *target = crm_pairs_get(attrs, attr);

    if (target == NULL)
        crm_reject(r, "profile attribute \"%s\" is not in attribute_map", attr);
    return target;
}
