/* The Salesforce connector's internals, shared by connectors/salesforce*.c
 * (docs/salesforce.md has the mapping, the modes and the vendor pages):
 *
 *   salesforce.c        ops table, options, open/close, auth, HTTP plumbing,
 *                       quota (Sforce-Limit-Info, daily budget), push jobs
 *   salesforce_map.c    pure: mapping, projection, request composition, SOQL
 *   salesforce_parse.c  pure: collections results, query pages, getDeleted,
 *                       Bulk CSV results -> outcomes and canonical changes
 *   salesforce_pull.c   the pull cycle (Contact cursor, LoyaltyMemberCurrency
 *                       balances, CampaignMember deletions)
 *   salesforce_push.c   push jobs: results, Contact collections, slicing
 *   salesforce_bulk.c   Bulk API 2.0 Contact jobs (CSV: salesforce_bulk_csv.c)
 *   salesforce_segment.c CampaignMember and erase
 *   salesforce_loyalty.c TransactionJournal (compose: salesforce_loyalty_map.c)
 *   salesforce_consent.c consent objects push and pull (mapping:
 *                       salesforce_consent_map.c)
 *
 * The pure halves take no connector, loop or sink, so the unit tests
 * (tests/unit/test_salesforce_*.c) call them directly. */
#ifndef CRMSYNC_SALESFORCE_H
#define CRMSYNC_SALESFORCE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "connector.h"
#include "crm_pairs.h"
#include "crm_plan.h"
#include "crm_pull_page.h"
#include "http.h"

#define SF_COLL_MAX 200 /* sObject Collections: records per request */
/* Members per engine batch: a batch at or above bulk_threshold Contact
 * rows goes as one Bulk API 2.0 job (docs/salesforce.md "Bulk"). */
#define SF_MAX_BATCH 10000
/* The longest request path (a query's URL, the token URL) built: past it a
 * request is refused, never cut. */
#define SF_PATH_MAX 65536
#define SF_QUERY_PAGE 2000

enum sf_consent_mode { SF_CONSENT_FIELDS = 0, SF_CONSENT_OBJECTS = 1 };
enum sf_points_mode { SF_POINTS_FIELDS = 0, SF_POINTS_LOYALTY = 1 };

/* The field mapping, from the options (defaults in salesforce.c). */
/* The names are the configuration's (borrowed: it outlives the map). */
struct sf_map {
    const char *ext_id;       /* Contact external id field holding the member key */
    const char *points_field; /* balance (contact_fields mode) */
    const char *tier_field;
    const char *flag_purpose; /* the purpose the Contact opt-out flags stand for */
    const char *email_flag, *phone_flag, *sms_flag, *post_flag; /* "" = none */
    const char *last_name_placeholder;
    struct crm_pairs attrs; /* profile attribute -> Contact field */
    int consent_mode, points_mode;
};

struct sf_map_config {
    const char *ext_id, *points_field, *tier_field, *flag_purpose;
    const char *email_flag, *phone_flag, *sms_flag, *post_flag;
    const char *last_name_placeholder, *attribute_map;
    int consent_mode, points_mode;
};

/* --- salesforce_map.c (pure) --- */

int sf_map_init(struct sf_map *m, const struct sf_map_config *cfg, struct error *err);
void sf_map_free(struct sf_map *m);

/* "Contact", "CampaignMember:<segment>", "erase", ... */
void sf_batch_class(const struct sf_map *m, const struct push_record *rec, char *out,
                    size_t outsize);

/* connector_ops.batch_max: a Contact batch of at least bulk_threshold
 * rows (one per member) goes as one Bulk job, so up to SF_MAX_BATCH;
 * any other batch is one collections request of SF_COLL_MAX. */
size_t sf_batch_max(const char *class_key, size_t waiting, long bulk_threshold);

/* What Salesforce stores of a value (connector_ops.project). */
int sf_project(const struct sf_map *m, enum change_kind kind, const char *field,
               const char *value_json, char *out, size_t outsize);

/* After sf_project() returned -1: why, naming the option that decides it,
 * or "" when the value itself is at fault. */
void sf_unrepresentable_why(const struct sf_map *m, enum change_kind kind, const char *field,
                            char *out, size_t outsize);

/* The Contact field a consent record goes to, or NULL (not representable). */
const char *sf_consent_flag(const struct sf_map *m, const char *field);

/* Groups the records of a "Contact" batch by member. A record that cannot
 * be mapped gets PUSH_REJECT in res[i]. 0, or -1 on out of memory. */
int sf_plan_contacts(const struct sf_map *m, const struct push_record *recs, size_t n,
                     struct push_result *res, struct crm_plan *p);

/* {"allOrNone":false,"records":[{"attributes":{"type":"Contact"},
 * "<ext_id>":member,...}]} for the groups sel[0..nsel). A group marked
 * placeholder gets LastName = the placeholder unless it sets LastName.
 * malloc'd. */
/* {"allOrNone":false,"records":records} (records stolen): the body of an
 * sObject Collections request. malloc'd, or NULL. */
char *sf_collection_body(json_t *records);
char *sf_upsert_body(const struct sf_map *m, const struct crm_plan *p, const size_t *sel,
                     size_t nsel);

/* Bulk API 2.0 upload CSV for the groups sel[0..nsel): header = the
 * external id field, then every field any row sets (sorted); one row per
 * group; absent field = empty cell (untouched), null or "" = #N/A; fields
 * quoted per RFC 4180 when needed; LF line ends. A group marked
 * placeholder gets LastName = the placeholder unless it sets LastName.
 * malloc'd, NULL on out of memory. */
char *sf_bulk_csv(const struct sf_map *m, const struct crm_plan *p, const size_t *sel, size_t nsel);

/* Loyalty Management (points_mode = loyalty): one ledger transaction, the
 * engine's canonical {"txn_id","delta","reason","occurred_at"[,
 * "expires_at"]}. number is its ExternalTransactionNumber. */
/* TransactionJournal.ExternalTransactionNumber: a string of 40 (Loyalty
 * Management object reference). */
#define SF_TXN_NUMBER_MAX 40
struct sf_txn {
    char txn_id[128];
    char occurred_at[40];
    long long delta;
    char number[SF_TXN_NUMBER_MAX + 1];
};
int sf_parse_txn(const char *value_json, struct sf_txn *t);
/* txn_id itself when it fits in 40 characters, else "~" and 39 hex digits
 * of its SHA-256. */
void sf_txn_number(const char *txn_id, char *out, size_t outsize);

/* The journal types the program's processes handle (ids; subtypes "" =
 * not sent): credits (delta >= 0) and debits (delta < 0). */
struct sf_journal_types {
    const char *credit_type, *credit_subtype;
    const char *debit_type, *debit_subtype;
};
/* Collections create of Pending TransactionJournal records for the
 * program's processes: ExternalTransactionNumber = number, LoyaltyProgramId,
 * MemberId (LoyaltyProgramMember ids), ActivityDate = occurred_at,
 * JournalTypeId [+ JournalSubTypeId] of a credit or a debit,
 * TransactionAmount = |delta|. malloc'd. */
char *sf_journal_body(const struct sf_journal_types *jt, const char *program_id,
                      const struct sf_txn *txns, const char *const *member_ids, size_t n);
/* Collections create of LoyaltyProgramMember: MembershipNumber = member
 * key, ProgramId, MemberStatus Active, MemberType Individual,
 * EnrollmentDate (YYYY-MM-DD) [, ContactId]. malloc'd. */
char *sf_program_member_body(const char *program_id, const char *const *members,
                             const char *const *contact_ids, const char *enrollment_date, size_t n);
/* head + "<field> IN ('v1','v2',...)", values escaped. malloc'd. */
char *sf_soql_in(const char *head, const char *field, const char *const *vals, size_t n);
char *sf_soql_eq(const char *head, const char *field, const char *val);
/* 1 when two record ids name one record (15- or 18-character forms). */
int sf_same_id(const char *a, const char *b);

/* --- salesforce_consent_map.c (pure): consent_mode = consent_objects --- */
/* consent/<purpose>/<channel> -> purpose, channel and ContactPointType
 * (sms -> Phone). -1 when not representable. */
int sf_consent_target(const char *field, char *purpose, size_t psize, char *channel, size_t csize,
                      const char **cpt);
/* "OptIn|<collected_at ms>|<source>": what a ContactPointTypeConsent keeps. */
int sf_consent_projection(const struct consent_value *cv, char *out, size_t outsize);
/* One ContactPointTypeConsent upsert record (new ref), NULL when the field
 * or value is not representable. channel_type_id: the EngagementChannelType
 * an sms consent names (NULL: none; only sms records carry one). */
json_t *sf_cptc_record(const char *member, const char *field, const char *party_id,
                       const char *purpose_id, const char *channel_type_id, const char *value_json);
/* 1 when a consent field is an sms one (needs the SMS EngagementChannelType). */
int sf_consent_is_sms(const char *field);
/* A pulled ContactPointTypeConsent: member, field, the canonical value
 * (malloc'd), its projection and SystemModstamp. 0 or -1 (not ours). */
int sf_cptc_row(const char *conn, json_t *rec, char *member, size_t msize, char *field,
                size_t fsize, char **value_json, char *projection, size_t psize, int64_t *mod);

/* The pull query on the (SystemModstamp, Id) cursor, IsDeleted included
 * (it is sent to queryAll: soft-deleted Contacts come in the same order).
 * t_ms 0 and id "": all. malloc'd SOQL. */
char *sf_contact_soql(const struct sf_map *m, int64_t t_ms, const char *id, int limit);

/* A Contact deleted in Salesforce leaves "deleted:<Id>" in the identity
 * map in place of its id (docs/salesforce.md "Pull"): kept for the
 * record, never addressed. */
#define SF_DELETED_PREFIX "deleted:"
/* The Contact id a push record may address: NULL when none is known or
 * the Contact was deleted. */
const char *sf_contact_id(const char *remote_id);

/* SELECT Id, <ext_id> FROM Contact WHERE <ext_id> IN ('k1', ...): the
 * Contacts of members (quotes and backslashes escaped). malloc'd. */
char *sf_contacts_by_key_soql(const struct sf_map *m, const char *const *members, size_t n);

/* CampaignMember upsert body for (member -> contact id) pairs of one
 * campaign. malloc'd. */
char *sf_campaign_member_body(const char *campaign_id, const char *segment,
                              const char *const *members, const char *const *contact_ids, size_t n);
/* "<member>:<segment>", the CampaignMember external id. */
void sf_membership_key(const char *member, const char *segment, char *out, size_t outsize);

/* JWT bearer flow: exp = now + this (Salesforce: at most 3 minutes ahead
 * of its clock; the rest is room for clock skew). */
#define SF_JWT_LIFETIME_S 150
/* The JWT aud for login_url (no trailing slash): configured, else
 * https://test.salesforce.com for a sandbox My Domain
 * (*.sandbox.my.salesforce.com), https://login.salesforce.com for another
 * My Domain (*.my.salesforce.com), else login_url itself (login, test, an
 * Experience Cloud site, the simulator). */
char *sf_jwt_audience(const char *login_url, const char *configured);

/* URL-encodes s (RFC 3986 unreserved kept). malloc'd. */
char *sf_urlencode(const char *s);
/* "/services/data/<api_version>/<verb>?q=<soql, URL-encoded>" (verb:
 * "query" or "queryAll"), malloc'd; NULL when longer than SF_PATH_MAX or
 * out of memory (never cut). */
char *sf_query_path(const char *api_version, const char *verb, const char *soql);

/* --- salesforce_parse.c (pure) --- */

enum sf_state { SF_NONE = 0, SF_OK, SF_RETRY, SF_REJECT };

struct sf_outcome {
    enum sf_state state;
    char id[64];
    char code[64];
    char reason[256];
};

/* 403 REQUEST_LIMIT_EXCEEDED is the daily budget ("TotalRequests Limit
 * exceeded.") or the concurrent long-running request limit
 * ("ConcurrentPerOrgLongTxn Limit exceeded"): 1 for the daily one. */
int sf_limit_is_daily(const char *message);
#define SF_CONCURRENT_RETRY_MS 5000

/* 1 when an item errorCode is worth retrying (lock, unavailable, limit). */
int sf_code_retryable(const char *code);

/* The first error of a whole-request error body [{"message","errorCode"}]:
 * code and message ("" when none). */
void sf_error_of(const char *body, char *code, size_t csize, char *msg, size_t msize);

/* A collections answer (an array in input order): out[i] for i < n.
 * Returns the number of items read, or -1 when the body is not an array. */
int sf_parse_collection_results(const char *body, size_t n, struct sf_outcome *out);
/* The same read with jansson: the answer for a text jscan refuses, and the
 * reference test_salesforce_parse compares the jscan reading with. */
int sf_parse_collection_results_jansson(const char *body, size_t n, struct sf_outcome *out);

/* A query page: records (borrowed from *root), done, nextRecordsUrl ("" when
 * none). *root is the parsed body (caller decrefs). 0 or -1. */
int sf_parse_query(const char *body, json_t **root, json_t **records, char *next, size_t nsize);

/* Salesforce datetime ("2026-11-20T10:00:00.000+0000", RFC 3339) to ms. */
int sf_parse_time(const char *s, int64_t *ms);
/* ms -> "2026-11-20T10:00:00.000Z" (RFC 3339: record values, getDeleted). */
void sf_format_time(int64_t ms, char *out, size_t outsize);
/* ms -> "2026-11-20T10:00:00Z", floored to the second: a SOQL dateTime
 * literal (the SOQL reference's "Date Formats and Date Literals" has no
 * fractional seconds). */
void sf_soql_time(int64_t ms, char *out, size_t outsize);

/* Turns one queried Contact into fields. member: out, the external id value
 * ("" when the Contact is not a member). 0 or -1 (fn failed). */
int sf_contact_fields(const struct sf_map *m, const char *conn, json_t *rec, crm_field_fn fn,
                      void *arg, char *member, size_t msize);

/* getDeleted: the deleted ids (new ref, array of strings) and
 * latestDateCovered in ms (0 when absent). NULL when unreadable. When
 * `when` is not NULL, *when gets each id's deletedDate in ms (new ref,
 * object id -> integer; an id without a readable date is left out). */
json_t *sf_parse_deleted(const char *body, int64_t *latest_ms, json_t **when);
/* getDeleted's earliestDateAvailable (the newest entry purged from the
 * delete log) in ms. 0 or -1 (absent). */
int sf_parse_earliest(const char *body, int64_t *ms);

/* Bulk API 2.0 results CSV (successfulResults / failedResults /
 * unprocessedrecords): for each data row, the value of column key_col
 * (e.g. the external id field) and the outcome: sf__Id -> id, sf__Error ->
 * REJECT/RETRY with "CODE: message", unprocessed -> RETRY. fn is called per
 * row; kind 0 successful, 1 failed, 2 unprocessed. Returns rows, -1 on a
 * malformed CSV. */
typedef void (*sf_csv_row_fn)(void *arg, const char *key, const struct sf_outcome *o);
int sf_parse_bulk_results(const char *csv, int kind, const char *key_col, sf_csv_row_fn fn,
                          void *arg);

/* --- salesforce.c / salesforce_pull.c (I/O) --- */

struct salesforce;
int sf_request(struct salesforce *sf, enum http_method method, const char *path,
               const char *content_type, const char *body, http_done_fn done, void *arg);
/* "/services/data/<v><tail>", valid until the next call; NULL when longer
 * than SF_PATH_MAX or out of memory: a request given NULL is refused,
 * never cut. */
const char *sf_data_path(struct salesforce *sf, const char *tail);
/* GET sf_query_path(verb, soql) (soql NULL: nothing sent). 0, or -1 when
 * nothing was sent (done not called). */
int sf_query(struct salesforce *sf, const char *verb, const char *soql, http_done_fn done,
             void *arg);
const struct sf_map *sf_map_of(const struct salesforce *sf);
struct connector *sf_conn(const struct salesforce *sf);
int sf_closing(const struct salesforce *sf);
long sf_lookback_ms(const struct salesforce *sf);

struct sf_cursor {
    int64_t t; /* SystemModstamp ms */
    char id[32];
};

/* One pull cycle's position. */
struct sf_cycle {
    struct sf_cursor stored; /* watermark in the state */
    struct sf_cursor q;      /* where the current query starts */
    struct sf_cursor last;   /* last row read */
    long rows_in_query;
    int strict; /* q uses the (t, id) form, else t >= */
};

struct sf_pull_state {
    int active;
    int phase;         /* 0 contacts, 1 CampaignMember deletions */
    int64_t t;         /* cursor: SystemModstamp ms */
    char id[32];       /* cursor: Id */
    int64_t del_t;     /* getDeleted covered up to (watermark "del") */
    int del_probe;     /* the sweep is asking for earliestDateAvailable */
    int64_t del_floor; /* earliestDateAvailable learnt: never start before */
    int64_t last_sweep_ms;
    int64_t lmc_t;   /* loyalty: LoyaltyMemberCurrency read up to (watermark "lmc") */
    int64_t lmc_max; /* newest SystemModstamp seen in this cycle */
    int64_t cptc_t;  /* consent objects: ContactPointTypeConsent read up to ("cptc") */
    int64_t cptc_max;
    void (*after_consents)(struct salesforce *sf); /* next pull step */
    long pages;
    json_t *root, *records;
    char next[256];
    struct sf_cycle cyc;
};
struct sf_pull_state *sf_pull_state(struct salesforce *sf);
/* {"cptc":..,"del":..,"id":..,"lmc":..,"t":..}: the pull watermark, every
 * cursor of the connector (lmc, cptc and del -- getDeleted covered up to --
 * left out when 0). 0 or -1 (does not fit). */
int sf_watermark_text(int64_t t, const char *id, int64_t lmc, int64_t cptc, int64_t del, char *out,
                      size_t outsize);
void sf_pull(struct connector *conn);
void sf_pull_resync(struct connector *conn);

#endif
