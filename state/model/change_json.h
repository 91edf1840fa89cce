/* Canonical JSON forms of change values: compact, keys sorted, timestamps in
 * RFC 3339 UTC. The same value always has the same text, so equality and
 * shadow hashes can compare text. */
#ifndef CRMSYNC_CHANGE_JSON_H
#define CRMSYNC_CHANGE_JSON_H

#include <jansson.h>

#include "change.h"

/* Return malloc'd canonical JSON text, or NULL (out of memory, a string
 * that is not valid UTF-8). */
char *consent_value_to_json(const struct consent_value *v);
char *points_txn_to_json(const struct points_txn *t);
/* {"since":<since>,"status":<status>} */
char *segment_value_to_json(const char *status, int64_t since);
/* {"value":<value>} for len bytes of UTF-8 (NUL allowed); a NULL value
 * gives {"value":null}. */
char *profile_value_to_json(const char *value, size_t len);
/* The consent audit payload: {"effective":..,"origin":..,"source_ref":..,
 * "value":<value_json>}. value_json is embedded as it is: a change's value
 * is canonical JSON by contract (change.h). source_ref may be NULL. */
char *audit_payload_to_json(const char *origin, int effective, const char *source_ref,
                            const char *value_json);

/* Decodes a canonical consent value. Strings in *out point into *holder,
 * which the caller releases with json_decref(). Returns 0, or -1 with *out
 * zeroed and *holder NULL. */
int consent_value_from_json(const char *text, struct consent_value *out, json_t **holder);

/* json_dumps with the canonical flags; NULL on failure. */
char *canonical_dumps(const json_t *value);

#endif
