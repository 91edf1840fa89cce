/* Segments and erasure (docs/salesforce.md "Push"):
 *
 *   CampaignMember:<seg> the segment's Campaign (upserted by
 *                        Campaign_Key__c once, its id kept in the identity
 *                        map as "segment:<seg>"); "in": Contacts whose id is
 *                        unknown are upserted first (salesforce_push.c), then
 *                        CampaignMember upserted by Membership_Key__c =
 *                        "<member>:<seg>"; one refused as DUPLICATE_VALUE
 *                        (the Contact was added to the Campaign in
 *                        Salesforce) is adopted: found by CampaignId and
 *                        ContactId and given our key; "out": the memberships are found
 *                        by that key and deleted (collections DELETE)
 *   erase                the Contact is deleted by id (collections DELETE);
 *                        members whose Contact id is not known are looked
 *                        up by the external id first (never created); a
 *                        member Salesforce has no Contact for is OK
 *
 * Batches of these classes hold at most 200 records (sf_op_push slices
 * larger ones). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "salesforce_int.h"
#include "strbuf.h"

/* The longest SOQL statement sent (Salesforce allows 100,000 characters). */
#define SF_QUERY_MAX 100000

/* --- segments: Campaign, then memberships --- */

static int is_in(const struct push_record *rec)
{
    return strstr(rec->value_json, "\"status\":\"in\"") != NULL;
}

/* --- adopting a membership added in Salesforce ---
 * Salesforce keeps one CampaignMember per Campaign and Contact; an upsert
 * by Membership_Key__c of a Contact already in the Campaign (added there by
 * hand or by another tool) is refused with DUPLICATE_VALUE. It is the same
 * membership: it is looked up by CampaignId and ContactId and given our
 * key, so that "out" finds it later. One that carries another key of ours
 * is left alone and reported. */

static void adopt_done(struct sf_job *job)
{
    for (size_t i = 0; i < job->pb->n; i++) {
        if (job->adopt[i] && !job->set[i])
            sf_job_set(job, i, PUSH_RETRY,
                       "DUPLICATE_VALUE: the Contact is in the Campaign, but no membership was "
                       "found to adopt",
                       -1, 0, job->ids[i]);
        job->adopt[i] = 0;
    }
    sf_send_delete(job);
}

static void adopted_answer(struct http_result *res, void *arg)
{
    struct sf_job *job = arg;
    const struct host_services *host = job->sf->conn->host;
    struct sf_outcome *out = sf_job_outcomes(job, res);

    if (out == NULL)
        return;
    for (size_t k = 0; k < job->nsent; k++) {
        size_t i = job->sent[k];
        const struct push_record *rec = &job->pb->records[i];
        char key[300];
        if (out[k].state == SF_OK && host != NULL && host->learn_identity != NULL) {
            snprintf(key, sizeof(key), "cm/%s/%s", job->segment, rec->member_key);
            host->learn_identity(host->ctx, job->sf->conn, key, job->cm_ids[i]);
        }
        if (out[k].state == SF_OK) {
            char masked[64];
            log_info_member(
                "salesforce", job->sf->conn->name, rec->member_key, rec->seq,
                "member %s was in Campaign %s already (added in Salesforce): CampaignMember "
                "%s adopted",
                log_mask(rec->member_key, masked, sizeof(masked)), job->segment, job->cm_ids[i]);
        }
        sf_job_set(job, i, sf_outcome_push(out[k].state), out[k].reason, -1, 0, job->ids[i]);
    }
    free(out);
    adopt_done(job);
}

static void adopt_found(struct http_result *res, void *arg)
{
    struct sf_job *job = arg;
    struct salesforce *sf = job->sf;
    json_t *root, *records = sf_job_query_records(job, res, &root), *r, *body = NULL, *list;
    char *text = NULL;
    size_t k;

    if (records == NULL)
        return;
    body = json_pack("{s:b,s:[]}", "allOrNone", 0, "records");
    list = json_object_get(body, "records");
    job->nsent = 0;
    json_array_foreach(records, k, r)
    {
        const char *id = json_string_value(json_object_get(r, "Id"));
        const char *contact = json_string_value(json_object_get(r, "ContactId"));
        const char *have = json_string_value(json_object_get(r, "Membership_Key__c"));
        for (size_t i = 0; id != NULL && contact != NULL && list != NULL && i < job->pb->n; i++) {
            char want[300];
            if (!job->adopt[i] || job->set[i] || !sf_same_id(job->ids[i], contact))
                continue;
            sf_membership_key(job->pb->records[i].member_key, job->segment, want, sizeof(want));
            if (have != NULL && have[0] != '\0' && strcmp(have, want) != 0) {
                sf_job_set(job, i, PUSH_REJECT,
                           "the Contact's membership of the Campaign carries another "
                           "Membership_Key__c",
                           -1, 0, job->ids[i]);
                continue;
            }
            snprintf(job->cm_ids[i], sizeof(job->cm_ids[i]), "%s", id);
            json_array_append_new(list,
                                  json_pack("{s:{s:s},s:s,s:s}", "attributes", "type",
                                            "CampaignMember", "Id", id, "Membership_Key__c", want));
            job->sent[job->nsent++] = i;
        }
    }
    json_decref(root);
    if (job->nsent > 0 && body != NULL)
        text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (job->nsent == 0) {
        adopt_done(job);
        return;
    }
    if (text == NULL || sf_request(sf, HTTP_PATCH, sf_data_path(sf, "/composite/sobjects"), NULL,
                                   text, adopted_answer, job) != 0) {
        job->nsent = 0;
        free(text);
        adopt_done(job);
        return;
    }
    free(text);
}

static void adopt_lookup(struct sf_job *job)
{
    const char **cids = calloc(job->pb->n + 1, sizeof(*cids));
    struct strbuf head;
    char *first, *soql = NULL;
    size_t n = 0;

    for (size_t i = 0; cids != NULL && i < job->pb->n; i++) {
        if (job->adopt[i] && !job->set[i])
            cids[n++] = job->ids[i];
    }
    first = sf_soql_eq("SELECT Id, ContactId, Membership_Key__c FROM CampaignMember WHERE ",
                       "CampaignId", job->campaign_id);
    strbuf_init(&head, SF_QUERY_MAX);
    if (first != NULL)
        strbuf_add(&head, first);
    strbuf_add(&head, " AND ");
    if (first != NULL && cids != NULL && n > 0 && strbuf_str(&head) != NULL)
        soql = sf_soql_in(strbuf_str(&head), "ContactId", cids, n);
    strbuf_free(&head);
    free(first);
    free(cids);
    if (soql == NULL || sf_job_query(job, soql, adopt_found) != 0)
        adopt_done(job);
    free(soql);
}

static void members_answer(struct http_result *res, void *arg)
{
    struct sf_job *job = arg;
    struct sf_outcome *out;
    const struct host_services *host = job->sf->conn->host;
    size_t nadopt = 0;

    out = sf_job_outcomes(job, res);
    if (out == NULL)
        return;
    for (size_t k = 0; k < job->nsent; k++) {
        size_t i = job->sent[k];
        const struct push_record *rec = &job->pb->records[i];
        enum sf_state st = out[k].state;
        char key[300];

        /* Create-only fields refused on an existing membership: it is in
         * already (the item names the record's id). */
        if (st == SF_REJECT && strcmp(out[k].code, "INVALID_FIELD_FOR_INSERT_UPDATE") == 0)
            st = SF_OK;
        if (st == SF_OK && out[k].id[0] != '\0' && host != NULL && host->learn_identity) {
            snprintf(key, sizeof(key), "cm/%s/%s", job->segment, rec->member_key);
            host->learn_identity(host->ctx, job->sf->conn, key, out[k].id);
        }
        if (st == SF_REJECT && strcmp(out[k].code, "DUPLICATE_VALUE") == 0 && job->adopt != NULL) {
            job->adopt[i] = 1;
            nadopt++;
            continue;
        }
        sf_job_set(job, i, sf_outcome_push(st), out[k].reason, -1, 0, job->ids[i]);
    }
    free(out);
    if (nadopt > 0)
        adopt_lookup(job);
    else
        sf_send_delete(job);
}

static void deleted_answer(struct http_result *res, void *arg)
{
    struct sf_job *job = arg;
    struct sf_outcome *out;

    out = sf_job_outcomes(job, res);
    if (out == NULL)
        return;
    for (size_t k = 0; k < job->nsent; k++) {
        enum sf_state st = out[k].state;
        /* Gone already is what we wanted. */
        if (st == SF_REJECT && (strcmp(out[k].code, "ENTITY_IS_DELETED") == 0 ||
                                strcmp(out[k].code, "INVALID_CROSS_REFERENCE_KEY") == 0))
            st = SF_OK;
        sf_job_set(job, job->sent[k], sf_outcome_push(st), out[k].reason, -1, 0, NULL);
    }
    free(out);
    sf_job_done(job);
}

/* Deletes the records whose ids are in cm_ids (segment out) or ids
 * (erase); a record without an id is not there: OK. */
void sf_send_delete(struct sf_job *job)
{
    struct salesforce *sf = job->sf;
    char *tail = NULL;
    size_t len = 0, cap = 0;

    job->nsent = 0;
    for (size_t i = 0; i < job->pb->n; i++) {
        const char *id = job->cls == JOB_ERASE ? job->ids[i] : job->cm_ids[i];
        if (job->set[i])
            continue;
        if (id[0] == '\0') {
            /* Not a member of the Campaign; for an erase, sf_start_erase
             * has answered every record it found no Contact for. */
            sf_job_set(job, i, PUSH_OK, "", -1, 0, NULL);
            continue;
        }
        if (len + 80 > cap) {
            char *n = realloc(tail, cap + 4096);
            if (n == NULL)
                break;
            tail = n;
            cap += 4096;
        }
        len += (size_t)snprintf(tail + len, cap - len, "%s%s",
                                job->nsent ? "," : "/composite/sobjects?allOrNone=false&ids=", id);
        job->sent[job->nsent++] = i;
    }
    if (job->nsent == 0 ||
        sf_request(sf, HTTP_DELETE, sf_data_path(sf, tail), NULL, NULL, deleted_answer, job) != 0) {
        if (job->nsent > 0)
            sf_job_fail_rest(job, PUSH_RETRY, "cannot send the delete", -1, 1);
        sf_job_done(job);
    }
    free(tail);
}

/* --- erase --- */

static int erase_row(struct sf_job *job, json_t *r)
{
    const char *ext = job->sf->map.ext_id;
    const char *key = json_string_value(json_object_get(r, ext));
    const char *id = json_string_value(json_object_get(r, "Id"));

    for (size_t i = 0; key != NULL && id != NULL && i < job->pb->n; i++) {
        if (job->set[i] || strcmp(job->pb->records[i].member_key, key) != 0)
            continue;
        if (job->ids[i][0] == '\0')
            snprintf(job->ids[i], sizeof(job->ids[i]), "%s", id);
        else if (strcmp(job->ids[i], id) != 0)
            log_warn("salesforce", job->sf->conn->name,
                     "erasure: seq %" PRId64 ": several Contacts carry the member's %s; %s "
                     "deleted, %s not",
                     job->pb->records[i].seq, ext, job->ids[i], id);
    }
    return 0;
}

static void erase_found(struct http_result *res, void *arg)
{
    struct sf_job *job = arg;

    if (sf_job_query_each(job, res, erase_row) != 0)
        return;
    for (size_t i = 0; i < job->pb->n; i++) {
        if (job->set[i] || job->ids[i][0] != '\0')
            continue;
        log_info("salesforce", job->sf->conn->name,
                 "erase seq %" PRId64 ": no Contact in Salesforce, nothing to delete",
                 job->pb->records[i].seq);
        sf_job_set(job, i, PUSH_OK, "", -1, 0, NULL);
    }
    sf_send_delete(job);
}

void sf_start_erase(struct sf_job *job)
{
    struct salesforce *sf = job->sf;
    const char **members = calloc(job->pb->n + 1, sizeof(*members));
    char *soql = NULL;
    size_t n = 0;

    for (size_t i = 0; members != NULL && i < job->pb->n; i++) {
        if (!job->set[i] && job->ids[i][0] == '\0')
            members[n++] = job->pb->records[i].member_key;
    }
    if (members != NULL && n == 0) {
        free(members);
        sf_send_delete(job);
        return;
    }
    soql = members ? sf_contacts_by_key_soql(&sf->map, members, n) : NULL;
    if (sf_query(sf, "query", soql, erase_found, job) != 0) {
        sf_job_fail_rest(job, PUSH_RETRY, "cannot send the Contact lookup", -1, 1);
        sf_job_done(job);
    }
    free(members);
    free(soql);
}

void sf_segment_members(struct sf_job *job)
{
    struct salesforce *sf = job->sf;
    const char **members = calloc(job->pb->n + 1, sizeof(*members));
    const char **cids = calloc(job->pb->n + 1, sizeof(*cids));
    char tail[128], *body = NULL;

    job->nsent = 0;
    for (size_t i = 0; members != NULL && cids != NULL && i < job->pb->n; i++) {
        if (job->set[i] || !is_in(&job->pb->records[i]))
            continue;
        if (job->cm_ids[i][0] != '\0') {
            /* Known membership: in already. */
            sf_job_set(job, i, PUSH_OK, "", -1, 0, job->ids[i]);
            continue;
        }
        if (job->ids[i][0] == '\0')
            continue; /* its Contact upsert failed: result set */
        members[job->nsent] = job->pb->records[i].member_key;
        cids[job->nsent] = job->ids[i];
        job->sent[job->nsent++] = i;
    }
    if (job->nsent > 0 && job->adopt == NULL)
        job->adopt = calloc(job->pb->n + 1, 1);
    if (job->nsent > 0)
        body = sf_campaign_member_body(job->campaign_id, job->segment, members, cids, job->nsent);
    free(members);
    free(cids);
    if (job->nsent == 0) {
        sf_send_delete(job);
        return;
    }
    if (body == NULL ||
        sf_request(sf, HTTP_PATCH,
                   sf_data_path(sf, "/composite/sobjects/CampaignMember/Membership_Key__c"), NULL,
                   body, members_answer, job) != 0) {
        sf_job_fail_rest(job, PUSH_RETRY, "cannot send the memberships", -1, 1);
        sf_job_done(job);
    }
    (void)tail;
    free(body);
}

/* Contacts of "in" records whose id is unknown: a minimal upsert first. */
static void segment_contacts(struct sf_job *job)
{
    struct push_record *recs = calloc(job->pb->n + 1, sizeof(*recs));
    struct push_result *dummy = calloc(job->pb->n + 1, sizeof(*dummy));
    size_t n = 0;

    if (recs == NULL || dummy == NULL) {
        free(recs);
        free(dummy);
        sf_job_fail_rest(job, PUSH_RETRY, "out of memory", -1, 1);
        sf_job_done(job);
        return;
    }
    for (size_t i = 0; i < job->pb->n; i++) {
        const struct push_record *r = &job->pb->records[i];
        if (sf_contact_id(r->remote_id) != NULL)
            snprintf(job->ids[i], sizeof(job->ids[i]), "%s", r->remote_id);
    }
    /* Group records that need a Contact into a plan with no fields; the
     * plan's rec_group indexes the batch's records. */
    memset(&job->plan, 0, sizeof(job->plan));
    job->plan.g = calloc(job->pb->n + 1, sizeof(*job->plan.g));
    job->plan.rec_group = calloc(job->pb->n + 1, sizeof(*job->plan.rec_group));
    for (size_t i = 0; job->plan.g != NULL && job->plan.rec_group != NULL && i < job->pb->n; i++) {
        size_t g;
        job->plan.rec_group[i] = SIZE_MAX;
        if (job->ids[i][0] != '\0' || job->cm_ids[i][0] != '\0' || !is_in(&job->pb->records[i]))
            continue;
        g = crm_plan_join(&job->plan, i, job->pb->records[i].member_key);
        if (job->plan.g[g].fields == NULL)
            job->plan.g[g].fields = json_object();
        n++;
    }
    free(recs);
    push_results_clear(dummy, job->pb->n + 1);
    free(dummy);
    job->lo = 0;
    if (n > 0) {
        /* The upsert only fills ids; contacts_answer sets a result on
         * failure alone, and then goes on to segment_members. */
        sf_contacts_next(job);
        return;
    }
    sf_segment_members(job);
}

static int membership_row(struct sf_job *job, json_t *r)
{
    const char *key = json_string_value(json_object_get(r, "Membership_Key__c"));
    const char *id = json_string_value(json_object_get(r, "Id"));

    for (size_t i = 0; key != NULL && id != NULL && i < job->pb->n; i++) {
        char want[300];
        sf_membership_key(job->pb->records[i].member_key, job->segment, want, sizeof(want));
        if (strcmp(want, key) == 0)
            snprintf(job->cm_ids[i], sizeof(job->cm_ids[i]), "%s", id);
    }
    return 0;
}

static void memberships_found(struct http_result *res, void *arg)
{
    if (sf_job_query_each(arg, res, membership_row) == 0)
        segment_contacts(arg);
}

/* Looks up the memberships of the batch by Membership_Key__c (their ids,
 * for "out"; for "in", whether they exist). */
static void find_memberships(struct sf_job *job)
{
    struct salesforce *sf = job->sf;
    char(*keys)[300] = calloc(job->pb->n + 1, sizeof(*keys));
    const char **vals = calloc(job->pb->n + 1, sizeof(*vals));
    char *soql = NULL;
    int ok;

    /* Literals escaped by sf_soql_in (a member key or segment may hold
     * quotes and backslashes) and a bounded path (STYLE.md 13): a long
     * api_version or key makes the query fail, never overflow or cut it. */
    for (size_t i = 0; keys != NULL && vals != NULL && i < job->pb->n; i++) {
        sf_membership_key(job->pb->records[i].member_key, job->segment, keys[i], sizeof(keys[i]));
        vals[i] = keys[i];
    }
    if (keys != NULL && vals != NULL)
        soql = sf_soql_in("SELECT Id, Membership_Key__c FROM CampaignMember WHERE ",
                          "Membership_Key__c", vals, job->pb->n);
    free(keys);
    free(vals);
    ok = soql != NULL && strlen(soql) <= SF_QUERY_MAX &&
         sf_query(sf, "query", soql, memberships_found, job) == 0;
    free(soql);
    if (!ok) {
        sf_job_fail_rest(job, PUSH_RETRY, "cannot send the query", -1, 1);
        sf_job_done(job);
    }
}

static void campaign_answer(struct http_result *res, void *arg)
{
    struct sf_job *job = arg;
    json_t *root;
    const char *id;
    const struct host_services *host = job->sf->conn->host;
    char key[128];

    if (sf_job_upserted(job, res, &root, &id) != 0)
        return;
    if (id == NULL) {
        json_decref(root);
        sf_job_fail_rest(job, PUSH_RETRY, "no id in the Campaign upsert answer", -1, 0);
        sf_job_done(job);
        return;
    }
    snprintf(job->campaign_id, sizeof(job->campaign_id), "%s", id);
    json_decref(root);
    snprintf(key, sizeof(key), "segment:%s", job->segment);
    if (host != NULL && host->learn_identity != NULL)
        host->learn_identity(host->ctx, job->sf->conn, key, job->campaign_id);
    log_info("salesforce", job->sf->conn->name, "segment %s is Campaign %s", job->segment,
             job->campaign_id);
    find_memberships(job);
}

void sf_start_segment(struct sf_job *job)
{
    struct salesforce *sf = job->sf;
    const struct host_services *host = sf->conn->host;
    char key[128], *enc, *body;
    struct strbuf tail, name;
    json_t *b;

    strbuf_init(&name, 1024);
    snprintf(key, sizeof(key), "segment:%s", job->segment);
    for (size_t i = 0; i < job->pb->n; i++) {
        char cm[300];
        snprintf(cm, sizeof(cm), "cm/%s/%s", job->segment, job->pb->records[i].member_key);
        if (host != NULL && host->remote_id != NULL)
            (void)host->remote_id(host->ctx, sf->conn, cm, job->cm_ids[i], sizeof(job->cm_ids[i]));
        /* Deleted with its Contact (salesforce_pull.c): no membership. */
        if (strncmp(job->cm_ids[i], SF_DELETED_PREFIX, strlen(SF_DELETED_PREFIX)) == 0)
            job->cm_ids[i][0] = '\0';
    }
    if (host != NULL && host->remote_id != NULL &&
        host->remote_id(host->ctx, sf->conn, key, job->campaign_id, sizeof(job->campaign_id)) ==
            1) {
        strbuf_free(&name);
        find_memberships(job);
        return;
    }
    /* JSON by jansson and a bounded path: a segment name may hold quotes,
     * backslashes or anything else the spool accepted. */
    enc = sf_urlencode(job->segment);
    strbuf_init(&tail, 4096);
    strbuf_add(&tail, "/sobjects/Campaign/Campaign_Key__c/");
    strbuf_add(&tail, enc != NULL ? enc : "");
    free(enc);
    strbuf_addf(&name, "crmsyncd %s", job->segment);
    b = strbuf_str(&name) != NULL ? json_pack("{s:s,s:b}", "Name", strbuf_str(&name), "IsActive", 1)
                                  : NULL;
    body = b != NULL ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    if (body == NULL || strbuf_str(&tail) == NULL ||
        sf_request(sf, HTTP_PATCH, sf_data_path(sf, strbuf_str(&tail)), NULL, body, campaign_answer,
                   job) != 0) {
        sf_job_fail_rest(job, PUSH_RETRY, "cannot send the Campaign upsert", -1, 1);
        sf_job_done(job);
    }
    free(body);
    strbuf_free(&tail);
    strbuf_free(&name);
}
