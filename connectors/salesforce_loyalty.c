/* Loyalty Management push (points_mode = loyalty; docs/salesforce.md
 * "Loyalty", docs/salesforce-conformance.md): the engine sends one record
 * per ledger transaction (field points/<txn_id>); each is posted as a
 * Pending TransactionJournal of a journal type a program process handles,
 * never by writing PointsBalance (Salesforce computes it):
 *
 *   1. the program: LoyaltyProgram by Name (loyalty_program), looked up
 *      once and kept in the identity map as "program:<name>" -> "lp:<id>"
 *   2. the journal types: JournalType (and JournalSubType when configured)
 *      by Name, looked up once per run
 *   3. the members: LoyaltyProgramMember by MembershipNumber = member key
 *      for members whose id is not kept yet ("lpm/<member>" ->
 *      "lpm:<id>"): looked up, and the missing ones created (EnrollmentDate
 *      today, MemberType Individual, MemberStatus Active, ContactId when
 *      known); an existing member is never updated
 *   4. the journals: looked up by ExternalTransactionNumber (txn_id, or its
 *      hash when longer than the field's 40 characters): one found was
 *      posted already (a resend after a lost answer) -> OK; the others are
 *      created, 200 per request. ExternalTransactionNumber is not unique
 *      in Salesforce, so the lookup is what makes a resend idempotent.
 *
 * A "points/balance" record (a drift repair: the engine re-offers the
 * local balance when the pulled PointsBalance differs) is not written:
 * balances are computed by Salesforce from journals. It is logged as
 * drift and answered OK (nothing to write by design). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "salesforce_int.h"
#include "timefmt.h"

/* Values per IN list: 100 quoted ids of up to 255 characters stay well
 * inside the URL length Salesforce accepts for a GET query. */
#define SF_LOOKUP_MAX 100

static void types_lookup(struct sf_job *job);
static void members_lookup(struct sf_job *job);
static void members_create(struct sf_job *job);
static void journals_lookup(struct sf_job *job);
static void journals_create(struct sf_job *job);

static int want(const struct sf_job *job, size_t i)
{
    return !job->set[i];
}

static void fail_all(struct sf_job *job, enum push_outcome o, const char *why)
{
    log_warn("salesforce", job->sf->conn->name, "journals: %s", why);
    sf_job_fail_rest(job, o, why, -1, o == PUSH_RETRY);
    sf_job_done(job);
}

/* An option that may be unset (NULL) or "". */
static const char *opt(const char *s)
{
    return s != NULL ? s : "";
}

/* --- 4. journals --- */

static void journals_answer(struct http_result *res, void *arg)
{
    if (sf_job_take_outcomes(arg, res) == 0)
        journals_create(arg);
}

static void journals_create(struct sf_job *job)
{
    struct salesforce *sf = job->sf;
    struct sf_txn *txns = calloc(SF_COLL_MAX, sizeof(*txns));
    const char **mids = calloc(SF_COLL_MAX, sizeof(*mids));
    struct sf_journal_types jt = {sf->jt_credit, sf->jst_credit, sf->jt_debit, sf->jst_debit};
    char *body = NULL;

    job->nsent = 0;
    for (; txns != NULL && mids != NULL && job->lo < job->pb->n && job->nsent < SF_COLL_MAX;
         job->lo++) {
        size_t i = job->lo;
        if (!want(job, i))
            continue;
        if (job->ids[i][0] == '\0') {
            sf_job_set(job, i, PUSH_RETRY, "no LoyaltyProgramMember for this member", -1, 0, NULL);
            continue;
        }
        if (job->txns[i].delta < 0 && sf->jt_debit[0] == '\0') {
            sf_job_set(job, i, PUSH_REJECT, "no JournalType for debits (debit_journal_type)", -1, 0,
                       NULL);
            continue;
        }
        txns[job->nsent] = job->txns[i];
        mids[job->nsent] = job->ids[i];
        job->sent[job->nsent++] = i;
    }
    if (txns == NULL || mids == NULL || job->nsent == 0) {
        int oom = txns == NULL || mids == NULL;
        free(txns);
        free(mids);
        if (oom)
            sf_job_fail_rest(job, PUSH_RETRY, "out of memory", -1, 1);
        sf_job_done(job);
        return;
    }
    body = sf_journal_body(&jt, job->program_id, txns, mids, job->nsent);
    free(txns);
    free(mids);
    if (body == NULL || sf_request(sf, HTTP_POST, sf_data_path(sf, "/composite/sobjects"), NULL,
                                   body, journals_answer, job) != 0)
        fail_all(job, PUSH_RETRY, "cannot send the journals");
    free(body);
}

static int journal_row(struct sf_job *job, json_t *r)
{
    const char *num = json_string_value(json_object_get(r, "ExternalTransactionNumber"));

    for (size_t s = 0; num != NULL && s < job->nsent; s++) {
        size_t i = job->sent[s];
        if (want(job, i) && strcmp(job->txns[i].number, num) == 0)
            /* Posted already (a resend after a lost answer). */
            sf_job_set(job, i, PUSH_OK, "", -1, 0, NULL);
    }
    return 0;
}

static void journals_found(struct http_result *res, void *arg)
{
    if (sf_job_query_each(arg, res, journal_row) == 0)
        journals_lookup(arg);
}

/* Looks the journals up by ExternalTransactionNumber, SF_LOOKUP_MAX at a
 * time from job->lo; then creates the ones not found. */
static void journals_lookup(struct sf_job *job)
{
    const char **nums = calloc(SF_LOOKUP_MAX, sizeof(*nums));
    char head[200], *soql;

    job->nsent = 0;
    for (; nums != NULL && job->lo < job->pb->n && job->nsent < SF_LOOKUP_MAX; job->lo++) {
        size_t i = job->lo;
        if (!want(job, i) || job->ids[i][0] == '\0')
            continue;
        nums[job->nsent] = job->txns[i].number;
        job->sent[job->nsent++] = i;
    }
    if (nums == NULL) {
        fail_all(job, PUSH_RETRY, "out of memory");
        return;
    }
    if (job->nsent == 0) {
        free(nums);
        job->lo = 0;
        journals_create(job);
        return;
    }
    snprintf(head, sizeof(head),
             "SELECT Id, ExternalTransactionNumber FROM TransactionJournal WHERE "
             "LoyaltyProgramId = '%s' AND ",
             job->program_id);
    soql = sf_soql_in(head, "ExternalTransactionNumber", nums, job->nsent);
    free(nums);
    if (sf_job_query(job, soql, journals_found) != 0)
        fail_all(job, PUSH_RETRY, "cannot look the journals up");
    free(soql);
}

/* --- 3. members --- */

/* Gives every record of member the LoyaltyProgramMember id, and keeps it. */
static void member_id_for(struct sf_job *job, const char *member, const char *id)
{
    sf_job_member_id(job, "lpm", member, id);
}

/* DUPLICATE_VALUE on MembershipNumber: the member exists now (created by
 * another batch of the member in flight at the same time, or before a
 * crash after our lookup): not the records' fault; the retry finds it by
 * its identity or the lookup. */
static void members_answer(struct http_result *res, void *arg)
{
    if (sf_job_members_created(arg, res, "DUPLICATE_VALUE", member_id_for) == 0)
        members_create(arg);
}

/* Distinct members of the records from job->lo without an id, at most max
 * (records in job->sent, one per member). */
static size_t members_without_id(struct sf_job *job, const char **members, const char **cids,
                                 size_t max)
{
    job->nsent = 0;
    for (; job->lo < job->pb->n && job->nsent < max; job->lo++) {
        size_t i = job->lo, k;
        const struct push_record *r = &job->pb->records[i];
        if (!want(job, i) || job->ids[i][0] != '\0')
            continue;
        for (k = 0; k < job->nsent; k++) {
            if (strcmp(members[k], r->member_key) == 0)
                break;
        }
        if (k < job->nsent)
            continue;
        members[job->nsent] = r->member_key;
        if (cids != NULL)
            cids[job->nsent] = sf_contact_id(r->remote_id);
        job->sent[job->nsent++] = i;
    }
    return job->nsent;
}

/* Creates the members not found, SF_COLL_MAX per request. */
static void members_create(struct sf_job *job)
{
    struct salesforce *sf = job->sf;
    const char **members = calloc(SF_COLL_MAX, sizeof(*members));
    const char **cids = calloc(SF_COLL_MAX, sizeof(*cids));
    char today[40], *body = NULL;

    if (members == NULL || cids == NULL) {
        free(members);
        free(cids);
        fail_all(job, PUSH_RETRY, "out of memory");
        return;
    }
    if (members_without_id(job, members, cids, SF_COLL_MAX) == 0) {
        free(members);
        free(cids);
        job->lo = 0;
        journals_lookup(job);
        return;
    }
    /* EnrollmentDate is a date (YYYY-MM-DD): today, UTC. */
    timefmt_format_rfc3339(timefmt_now_ms(), today, sizeof(today));
    today[10] = '\0';
    body = sf_program_member_body(job->program_id, members, cids, today, job->nsent);
    free(members);
    free(cids);
    if (body == NULL || sf_request(sf, HTTP_POST, sf_data_path(sf, "/composite/sobjects"), NULL,
                                   body, members_answer, job) != 0)
        fail_all(job, PUSH_RETRY, "cannot send the program members");
    free(body);
}

static int member_row(struct sf_job *job, json_t *r)
{
    const char *num = json_string_value(json_object_get(r, "MembershipNumber"));
    const char *id = json_string_value(json_object_get(r, "Id"));

    if (num != NULL && id != NULL)
        member_id_for(job, num, id);
    return 0;
}

static void members_found(struct http_result *res, void *arg)
{
    if (sf_job_query_each(arg, res, member_row) == 0)
        members_lookup(arg);
}

/* Looks members without a kept id up by MembershipNumber in the program,
 * SF_LOOKUP_MAX at a time from job->lo; then creates the rest. */
static void members_lookup(struct sf_job *job)
{
    const char **members = calloc(SF_LOOKUP_MAX, sizeof(*members));
    char head[200], *soql;

    if (members == NULL) {
        fail_all(job, PUSH_RETRY, "out of memory");
        return;
    }
    if (members_without_id(job, members, NULL, SF_LOOKUP_MAX) == 0) {
        free(members);
        job->lo = 0;
        members_create(job);
        return;
    }
    snprintf(head, sizeof(head),
             "SELECT Id, MembershipNumber FROM LoyaltyProgramMember WHERE ProgramId = '%s' AND ",
             job->program_id);
    soql = sf_soql_in(head, "MembershipNumber", members, job->nsent);
    free(members);
    if (sf_job_query(job, soql, members_found) != 0)
        fail_all(job, PUSH_RETRY, "cannot look the program members up");
    free(soql);
}

static void start_members(struct sf_job *job)
{
    const struct host_services *host = job->sf->conn->host;

    for (size_t i = 0; i < job->pb->n; i++) {
        char key[300], val[80];
        if (!want(job, i) || host == NULL || host->remote_id == NULL)
            continue;
        snprintf(key, sizeof(key), "lpm/%s", job->pb->records[i].member_key);
        if (host->remote_id(host->ctx, job->sf->conn, key, val, sizeof(val)) == 1 &&
            strncmp(val, "lpm:", 4) == 0)
            snprintf(job->ids[i], sizeof(job->ids[i]), "%s", val + 4);
    }
    job->lo = 0;
    members_lookup(job);
}

/* --- 2. journal types --- */

/* A JournalSubType of the configured names under the JournalTypes found. */
static int subtype_row(struct sf_job *job, json_t *r)
{
    struct salesforce *sf = job->sf;
    const struct salesforce_settings *cfg = sf->cfg;
    const char *name = json_string_value(json_object_get(r, "Name"));
    const char *id = json_string_value(json_object_get(r, "Id"));
    const char *type = json_string_value(json_object_get(r, "JournalTypeId"));

    if (name == NULL || id == NULL)
        return 0;
    if (opt(cfg->journal_subtype)[0] != '\0' && strcasecmp(name, opt(cfg->journal_subtype)) == 0 &&
        sf_same_id(type, sf->jt_credit))
        snprintf(sf->jst_credit, sizeof(sf->jst_credit), "%s", id);
    if (opt(cfg->debit_journal_subtype)[0] != '\0' &&
        strcasecmp(name, opt(cfg->debit_journal_subtype)) == 0 && sf_same_id(type, sf->jt_debit))
        snprintf(sf->jst_debit, sizeof(sf->jst_debit), "%s", id);
    return 0;
}

/* A JournalType of the configured credit or debit name. */
static int type_row(struct sf_job *job, json_t *r)
{
    struct salesforce *sf = job->sf;
    const struct salesforce_settings *cfg = sf->cfg;
    const char *name = json_string_value(json_object_get(r, "Name"));
    const char *id = json_string_value(json_object_get(r, "Id"));

    if (name == NULL || id == NULL)
        return 0;
    if (strcasecmp(name, cfg->journal_type) == 0)
        snprintf(sf->jt_credit, sizeof(sf->jt_credit), "%s", id);
    if (strcasecmp(name, cfg->debit_journal_type) == 0)
        snprintf(sf->jt_debit, sizeof(sf->jt_debit), "%s", id);
    return 0;
}

static void subtypes_found(struct http_result *res, void *arg)
{
    struct sf_job *job = arg;
    struct salesforce *sf = job->sf;
    const struct salesforce_settings *cfg = sf->cfg;
    char why[300];

    if (sf_job_query_each(job, res, subtype_row) != 0)
        return;
    if ((opt(cfg->journal_subtype)[0] != '\0' && sf->jst_credit[0] == '\0') ||
        (opt(cfg->debit_journal_subtype)[0] != '\0' && sf->jst_debit[0] == '\0')) {
        snprintf(why, sizeof(why),
                 "JournalSubType \"%s\" / \"%s\" not found under its JournalType (options "
                 "journal_subtype, debit_journal_subtype)",
                 opt(cfg->journal_subtype), opt(cfg->debit_journal_subtype));
        log_warn("salesforce", sf->conn->name, "loyalty: %s", why);
        fail_all(job, PUSH_REJECT, why);
        return;
    }
    sf->jt_ready = 1;
    start_members(job);
}

static void types_found(struct http_result *res, void *arg)
{
    struct sf_job *job = arg;
    struct salesforce *sf = job->sf;
    const struct salesforce_settings *cfg = sf->cfg;
    const char *names[2];
    size_t n = 0;
    char why[300], *soql;

    if (sf_job_query_each(job, res, type_row) != 0)
        return;
    if (sf->jt_credit[0] == '\0') {
        snprintf(why, sizeof(why),
                 "JournalType named \"%s\" not found in Salesforce (option journal_type)",
                 cfg->journal_type);
        log_warn("salesforce", sf->conn->name, "loyalty: %s", why);
        fail_all(job, PUSH_REJECT, why);
        return;
    }
    if (sf->jt_debit[0] == '\0')
        log_warn("salesforce", sf->conn->name,
                 "loyalty: JournalType named \"%s\" not found: debits are refused (option "
                 "debit_journal_type)",
                 cfg->debit_journal_type);
    if (opt(cfg->journal_subtype)[0] != '\0')
        names[n++] = opt(cfg->journal_subtype);
    if (opt(cfg->debit_journal_subtype)[0] != '\0')
        names[n++] = opt(cfg->debit_journal_subtype);
    if (n == 0) {
        sf->jt_ready = 1;
        start_members(job);
        return;
    }
    soql =
        sf_soql_in("SELECT Id, Name, JournalTypeId FROM JournalSubType WHERE ", "Name", names, n);
    if (sf_job_query(job, soql, subtypes_found) != 0)
        fail_all(job, PUSH_RETRY, "cannot look the journal subtypes up");
    free(soql);
}

static void types_lookup(struct sf_job *job)
{
    struct salesforce *sf = job->sf;
    const char *names[2] = {sf->cfg->journal_type, sf->cfg->debit_journal_type};
    char *soql;

    if (sf->jt_ready) {
        start_members(job);
        return;
    }
    sf->jt_credit[0] = sf->jst_credit[0] = sf->jt_debit[0] = sf->jst_debit[0] = '\0';
    soql = sf_soql_in("SELECT Id, Name FROM JournalType WHERE ", "Name", names, 2);
    if (sf_job_query(job, soql, types_found) != 0)
        fail_all(job, PUSH_RETRY, "cannot look the journal types up");
    free(soql);
}

/* --- 1. program --- */

static void program_found(struct http_result *res, void *arg)
{
    struct sf_job *job = arg;
    const struct host_services *host = job->sf->conn->host;
    json_t *root, *records = sf_job_query_records(job, res, &root);
    const char *id;
    char key[300], val[80];

    if (records == NULL)
        return;
    id = json_string_value(json_object_get(json_array_get(records, 0), "Id"));
    if (id == NULL) {
        char why[256];
        json_decref(root);
        snprintf(why, sizeof(why),
                 "LoyaltyProgram named \"%s\" not found in Salesforce (option loyalty_program)",
                 job->sf->cfg->loyalty_program);
        log_warn("salesforce", job->sf->conn->name, "loyalty: %s", why);
        fail_all(job, PUSH_REJECT, why);
        return;
    }
    snprintf(job->program_id, sizeof(job->program_id), "%s", id);
    json_decref(root);
    snprintf(key, sizeof(key), "program:%s", job->sf->cfg->loyalty_program);
    snprintf(val, sizeof(val), "lp:%s", job->program_id);
    if (host != NULL && host->learn_identity != NULL)
        host->learn_identity(host->ctx, job->sf->conn, key, val);
    types_lookup(job);
}

void sf_journal_start(struct sf_job *job)
{
    struct salesforce *sf = job->sf;
    const struct host_services *host = sf->conn->host;
    char key[300], val[80], *soql;

    job->txns = calloc(job->pb->n + 1, sizeof(*job->txns));
    if (job->txns == NULL) {
        fail_all(job, PUSH_RETRY, "out of memory");
        return;
    }
    for (size_t i = 0; i < job->pb->n; i++) {
        const struct push_record *r = &job->pb->records[i];
        if (strcmp(r->field, "points/balance") == 0) {
            char masked[64];
            log_warn_member(
                "salesforce", sf->conn->name, r->member_key, r->seq,
                "loyalty: points balance of member %s differs from Salesforce's PointsBalance "
                "(local %s); not written: balances come from journals",
                log_mask(r->member_key, masked, sizeof(masked)), r->value_json);
            sf_job_set(job, i, PUSH_OK, "", -1, 0, NULL);
            continue;
        }
        if (sf_parse_txn(r->value_json, &job->txns[i]) != 0)
            sf_job_set(job, i, PUSH_REJECT, "unreadable points transaction", -1, 0, NULL);
    }
    snprintf(key, sizeof(key), "program:%s", sf->cfg->loyalty_program);
    if (host != NULL && host->remote_id != NULL &&
        host->remote_id(host->ctx, sf->conn, key, val, sizeof(val)) == 1 &&
        strncmp(val, "lp:", 3) == 0) {
        snprintf(job->program_id, sizeof(job->program_id), "%s", val + 3);
        types_lookup(job);
        return;
    }
    soql = sf_soql_eq("SELECT Id FROM LoyaltyProgram WHERE ", "Name", sf->cfg->loyalty_program);
    if (sf_job_query(job, soql, program_found) != 0)
        fail_all(job, PUSH_RETRY, "cannot look the LoyaltyProgram up");
    free(soql);
}
