/* consent_mode = consent_objects, push and pull (docs/salesforce.md
 * "Consent objects"; the mapping is in salesforce_consent_map.c). A batch
 * of class ContactPointTypeConsent:
 *
 *   1. Individual per member, upserted by Member_Key__c (LastName: the
 *      local last name, else the placeholder) unless its id is kept
 *      ("ind/<member>" -> "ind:<id>"); 200 per request
 *   2. Contact.IndividualId set for the members whose Individual was just
 *      learnt (the Contact upsert machinery of salesforce_push.c, with its
 *      LastName placeholder resend for new Contacts)
 *   3. DataUsePurpose per purpose, upserted by Purpose_Key__c = purpose
 *      name (Name = the name) once and kept as "purpose:<name>" -> "dup:<id>"
 *   4. the SMS EngagementChannelType (sms_channel_type, ContactPointType
 *      Phone) when the batch holds sms consents: looked up by Name once,
 *      created when the org has none, kept as "channel-type:<name>" ->
 *      "ect:<id>"
 *   5. ContactPointTypeConsent upserted by Consent_Key__c, 200 per request,
 *      results by position; sms ones name the EngagementChannelType.
 *
 * Pull: after the Contact pages, ContactPointTypeConsent by
 * (SystemModstamp, Id) from the "cptc" cursor of the watermark (committed
 * with each page; re-read from it minus the lookback, idempotency keys
 * make the overlap free), each row a consent change unless the local
 * value projects to what it holds (our own write coming back). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "change_json.h"
#include "log.h"
#include "salesforce_int.h"
#include "strbuf.h"

static void individuals_next(struct sf_job *job);
static void purposes_next(struct sf_job *job);
static void consents_next(struct sf_job *job);
static void channel_type_next(struct sf_job *job);

static void fail_all(struct sf_job *job, const char *why)
{
    sf_job_fail_rest(job, PUSH_RETRY, why, -1, 1);
    sf_job_done(job);
}

/* --- 5. ContactPointTypeConsent --- */

static void consents_answer(struct http_result *res, void *arg)
{
    if (sf_job_take_outcomes(arg, res) == 0)
        consents_next(arg);
}

static void consents_next(struct sf_job *job)
{
    struct salesforce *sf = job->sf;
    json_t *records = json_array();
    char *body = NULL;
    int rc;

    job->nsent = 0;
    for (; job->lo < job->pb->n && job->nsent < SF_COLL_MAX; job->lo++) {
        size_t i = job->lo;
        const struct push_record *r = &job->pb->records[i];
        json_t *rec;
        if (job->set[i])
            continue;
        if (job->ids[i][0] == '\0' || job->cm_ids[i][0] == '\0') {
            sf_job_set(job, i, PUSH_RETRY, "no Individual or DataUsePurpose id yet", -1, 0, NULL);
            continue;
        }
        rec = sf_cptc_record(r->member_key, r->field, job->ids[i], job->cm_ids[i],
                             sf->sms_ect[0] != '\0' ? sf->sms_ect : NULL, r->value_json);
        if (rec == NULL) {
            sf_job_set(job, i, PUSH_REJECT, "consent not representable as ContactPointTypeConsent",
                       -1, 0, NULL);
            continue;
        }
        json_array_append_new(records, rec);
        job->sent[job->nsent++] = i;
    }
    if (job->nsent == 0) {
        json_decref(records);
        sf_job_done(job);
        return;
    }
    body = sf_collection_body(records);
    rc = sf_job_patch(job, "/composite/sobjects/ContactPointTypeConsent/Consent_Key__c", body,
                      consents_answer);
    free(body);
    if (rc != 0)
        fail_all(job, "cannot send the consents");
}

/* --- 4. the SMS EngagementChannelType --- */

static const char *sms_type_name(const struct salesforce *sf)
{
    return sf->cfg->sms_channel_type != NULL ? sf->cfg->sms_channel_type : "";
}

static void to_consents(struct sf_job *job)
{
    job->lo = 0;
    consents_next(job);
}

/* The sms records wait for the channel type; the others go on: an email
 * withdrawal is not held up by a lookup that failed. */
static void sms_retry(struct sf_job *job, const char *why)
{
    log_warn("salesforce", job->sf->conn->name, "EngagementChannelType %s: %s",
             sms_type_name(job->sf), why);
    for (size_t i = 0; i < job->pb->n; i++) {
        if (!job->set[i] && sf_consent_is_sms(job->pb->records[i].field))
            sf_job_set(job, i, PUSH_RETRY, why, -1, 0, NULL);
    }
    to_consents(job);
}

static void channel_type_known(struct sf_job *job, const char *id)
{
    struct salesforce *sf = job->sf;
    const struct host_services *host = sf->conn->host;
    char key[300], val[40];

    snprintf(sf->sms_ect, sizeof(sf->sms_ect), "%s", id);
    snprintf(key, sizeof(key), "channel-type:%s", sms_type_name(sf));
    snprintf(val, sizeof(val), "ect:%s", id);
    if (host != NULL && host->learn_identity != NULL)
        host->learn_identity(host->ctx, sf->conn, key, val);
    log_info("salesforce", sf->conn->name, "sms consents name EngagementChannelType %s (%s)", id,
             sms_type_name(sf));
    to_consents(job);
}

static void channel_type_created(struct http_result *res, void *arg)
{
    struct sf_job *job = arg;
    json_t *root;
    const char *id;

    if (res->cls != HTTP_CLASS_OK) {
        sms_retry(job, "cannot create it");
        return;
    }
    root = json_loads(res->body ? res->body : "", 0, NULL);
    id = json_string_value(json_object_get(root, "id"));
    if (id == NULL || strlen(id) >= sizeof(job->sf->sms_ect))
        sms_retry(job, "no id in the create answer");
    else
        channel_type_known(job, id);
    json_decref(root);
}

static void channel_type_found(struct http_result *res, void *arg)
{
    struct sf_job *job = arg;
    struct salesforce *sf = job->sf;
    json_t *root = NULL, *records = NULL, *b;
    const char *id = NULL;
    char next[256], *body;
    size_t k, n = 0;

    if (res->cls != HTTP_CLASS_OK ||
        sf_parse_query(res->body, &root, &records, next, sizeof(next)) != 0) {
        json_decref(root);
        sms_retry(job, "cannot look it up");
        return;
    }
    /* Name is not unique: the Phone one; several: the first, said. */
    for (k = 0; k < json_array_size(records); k++) {
        json_t *r = json_array_get(records, k);
        const char *cpt = json_string_value(json_object_get(r, "ContactPointType"));
        const char *rid = json_string_value(json_object_get(r, "Id"));
        if (cpt == NULL || strcmp(cpt, "Phone") != 0 || rid == NULL ||
            strlen(rid) >= sizeof(sf->sms_ect))
            continue;
        if (n++ == 0)
            id = rid;
    }
    if (n > 1)
        log_warn("salesforce", sf->conn->name,
                 "%zu EngagementChannelTypes named %s with ContactPointType Phone: sms consents "
                 "name %s",
                 n, sms_type_name(sf), id);
    if (id != NULL) {
        channel_type_known(job, id);
        json_decref(root);
        return;
    }
    json_decref(root);
    b = json_pack("{s:s,s:s}", "Name", sms_type_name(sf), "ContactPointType", "Phone");
    body = b ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    if (body == NULL ||
        sf_request(sf, HTTP_POST, sf_data_path(sf, "/sobjects/EngagementChannelType"), NULL, body,
                   channel_type_created, job) != 0)
        sms_retry(job, "cannot send the create");
    free(body);
}

static void channel_type_next(struct sf_job *job)
{
    struct salesforce *sf = job->sf;
    const struct host_services *host = sf->conn->host;
    char key[300], val[40], *soql;
    int wanted = 0;

    for (size_t i = 0; i < job->pb->n && !wanted; i++)
        wanted = !job->set[i] && sf_consent_is_sms(job->pb->records[i].field);
    if (!wanted || sf->sms_ect[0] != '\0' || sms_type_name(sf)[0] == '\0') {
        to_consents(job);
        return;
    }
    snprintf(key, sizeof(key), "channel-type:%s", sms_type_name(sf));
    if (host != NULL && host->remote_id != NULL &&
        host->remote_id(host->ctx, sf->conn, key, val, sizeof(val)) == 1 &&
        strncmp(val, "ect:", 4) == 0 && strlen(val + 4) < sizeof(sf->sms_ect)) {
        snprintf(sf->sms_ect, sizeof(sf->sms_ect), "%s", val + 4);
        to_consents(job);
        return;
    }
    soql = sf_soql_eq("SELECT Id, ContactPointType FROM EngagementChannelType WHERE ", "Name",
                      sms_type_name(sf));
    if (soql == NULL || sf_job_query(job, soql, channel_type_found) != 0)
        sms_retry(job, "cannot send the lookup");
    free(soql);
}

/* --- 3. DataUsePurpose, one at a time, once --- */

static int purpose_of(const struct push_record *r, char *purpose, size_t psize)
{
    char channel[32];
    const char *cpt;
    return sf_consent_target(r->field, purpose, psize, channel, sizeof(channel), &cpt);
}

static void fill_purpose(struct sf_job *job, const char *purpose, const char *id)
{
    for (size_t i = 0; i < job->pb->n; i++) {
        char p[128];
        if (purpose_of(&job->pb->records[i], p, sizeof(p)) == 0 && strcmp(p, purpose) == 0)
            snprintf(job->cm_ids[i], sizeof(job->cm_ids[i]), "%s", id);
    }
}

static void purpose_answer(struct http_result *res, void *arg)
{
    struct sf_job *job = arg;
    const struct host_services *host = job->sf->conn->host;
    json_t *root;
    const char *id;
    char key[200], val[80];

    if (sf_job_upserted(job, res, &root, &id) != 0)
        return;
    if (id == NULL) {
        json_decref(root);
        fail_all(job, "no id in the DataUsePurpose upsert answer");
        return;
    }
    fill_purpose(job, job->segment, id);
    snprintf(key, sizeof(key), "purpose:%s", job->segment);
    snprintf(val, sizeof(val), "dup:%s", id);
    if (host != NULL && host->learn_identity != NULL)
        host->learn_identity(host->ctx, job->sf->conn, key, val);
    log_info("salesforce", job->sf->conn->name, "purpose %s is DataUsePurpose %s", job->segment,
             id);
    json_decref(root);
    purposes_next(job);
}

static void purposes_next(struct sf_job *job)
{
    struct salesforce *sf = job->sf;
    const struct host_services *host = sf->conn->host;

    for (size_t i = 0; i < job->pb->n; i++) {
        char purpose[128], key[200], val[80], *enc, *body;
        struct strbuf tail;
        int rc;
        json_t *b;
        if (job->set[i] || job->cm_ids[i][0] != '\0' ||
            purpose_of(&job->pb->records[i], purpose, sizeof(purpose)) != 0)
            continue;
        snprintf(key, sizeof(key), "purpose:%s", purpose);
        if (host != NULL && host->remote_id != NULL &&
            host->remote_id(host->ctx, sf->conn, key, val, sizeof(val)) == 1 &&
            strncmp(val, "dup:", 4) == 0) {
            fill_purpose(job, purpose, val + 4);
            continue;
        }
        snprintf(job->segment, sizeof(job->segment), "%s", purpose);
        enc = sf_urlencode(purpose);
        strbuf_init(&tail, SF_PATH_MAX);
        strbuf_addf(&tail, "/sobjects/DataUsePurpose/Purpose_Key__c/%s", enc ? enc : "");
        free(enc);
        b = json_pack("{s:s}", "Name", purpose);
        body = b ? json_dumps(b, JSON_COMPACT) : NULL;
        json_decref(b);
        rc = sf_job_patch(job, strbuf_str(&tail), body, purpose_answer);
        strbuf_free(&tail);
        free(body);
        if (rc != 0)
            fail_all(job, "cannot send the DataUsePurpose upsert");
        return;
    }
    channel_type_next(job);
}

/* --- 2. Contact.IndividualId (called by sf_contacts_next at its end) --- */

void sf_consent_after_contacts(struct sf_job *job)
{
    purposes_next(job);
}

static void link_contacts(struct sf_job *job, const unsigned char *linked)
{
    size_t n = 0;

    crm_plan_free(&job->plan);
    memset(&job->plan, 0, sizeof(job->plan));
    job->plan.g = calloc(job->pb->n + 1, sizeof(*job->plan.g));
    job->plan.rec_group = calloc(job->pb->n + 1, sizeof(*job->plan.rec_group));
    if (job->plan.g == NULL || job->plan.rec_group == NULL) {
        fail_all(job, "out of memory");
        return;
    }
    for (size_t i = 0; i < job->pb->n; i++) {
        size_t g;
        job->plan.rec_group[i] = SIZE_MAX;
        if (job->set[i] || !linked[i])
            continue;
        g = crm_plan_join(&job->plan, i, job->pb->records[i].member_key);
        if (job->plan.g[g].fields == NULL) {
            job->plan.g[g].remote_id = sf_contact_id(job->pb->records[i].remote_id);
            job->plan.g[g].fields = json_pack("{s:s}", "IndividualId", job->ids[i]);
        }
        n++;
    }
    job->lo = 0;
    if (n == 0) {
        purposes_next(job);
        return;
    }
    sf_contacts_next(job); /* ends in sf_consent_after_contacts */
}

/* --- 1. Individual --- */

/* An Individual created: the member's records hold its id, and their
 * Contacts get IndividualId. */
static void individual_made(struct sf_job *job, const char *member, const char *id)
{
    sf_job_member_id(job, "ind", member, id);
    for (size_t j = 0; j < job->pb->n; j++) {
        if (strcmp(job->pb->records[j].member_key, member) == 0)
            job->link[j] = 1;
    }
}

static void individuals_answer(struct http_result *res, void *arg)
{
    if (sf_job_members_created(arg, res, NULL, individual_made) == 0)
        individuals_next(arg);
}

static void individuals_next(struct sf_job *job)
{
    struct salesforce *sf = job->sf;
    json_t *records = json_array();
    char *body;
    int rc;

    job->nsent = 0;
    for (; job->lo < job->pb->n && job->nsent < SF_COLL_MAX; job->lo++) {
        size_t i = job->lo, k;
        const struct push_record *r = &job->pb->records[i];
        char name[SF_LAST_NAME_MAX];
        json_t *rec;
        if (job->set[i] || job->ids[i][0] != '\0')
            continue;
        for (k = 0; k < job->nsent; k++) {
            if (strcmp(job->pb->records[job->sent[k]].member_key, r->member_key) == 0)
                break;
        }
        if (k < job->nsent)
            continue;
        rec = json_pack(
            "{s:{s:s},s:s,s:s}", "attributes", "type", "Individual", "Member_Key__c", r->member_key,
            "LastName",
            sf_last_name_of(job, r, name, sizeof(name)) ? name : sf->map.last_name_placeholder);
        json_array_append_new(records, rec);
        job->sent[job->nsent++] = i;
    }
    if (job->nsent == 0) {
        json_decref(records);
        link_contacts(job, job->link);
        return;
    }
    body = sf_collection_body(records);
    rc =
        sf_job_patch(job, "/composite/sobjects/Individual/Member_Key__c", body, individuals_answer);
    free(body);
    if (rc != 0)
        fail_all(job, "cannot send the Individuals");
}

void sf_consent_start(struct sf_job *job)
{
    struct salesforce *sf = job->sf;
    const struct host_services *host = sf->conn->host;

    job->link = calloc(job->pb->n + 1, 1);
    if (job->link == NULL) {
        fail_all(job, "out of memory");
        return;
    }
    for (size_t i = 0; i < job->pb->n; i++) {
        char key[300], val[80];
        const struct push_record *r = &job->pb->records[i];
        if (host == NULL || host->remote_id == NULL)
            break;
        snprintf(key, sizeof(key), "ind/%s", r->member_key);
        if (host->remote_id(host->ctx, sf->conn, key, val, sizeof(val)) == 1 &&
            strncmp(val, "ind:", 4) == 0)
            snprintf(job->ids[i], sizeof(job->ids[i]), "%s", val + 4);
    }
    job->lo = 0;
    individuals_next(job);
}

/* --- pull --- */

static void consent_query(struct salesforce *sf, const char *next);

/* One row, by the shared page rule: a consent change (an explicit OptIn or
 * OptOut) unless it is our own write coming back, and observed (shadow). */
static int consent_row(struct salesforce *sf, struct crm_page *pg, json_t *rec)
{
    struct connector *conn = sf->conn;
    struct sf_pull_state *ps = sf_pull_state(sf);
    char member[256], field[200], proj[400], idem[512];
    const char *id = json_string_value(json_object_get(rec, "Id"));
    char *value = NULL;
    int64_t mod = 0;
    struct consent_value cv;
    struct change c;
    json_t *holder = NULL;
    int explicit, rc;

    if (id == NULL || sf_cptc_row(conn->name, rec, member, sizeof(member), field, sizeof(field),
                                  &value, proj, sizeof(proj), &mod) != 0)
        return 0; /* not one of ours */
    if (mod > ps->cptc_max)
        ps->cptc_max = mod;
    explicit = strncmp(proj, "OptIn|", 6) == 0 || strncmp(proj, "OptOut|", 7) == 0;
    if (explicit && consent_value_from_json(value, &cv, &holder) == 0) {
        snprintf(idem, sizeof(idem), "%s:%s:%s:%" PRId64, conn->name, id, field, mod);
        c = crm_pulled_change(conn->name, member, CHANGE_CONSENT, field, value, cv.collected_at,
                              idem, id, &cv);
        rc = crm_page_field(pg, member, CHANGE_CONSENT, field, &c, proj);
    } else {
        rc = crm_page_field(pg, member, CHANGE_CONSENT, field, NULL, proj);
    }
    json_decref(holder);
    free(value);
    return rc;
}

static void consents_done(struct salesforce *sf)
{
    sf_pull_state(sf)->after_consents(sf);
}

static void consent_answer(struct http_result *res, void *arg)
{
    sf_side_answer(arg, res, SF_SIDE_CONSENTS, consent_row, consent_query, consents_done);
}
static void consent_query(struct salesforce *sf, const char *next)
{
    sf_side_query(sf, SF_SIDE_CONSENTS, next,
                  "SELECT Id, SystemModstamp, Consent_Key__c, PrivacyConsentStatus, CaptureDate, "
                  "CaptureSource FROM ContactPointTypeConsent ",
                  "WHERE", "ORDER BY SystemModstamp, Id", consent_answer);
}

void sf_consent_pull(struct salesforce *sf, void (*next)(struct salesforce *sf))
{
    sf_pull_state(sf)->after_consents = next;
    consent_query(sf, NULL);
}
