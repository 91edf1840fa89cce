/* The Salesforce push side (docs/salesforce.md "Push"): one job per batch.
 *
 *   Contact              sObject Collections upsert on the external id field
 *                        (PATCH /composite/sobjects/Contact/<field>), one
 *                        record per member with all its fields, allOrNone
 *                        false, results by position
 *                        (at or above bulk_threshold rows: one Bulk API
 *                        2.0 job, salesforce_bulk.c)
 *   CampaignMember:<seg>, erase      salesforce_segment.c
 *   TransactionJournal               salesforce_loyalty.c
 *   ContactPointTypeConsent          salesforce_consent.c
 *
 * Bulk-lane batches are not sent while the day's remaining API budget is
 * inside the priority lane's reserve. Every record gets exactly one result;
 * batch->done runs from the defer timer, never from push(). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "salesforce_int.h"

/* --- job results (the shared machinery, crm_job.h) --- */

static void job_release(struct crm_job *base)
{
    struct sf_job *job = (struct sf_job *)base;

    crm_plan_free(&job->plan);
    sf_bulk_job_free(job);
    free(job->ids);
    free(job->cm_ids);
    free(job->sent);
    free(job);
}

void sf_job_done(struct sf_job *job)
{
    /* A record nobody answered is retried, counting as an attempt. */
    crm_job_done(&job->base, "no result from Salesforce for this record");
}

static void error_parse(const char *body, char *code, size_t code_len, char *msg, size_t msg_len)
{
    sf_error_of(body, code, code_len, msg, msg_len);
}

/* A failed request: transient, quota and auth failures keep every record
 * (not their fault); a permanent one rejects them with the vendor's code
 * and message. */
void sf_job_fail_from(struct sf_job *job, const struct http_result *res)
{
    crm_job_fail_from(&job->base, res, error_parse);
}

struct sf_outcome *sf_job_outcomes(struct sf_job *job, const struct http_result *res)
{
    return sf_job_outcomes_n(job, res, job->nsent);
}

struct sf_outcome *sf_job_outcomes_n(struct sf_job *job, const struct http_result *res, size_t n)
{
    struct sf_outcome *out;

    if (res->cls != HTTP_CLASS_OK) {
        sf_job_fail_from(job, res);
        sf_job_done(job);
        return NULL;
    }
    out = calloc(n ? n : 1, sizeof(*out));
    if (out == NULL || sf_parse_collection_results(res->body, n, out) < 0) {
        free(out);
        sf_job_fail_rest(job, PUSH_RETRY, "unreadable collections answer", -1, 1);
        sf_job_done(job);
        return NULL;
    }
    return out;
}

int sf_job_upserted(struct sf_job *job, const struct http_result *res, json_t **root,
                    const char **id)
{
    *root = NULL;
    *id = NULL;
    if (res->cls != HTTP_CLASS_OK) {
        sf_job_fail_from(job, res);
        sf_job_done(job);
        return -1;
    }
    *root = json_loads(res->body ? res->body : "", 0, NULL);
    *id = json_string_value(json_object_get(*root, "id"));
    return 0;
}

int sf_job_query(struct sf_job *job, const char *soql, http_done_fn done)
{
    return sf_query(job->sf, "query", soql, done, job);
}

/* The records of a query answer (borrowed from *root), or NULL when the
 * request failed: the job has then been failed and is done. */
json_t *sf_job_query_records(struct sf_job *job, struct http_result *res, json_t **root)
{
    json_t *records = NULL;
    char next[256];

    *root = NULL;
    if (res->cls != HTTP_CLASS_OK ||
        sf_parse_query(res->body, root, &records, next, sizeof(next)) != 0) {
        json_decref(*root);
        *root = NULL;
        sf_job_fail_from(job, res);
        sf_job_done(job);
        return NULL;
    }
    return records;
}

int sf_job_query_each(struct sf_job *job, struct http_result *res,
                      int (*row)(struct sf_job *job, json_t *rec))
{
    json_t *root, *records = sf_job_query_records(job, res, &root), *r;
    size_t k;
    int rc = 0;

    if (records == NULL)
        return -1;
    json_array_foreach(records, k, r)
    {
        if (row(job, r) != 0) {
            rc = 1;
            break;
        }
    }
    json_decref(root);
    return rc;
}

int sf_job_take_outcomes(struct sf_job *job, struct http_result *res)
{
    struct sf_outcome *out = sf_job_outcomes(job, res);

    if (out == NULL)
        return -1;
    for (size_t k = 0; k < job->nsent; k++) {
        size_t i = job->sent[k];
        if (out[k].state == SF_REJECT)
            log_info("salesforce", job->sf->conn->name, "seq %" PRId64 " %s: %s",
                     job->pb->records[i].seq, job->pb->records[i].field, out[k].reason);
        sf_job_set(job, i, sf_outcome_push(out[k].state), out[k].reason, -1, 0, NULL);
    }
    free(out);
    return 0;
}

enum push_outcome sf_outcome_push(enum sf_state s)
{
    return s == SF_OK ? PUSH_OK : s == SF_RETRY ? PUSH_RETRY : PUSH_REJECT;
}

/* --- Contact: collections upsert, ≤ 200 members per request --- */

void sf_contacts_next(struct sf_job *job);
static void contacts_send(struct sf_job *job);

static void contacts_answer(struct http_result *res, void *arg)
{
    struct sf_job *job = arg;
    struct sf_outcome *out = sf_job_outcomes_n(job, res, job->nsel);
    size_t *slot, resend[SF_COLL_MAX], nresend = 0;

    if (out == NULL)
        return;
    slot = calloc(job->plan.ng ? job->plan.ng : 1, sizeof(*slot));
    if (slot == NULL) {
        free(out);
        sf_job_fail_rest(job, PUSH_RETRY, "out of memory", -1, 1);
        sf_job_done(job);
        return;
    }
    for (size_t g = 0; g < job->plan.ng; g++)
        slot[g] = SIZE_MAX;
    for (size_t k = 0; k < job->nsel; k++) {
        struct crm_group *g = &job->plan.g[job->sel[k]];
        /* A new Contact without a LastName: send it again with the
         * placeholder (once). */
        if (out[k].state == SF_REJECT && strcmp(out[k].code, "REQUIRED_FIELD_MISSING") == 0 &&
            !g->placeholder && strstr(out[k].reason, "LastName") != NULL) {
            g->placeholder = 1;
            resend[nresend++] = job->sel[k];
            continue;
        }
        slot[job->sel[k]] = k;
    }
    for (size_t i = 0; i < job->pb->n; i++) {
        size_t g = job->plan.rec_group[i], k;
        if (g == SIZE_MAX || slot[g] == SIZE_MAX)
            continue;
        k = slot[g];
        if (out[k].state == SF_NONE)
            continue; /* no item for it: retried by job_done */
        if (out[k].state == SF_OK && job->cls != JOB_CONSENT) /* ids: Individual ids there */
            snprintf(job->ids[i], sizeof(job->ids[i]), "%s", out[k].id);
        else if (out[k].state != SF_OK)
            log_info("salesforce", job->sf->conn->name, "seq %" PRId64 " %s: %s",
                     job->pb->records[i].seq, job->pb->records[i].field, out[k].reason);
        /* For a segment (or a consent's Individual link), the Contact is
         * only a step: success is decided later; a failure is the record's
         * result. */
        if ((job->cls != JOB_SEGMENT && job->cls != JOB_CONSENT) || out[k].state != SF_OK)
            sf_job_set(job, i, sf_outcome_push(out[k].state), out[k].reason, -1, 0, out[k].id);
    }
    free(out);
    free(slot);
    if (nresend > 0 && !job->renamed) {
        /* Only this request's groups: earlier requests' placeholders are
         * answered already (and all of them would overrun sel[]). */
        job->renamed = 1;
        job->nsel = nresend;
        memcpy(job->sel, resend, nresend * sizeof(*resend));
        contacts_send(job);
        return;
    }
    job->renamed = 0;
    sf_contacts_next(job);
}

/* The member's last name in the local state, which the engine attached to
 * its records (sf_push_siblings): 1 with it in out when it is a non-empty
 * string, else 0. */
int sf_last_name_of(const struct sf_job *job, const struct push_record *rec, char *out,
                    size_t outsize)
{
    const char *cur = push_record_sibling(job->sf->conn, rec, "profile/last_name");
    json_t *root = cur != NULL ? json_loads(cur, 0, NULL) : NULL;
    json_t *v = json_object_get(root, "value");
    int found = json_is_string(v) && json_string_length(v) > 0 &&
                (size_t)snprintf(out, outsize, "%s", json_string_value(v)) < outsize;

    json_decref(root);
    return found;
}

/* A Contact whose id we do not know may be new: give it the member's
 * last name from the local state when there is one (writing the value we
 * sync anyway is harmless if it exists). */
void sf_fill_last_name(struct sf_job *job, size_t g)
{
    struct crm_group *grp = &job->plan.g[g];
    const char *f = crm_pairs_get(&job->sf->map.attrs, "last_name");
    char name[SF_LAST_NAME_MAX];

    if (grp->remote_id != NULL || f == NULL || strcmp(f, "LastName") != 0 ||
        json_object_get(grp->fields, "LastName") != NULL)
        return;
    for (size_t i = 0; i < job->pb->n; i++) {
        if (job->plan.rec_group[i] == g) {
            if (sf_last_name_of(job, &job->pb->records[i], name, sizeof(name)))
                json_object_set_new(grp->fields, "LastName", json_string(name));
            return;
        }
    }
}

static void contacts_send(struct sf_job *job)
{
    struct salesforce *sf = job->sf;
    struct strbuf tail;
    char *body;
    int rc;

    body = sf_upsert_body(&sf->map, &job->plan, job->sel, job->nsel);
    strbuf_init(&tail, SF_PATH_MAX);
    strbuf_addf(&tail, "/composite/sobjects/Contact/%s", sf->map.ext_id);
    rc = body == NULL || strbuf_str(&tail) == NULL
             ? -1
             : sf_request(sf, HTTP_PATCH, sf_data_path(sf, strbuf_str(&tail)), NULL, body,
                          contacts_answer, job);
    strbuf_free(&tail);
    if (rc != 0) {
        free(body);
        sf_job_fail_rest(job, PUSH_RETRY, "cannot send the upsert", -1, 1);
        sf_job_done(job);
        return;
    }
    free(body);
}

void sf_contacts_next(struct sf_job *job)
{
    job->nsel = 0;
    if (job->fix != NULL) {
        /* After a Bulk job: its new Contacts without a LastName. */
        while (job->fixpos < job->nfix && job->nsel < SF_COLL_MAX)
            job->sel[job->nsel++] = job->fix[job->fixpos++];
        if (job->nsel == 0) {
            sf_job_done(job);
            return;
        }
        contacts_send(job);
        return;
    }
    if (job->lo >= job->plan.ng) {
        if (job->cls == JOB_SEGMENT)
            sf_segment_members(job);
        else if (job->cls == JOB_CONSENT)
            sf_consent_after_contacts(job);
        else
            sf_job_done(job);
        return;
    }
    while (job->lo < job->plan.ng && job->nsel < SF_COLL_MAX) {
        sf_fill_last_name(job, job->lo);
        job->sel[job->nsel++] = job->lo++;
    }
    contacts_send(job);
}

/* Out of memory before a job exists: the batch is answered RETRY from the
 * defer timer (never from push()). */
static void orphan(struct salesforce *sf, struct push_batch *pb)
{
    log_error("salesforce", sf->conn->name, "out of memory; batch of %zu retried", pb->n);
    crm_jobs_orphan(&sf->jobs, pb);
}

static void push_one(struct connector *conn, struct push_batch *pb);

/* A segment or erase batch larger than one collections request is sent as
 * consecutive slices of SF_COLL_MAX records (one record per member in
 * these classes), each a job of its own; the engine's batch is answered
 * after the last. Contact batches are not sliced: they are planned per
 * member and split into requests by the job itself (or go to Bulk). */
struct sf_slices {
    struct push_batch *parent;
    struct push_batch child;
    size_t off;
};

static void slice_done(struct push_batch *child)
{
    struct sf_slices *sl = child->engine;
    struct push_batch *parent = sl->parent;

    sl->off += child->n;
    if (sl->off < parent->n) {
        sl->child.n = parent->n - sl->off < SF_COLL_MAX ? parent->n - sl->off : SF_COLL_MAX;
        sl->child.records = parent->records + sl->off;
        sl->child.results = parent->results + sl->off;
        push_one(parent->conn, &sl->child); /* from the defer timer: a loop callback */
        return;
    }
    free(sl);
    parent->done(parent);
}

void sf_op_push(struct connector *conn, struct push_batch *pb)
{
    struct salesforce *sf = conn->priv;
    struct sf_slices *sl;

    if (pb->n <= SF_COLL_MAX || strcmp(pb->class_key, "Contact") == 0 ||
        strcmp(pb->class_key, "TransactionJournal") == 0 ||
        strcmp(pb->class_key, "ContactPointTypeConsent") == 0) {
        push_one(conn, pb);
        return;
    }
    sl = calloc(1, sizeof(*sl));
    if (sl == NULL) {
        orphan(sf, pb);
        return;
    }
    sl->parent = pb;
    sl->child = *pb;
    sl->child.n = SF_COLL_MAX;
    sl->child.done = slice_done;
    sl->child.engine = sl;
    push_one(conn, &sl->child);
}

static void push_one(struct connector *conn, struct push_batch *pb)
{
    struct salesforce *sf = conn->priv;
    struct sf_job *job =
        (struct sf_job *)crm_job_new(&sf->jobs, pb, sizeof(struct sf_job), job_release);
    size_t n = pb->n ? pb->n : 1, rows = 0;

    if (job == NULL)
        return;
    job->sf = sf;
    job->pb = pb;
    job->set = job->base.set;
    job->ids = calloc(n, sizeof(*job->ids));
    job->cm_ids = calloc(n, sizeof(*job->cm_ids));
    job->sent = calloc(n, sizeof(*job->sent));
    if (job->ids == NULL || job->cm_ids == NULL || job->sent == NULL)
        goto oom_job;
    if (sf->closing) {
        sf_job_fail_rest(job, PUSH_RETRY, "connector closing", -1, 1);
        sf_job_done(job);
        return;
    }
    if (pb->lane != LANE_URGENT && sf_inside_reserve(sf)) {
        char why[160];
        snprintf(why, sizeof(why), "daily API budget inside the priority reserve (%ld of %ld left)",
                 sf->api_limit - sf->api_used, sf->api_limit);
        sf_job_fail_rest(job, PUSH_RETRY, why, sf->cfg->quota_retry_ms, 1);
        sf_job_done(job);
        return;
    }
    if (strcmp(pb->class_key, "erase") == 0) {
        job->cls = JOB_ERASE;
        for (size_t i = 0; i < pb->n; i++) {
            const char *id = sf_contact_id(pb->records[i].remote_id);
            snprintf(job->ids[i], sizeof(job->ids[i]), "%s", id ? id : "");
        }
        sf_erase_related(job);
        return;
    }
    if (strncmp(pb->class_key, "CampaignMember:", 15) == 0) {
        job->cls = JOB_SEGMENT;
        snprintf(job->segment, sizeof(job->segment), "%s", pb->class_key + 15);
        sf_start_segment(job);
        return;
    }
    if (strcmp(pb->class_key, "ContactPointTypeConsent") == 0) {
        job->cls = JOB_CONSENT;
        sf_consent_start(job);
        return;
    }
    if (strcmp(pb->class_key, "TransactionJournal") == 0) {
        job->cls = JOB_JOURNAL;
        sf_journal_start(job);
        return;
    }
    job->cls = JOB_CONTACT;
    if (sf_plan_contacts(&sf->map, pb->records, pb->n, pb->results, &job->plan) != 0)
        goto oom_job;
    for (size_t i = 0; i < pb->n; i++) {
        if (job->plan.rec_group[i] == SIZE_MAX)
            job->set[i] = 1; /* rejected by the mapping */
        else
            rows++;
    }
    job->lo = 0;
    /* At or above the threshold (Contact rows, one per member): one Bulk
     * job instead of ceil(rows/200) collections requests. */
    if (rows > 0 && job->plan.ng >= (size_t)sf->cfg->bulk_threshold) {
        sf_bulk_start(job);
        return;
    }
    sf_contacts_next(job);
    return;
oom_job:
    sf_job_fail_rest(job, PUSH_RETRY, "out of memory", -1, 1);
    sf_job_done(job);
}
