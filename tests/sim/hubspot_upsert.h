/* HubSpot batch upsert, fast path.
 *
 * A batch upsert of 100 contacts spent most of its CPU in jansson: parsing
 * the body into a tree, then building normalised objects, index keys and
 * name arrays from it while holding sim->lock. The fast path parses the
 * body in place (one copy, strings unescaped and NUL-terminated where they
 * lie) into flat arrays before the lock is taken (hs_upsert_prepare, pure),
 * and under the lock only checks the property definitions and unique
 * values and writes the store and the answer.
 *
 * It takes only what it can answer exactly as the general path does: a
 * body it does not fully understand (unknown keys, reals, \u0000,
 * values of 512 bytes or more, ...) is not prepared, and a batch that the
 * general path would reject (unknown or read-only property, invalid email,
 * duplicate id, unique-value clash, ...) is declined before anything is
 * written; the general path (hubspot_batch_upsert.c) then answers it. */
#ifndef CRMSIM_HUBSPOT_UPSERT_H
#define CRMSIM_HUBSPOT_UPSERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hubspot.h"

/* Distinct property names one batch may use (keys and idProperty values). */
#define HS_UPSERT_MAX_NAMES 64

/* One normalised property of one input: `value` is what the store gets
 * ("" clears). */
struct hs_upsert_prop {
    uint16_t name; /* index into hs_upsert_batch.names */
    const char *value;
    size_t len;
};

struct hs_upsert_input {
    const char *id;       /* as sent (the duplicate check lower-cases it) */
    uint16_t id_prop;     /* index into names */
    const char *id_value; /* the id normalised as a value of id_prop */
    size_t first;         /* its properties: props[first .. first + nprops) */
    size_t nprops;        /* in order; id_prop's value is among them */
};

struct hs_upsert_batch {
    char *text; /* the body's copy that the strings point into */
    const char *names[HS_UPSERT_MAX_NAMES];
    size_t nnames;
    struct hs_upsert_input inputs[HS_BATCH_MAX];
    size_t ninputs;
    struct hs_upsert_prop *props;
    size_t nprops;
    size_t capprops;
};

/* Parses and normalises an upsert body. Returns NULL when the body is not
 * one the fast path takes (see above). Touches no shared state. */
struct hs_upsert_batch *hs_upsert_parse(const char *body, size_t len);
void hs_upsert_free(struct hs_upsert_batch *b);

/* Applies a prepared batch under sim->lock. Returns false, having changed
 * nothing, when the general path must answer it. */
bool hs_upsert_apply(struct sim *sim, const struct hs_upsert_batch *b, struct sim_request *req,
                     struct sim_response *resp);

#endif
