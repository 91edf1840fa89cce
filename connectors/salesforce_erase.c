/* Erasure beyond the Contact (issue 12, docs/salesforce-conformance.md
 * "Erasure"): a member's data also lives in
 *
 *   Individual               (consent_objects) upserted by Member_Key__c,
 *                            with the LastName placeholder or the member's
 *   ContactPointTypeConsent  (consent_objects) PartyId = that Individual,
 *                            Consent_Key__c "<member>:<purpose>:<channel>"
 *   LoyaltyProgramMember     (loyalty) MembershipNumber = the member key
 *
 * The consent records and the Individual are deleted. A program member is
 * anonymised instead (MembershipNumber "erased-<its Id>", MemberStatus
 * Inactive, ContactId cleared): its TransactionJournal and ledger records
 * refer to it, and the program's accounts stay whole without naming the
 * person. Then the Contact is deleted (salesforce_segment.c). Every step
 * looks the records up afresh, so an erasure retried after a failure
 * finishes what the previous attempt left. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "salesforce_int.h"

#define ERASE_LOOKUP_MAX 100

enum { ST_INDIVIDUALS, ST_CONSENTS, ST_PROGRAM_MEMBERS, ST_ANONYMISE, ST_DELETE, ST_CONTACTS };

static void step(struct sf_job *job);

static void fail(struct sf_job *job, const char *why)
{
    log_warn("salesforce", job->sf->conn->name, "erase: %s", why);
    sf_job_fail_rest(job, PUSH_RETRY, why, -1, 1);
    sf_job_done(job);
}

/* The end of a stage's request (rc: what sending it returned): 1 when it
 * went, else -1 with the job failed for what could not be sent. */
static int stage_sent(struct sf_job *job, int rc, const char *what)
{
    if (rc == 0)
        return 1;
    fail(job, what);
    return -1;
}

static int add_id(char (**list)[24], size_t *n, size_t *cap, const char *id)
{
    for (size_t k = 0; k < *n; k++) {
        if (strcmp((*list)[k], id) == 0)
            return 0;
    }
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        char(*grown)[24] = realloc(*list, nc * sizeof(**list));
        if (grown == NULL)
            return -1;
        *list = grown;
        *cap = nc;
    }
    snprintf((*list)[*n], sizeof((*list)[*n]), "%s", id);
    (*n)++;
    return 0;
}

/* The next up to ERASE_LOOKUP_MAX values to look up from job->lo: member
 * keys (individuals, program members) or Individual ids (consents). */
static size_t next_values(struct sf_job *job, const char **vals)
{
    size_t n = 0;

    if (job->erase_stage == ST_CONSENTS) {
        for (; job->lo < job->ninds && n < ERASE_LOOKUP_MAX; job->lo++)
            vals[n++] = job->rel[job->lo];
        return n;
    }
    for (; job->lo < job->pb->n && n < ERASE_LOOKUP_MAX; job->lo++) {
        if (!job->set[job->lo])
            vals[n++] = job->pb->records[job->lo].member_key;
    }
    return n;
}

static int found_row(struct sf_job *job, json_t *r)
{
    const char *id = json_string_value(json_object_get(r, "Id"));

    if (id == NULL)
        return 0;
    if (job->erase_stage == ST_PROGRAM_MEMBERS)
        return add_id(&job->lpm, &job->nlpm, &job->caplpm, id);
    return add_id(&job->rel, &job->nrel, &job->caprel, id);
}

static void found(struct http_result *res, void *arg)
{
    struct sf_job *job = arg;
    int rc = sf_job_query_each(job, res, found_row);

    if (rc < 0)
        return;
    if (rc > 0) {
        fail(job, "out of memory");
        return;
    }
    /* More than one page (2000 consent records) is read on the next
     * attempt: the ones deleted now are not found again. */
    step(job);
}

/* One lookup of the current stage; 1 when sent, 0 when the stage has no
 * (more) values, -1 on failure (the job is done). */
static int lookup(struct sf_job *job)
{
    const char *vals[ERASE_LOOKUP_MAX];
    size_t n = next_values(job, vals);
    char *soql = NULL;
    int rc;

    if (n == 0)
        return 0;
    if (job->erase_stage == ST_INDIVIDUALS)
        /* Keyed as salesforce_consent.c upserts it. */
        soql = sf_soql_in("SELECT Id FROM Individual WHERE ", "Member_Key__c", vals, n);
    else if (job->erase_stage == ST_CONSENTS)
        soql = sf_soql_in("SELECT Id FROM ContactPointTypeConsent WHERE ", "PartyId", vals, n);
    else
        soql =
            sf_soql_in("SELECT Id FROM LoyaltyProgramMember WHERE ", "MembershipNumber", vals, n);
    rc = sf_job_query(job, soql, found);
    free(soql);
    return stage_sent(job, rc, "cannot send the lookup");
}

static void written(struct http_result *res, void *arg)
{
    struct sf_job *job = arg;
    struct sf_outcome *out = sf_job_outcomes(job, res);
    char why[320] = "";

    if (out == NULL)
        return;
    for (size_t k = 0; k < job->nsent && why[0] == '\0'; k++) {
        if (out[k].state == SF_OK)
            continue;
        /* Gone already is what we wanted. */
        if (strcmp(out[k].code, "ENTITY_IS_DELETED") == 0 ||
            strcmp(out[k].code, "INVALID_CROSS_REFERENCE_KEY") == 0)
            continue;
        snprintf(why, sizeof(why), "%s: %s",
                 job->erase_stage == ST_ANONYMISE ? "LoyaltyProgramMember not anonymised"
                                                  : "consent record not deleted",
                 out[k].reason);
    }
    free(out);
    if (why[0] != '\0') {
        fail(job, why);
        return;
    }
    step(job);
}

/* Anonymises up to SF_COLL_MAX program members from job->lpmpos. */
static int anonymise(struct sf_job *job)
{
    json_t *root, *records;
    char *body, number[64];
    int rc;

    if (job->lpmpos >= job->nlpm)
        return 0;
    root = json_pack("{s:b}", "allOrNone", 0);
    records = json_array();
    job->nsent = 0;
    for (; job->lpmpos < job->nlpm && job->nsent < SF_COLL_MAX; job->lpmpos++) {
        snprintf(number, sizeof(number), "erased-%s", job->lpm[job->lpmpos]);
        json_array_append_new(records, json_pack("{s:{s:s},s:s,s:s,s:s,s:n}", "attributes", "type",
                                                 "LoyaltyProgramMember", "Id",
                                                 job->lpm[job->lpmpos], "MembershipNumber", number,
                                                 "MemberStatus", "Inactive", "ContactId"));
        job->nsent++;
    }
    json_object_set_new(root, "records", records);
    body = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    rc = body != NULL
             ? sf_request(job->sf, HTTP_PATCH, sf_data_path(job->sf, "/composite/sobjects"), NULL,
                          body, written, job)
             : -1;
    free(body);
    return stage_sent(job, rc, "cannot send the LoyaltyProgramMember update");
}

/* Deletes up to SF_COLL_MAX of the related records from job->relpos. */
static int delete_related(struct sf_job *job)
{
    char *tail;
    size_t cap, len = 0;
    int rc;

    if (job->relpos >= job->nrel)
        return 0;
    cap = 64 + SF_COLL_MAX * 25;
    tail = malloc(cap);
    if (tail == NULL) {
        fail(job, "out of memory");
        return -1;
    }
    job->nsent = 0;
    /* The consent records (after the Individuals in rel[]) first, then
     * the Individuals they name. */
    for (; job->relpos < job->nrel && job->nsent < SF_COLL_MAX; job->relpos++) {
        size_t ncons = job->nrel - job->ninds;
        size_t at = job->relpos < ncons ? job->ninds + job->relpos : job->relpos - ncons;
        len += (size_t)snprintf(
            tail + len, cap - len, "%s%s",
            job->nsent ? "," : "/composite/sobjects?allOrNone=false&ids=", job->rel[at]);
        job->nsent++;
    }
    rc = sf_request(job->sf, HTTP_DELETE, sf_data_path(job->sf, tail), NULL, NULL, written, job);
    free(tail);
    return stage_sent(job, rc, "cannot send the delete");
}

/* Goes on with the current stage, or moves to the next one. The records
 * sent are not the batch's: job->sent is not used, so sf_job_outcomes
 * reads nsent items. */
static void step(struct sf_job *job)
{
    const struct sf_map *m = &job->sf->map;
    int rc = 0;

    for (;;) {
        switch (job->erase_stage) {
        case ST_INDIVIDUALS:
        case ST_CONSENTS:
        case ST_PROGRAM_MEMBERS:
            if ((job->erase_stage == ST_PROGRAM_MEMBERS ? m->points_mode == SF_POINTS_LOYALTY
                                                        : m->consent_mode == SF_CONSENT_OBJECTS))
                rc = lookup(job);
            else
                rc = 0;
            break;
        case ST_ANONYMISE:
            rc = anonymise(job);
            break;
        case ST_DELETE:
            rc = delete_related(job);
            break;
        default:
            sf_start_erase(job);
            return;
        }
        if (rc != 0)
            return; /* sent (or failed and done) */
        /* The Individuals found are the PartyIds to look consents up by. */
        if (job->erase_stage == ST_INDIVIDUALS)
            job->ninds = job->nrel;
        job->erase_stage++;
        job->lo = 0;
    }
}

void sf_erase_related(struct sf_job *job)
{
    job->erase_stage = ST_INDIVIDUALS;
    job->lo = 0;
    step(job);
}
