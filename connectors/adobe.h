/* The Adobe Campaign v8 connector (type adobe_campaign, docs/adobe_campaign.md):
 * SOAP at /nl/jsp/soaprouter.jsp, on the shared CRM runtime (crm_*.h).
 *
 * adobe_xml.c      envelopes (libxml2 writer), XTK literals, safe
 *                  response parsing, faults and their classes  (pure)
 * adobe_map.c      the field mapping, projection, batch classes (pure)
 * adobe_compose.c  push request bodies                          (pure)
 * adobe_logon.c    session calls' bodies, the logon's answer    (pure)
 * adobe_query.c    pull queries (ExecuteQuery bodies)           (pure)
 * adobe_rows.c     query rows -> canonical values               (pure)
 * adobe.c          options, open/close, the ops table
 * adobe_call.c     the SOAP calls: auth modes, budget, fault classes
 * adobe_keys.c     member keys in flight
 * adobe_push.c     push jobs, the write classes
 * adobe_consent.c  consent jobs
 * adobe_job.c      the calls of a job (adobe_job.h)
 * adobe_pull.c     pull cycles */
#ifndef CRMSYNC_ADOBE_H
#define CRMSYNC_ADOBE_H

#include <libxml/tree.h>
#include <libxml/xmlwriter.h>
#include <stddef.h>
#include <stdint.h>

#include "connector.h"
#include "crm_pairs.h"
#include "crm_tier.h"
#include "error.h"

/* Most members in one batch of the engine (connector_ops.max_batch), and
 * so the largest batch_size: our bound, not Adobe's (no Campaign page
 * found documents a WriteCollection record limit; Adobe's client writes
 * 1,000 recipients in one call in integration/sim_adobe_sdk). */
#define ACC_BATCH_MAX 1000
/* Members in a consent batch: one call per record there, so a larger
 * batch only makes one job longer, and the engine holds every member of a
 * batch (one write of a field in flight) until its last call is answered:
 * a withdrawal of a member granted in a job of 100 waited for the whole
 * job, 3-4 s at a saturated 100 calls/s (bench/adobe.sh). 10 is about
 * 0.4 s there, for one grant-guard query per 10 grants. */
#define ACC_CONSENT_BATCH 10
/* Calls a withdrawal job (the priority lane) has in flight at once, one
 * per member; a grant job makes one at a time. Three bulk jobs, a pull
 * and these stay within the HTTP client's 8 connections to Campaign. */
#define ACC_URGENT_PARALLEL 4
#define ACC_SOAP_PATH "/nl/jsp/soaprouter.jsp"
/* Campaign v8 limits the throughput of its API layer in transactions per
 * second, HTTP 429 past it ("Get started with Campaign APIs",
 * experienceleague.adobe.com/en/docs/campaign/campaign-v8/developer/api;
 * the figure is per contract: `rate`). The budget passes at most `rate`
 * calls in any window of this length: a second, and 100 ms of margin, as
 * Campaign counts arrivals and a call delayed on the way arrives closer to
 * the next one than it left (HubSpot's search window has the same). */
#define ACC_TPS_WINDOW_MS 1100

/* --- adobe_xml.c: envelopes --- */

/* A SOAP 1.1 request being written: Envelope, Body, the method element
 * (urn:<namespace>), its sessiontoken parameter, then the method's
 * parameters in order (Campaign reads them by position). */
struct acc_env {
    xmlBufferPtr buf;
    xmlTextWriterPtr w;
    int failed;
};

/* ns "xtk:session", method "WriteCollection"; session_token "" in bearer
 * mode. 0, or -1 with nothing left to free (e is empty). */
int acc_env_begin(struct acc_env *e, const char *ns, const char *method, const char *session_token);
int acc_env_param_string(struct acc_env *e, const char *name, const char *value);
int acc_env_param_bool(struct acc_env *e, const char *name, int value);
/* An element parameter (xsi:type ns:Element, literal XML): write its
 * content with acc_env_writer() between begin and end. */
int acc_env_param_elem_begin(struct acc_env *e, const char *name);
int acc_env_param_elem_end(struct acc_env *e);
xmlTextWriterPtr acc_env_writer(struct acc_env *e);
/* Closes the envelope: the body, malloc'd (NULL on any failure). */
char *acc_env_finish(struct acc_env *e);
void acc_env_free(struct acc_env *e);

/* --- adobe_xml.c: XTK expressions --- */

/* A string literal for an XTK expression: 'text' with \\ and \' (and \n,
 * \t) escaped; the XML writer then escapes the whole expression as an
 * attribute value (the second layer). Control characters are refused.
 * 0, or -1 (refused or does not fit). */
int acc_xtk_string(const char *s, char *out, size_t outsize);
/* #YYYY-MM-DD HH:MM:SS.mmmZ# for ms since the epoch. */
int acc_xtk_datetime(int64_t ms, char *out, size_t outsize);
/* Parses a Campaign datetime ("2026-12-07 10:00:00.123Z", 'T' allowed,
 * fraction and Z optional, UTC). 0 or -1. */
int acc_parse_datetime(const char *s, int64_t *ms);

/* --- adobe_xml.c: responses --- */

/* Parses a response body: refused when over cap, when it carries a
 * DOCTYPE (or any entity declaration), or is not well-formed. Never
 * substitutes entities, never loads a DTD, never lifts libxml2's limits.
 * 0 and *out (xmlFreeDoc), or -1 with why. */
int acc_parse_response(const char *body, size_t len, size_t cap, xmlDocPtr *out, char *why,
                       size_t whylen);

/* The first element child of the SOAP Body (the method's response or the
 * Fault), or NULL. */
xmlNodePtr acc_body_first(xmlDocPtr doc);
/* The first element child of n named name (local name), or NULL. */
xmlNodePtr acc_child(xmlNodePtr n, const char *name);
/* The next element sibling of n named name (NULL: any name). */
xmlNodePtr acc_next(xmlNodePtr n, const char *name);
/* An attribute's value, or NULL; valid while the document lives. The
 * returned string is libxml2's, freed with xmlFree. */
char *acc_attr(xmlNodePtr n, const char *name);

enum acc_fault_class {
    ACC_FAULT_NONE = 0, /* not a fault */
    ACC_FAULT_AUTH,     /* session or IMS token expired/refused: renew once */
    ACC_FAULT_DATA,     /* this record's data: reject it */
    ACC_FAULT_STOP,     /* IP not allowed, unknown schema/method: stop */
    ACC_FAULT_SERVER,   /* no Campaign error code: the server's own, back off */
};

struct acc_fault {
    char code[32];  /* "XSV-350008", "" when the text has none */
    char text[240]; /* faultstring (and detail), trimmed */
    enum acc_fault_class cls;
};

/* Reads a SOAP fault out of a response body (any HTTP status): 1 when it
 * is one (f filled, classified with stop_codes, "XSV-350013,..."), 0 when
 * not, -1 when the body is not readable XML. */
int acc_fault_parse(const char *body, size_t len, size_t cap, const char *stop_codes,
                    struct acc_fault *f);
/* The class of a Campaign error code and text. */
enum acc_fault_class acc_fault_classify(const char *code, const char *text, const char *stop_codes);
/* For crm_job_fail_from: code and text of a fault body. */
void acc_error_of(const char *body, char *code, size_t code_len, char *msg, size_t msg_len);

/* --- adobe_map.c: the mapping --- */

struct acc_map_config {
    const char *key;            /* "@memberKey" */
    const char *points_attr;    /* "loyaltyPoints" ("" none) */
    const char *tier_attr;      /* "loyaltyTier" ("" none) */
    const char *attribute_map;  /* "email=email,phone=mobilePhone,..." */
    const char *services;       /* "marketing/email=newsletter,..." */
    const char *purposes;       /* purposes the denylist flags withdraw */
    const char *denylist_flags; /* "email=blackListEmail,sms=blackListMobile,..." */
    int denylist_write;         /* write the channel flag on a withdrawal */
    int groups_must_exist;      /* create_groups = no: a membership never creates its list */
    const char *tiers;          /* "bronze:0,silver:1000" (crm_tier.h); NULL or "": none */
};

struct acc_map {
    /* The names are the configuration's (borrowed: it outlives the map). */
    const char *key_attr; /* "memberKey" */
    const char *key_expr; /* "@memberKey" */
    const char *points_attr, *tier_attr;
    struct crm_pairs attrs;    /* profile attribute -> recipient attribute */
    struct crm_pairs services; /* "purpose/channel" -> service name */
    struct crm_pairs flags;    /* channel -> blackList attribute */
    struct crm_list purposes;
    int denylist_write;
    int groups_must_exist;
    struct crm_tiers tiers; /* none: the tier is not derived from the balance */
};

int acc_map_init(struct acc_map *m, const struct acc_map_config *c, struct error *err);
void acc_map_free(struct acc_map *m);

/* Campaign values as text (crm_value.h): booleans as 1/0, reals as they
 * are. */
#define ACC_VALUE_TEXT (CRM_VT_BOOL_DIGITS | CRM_VT_REAL)
/* "consent/<purpose>/<channel>" -> "purpose/channel". 0 or -1. */
int acc_consent_key(const char *field, char *out, size_t outsize);

/* What Campaign keeps of a value (connector_ops.project): consent
 * "granted"/"denied", points the balance, tier and profile the text,
 * segment "in"/"out", erase "erased". 0 or -1. */
int acc_project(const struct acc_map *m, enum change_kind kind, const char *field,
                const char *value_json, char *out, size_t outsize);

/* Batch classes: "recipients" (profile, points, tier), "consent",
 * "segments", "erase". */
void acc_batch_class(const struct push_record *rec, char *out, size_t outsize);
/* connector_ops.batch_max: a batch of a write class ("recipients",
 * "segments", "erase") holds at most batch_size members, one
 * WriteCollection; a "consent" batch ACC_CONSENT_BATCH. */
size_t acc_batch_max(const char *class_key, long batch_size);

/* The consent record's service ("marketing/email" -> "newsletter") and
 * grant (1) or withdrawal (0). -1: unmapped purpose/channel or unreadable
 * value (the reason in why). */
int acc_consent_target(const struct acc_map *m, const struct push_record *rec, const char **service,
                       int *grant, char *why, size_t whylen);

/* --- adobe_compose.c: push request bodies --- */

/* Writes one <recipient> element for the records recs[idx[0..n)] of one
 * member (all with the same member key) into w: _key, the key attribute,
 * the attributes, the denylist flags (withdrawals, when configured), and
 * rcpGrpRel memberships. op is "insertOrUpdate" or "delete". Records whose
 * value cannot be written get a REJECT in res (by index). Returns the
 * number of records written or -1 on a writer failure. */
int acc_write_recipient(const struct acc_map *m, xmlTextWriterPtr w, const char *op,
                        const struct push_record *recs, const size_t *idx, size_t n,
                        struct push_result *res);

/* The Write (n == 1) or WriteCollection body for members: groups[g] lists
 * the record indexes of member g (ngroup[g] of them). NULL on failure. */
char *acc_compose_write(const struct acc_map *m, const char *session_token, const char *op,
                        const struct push_record *recs, size_t *const *groups, const size_t *ngroup,
                        size_t ng, struct push_result *res);

/* Subscribe (grant) or Unsubscribe (withdrawal) of the member to service.
 * service must not be empty (an empty name denylists the recipient). */
char *acc_compose_subscription(const struct acc_map *m, const char *session_token, int subscribe,
                               const char *service, const char *member_key);

/* An nms:group Write (insertOrUpdate by @name). */
char *acc_compose_group(const char *session_token, const char *name);

/* --- adobe_logon.c: the session calls --- */

/* xtk:persist#GetEntityIfMoreRecent of the xtk:session schema: the call
 * Adobe's own client makes first; here it makes the token manager fetch an
 * IMS token before a BearerTokenLogon. */
char *acc_compose_schema_probe(void);
/* BearerTokenLogon with the IMS token. */
char *acc_compose_bearer_logon(const char *token);
/* xtk:session#Logoff (the session travels in the headers). */
char *acc_compose_logoff(void);
/* Reads pstrSessionToken and pstrSecurityToken out of its response. 0/-1. */
int acc_parse_logon(const char *body, size_t len, size_t cap, char *session, size_t slen,
                    char *security, size_t seclen);

/* --- adobe_query.c: pull queries; adobe_rows.c: their rows --- */

struct acc_keyset {
    int64_t modified_ms; /* @lastModified of the last row read; 0: none */
    int64_t id;          /* its @id */
};

/* ExecuteQuery of nms:recipient rows modified after the keyset (less the
 * lookback when from_lookback), ordered by (@lastModified, @id), at most
 * line_count rows. */
char *acc_compose_recipient_query(const struct acc_map *m, const char *session_token,
                                  const struct acc_keyset *after, long line_count);
/* ExecuteQuery of nms:subHisto rows with @date >= since_ms, ordered by
 * (@date, @id), from start_line. */
char *acc_compose_subhisto_query(const struct acc_map *m, const char *session_token,
                                 int64_t since_ms, long start_line, long line_count);

/* One recipient row as the pull reads it. Strings are the document's. */
struct acc_row_field {
    enum change_kind kind;
    char field[160];
    char value_json[512];
    char projection[256];
    int observe_only; /* what Campaign holds is observed, not taken in */
};

/* Turns one <recipient> row into fields (at most max): profile
 * attributes, points, tier, and the denylist flags as withdrawals of every
 * purpose on their channel (@blackList: every channel). Consent fields are
 * only produced for a flag that is set. Returns the count, or -1 when the
 * row has no member key. occurred_ms is the row's @lastModified. */
int acc_row_fields(const struct acc_map *m, xmlNodePtr row, struct acc_row_field *out, size_t max,
                   char *member_key, size_t klen, int64_t *id, int64_t *occurred_ms);

/* ExecuteQuery of the denylist flags of the recipients with these member
 * keys (key = 'k1' OR key = 'k2' ..., each an escaped XTK literal). */
char *acc_compose_flags_query(const struct acc_map *m, const char *session_token,
                              const char *const *keys, size_t n);
/* 1 when the row's recipient is on the denylist for channel (@blackList,
 * or the channel's flag). */
int acc_row_suppressed(const struct acc_map *m, xmlNodePtr row, const char *channel);
/* The row's member key. 0 or -1. */
int acc_row_key(const struct acc_map *m, xmlNodePtr row, char *out, size_t outsize);

/* One nms:subHisto row (@id, @action, @date, <service name>, <recipient
 * KEY>) as a consent change of the (purpose, channel) its service is
 * mapped from. 0, or -1 when not ours (unmapped service, no member key,
 * unreadable). ref: "subHisto <id>". */
int acc_histo_field(const struct acc_map *m, xmlNodePtr row, struct acc_row_field *f, char *member,
                    size_t mlen, char *ref, size_t rlen, int64_t *when);

/* ExecuteQuery of list memberships (nms:rcpGrpRel: the group's name and
 * the recipient's member key), from start_line. */
char *acc_compose_members_query(const struct acc_map *m, const char *session_token, long start_line,
                                long line_count);
/* ExecuteQuery of the lists (nms:group: @id, @name) after @id after_id,
 * by @id: a full read walks every list for absent members, one with no
 * member at all included. */
char *acc_compose_groups_query(const char *session_token, int64_t after_id, long line_count);
/* ExecuteQuery of the recipients (@id, member key) with a member key that
 * are not in list group (nms:group @name): a collection link filtered with
 * setOperator="NOT EXISTS", @id after after_id, ordered by @id. */
char *acc_compose_absent_query(const struct acc_map *m, const char *session_token,
                               const char *group, int64_t after_id, long line_count);
/* One membership row: member and "segment/<group name>". 0 or -1. */
int acc_member_row(const struct acc_map *m, xmlNodePtr row, char *member, size_t mlen, char *field,
                   size_t flen);

/* The rows of an ExecuteQuery response (the collection's first child), or
 * NULL when none. */
xmlNodePtr acc_query_rows(xmlDocPtr doc);

#endif
