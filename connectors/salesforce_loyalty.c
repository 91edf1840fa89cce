/* Loyalty Management push (points_mode = loyalty; docs/salesforce.md
 * "Loyalty"): the engine sends one record per ledger transaction (field
 * points/<txn_id>); each is posted as a TransactionJournal with
 * ExternalTransactionNumber = txn_id, never by writing PointsBalance:
 *
 *   1. the program: LoyaltyProgram by Name (loyalty_program), looked up
 *      once and kept in the identity map as "program:<name>" -> "lp:<id>"
 *   2. the members: LoyaltyProgramMember upserted by MembershipNumber =
 *      member key (ContactId when known) for members whose id is not kept
 *      yet ("lpm/<member>" -> "lpm:<id>"), 200 per request
 *   3. the journals: collections CREATE, 200 per request. A journal is
 *      never updated: DUPLICATE_VALUE on ExternalTransactionNumber means it
 *      was posted already (a resend after a lost answer) -> OK.
 *
 * A "points/balance" record (a drift repair: the engine re-offers the
 * local balance when the pulled PointsBalance differs) is not written:
 * balances are computed by Salesforce from journals. It is logged as
 * drift and answered OK (nothing to write by design). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "salesforce_int.h"

static void journals_next(struct sf_job *job);
static void members_next(struct sf_job *job);

static int want(const struct sf_job *job, size_t i)
{
    return !job->set[i];
}

static void journals_answer(struct http_result *res, void *arg)
{
    struct sf_job *job = arg;
    struct sf_outcome *out;

    out = sf_job_outcomes(job, res);
    if (out == NULL)
        return;
    for (size_t k = 0; k < job->nsent; k++) {
        size_t i = job->sent[k];
        enum sf_state st = out[k].state;
        /* Posted already: the journal exists with this number. */
        if (st == SF_REJECT && strcmp(out[k].code, "DUPLICATE_VALUE") == 0)
            st = SF_OK;
        if (st == SF_REJECT)
            log_info("salesforce", job->sf->conn->name, "seq %lld %s: %s",
                     (long long)job->pb->records[i].seq, job->pb->records[i].field, out[k].reason);
        sf_job_set(job, i, sf_outcome_push(st), out[k].reason, -1, 0, NULL);
    }
    free(out);
    journals_next(job);
}

static void journals_next(struct sf_job *job)
{
    struct salesforce *sf = job->sf;
    struct sf_txn *txns = calloc(SF_COLL_MAX, sizeof(*txns));
    const char **mids = calloc(SF_COLL_MAX, sizeof(*mids));
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
        txns[job->nsent] = job->txns[i];
        mids[job->nsent] = job->ids[i];
        job->sent[job->nsent++] = i;
    }
    if (txns == NULL || mids == NULL) {
        free(txns);
        free(mids);
        sf_job_fail_rest(job, PUSH_RETRY, "out of memory", -1, 1);
        sf_job_done(job);
        return;
    }
    if (job->nsent == 0) {
        free(txns);
        free(mids);
        sf_job_done(job);
        return;
    }
    body = sf_journal_body(job->program_id, txns, mids, job->nsent);
    free(txns);
    free(mids);
    if (body == NULL || sf_request(sf, HTTP_POST, sf_data_path(sf, "/composite/sobjects"), NULL,
                                   body, journals_answer, job) != 0) {
        sf_job_fail_rest(job, PUSH_RETRY, "cannot send the journals", -1, 1);
        sf_job_done(job);
    }
    free(body);
}

static void start_journals(struct sf_job *job)
{
    job->lo = 0;
    journals_next(job);
}

/* Gives every record of member the LoyaltyProgramMember id. */
static void member_id_for(struct sf_job *job, const char *member, const char *id)
{
    for (size_t i = 0; i < job->pb->n; i++) {
        if (strcmp(job->pb->records[i].member_key, member) == 0)
            snprintf(job->ids[i], sizeof(job->ids[i]), "%s", id);
    }
}

static void members_answer(struct http_result *res, void *arg)
{
    struct sf_job *job = arg;
    struct pull_sink *sink = job->sf->conn->sink;
    struct sf_outcome *out;

    out = sf_job_outcomes(job, res);
    if (out == NULL)
        return;
    for (size_t k = 0; k < job->nsent; k++) {
        size_t i = job->sent[k];
        const char *member = job->pb->records[i].member_key;
        if (out[k].state == SF_OK && out[k].id[0] != '\0') {
            char key[300], val[80];
            member_id_for(job, member, out[k].id);
            snprintf(key, sizeof(key), "lpm/%s", member);
            snprintf(val, sizeof(val), "lpm:%s", out[k].id);
            if (sink != NULL && sink->learn_identity != NULL)
                sink->learn_identity(sink->ctx, job->sf->conn, key, val);
            continue;
        }
        /* The member's records share its failure. */
        for (size_t j = 0; j < job->pb->n; j++) {
            if (strcmp(job->pb->records[j].member_key, member) == 0)
                sf_job_set(job, j,
                           out[k].state == SF_OK ? PUSH_RETRY : sf_outcome_push(out[k].state),
                           out[k].reason, -1, 0, NULL);
        }
    }
    free(out);
    members_next(job);
}

/* Upserts the LoyaltyProgramMember of members without a kept id, one
 * request per 200 members (one record per member: its first record). */
static void members_next(struct sf_job *job)
{
    struct salesforce *sf = job->sf;
    const char **members = calloc(SF_COLL_MAX, sizeof(*members));
    const char **cids = calloc(SF_COLL_MAX, sizeof(*cids));
    char tail[128], *body = NULL;

    job->nsent = 0;
    for (; members != NULL && cids != NULL && job->lo < job->pb->n && job->nsent < SF_COLL_MAX;
         job->lo++) {
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
        /* Not again in a later request of this job. */
        snprintf(job->ids[i], sizeof(job->ids[i]), "%s", "");
        members[job->nsent] = r->member_key;
        cids[job->nsent] = sf_contact_id(r->remote_id);
        job->sent[job->nsent++] = i;
    }
    if (members == NULL || cids == NULL) {
        free(members);
        free(cids);
        sf_job_fail_rest(job, PUSH_RETRY, "out of memory", -1, 1);
        sf_job_done(job);
        return;
    }
    if (job->nsent == 0) {
        free(members);
        free(cids);
        start_journals(job);
        return;
    }
    body = sf_program_member_body(job->program_id, members, cids, job->nsent);
    free(members);
    free(cids);
    snprintf(tail, sizeof(tail), "/composite/sobjects/LoyaltyProgramMember/MembershipNumber");
    if (body == NULL ||
        sf_request(sf, HTTP_PATCH, sf_data_path(sf, tail), NULL, body, members_answer, job) != 0) {
        sf_job_fail_rest(job, PUSH_RETRY, "cannot send the program members", -1, 1);
        sf_job_done(job);
    }
    free(body);
}

static void start_members(struct sf_job *job)
{
    struct pull_sink *sink = job->sf->conn->sink;

    for (size_t i = 0; i < job->pb->n; i++) {
        char key[300], val[80];
        if (!want(job, i) || sink == NULL || sink->remote_id == NULL)
            continue;
        snprintf(key, sizeof(key), "lpm/%s", job->pb->records[i].member_key);
        if (sink->remote_id(sink->ctx, job->sf->conn, key, val, sizeof(val)) == 1 &&
            strncmp(val, "lpm:", 4) == 0)
            snprintf(job->ids[i], sizeof(job->ids[i]), "%s", val + 4);
    }
    job->lo = 0;
    members_next(job);
}

static void program_found(struct http_result *res, void *arg)
{
    struct sf_job *job = arg;
    struct pull_sink *sink = job->sf->conn->sink;
    json_t *root = NULL, *records = NULL;
    const char *id;
    char next[256], key[300], val[80];

    if (res->cls != HTTP_CLASS_OK ||
        sf_parse_query(res->body, &root, &records, next, sizeof(next)) != 0) {
        sf_job_fail_from(job, res);
        sf_job_done(job);
        return;
    }
    id = json_string_value(json_object_get(json_array_get(records, 0), "Id"));
    if (id == NULL) {
        char why[256];
        json_decref(root);
        snprintf(why, sizeof(why), "LoyaltyProgram named \"%s\" not found in Salesforce",
                 job->sf->cfg->loyalty_program);
        log_warn("salesforce", job->sf->conn->name, "%s: %s", __func__, why);
        sf_job_fail_rest(job, PUSH_REJECT, why, -1, 0);
        sf_job_done(job);
        return;
    }
    snprintf(job->program_id, sizeof(job->program_id), "%s", id);
    json_decref(root);
    snprintf(key, sizeof(key), "program:%s", job->sf->cfg->loyalty_program);
    snprintf(val, sizeof(val), "lp:%s", job->program_id);
    if (sink != NULL && sink->learn_identity != NULL)
        sink->learn_identity(sink->ctx, job->sf->conn, key, val);
    start_members(job);
}

void sf_journal_start(struct sf_job *job)
{
    struct salesforce *sf = job->sf;
    struct pull_sink *sink = sf->conn->sink;
    char key[300], val[80], soql[400], esc[260], *enc, *path;
    size_t o = 0;

    job->txns = calloc(job->pb->n + 1, sizeof(*job->txns));
    if (job->txns == NULL) {
        sf_job_fail_rest(job, PUSH_RETRY, "out of memory", -1, 1);
        sf_job_done(job);
        return;
    }
    for (size_t i = 0; i < job->pb->n; i++) {
        const struct push_record *r = &job->pb->records[i];
        if (strcmp(r->field, "points/balance") == 0) {
            char masked[64];
            log_warn("salesforce", sf->conn->name,
                     "%s: points balance of member %s differs from Salesforce's PointsBalance "
                     "(local %s); not written: balances come from journals",
                     __func__, log_mask(r->member_key, masked, sizeof(masked)), r->value_json);
            sf_job_set(job, i, PUSH_OK, "", -1, 0, NULL);
            continue;
        }
        if (sf_parse_txn(r->value_json, &job->txns[i]) != 0)
            sf_job_set(job, i, PUSH_REJECT, "unreadable points transaction", -1, 0, NULL);
    }
    snprintf(key, sizeof(key), "program:%s", sf->cfg->loyalty_program);
    if (sink != NULL && sink->remote_id != NULL &&
        sink->remote_id(sink->ctx, sf->conn, key, val, sizeof(val)) == 1 &&
        strncmp(val, "lp:", 3) == 0) {
        snprintf(job->program_id, sizeof(job->program_id), "%s", val + 3);
        start_members(job);
        return;
    }
    for (const char *s = sf->cfg->loyalty_program; *s != '\0' && o + 3 < sizeof(esc); s++) {
        if (*s == '\'' || *s == '\\')
            esc[o++] = '\\';
        esc[o++] = *s;
    }
    esc[o] = '\0';
    snprintf(soql, sizeof(soql), "SELECT Id FROM LoyaltyProgram WHERE Name = '%s' LIMIT 1", esc);
    enc = sf_urlencode(soql);
    path = enc ? malloc(strlen(enc) + 128) : NULL;
    if (path != NULL)
        snprintf(path, strlen(enc) + 128, "%s%s", sf_data_path(sf, "/query?q="), enc);
    free(enc);
    if (path == NULL || sf_request(sf, HTTP_GET, path, NULL, NULL, program_found, job) != 0) {
        sf_job_fail_rest(job, PUSH_RETRY, "cannot look the LoyaltyProgram up", -1, 1);
        sf_job_done(job);
    }
    free(path);
}
