/* Canonical values as the CRM connectors write them (crm_value.h). */
#include "crm_value.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "jscan.h"

/* The jansson reading: every value type, the reference for the one below. */
static int value_text_jansson(const char *value_json, unsigned flags, char *out, size_t outsize,
                              int *is_null)
{
    json_t *root = json_loads(value_json, 0, NULL);
    json_t *v = json_object_get(root, "value");
    int rc = 0;

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

/* One "value" member read with jscan: 1 string or integer (in out), 3
 * null, 0 another type (left to jansson), -1 malformed. */
static int scan_value(struct jscan *s, char *out, size_t outsize)
{
    struct jscan at = *s;
    long long n;
    int r;

    r = jscan_string(s, out, outsize);
    if (r == 1 || r == 3)
        return 1;
    if (r < 0)
        return -1;
    *s = at;
    r = jscan_int(s, &n);
    if (r == 1) {
        snprintf(out, outsize, "%lld", n);
        return 1;
    }
    if (r < 0)
        return -1;
    *s = at;
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
    if (s->end - s->p >= 4 && memcmp(s->p, "null", 4) == 0)
        return jscan_skip(s) == 1 ? 3 : -1;
    return jscan_skip(s) == 1 ? 0 : -1;
}

/* Read with jscan (issue 17: json_loads() was a tenth of a Salesforce
 * push's CPU, once to project each record and once to map it). A value
 * that is a string, an integer or null is read here; a boolean or a real
 * (and any text jscan reads differently, e.g. a number out of a double's
 * range in another member, which jansson refuses) goes to jansson, so the
 * answers stay jansson's. A repeated "value": the last one counts, as in
 * jansson. */
int crm_value_text(const char *value_json, unsigned flags, char *out, size_t outsize, int *is_null)
{
    struct jscan s;
    char key[8];
    int r, got = 0; /* 0 none, 1 text, 3 null */

    if (is_null != NULL)
        *is_null = 0;
    if (value_json == NULL)
        return -1;
    jscan_init(&s, value_json, -1);
    if (jscan_object(&s) != 1)
        return value_text_jansson(value_json, flags, out, outsize, is_null);
    for (r = jscan_member(&s, key, sizeof(key)); r == 1; r = jscan_member(&s, key, sizeof(key))) {
        if (strcmp(key, "value") != 0) {
            r = jscan_skip(&s);
        } else {
            r = got = scan_value(&s, out, outsize);
            if (got == 0)
                break; /* a boolean, a real, an object, an array */
        }
        if (r < 0)
            break;
    }
    if (r != 0 || got == 0 || jscan_end(&s) != 1)
        return value_text_jansson(value_json, flags, out, outsize, is_null);
    if (got == 3) {
        if (outsize > 0)
            out[0] = '\0';
        if (is_null != NULL)
            *is_null = 1;
    }
    return 0;
}

/* The balance and the segment status are read with jscan too (issue 17:
 * json_loads() of every points and segment value in the plan and the
 * body, 3.9 % of a HubSpot push's instructions, callgrind). The reading
 * is jansson's: the whole text must be a valid object, and the last of a
 * repeated name counts, as json_object_get() finds it. One difference: a
 * number out of a double's or a long long's range in a member that is
 * not read makes json_loads() refuse the text, and is skipped here
 * (jscan.h); canonical values are written by jansson and never hold one.
 *
 * Finds the last member named name (shorter than 16 bytes) of the object
 * value_json: 0 with *at at its value, -1 (no such member, not a valid
 * object). */
static int member_at(const char *value_json, const char *name, struct jscan *at)
{
    struct jscan s;
    char key[16];
    int found = 0, r;

    if (value_json == NULL)
        return -1;
    jscan_init(&s, value_json, -1);
    if (jscan_object(&s) != 1)
        return -1;
    for (r = jscan_member(&s, key, sizeof(key)); r == 1; r = jscan_member(&s, key, sizeof(key))) {
        if (strcmp(key, name) == 0) {
            *at = s;
            found = 1;
        }
        if (jscan_skip(&s) != 1)
            return -1;
    }
    return r == 0 && jscan_end(&s) == 1 && found ? 0 : -1;
}

int crm_balance_of(const char *value_json, int64_t *out)
{
    struct jscan v;
    long long b;

    if (member_at(value_json, "balance", &v) != 0 || jscan_int(&v, &b) != 1)
        return -1;
    *out = (int64_t)b;
    return 0;
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
    struct jscan v;
    char s[4];

    if (member_at(value_json, "status", &v) != 0 || jscan_string(&v, s, sizeof(s)) != 1)
        return -1;
    return strcmp(s, "in") == 0 ? 1 : strcmp(s, "out") == 0 ? 0 : -1;
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
