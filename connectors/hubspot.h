/* The HubSpot connector's internals, shared by connectors/hubspot*.c
 * (docs/hubspot.md has the mapping and the vendor pages it follows):
 *
 *   hubspot.c        ops table, options, open/close, auth
 *   hubspot_http.c   accessors, API paths, requests and the 429 policy
 *   hubspot_setup.c  the custom contact properties (list, create, ready)
 *   hubspot_push.c, hubspot_push_ids.c, hubspot_job.c  push jobs
 *   hubspot_map.c    pure: mapping tables, projection, request composition
 *   hubspot_parse.c  pure: error answers, 429 policy names
 *   hubspot_parse_push.c  pure: push answers -> per-record results
 *   hubspot_parse_pull.c  pure: search pages, statuses, contacts -> changes
 *   hubspot_pull.c   the pull cycle (search pages, statuses, one transaction
 *                    per page); hubspot_pull_send.c its requests' budgets
 *                    and the cycle's end, shared with the sweeps
 *
 * No two of these files call each other both ways (issue 18): hubspot.c
 * calls the others, the job, pull-send, http and pure files call none of
 * the files that call them.
 *   hubspot_ids.c    pure: record ids, merged ids, a member's contact fields
 *   hubspot_gone.c   contacts merged away or archived in HubSpot (the pull's
 *                    merge handling and archived sweep)
 *   hubspot_statuses.c  the statuses sweep (an unsubscribe need not modify
 *                    the contact, so the search may never see it)
 *
 * The pure halves take no connector, no loop and no sink, so the unit tests
 * (tests/unit/test_hubspot_*.c) call them directly. */
#ifndef CRMSYNC_HUBSPOT_H
#define CRMSYNC_HUBSPOT_H

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "connector.h"
#include "crm_job.h"
#include "crm_options.h"
#include "crm_pairs.h"
#include "crm_plan.h"
#include "crm_pull_page.h"
#include "crm_request.h"
#include "crm_tier.h"
#include "http.h"
#include "ratelimit.h"
#include "strbuf.h"

#define HS_BATCH_MAX 100
#define HS_SEARCH_LIMIT 100
#define HS_SEARCH_CAP 10000
#define HS_SEARCH_PER_SECOND 5
/* The longest request path (and OAuth token URL) built: past it a request
 * is refused, never cut. */
#define HS_PATH_MAX 8192

/* Subscription status states of the 2026-09 statuses batch API (write:
 * PublicStatusRequest.statusState, read: PublicStatus.status). */
#define HS_STATUS_SUBSCRIBED "SUBSCRIBED"
#define HS_STATUS_UNSUBSCRIBED "UNSUBSCRIBED"
#define HS_STATUS_NOT_SPECIFIED "NOT_SPECIFIED"

/* The field mapping, from the options (see hubspot.c for defaults). */
struct hs_map {
    /* The names are the configuration's (borrowed: it outlives the map). */
    const char *id_property;     /* unique contact property holding the member key */
    const char *points_property; /* balance */
    const char *tier_property;
    struct crm_pairs subs;    /* purpose -> subscription type id (EMAIL) */
    struct crm_pairs bases;   /* our legal basis -> HubSpot legalBasis */
    struct crm_pairs attrs;   /* profile attribute -> contact property */
    struct crm_list purposes; /* purposes with sms/phone/post properties */
    struct crm_tiers tiers;   /* none: the tier is not derived (crm_tier.h) */
};

/* Consent channels kept in custom contact properties (EMAIL goes through
 * the subscription API). */
extern const char *const hs_property_channels[]; /* "sms", "phone", "post", NULL */

struct hs_map_config {
    const char *id_property, *points_property, *tier_property;
    const char *subscriptions, *legal_basis_map, *attribute_map, *purposes;
    const char *tiers; /* "bronze:0,silver:1000"; NULL or "": none */
};

/* --- hubspot_map.c (pure) --- */

int hs_map_init(struct hs_map *m, const struct hs_map_config *cfg, struct error *err);
void hs_map_free(struct hs_map *m);

/* Splits "consent/<purpose>/<channel>". 0 or -1. */
int hs_split_consent_field(const char *field, char *purpose, size_t psize, char *channel,
                           size_t csize);

/* The request class of a record: "contacts", "subscriptions", "list:<id>",
 * "erase". */
void hs_batch_class(const struct push_record *rec, char *out, size_t outsize);

/* The request inputs rec adds to a batch of its class
 * (connector_ops.record_cost): 1 per email consent record (a statuses batch
 * input each), else 1 per member. HubSpot takes at most HS_BATCH_MAX inputs
 * per batch request. */
size_t hs_record_cost(const struct push_record *rec, int member_new);

/* What HubSpot stores of a value (connector_ops.project). */
int hs_project(enum change_kind kind, const char *field, const char *value_json, char *out,
               size_t outsize);

/* Groups the records of a "contacts" batch by member into upsert inputs with
 * one property set each. A record that cannot be mapped gets PUSH_REJECT in
 * res[i] and no group. with_props 0: groups only (the minimal upsert that
 * learns record ids). 0, or -1 on out of memory. */
int hs_plan_contacts(const struct hs_map *m, const struct push_record *recs, size_t n,
                     struct push_result *res, int with_props, struct crm_plan *p);

/* {"inputs":[{"idProperty":..,"id":member,"properties":{..}}]} for the
 * groups sel[0..nsel). malloc'd. */
char *hs_upsert_body(const struct hs_map *m, const struct crm_plan *p, const size_t *sel,
                     size_t nsel);

/* One statuses batch write input for consent/<purpose>/email. Returns 0, or
 * -1 with the reason to reject (unknown purpose, unmapped legal basis,
 * unreadable value). */
int hs_status_input(const struct hs_map *m, const struct push_record *rec, const char *email,
                    json_t **out, char *reason, size_t rsize);

/* The subscriberIdString of every statuses write input whose statusState
 * is state, each address once (compared without case): the inputs of a
 * statuses batch read. New ref. */
json_t *hs_distinct_subscribers(json_t *inputs, const char *state);

/* The emails of the member contacts (those with id_property) of a page of
 * contacts, each address once: the inputs of a statuses batch read. New
 * ref. */
json_t *hs_member_emails(const struct hs_map *m, json_t *contacts);

/* The member's email from its canonical profile/email value; NULL if none. */
char *hs_email_of(const char *profile_email_json);

/* The contacts batch read by id_property of inputs ([{"id": member}],
 * stolen): {"idProperty", "properties": [id_property],
 * "propertiesWithHistory": [], "inputs"}. New ref. */
json_t *hs_read_by_key_body(const struct hs_map *m, json_t *inputs);

/* {"inputs": inputs} (stolen; NULL gives NULL), the body of every batch
 * request: compact JSON text, malloc'd, or NULL. */
char *hs_inputs_body(json_t *inputs);

char *hs_list_create_body(const char *segment);
char *hs_memberships_body(const char *const *add, size_t nadd, const char *const *remove,
                          size_t nremove);

/* The search request of the pull: lastmodifieddate in [gte, lt), ascending,
 * every mapped property. */
char *hs_search_body(const struct hs_map *m, int64_t gte, int64_t lt, long after, int limit);
/* Every property the connector reads or writes (for search and create). */
json_t *hs_mapped_properties(const struct hs_map *m);

/* The path of an API family (HS_V_*) at version, plus the tail built from
 * fmt, added to b: "/crm/objects/V/contacts", "/crm/properties/V/contacts",
 * "/crm/lists/V", "/communication-preferences/V". 0, or -1 when b failed
 * (past its bound: nothing is cut). */
int hs_api_pathv(struct strbuf *b, int family, const char *version, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
int hs_api_path(struct strbuf *b, int family, const char *version, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* --- hubspot_parse*.c (pure) --- */

/* The text of property name in a properties object, "" when absent or
 * not a string (hubspot_parse.c). */
const char *hs_prop_text(json_t *props, const char *name);

enum hs_state { HS_NONE = 0, HS_OK, HS_REJECT };

struct hs_outcome {
    enum hs_state state;
    char id[64];
    char reason[256];
};

/* The vendor's message of an error body ("" when none). */
void hs_error_message(const char *body, char *out, size_t outsize);
/* policyName of a 429 body ("" when none). */
void hs_policy_name(const char *body, char *out, size_t outsize);

/* A 200/207 batch (upsert/read) body: out[i] for the member keys keys[i],
 * matched by the id_property value of each result (never by position), and
 * errors by their context ids. */
int hs_parse_batch_result(const char *body, const char *id_property, const char *const *keys,
                          size_t n, struct hs_outcome *out);

/* A whole-batch 400/409 on a contacts batch: which inputs caused it.
 * props[i] are the properties sent for input i (id value included),
 * remote_ids[i] its known record id or NULL. Sets blame[i] = 1 and returns
 * how many were blamed (reason: the vendor's message); returns 0 when the
 * error cannot be pinned on inputs. */
size_t hs_attribute_error(const char *body, const char *id_property, json_t *const *props,
                          const char *const *remote_ids, size_t n, int *blame, char *reason,
                          size_t rsize);

/* A statuses batch write answer: out[i] for inputs[i] (matched by
 * subscriberIdString + subscriptionId). */
int hs_parse_status_write(const char *body, json_t *inputs, struct hs_outcome *out);

/* The listId of a create-list answer. 0 or -1. */
int hs_parse_list_id(const char *body, char *out, size_t outsize);
/* recordIdsMissing of a memberships answer as a JSON array (new ref), or
 * NULL. */
json_t *hs_parse_missing(const char *body);

/* A search page: results (borrowed from *root), the next `after` ("" when
 * none). *root is the parsed body (caller decrefs). 0 or -1. */
int hs_parse_search(const char *body, json_t **root, json_t **results, char *after, size_t asize);
/* The paging cursor of an answer (paging.next.after, a string in HubSpot's
 * NextPage): 1 when there is none (last page); 0 with *out when it is a
 * decimal number past prev (the offset or cursor of the page just read,
 * -1 before the first); -1 when it is not numeric or does not advance: a
 * pull following it would read the same pages for ever, so it stops with
 * an error instead. */
int hs_next_after(const char *next, long long prev, long long *out);
/* A statuses batch read answer: subscriberIdString (lower case) -> array of
 * statuses. New ref or NULL. */
json_t *hs_parse_statuses(const char *body);

/* Turns one search result (and the statuses of its email, may be NULL)
 * into fields. member: out, the id_property value ("" when the contact is
 * not a member: nothing emitted). Returns 0 or -1 (fn failed). */
int hs_contact_fields(const struct hs_map *m, const char *conn, json_t *contact, json_t *statuses,
                      crm_field_fn fn, void *arg, char *member, size_t msize);

/* A statuses batch read answer as hs_parse_statuses, keeping only the
 * UNSUBSCRIBED statuses (subscriptionId, status, timestamp) and only the
 * subscribers that have one: what the grant guard (hs_newer_withdrawal)
 * reads. Read with jscan (issue 17). An unreadable body gives an empty
 * object, as hs_parse_statuses does. New ref or NULL. */
json_t *hs_parse_withdrawals(const char *body);

/* 1 when statuses (hs_parse_statuses or hs_parse_withdrawals) hold
 * UNSUBSCRIBED for (email,
 * sid) recorded after collected_at: a grant that old must not overwrite it. */
int hs_newer_withdrawal(json_t *statuses, const char *email, long long sid, int64_t collected_at);

/* HubSpot datetime (RFC 3339 or epoch ms) to ms. 0 or -1. */
int hs_parse_time(const char *s, int64_t *ms);

/* What HubSpot holds of {"balance":N}: "N", or "N|<tier>" when tiers are
 * configured (the tier is written with the balance, so the shadow covers
 * both). 0 or -1. */
int hs_project_balance(const struct hs_map *m, const char *value_json, char *out, size_t outsize);

/* --- hubspot_ids.c (pure) --- */

#define HS_ID_MAX 32
#define HS_MERGED_PROPERTY "hs_merged_object_ids"

/* The record ids of an hs_merged_object_ids value ("1;2", commas and
 * blanks tolerated; non-numeric items and duplicates dropped). At most max;
 * returns how many. */
size_t hs_split_ids(const char *s, char (*out)[HS_ID_MAX], size_t max);
/* 1 when id is a HubSpot record id (digits), 0 for a marker such as
 * "archived:12" or "merged:12" the identity map keeps for a contact that is
 * gone. */
int hs_is_record_id(const char *id);
/* Calls fn for every canonical field a member's contact holds in HubSpot
 * (profile attributes, sms/phone/post consent, tier, and points/balance
 * last); EMAIL consent lives with the email address, not the contact.
 * Stops at the first non-zero return (then -1). */
typedef int (*hs_contact_field_fn)(void *arg, enum change_kind kind, const char *field);
int hs_contact_field_each(const struct hs_map *m, hs_contact_field_fn fn, void *arg);

/* --- hubspot.c / hubspot_pull.c (I/O) --- */

struct hubspot;
void hs_pull(struct connector *conn);
void hs_pull_resync(struct connector *conn);
/* Starts a request with the connector's auth, limits and rate-limit
 * feedback; done gets the result. body may be NULL. 0 or -1 (done not
 * called). */
int hs_request(struct hubspot *hs, enum http_method method, const char *path, const char *body,
               http_done_fn done, void *arg);
/* The same for a search (POST): its 429 (SECONDLY) holds hs->search_rl
 * instead of the general budget. The caller has taken the search window. */
int hs_request_search(struct hubspot *hs, const char *path, const char *body, http_done_fn done,
                      void *arg);
const struct hs_map *hs_map_of(const struct hubspot *hs);
const char *hs_version(const struct hubspot *hs, int family);
enum { HS_V_OBJECTS = 0, HS_V_PROPERTIES, HS_V_LISTS, HS_V_PREFS };
struct connector *hs_conn(const struct hubspot *hs);
long hs_search_lag_ms(const struct hubspot *hs);
long hs_lookback_ms(const struct hubspot *hs);
long hs_archived_sweep_ms(const struct hubspot *hs);
/* One pull cycle (hubspot_pull.c); lives in the connector's private struct. */
struct hs_pull_state {
    int active;
    int64_t gte, upper; /* lastmodifieddate window [gte, upper) */
    int64_t last_seen;  /* newest lastmodifieddate applied */
    long after;         /* search offset in the window */
    long pages;
    json_t *root, *results;
    char next_after[32];
    int search_429s; /* SECONDLY answers in a row (the search is resent) */
    /* A request waiting for its budget (hs->pull_timer): */
    int waiting, wait_search;
    enum http_method wait_method;
    char *wait_path;
    char *wait_body;
    http_done_fn wait_done;
    /* The archived sweep (hubspot_gone.c): */
    uint64_t last_sweep_ms; /* 0: never (the first cycle sweeps) */
    int sweeping;
    long swept;
    char sweep_after[32];
    /* The statuses sweep (hubspot_statuses.c): */
    uint64_t last_status_sweep_ms;          /* 0: never (the first cycle sweeps) */
    char status_after[32], status_prev[32]; /* next page's cursor, this page's */
    json_t *status_page;                    /* the contacts page whose statuses are read */
    long status_applied;
    /* The list memberships sweep after a resync (hubspot_lists_sweep.c): */
    int list_sweep_due;
    json_t *sweep_lists; /* [[listId, segment], ...]: our segments' lists */
    size_t list_idx;
    long list_offset;     /* lists search offset */
    char list_after[256]; /* memberships cursor of list list_idx (opaque) */
    long list_observed;
};
struct hs_pull_state *hs_pull_state(struct hubspot *hs);
int hs_closing(const struct hubspot *hs);
/* Ends the pull cycle: pull_done(status) once per hs_pull(). */
void hs_pull_finish(struct hubspot *hs, int status);
/* Sends a pull request once its budget allows: a search waits for the
 * search window (5/s), any other request for the engine's bucket (bulk
 * lane), on hs->pull_timer. done is called with hs as arg. 0, or -1 (done
 * not called). */
int hs_pull_send(struct hubspot *hs, int search, enum http_method method, const char *path,
                 const char *body, http_done_fn done);
/* 0 when res is a pull request's answer to read; else 1 (closing, or the
 * request failed: "pull: <what> failed (<status> <HubSpot's message>)" is
 * logged; res NULL: an answer that could not be read). */
int hs_pull_failed(struct hubspot *hs, const struct http_result *res, const char *what);
/* A sweep done last at last_ms (loop time; 0: never) is due again once
 * interval_ms have passed: 1 or 0. hs_sweep_stamp is the time to keep when
 * one ends (never 0). */
int hs_sweep_due(const struct hubspot *hs, uint64_t last_ms, long interval_ms);
uint64_t hs_sweep_stamp(const struct hubspot *hs);
/* After a page of a listing by `after` cursor (the archived sweep's, the
 * statuses sweep's): cursor is the next page's, prev the page's just read
 * ("": the first page). hs_next_after's answer: 1 the last page was read,
 * 0 go on, -1 the cursor does not advance (logged: the pull stops rather
 * than read the same pages for ever). */
int hs_listing_next(struct hubspot *hs, const char *listing, const char *prev, const char *cursor);
/* Reads the EMAIL subscription statuses of emails (stolen: a batch read's
 * inputs) with hs_pull_send; its 0 or -1. */
int hs_pull_read_statuses(struct hubspot *hs, json_t *emails, http_done_fn done);
/* Close: a request waiting for its budget ends the cycle (pull_done -1). */
void hs_pull_cancel(struct hubspot *hs);

/* A pull page of this connector: the shared page rule (crm_page_field);
 * crm_page_field_fn is its per-field callback. */
void hs_page_init(struct crm_page *pg, struct hubspot *hs);

/* --- hubspot_statuses.c --- */

/* After the archived sweep: when status_sweep is due, pages through every
 * contact (id_property and email only), reads the EMAIL statuses of the
 * members' addresses and applies them as a pull page would (watermark
 * unchanged); then ends the cycle with hs_pull_finish(). An unsubscribe
 * need not modify the contact (a status belongs to the address, not the
 * record), so the search by lastmodifieddate may never see it. */
void hs_status_sweep(struct hubspot *hs);
long hs_status_sweep_ms(const struct hubspot *hs);

/* --- hubspot_lists_sweep.c --- */

/* After the statuses sweep: after a resync, reads the memberships of the
 * segments' lists (found by name "crmsyncd <segment>" and kept in the
 * identity map as "segment:<segment>" -> "list:<id>") and observes each
 * member contact in them as "in", so that the re-push after the resync does
 * not write memberships HubSpot holds (issue 14 item 4); then ends the
 * cycle with hs_pull_finish(). A membership "out" is an absence and cannot
 * be read back (docs/hubspot.md). */
void hs_list_sweep(struct hubspot *hs);

/* --- hubspot_gone.c --- */

/* Inside a pull page: the member's contact is gone from HubSpot (marker
 * "archived:<id>" or "merged:<id>" goes into the identity map) and every
 * contact field the member has a local value for is observed as held as
 * "(<marker>)", so the engine's drift repair writes them all again: the
 * first write creates a new contact by the id property. 0 or -1. */
int hs_contact_gone(struct hubspot *hs, const char *member, const char *marker, struct error *err);
/* Inside a pull page: identities pointing at the ids a pulled contact
 * lists in hs_merged_object_ids follow it (record id) or, when the survivor
 * is another member's contact, become gone. 0 or -1. */
int hs_follow_merges(struct hubspot *hs, json_t *contact, const char *member, const char *id,
                     struct error *err);
/* After the search pages: pages through archived contacts (when the sweep
 * is due) and ends the cycle with hs_pull_finish(). */
void hs_archived_sweep(struct hubspot *hs);

/* The connector instance (conn->priv). */
struct hubspot_settings;
struct oauth;
/* The parsed [connector.NAME] options (hubspot.c declares them). */
struct hubspot_settings {
    char *base_url;
    int auth;
    char *token_file, *client_id, *client_secret_file, *refresh_token_file, *token_url;
    char *version_objects, *version_properties, *version_lists, *version_prefs;
    char *id_property;
    int create_properties;
    char *subscriptions, *legal_basis_map, *points_property, *tier_property, *attribute_map;
    char *purposes, *tiers;
    long search_lag_ms, archived_sweep_ms, status_sweep_ms;
    struct crm_common_settings common;
};

struct hubspot {
    struct connector *conn;
    const struct hubspot_settings *cfg;
    struct hs_map map;
    char *base;
    struct crm_http h;    /* the shared request wrapper (client, token manager) */
    struct crm_jobs jobs; /* answered push jobs, waiting for the defer timer */
    struct strbuf path;   /* hs_path's last answer */
    uv_timer_t setup_timer, pull_timer;
    struct ratelimit_window search_rl; /* HubSpot's search: 5 per second */
    struct crm_life life;              /* timers and the HTTP client still to close */
    int closing;
    int ready; /* custom properties exist (or are not ours to create) */
    int setup_pending;
    struct hs_job *creating; /* list jobs whose list create is in flight */
    struct hs_pull_state pull;
};

/* HubSpot's 429 policy for the request wrapper (crm_http_open's policy
 * hook; ctx is the struct hubspot). hubspot_http.c. */
int hs_http_policy(void *ctx, int tag, struct http_result *res);
/* The path of an API family plus tail (hs_api_path with the configured
 * version), valid until the next call; NULL when too long (HS_PATH_MAX) or
 * out of memory: a request given NULL is refused, never cut. */
const char *hs_path(struct hubspot *hs, int family, const char *tail);
const char *hs_pathf(struct hubspot *hs, int family, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Custom contact properties: list, create the missing ones, then ready. */
void hs_setup_start(struct hubspot *hs);
void hs_op_push(struct connector *conn, struct push_batch *pb);
void hs_op_batch_class(struct connector *conn, const struct push_record *rec, char *out,
                       size_t outsize);
size_t hs_op_record_cost(struct connector *conn, const struct push_record *rec, int member_new);
int hs_op_project(struct connector *conn, enum change_kind kind, const char *field,
                  const char *value_json, char *out, size_t outsize);

#endif
