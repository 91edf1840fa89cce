/* The answer the HTTP ingest gave for an event (issue 16), kept with the
 * event's own idempotency key in idem_keys (schema v10: the answer column),
 * so that a replayed request is answered as it was the first time, and an
 * event id that comes back with another body is told apart from a replay by
 * the key's body hash. The answer is opaque text to the store (the HTTP
 * layer writes JSON); keys are pruned with the others after the dedup
 * window (state/store_retention.c). Inside the caller's transaction. */
#ifndef CRMSYNC_STORE_ANSWER_H
#define CRMSYNC_STORE_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "change.h"
#include "error.h"

struct store;

enum store_answer_state {
    STORE_ANSWER_NONE = 0, /* never seen */
    STORE_ANSWER_SAME,     /* seen with the same body: *answer holds what it got */
    STORE_ANSWER_CONFLICT, /* seen with another body */
};

/* The body hash of an event made of n changes (member, kind, field, value
 * and occurred_at of each, in order; not origin detail nor source). */
int64_t store_event_hash(const struct change *changes, size_t n);
/* The body hash the store records with a change's idempotency key. */
int64_t store_change_hash(const struct change *c);

/* Looks key up. With STORE_ANSWER_SAME, *answer is the kept answer
 * (malloc'd, the caller frees; NULL when the key was recorded without one). */
int store_answer_get(struct store *st, const char *key, int64_t body_hash,
                     enum store_answer_state *state, char **answer, struct error *err);

/* Records key with its body hash and answer (the key must be new). */
int store_answer_put(struct store *st, const char *key, int64_t body_hash, const char *answer,
                     struct error *err);

/* Keeps answer on key's existing row: the idempotency key that applying
 * the event's change recorded, in the same transaction (an event of one
 * change needs no row of its own: one B-tree entry fewer per event in
 * idem_keys and its key index). *kept = 0 when key has no row (nothing
 * was recorded: a tombstoned member's event). */
int store_answer_keep(struct store *st, const char *key, const char *answer, int *kept,
                      struct error *err);

#endif
