/* HubSpot contacts: internals shared by the contact endpoint files
 * (hubspot_contact_*.c, hubspot_contacts*.c, hubspot_batch*.c). The
 * handlers themselves are declared in hubspot.h with the route table's. */
#ifndef CRMSIM_HUBSPOT_CONTACT_H
#define CRMSIM_HUBSPOT_CONTACT_H

#include "hubspot.h"

struct sim_jw;

/* One remembered sim_time_format() answer: a batch formats the same
 * request time and, mostly, the same creation time for every record. */
struct hs_time_memo {
    int64_t ms;
    bool set;
    char text[32];
};

/* --- hubspot_contact_records.c: the contacts collection --- */

int hs_parse_u64(const char *s, uint64_t *out);
/* Lower-cases `in` into out, cutting at outlen - 1 bytes. */
void hs_lower_copy(const char *in, char *out, size_t outlen);
/* Finds a contact by record id (id_prop NULL or hs_object_id) or by a
 * unique property value (emails compared lower-cased). */
struct sim_record *hs_contact_lookup(struct sim *sim, const char *value, const char *id_prop,
                                     bool archived);
/* Writes normalised values (strings, "" clears) to a new / an existing
 * contact and stamps hs_object_id, lastmodifieddate and createdate. The
 * caller has checked uniqueness. */
struct sim_record *hs_contact_create_record(struct sim *sim, json_t *norm, int64_t now,
                                            struct hs_time_memo *memo);
void hs_contact_update_record(struct sim *sim, struct sim_record *rec, json_t *norm, int64_t now,
                              struct hs_time_memo *memo);
/* The system properties both stamp (hs_object_id, lastmodifieddate,
 * createdate), for writers that set the other properties themselves. */
void hs_contact_stamp(struct sim_coll *coll, struct sim_record *rec, int64_t now,
                      struct hs_time_memo *memo);

/* --- hubspot_contact_view.c: a contact as the API shows it --- */

const char *hs_memo_format(struct hs_time_memo *m, int64_t ms);
/* "a,b,c" from the `properties` query parameter into an array (NULL when
 * absent). */
json_t *hs_wanted_from_query(const struct sim_request *req);
/* The properties a batch write answers with: the default ones plus those
 * the input wrote. */
json_t *hs_written_view(json_t *written);
/* Writes the members of hs_contact_json()'s object into an object the
 * caller has opened, byte for byte what dumping that object gives. */
void hs_contact_write_fields(struct sim_jw *w, const struct sim_record *rec, json_t *view,
                             const json_t *wanted, struct hs_time_memo *created);
/* The same for a batch write's answer, with the shown properties given as
 * names: the default ones, then `written` (no duplicates) minus those. */
void hs_contact_write_written(struct sim_jw *w, const struct sim_record *rec,
                              const char *const *written, size_t nwritten,
                              struct hs_time_memo *created);
/* The batch error for ids that match no contact. */
json_t *hs_not_found_error(json_t *ids_take);

/* --- hubspot_contact_props.c: property validation --- */

bool hs_valid_email(const char *s);

/* Checks one value against its property definition and normalises it to a
 * string ("" clears). Returns a new reference, or NULL after appending
 * HubSpot's validation object to errs. */
json_t *hs_normalise_one(struct sim *sim, const char *key, json_t *val, json_t *errs);
/* The same for every property of one input; returns the normalised object. */
json_t *hs_normalise_props(struct sim *sim, json_t *props, json_t *errs);
/* Fills resp with the 400 HubSpot sends for invalid property values. */
void hs_validation_failed(struct sim_response *resp, json_t *errs);
/* Unique-value check against live contacts and, through `claimed`, the
 * other inputs of the batch. Returns the holder's id, UINT64_MAX for a
 * clash inside the batch, or 0; *prop_out names the property. */
uint64_t hs_unique_clash(struct sim *sim, const struct sim_record *self, json_t *norm,
                         json_t *claimed, size_t input_no, const char **prop_out);
/* Fills resp with the 409 for a hs_unique_clash() answer. */
void hs_conflict(struct sim_response *resp, const char *prop, uint64_t holder);

/* --- hubspot_batch_inputs.c: what every batch body shares --- */

/* {"inputs": [...]} with at most HS_BATCH_MAX entries, or NULL after
 * filling resp. *body_out is the parsed body (caller owns, may be NULL). */
json_t *hs_batch_inputs(struct sim *sim, struct sim_request *req, struct sim_response *resp,
                        json_t **body_out);
const char *hs_input_id(json_t *input);
bool hs_id_prop_ok(struct sim *sim, const char *id_prop);
/* Rejects inputs naming the same record twice (HubSpot answers 400). */
bool hs_duplicate_ids(json_t *inputs, struct sim_response *resp);
/* Every element a string (a property name list). */
bool hs_string_array(json_t *a);
/* Every input has a string "id" (SimplePublicObjectId); else 400 in resp. */
bool hs_input_ids_ok(json_t *inputs, struct sim_response *resp);

#endif
