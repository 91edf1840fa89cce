/* Canonical values as the CRM connectors write them (issue 13 part 1):
 * the text of a profile/tier value, a segment's in/out, a rejected
 * record's reason. Pure, shared by the mappings of every CRM connector
 * (hubspot_map.c, salesforce_map.c, adobe_map.c), which differ only in the
 * flags below. */
#ifndef CRMSYNC_CRM_VALUE_H
#define CRMSYNC_CRM_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "connector.h"
#include "crm_pairs.h"

/* What crm_value_text accepts besides strings, integers and null. */
enum {
    CRM_VT_BOOL_WORDS = 1,  /* a boolean as "true" / "false" */
    CRM_VT_BOOL_DIGITS = 2, /* a boolean as "1" / "0" */
    CRM_VT_REAL = 4,        /* a real as %.17g */
};

/* The "value" of a canonical value ({"value": ...}) as text: a string as
 * it is, an integer in decimal, null as "" (*is_null = 1 when is_null is
 * not NULL), booleans and reals as flags allow. 0, or -1 when there is no
 * value or its type is not accepted (an object, an array). */
int crm_value_text(const char *value_json, unsigned flags, char *out, size_t outsize, int *is_null);

/* The balance of a points value ({"balance": N, ...}): 0 with *out, or -1
 * when it has no integer balance. */
int crm_balance_of(const char *value_json, int64_t *out);

/* The balance of a points value as the CRMs hold it, in decimal: 0, or
 * -1 (no integer balance). */
int crm_project_balance(const char *value_json, char *out, size_t outsize);

/* {"status": "in"|"out"}: 1 in, 0 out, -1 anything else. */
int crm_segment_status(const char *value_json);

/* What every CRM keeps of a tier or profile value (its text, as
 * text_flags allow: crm_value_text), of a segment membership ("in" /
 * "out") and of an erasure ("erased"), for connector_ops.project: only
 * consent and points are projected each CRM its own way. 0, or -1 (an
 * unreadable value, or consent or points). */
int crm_project_shared(enum change_kind kind, const char *value_json, unsigned text_flags,
                       char *out, size_t outsize);

/* The CRM field or property that attribute_map (attrs) names for a
 * profile/<attr> record, or NULL: r rejects the record ("profile
 * attribute "<attr>" is not in attribute_map"). */
const char *crm_profile_target(const struct crm_pairs *attrs, const char *field,
                               struct push_result *r);

/* r becomes a rejection with the reason fmt (one %s: arg). */
void crm_reject(struct push_result *r, const char *fmt, const char *arg)
    __attribute__((format(printf, 2, 0)));

#endif
