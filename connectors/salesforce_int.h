/* The Salesforce connector instance, shared by the I/O halves
 * (salesforce.c and salesforce_http.c; the push files: salesforce_push.c,
 * salesforce_job.c, salesforce_contacts.c, ...; the pull files:
 * salesforce_pull.c, salesforce_pull_page.c, ...). The pure halves
 * only see salesforce.h. */
#ifndef CRMSYNC_SALESFORCE_INT_H
#define CRMSYNC_SALESFORCE_INT_H

#include "crm_job.h"
#include "crm_options.h"
#include "crm_pull_page.h"
#include "crm_request.h"
#include "salesforce.h"
#include "strbuf.h"

enum { SF_AUTH_JWT = 0, SF_AUTH_CLIENT_CREDENTIALS = 1 };

struct salesforce_settings {
    char *login_url;
    int auth;
    char *client_id, *username, *private_key_file, *client_secret_file, *token_url;
    char *api_version;
    long session_lifetime_ms;
    char *external_id_field;
    int consent_mode, points_mode;
    char *points_field, *tier_field, *flag_purpose;
    char *email_flag, *phone_flag, *sms_flag, *post_flag;
    char *attribute_map, *last_name_placeholder;
    char *loyalty_program;
    long bulk_threshold, bulk_multipart_max;
    long deleted_sweep_ms, daily_reserve;
    long quota_retry_ms;
    struct crm_common_settings common;
    /* Loyalty (points_mode = loyalty): the journal types the program
     * processes handle (Name), the currency whose balance is compared. */
    char *journal_type, *journal_subtype, *debit_journal_type, *debit_journal_subtype;
    char *loyalty_currency;
    char *sms_channel_type;
    char *jwt_audience;
};

extern const struct config_table salesforce_config;

struct oauth;
struct req_ctx;

/* A group's member key, for looking Bulk result rows up. */
struct sf_gkey {
    const char *member;
    size_t g;
};

enum job_class { JOB_CONTACT, JOB_SEGMENT, JOB_ERASE, JOB_JOURNAL, JOB_CONSENT };

/* A Bulk job's final state. */
enum sf_bulk_end { SF_BULK_COMPLETE = 0, SF_BULK_FAILED, SF_BULK_ABORTED };

struct sf_job {
    struct crm_job base; /* first: the shared job (results, deferred done) */
    struct salesforce *sf;
    struct push_batch *pb; /* base.pb */
    enum job_class cls;
    unsigned char *set; /* base.set: per record, result given */
    struct crm_plan plan;
    size_t lo; /* next group to send */
    char segment[64];
    char campaign_id[64];
    char (*ids)[64];    /* per record: Contact id (segment, erase) */
    char (*cm_ids)[64]; /* per record: CampaignMember id ("out") */
    size_t *sent;       /* records of the request in flight */
    size_t nsent;
    size_t sel[SF_COLL_MAX]; /* groups of the upsert in flight */
    size_t nsel;
    int renamed; /* the LastName resend was made */
    /* Bulk API 2.0 (salesforce_bulk.c), Contact batches of at least
     * bulk_threshold rows. */
    char bulk_id[40];           /* the ingest job, "" before it exists */
    int bulk_stage;             /* the result list read next (0..3) */
    unsigned bulk_lists;        /* which of the 3 lists to read (bit per stage) */
    int bulk_multipart;         /* created with its data in one request */
    long poll_ms;               /* next poll delay (backoff) */
    uint64_t poll_at;           /* when to poll (loop ms) */
    int poll_failures;          /* consecutive failed polls */
    struct sf_job *poll_next;   /* sf->polling list */
    size_t *grp_off, *grp_recs; /* per group: its records (CSR) */
    struct sf_gkey *order;      /* groups sorted by member key */
    char *csv;                  /* the upload, until sent */
    int bulk_end;               /* how the job ended: enum sf_bulk_end */
    char bulk_why[200];         /* "Bulk job <id> Failed: <errorMessage>" */
    unsigned char *in_fix;      /* per group: listed in fix[] */
    /* Loyalty (salesforce_loyalty.c): per record its transaction; ids[]
     * holds the member's LoyaltyProgramMember id. */
    struct sf_txn *txns;
    /* Consent objects (salesforce_consent.c): ids[] = Individual id,
     * cm_ids[] = DataUsePurpose id, link[] = Contact gets IndividualId. */
    unsigned char *link;
    /* Segments: per record, "in" refused with DUPLICATE_VALUE (the Contact
     * is in the Campaign already, added in Salesforce): to adopt. */
    unsigned char *adopt;
    char program_id[64];
    size_t *fix; /* groups resent by collections with the placeholder */
    size_t nfix, fixpos;
    /* Erase (salesforce_erase.c): the records that hold the member besides
     * its Contact, to delete (ContactPointTypeConsent, Individual) or to
     * anonymise (LoyaltyProgramMember), and how far each list is sent. */
    char (*rel)[24]; /* Individual ids (the first ninds), then consents */
    size_t nrel, caprel, relpos, ninds;
    char (*lpm)[24];
    size_t nlpm, caplpm, lpmpos;
    int erase_stage;
    /* Once the Contacts of the job are written (sf_contacts_next): its
     * next step (a segment's memberships, a consent's purposes); NULL: the
     * job is done. */
    void (*after_contacts)(struct sf_job *job);
};

struct salesforce {
    struct connector *conn;
    const struct salesforce_settings *cfg;
    struct sf_map map;
    char *login;
    char *jwt_aud;        /* the JWT aud claim (sf_jwt_audience), never cut */
    struct crm_http h;    /* the shared request wrapper (client, token manager) */
    struct crm_jobs jobs; /* answered push jobs, waiting for the defer timer */
    struct strbuf path;   /* sf_data_path's last answer */
    struct crm_life life; /* timers and the HTTP client still to close */
    int closing;
    int bootstrapping;
    struct req_ctx *waiting;
    /* Bulk jobs waiting for their next poll, on one timer. */
    uv_timer_t bulk_timer;
    struct sf_job *polling;
    struct sf_pull_state pull;
    /* The daily budget, from Sforce-Limit-Info. */
    long api_used, api_limit;
    int quota_exhausted, auth_failing;
    unsigned long refreshes_seen;
    /* Loyalty: the journal type and subtype ids (looked up by Name once;
     * "" = none), and the LoyaltyProgramCurrency id of loyalty_currency. */
    char jt_credit[24], jst_credit[24], jt_debit[24], jst_debit[24];
    int jt_ready;
    char lpc_id[24];
    /* consent_objects: the EngagementChannelType id of sms_channel_type
     * ("" until looked up or created). */
    char sms_ect[24];
    /* Requests asked for inside a Retry-After hold (a 429 answered to
     * another request of a multi-step job): sent when it ends. */
    uv_timer_t hold_timer;
    struct req_ctx *held;
};

int sf_inside_reserve(const struct salesforce *sf);
void sf_op_push(struct connector *conn, struct push_batch *pb);

/* --- salesforce_job.c: job results (the shared crm_job), shared by the
 * push files --- */
/* crm_job_new's release: frees the job and what its steps allocated. */
void sf_job_release(struct crm_job *base);
/* PATCH of body (JSON text) to the data path's tail for a job, its
 * answer to done: an sObject or sObject Collections upsert. tail or body
 * NULL (could not be made): -1, nothing sent; else sf_request's 0 or -1. */
int sf_job_patch(struct sf_job *job, const char *tail, const char *body, http_done_fn done);
/* GET /query?q=<soql> for a job; 0 or -1 (nothing sent). */
int sf_job_query(struct sf_job *job, const char *soql, http_done_fn done);
/* The records of a query answer (borrowed from *root, which the caller
 * decrefs), or NULL when the request failed or its answer is unreadable:
 * the job has then been failed and is done. */
json_t *sf_job_query_records(struct sf_job *job, struct http_result *res, json_t **root);
/* Each record of a query answer through row(job, record): 0 when all went
 * through, 1 when row stopped it (returned non-zero: the caller answers the
 * job), -1 when the request failed or its answer is unreadable (the job has
 * then been failed and is done). */
int sf_job_query_each(struct sf_job *job, struct http_result *res,
                      int (*row)(struct sf_job *job, json_t *rec));
/* A collections answer for the records job->sent[0..nsent): each gets its
 * outcome (a rejection logged with its reason). 0, or -1 when the request
 * failed as a whole (the job has then been failed and is done). */
int sf_job_take_outcomes(struct sf_job *job, struct http_result *res);
/* Gives every record of member the id of a record it is tied to (ids[]:
 * an Individual, a LoyaltyProgramMember) and keeps it in the identity map
 * as "<prefix>/<member>" -> "<prefix>:<id>" ("ind", "lpm"). */
void sf_job_member_id(struct sf_job *job, const char *prefix, const char *member, const char *id);
/* A collections create of one record per member for job->sent[0..nsent)
 * (one record of each member): made(job, member, id) for each record
 * created; a member whose create failed has all its records answered with
 * that failure, RETRY when the item says OK without an id or fails with
 * retry_code (NULL: none; someone else created the record meanwhile, which
 * the retry finds). 0, or -1 when the request failed as a whole (the job
 * has then been failed and is done). */
int sf_job_members_created(struct sf_job *job, const struct http_result *res,
                           const char *retry_code,
                           void (*made)(struct sf_job *job, const char *member, const char *id));
static inline void sf_job_set(struct sf_job *job, size_t i, enum push_outcome o, const char *reason,
                              long retry_after_ms, int not_record_fault, const char *remote_id)
{
    crm_job_result(&job->base, i, o, reason, retry_after_ms, not_record_fault, remote_id);
}
static inline void sf_job_fail_rest(struct sf_job *job, enum push_outcome o, const char *reason,
                                    long retry_after_ms, int not_record_fault)
{
    crm_job_fail_rest(&job->base, o, reason, retry_after_ms, not_record_fault);
}
void sf_job_fail_from(struct sf_job *job, const struct http_result *res);
/* The per-record outcomes of a collections answer for the job's nsent
 * records (malloc'd; the caller frees them). NULL when the request failed
 * or its answer is unreadable: the job has then been failed and is done. */
struct sf_outcome *sf_job_outcomes(struct sf_job *job, const struct http_result *res);
/* The answer of a single sObject upsert (a DataUsePurpose, a Campaign): 0
 * with its body in *root (the caller decrefs it; NULL when unreadable) and
 * its "id" in *id (NULL when none), or -1 when the request failed: the job
 * has then been failed and is done. */
int sf_job_upserted(struct sf_job *job, const struct http_result *res, json_t **root,
                    const char **id);
/* The same for a request of n items (the Contact upsert sends job->nsel). */
struct sf_outcome *sf_job_outcomes_n(struct sf_job *job, const struct http_result *res, size_t n);
/* Every record has its result (a missing one: RETRY); batch->done runs
 * from the defer timer. */
void sf_job_done(struct sf_job *job);
enum push_outcome sf_outcome_push(enum sf_state s);

/* --- salesforce_contacts.c --- */
/* Room for a last name (Salesforce keeps 80 characters; a longer one is
 * sent as it is and refused by Salesforce, as before). */
#define SF_LAST_NAME_MAX 1024
/* The member's last name from the local state, attached to rec by the
 * engine: 1 with it in out (non-empty), else 0. */
int sf_last_name_of(const struct sf_job *job, const struct push_record *rec, char *out,
                    size_t outsize);
/* Plan group g, when its Contact may be new, gets the member's last name. */
void sf_fill_last_name(struct sf_job *job, size_t g);
/* Collections upsert of the groups after job->lo (or of job->fix). */
void sf_contacts_next(struct sf_job *job);

/* --- salesforce_segment.c --- */
void sf_start_segment(struct sf_job *job);
/* The Contacts of a segment batch exist: upsert the memberships. */
void sf_segment_members(struct sf_job *job);
/* Deletes by id: memberships (segment out) or Contacts (erase). */
void sf_send_delete(struct sf_job *job);
/* Erase: Contacts whose id is not known are looked up by the external id
 * first, then deleted; a member without a Contact is OK (nothing there). */
void sf_start_erase(struct sf_job *job);

/* --- salesforce_erase.c --- */
/* Erase, first step: the member's Individual and its
 * ContactPointTypeConsent records (consent_objects) are deleted and its
 * LoyaltyProgramMember records (loyalty) anonymised; then
 * sf_start_erase(job) deletes the Contacts. */
void sf_erase_related(struct sf_job *job);

/* --- salesforce_loyalty.c --- */
/* Posts a TransactionJournal batch (points_mode = loyalty). */
void sf_journal_start(struct sf_job *job);

/* salesforce_pull_page.c: ends the pull cycle (status 0 ok). */
void sf_pull_finish(struct salesforce *sf, int status);
/* The watermark to commit with a page: the stored Contact cursor and the
 * given LoyaltyMemberCurrency and ContactPointTypeConsent cursors (ms). 0
 * or -1 (does not fit). */
int sf_pull_watermark(struct salesforce *sf, int64_t lmc, int64_t cptc, char *out, size_t outsize);
/* A pull page of this connector (the shared page rule, crm_pull_page.h). */
void sf_page_init(struct crm_page *pg, struct salesforce *sf);
/* A page that could not be applied: rolled back, "<what> not applied: ..."
 * logged (crm_page_failed), and the pull cycle ends (-1). */
void sf_page_failed(struct salesforce *sf, struct crm_page *pg, const char *what);
/* Commits a page of a side query read by SystemModstamp (balances,
 * consents) with the watermark carrying its cursors, so that a restart goes
 * on from them. 0, or -1 (rolled back; pg->err says why). */
int sf_page_commit_cursors(struct salesforce *sf, struct crm_page *pg, int64_t lmc, int64_t cptc);
/* The side queries read by SystemModstamp, each on its own cursor of the
 * watermark: loyalty balances ("lmc"), consent objects ("cptc"). */
enum sf_side { SF_SIDE_BALANCES, SF_SIDE_CONSENTS };
/* One row of a side query into the page: 0 or -1. */
typedef int (*sf_side_row_fn)(struct salesforce *sf, struct crm_page *pg, json_t *rec);
/* One answer of a side query (salesforce_pull_page.c): its rows through
 * row in one page, committed with the watermark (the side's newest stamp
 * read so far, the other side's stored cursor); then more(next) for the
 * next page, or, after the last, the side's cursor moves to its newest
 * stamp and after() goes on. A failure is logged and ends the pull (-1). */
/* A side query's page to done: next (a nextRecordsUrl), or NULL for the
 * first of the cycle: head (SELECT ... FROM ... [WHERE ...] ), then, once
 * the side has a cursor, "<conj> SystemModstamp >= <cursor - lookback> "
 * (the lookback re-reads late commits; idempotency keys make the overlap
 * free), then order. A request that cannot go ends the pull (-1). */
void sf_side_query(struct salesforce *sf, enum sf_side side, const char *next, const char *head,
                   const char *conj, const char *order, http_done_fn done);
void sf_side_answer(struct salesforce *sf, struct http_result *res, enum sf_side side,
                    sf_side_row_fn row, void (*more)(struct salesforce *sf, const char *next),
                    void (*after)(struct salesforce *sf));

/* --- salesforce_consent.c --- */
void sf_consent_start(struct sf_job *job);
/* The Contact links are written: go on with the purposes. */
void sf_consent_after_contacts(struct sf_job *job);
/* Pull phase: ContactPointTypeConsent rows as consent changes, then
 * next(sf). */
void sf_consent_pull(struct salesforce *sf, void (*next)(struct salesforce *sf));

/* --- salesforce_http.c --- */
/* The request wrapper's policy hook (crm_http_open; ctx is the struct
 * salesforce): quota and auth bookkeeping from every response. */
int sf_http_policy(void *ctx, int tag, struct http_result *res);
/* Answers every request held for the instance URL with cls (closing:
 * HTTP_CLASS_CANCELLED). */
void sf_http_release_held(struct salesforce *sf, enum http_class cls);

/* --- salesforce_bulk.c --- */
/* Sends a Contact job's groups as one Bulk API 2.0 upsert job. */
void sf_bulk_start(struct sf_job *job);
/* Closing: every job waiting for a poll is answered RETRY. */
void sf_bulk_cancel(struct salesforce *sf);

#endif
