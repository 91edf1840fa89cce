/* HubSpot flavour internals shared by hubspot_*.c. */
#ifndef CRMSIM_HUBSPOT_H
#define CRMSIM_HUBSPOT_H

#include "sim.h"
#include "sim_ratelimit.h"
#include "sim_store.h"

/* Route flags (struct sim_route.flags). */
#define HS_NOAUTH 0x1u /* OAuth token endpoint: no bearer, no rate limit */
#define HS_SEARCH 0x2u /* counts against the search SECONDLY limit */

#define HS_BATCH_MAX 100
/* source of a status never set (PublicStatus requires one; not documented) */
#define HS_DEFAULT_STATUS_SOURCE "NOT_SET"
#define HS_COLL_CONTACTS "contacts"

struct hs_state {
    struct sim_window ten_secondly;
    struct sim_window search_secondly;
    struct sim_daily daily;
    json_t *properties;    /* contact property name -> definition */
    json_t *lists;         /* listId -> list (with "members": {recordId: ms}) */
    json_t *subscriptions; /* array of subscription definitions */
    json_t *statuses;      /* email -> { subscriptionId -> status } */
    uint64_t next_list_id;
};

static inline struct hs_state *hs_state(struct sim *sim)
{
    return sim->flavor_data;
}

/* hubspot.c */
void hs_error_body(struct sim_response *resp, int status, const char *category,
                   const char *message);
/* Attaches an "errors" array / "context" to an error body already built. */
void hs_error_detail(struct sim_response *resp, json_t *errors_take, json_t *context_take);
json_t *hs_property_def(struct sim *sim, const char *name);
const char *hs_property_type(struct sim *sim, const char *name);
void hs_oauth_token(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void hs_properties_list(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void hs_properties_get(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void hs_properties_create(struct sim *sim, struct sim_request *req, struct sim_response *resp);

/* hubspot_contact*.c, hubspot_contacts*.c, hubspot_batch*.c */
struct sim_coll *hs_contacts(struct sim *sim);
json_t *hs_contact_json(struct sim *sim, const struct sim_record *rec, json_t *props_view,
                        const json_t *wanted);
json_t *hs_batch_envelope(json_t *results_take, json_t *errors_take, int64_t started, int64_t now);
/* The same envelope through a writer (sim_json.h): begin opens it up to
 * the results array; the caller writes each result; end closes the array
 * and adds the times and, when errors is a non-empty array, the errors. */
struct sim_jw;
void hs_batch_begin(struct sim_jw *w, size_t nresults);
void hs_batch_end(struct sim_jw *w, const json_t *errors, int64_t started, int64_t now);
void hs_contacts_list(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void hs_contacts_get(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void hs_contacts_create(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void hs_contacts_update(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void hs_contacts_archive(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void hs_contacts_batch_read(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void hs_contacts_batch_create(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void hs_contacts_batch_update(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void hs_contacts_batch_upsert(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void hs_contacts_batch_archive(struct sim *sim, struct sim_request *req, struct sim_response *resp);
/* hubspot_merge.c */
void hs_contacts_merge(struct sim *sim, struct sim_request *req, struct sim_response *resp);

/* hubspot_search.c */
void hs_contacts_search(struct sim *sim, struct sim_request *req, struct sim_response *resp);

/* hubspot_prefs.c */
void hs_prefs_definitions(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void hs_prefs_batch_read(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void hs_prefs_batch_write(struct sim *sim, struct sim_request *req, struct sim_response *resp);
json_t *hs_default_subscriptions(int64_t now);

/* hubspot_lists.c */
void hs_lists_create(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void hs_lists_get(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void hs_lists_get_by_name(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void hs_lists_add(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void hs_lists_remove(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void hs_lists_add_remove(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void hs_lists_memberships(struct sim *sim, struct sim_request *req, struct sim_response *resp);
void hs_lists_search(struct sim *sim, struct sim_request *req, struct sim_response *resp);

#endif
