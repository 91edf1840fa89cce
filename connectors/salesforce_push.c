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
        (struct sf_job *)crm_job_new(&sf->jobs, pb, sizeof(struct sf_job), sf_job_release);
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
        job->after_contacts = sf_segment_members;
        snprintf(job->segment, sizeof(job->segment), "%s", pb->class_key + 15);
        sf_start_segment(job);
        return;
    }
    if (strcmp(pb->class_key, "ContactPointTypeConsent") == 0) {
        job->cls = JOB_CONSENT;
        job->after_contacts = sf_consent_after_contacts;
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
