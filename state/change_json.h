/* Canonical JSON forms of change values: compact, keys sorted, timestamps in
 * RFC 3339 UTC. The same value always has the same text, so equality and
 * shadow hashes can compare text. */
#ifndef CRMSYNC_CHANGE_JSON_H
#define CRMSYNC_CHANGE_JSON_H

#include <jansson.h>

#include "change.h"

/* Returns malloc'd canonical JSON text. */
char *consent_value_to_json(const struct consent_value *v);
char *points_txn_to_json(const struct points_txn *t);

/* Decodes a canonical consent value. Strings in *out point into *holder,
 * which the caller releases with json_decref(). Returns 0 or -1. */
int consent_value_from_json(const char *text, struct consent_value *out, json_t **holder);

/* json_dumps with the canonical flags; NULL on failure. */
char *canonical_dumps(const json_t *value);

#endif
