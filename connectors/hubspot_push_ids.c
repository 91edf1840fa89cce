/* HubSpot push, the paths that need record ids (docs/hubspot.md "Push"):
 *
 *   list:<seg>  create the MANUAL list once (its id kept in the identity
 *               map as "segment:<seg>"; an answer lost after the create is
 *               found by name), upsert members whose record id is unknown,
 *               then add-and-remove by record id
 *   erase       resolve record ids (batch read by id_property), archive */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubspot.h"
#include "hubspot_job.h"
#include "log.h"

/* --- record ids for lists and erasure: minimal upsert or batch read --- */

static void after_ids(struct hs_job *job);
static void resolve_ids(struct hs_job *job);

static void ids_answer(struct http_result *res, void *arg)
{
    struct hs_job *job = arg;
    size_t n = job->plan.ng;

    if (res->cls == HTTP_CLASS_OK) {
        const char **keys = calloc(n ? n : 1, sizeof(*keys));
        struct hs_outcome *out = calloc(n ? n : 1, sizeof(*out));
        if (keys != NULL && out != NULL) {
            for (size_t g = 0; g < n; g++)
                keys[g] = job->ids[g][0] ? NULL : job->plan.g[g].member;
            if (hs_parse_batch_result(res->body, job->hs->map.id_property, keys, n, out) != 0) {
                /* Unreadable: the destination's fault, nothing learnt. */
                free(keys);
                free(out);
                crm_job_fail_rest(&job->base, PUSH_RETRY, "unreadable batch upsert answer", -1, 1);
                hs_job_done(job);
                return;
            }
            for (size_t g = 0; g < n; g++) {
                if (keys[g] != NULL && out[g].state == HS_OK)
                    snprintf(job->ids[g], sizeof(job->ids[g]), "%s", out[g].id);
            }
        }
        free(keys);
        free(out);
        /* An upsert answer that does not echo the id property (the
         * simulator's) leaves ids unknown: read them by id property. */
        if (!job->reading) {
            job->reading = 1;
            resolve_ids(job);
        } else {
            after_ids(job);
        }
        return;
    }
    hs_job_fail_from(job, res);
    hs_job_done(job);
}

/* Learns the record ids the batch lacks: lists upsert a minimal contact
 * (the member must exist to be listed), erasure only reads. */
static void resolve_ids(struct hs_job *job)
{
    json_t *inputs = json_array(), *body;
    char *text;

    for (size_t g = 0; g < job->plan.ng; g++) {
        const struct crm_group *grp = &job->plan.g[g];
        if (grp->member == NULL)
            continue;
        if (grp->remote_id != NULL && job->ids[g][0] == '\0')
            snprintf(job->ids[g], sizeof(job->ids[g]), "%s", grp->remote_id);
        if (job->ids[g][0] != '\0')
            continue;
        if (!job->reading)
            json_array_append_new(inputs, json_pack("{s:s, s:s, s:{}}", "idProperty",
                                                    job->hs->map.id_property, "id", grp->member,
                                                    "properties"));
        else
            json_array_append_new(inputs, json_pack("{s:s}", "id", grp->member));
    }
    if (json_array_size(inputs) == 0) {
        json_decref(inputs);
        after_ids(job);
        return;
    }
    if (!job->reading)
        body = json_pack("{s:o}", "inputs", inputs);
    else
        body = hs_read_by_key_body(&job->hs->map, inputs);
    text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    hs_job_send(job, HTTP_POST,
                hs_path(job->hs, HS_V_OBJECTS, job->reading ? "/batch/read" : "/batch/upsert"),
                text, ids_answer);
    free(text);
}

/* --- lists --- */

static void members_answer(struct http_result *res, void *arg)
{
    struct hs_job *job = arg;

    json_t *root = res->cls == HTTP_CLASS_OK && res->body ? json_loads(res->body, 0, NULL) : NULL;
    int readable = json_is_object(root);

    json_decref(root);
    if (res->cls == HTTP_CLASS_OK && !readable) {
        /* Not HubSpot's answer (a proxy's page): nothing is known to be
         * applied, and it is the destination's fault (issue 14 item 3). */
        crm_job_fail_rest(&job->base, PUSH_RETRY, "unreadable list membership answer", -1, 1);
    } else if (res->cls == HTTP_CLASS_OK) {
        json_t *missing = hs_parse_missing(res->body);
        for (size_t i = 0; i < job->pb->n; i++) {
            size_t g = job->plan.rec_group[i];
            int gone = 0;
            size_t k;
            json_t *v;

            if (g == SIZE_MAX)
                continue;
            json_array_foreach(missing, k, v)
            {
                gone |= json_is_string(v) && strcmp(json_string_value(v), job->ids[g]) == 0;
            }
            if (gone && strstr(job->pb->records[i].value_json, "\"in\"") != NULL)
                crm_job_result(&job->base, i, PUSH_REJECT,
                               "HubSpot has no contact with the member's record id (merged or "
                               "deleted?)",
                               -1, 0, NULL);
            else
                crm_job_result(&job->base, i, PUSH_OK, NULL, -1, 0, job->ids[g]);
        }
        json_decref(missing);
    } else {
        hs_job_fail_from(job, res);
    }
    hs_job_done(job);
}

static void send_memberships(struct hs_job *job)
{
    size_t n = job->pb->n;
    const char **add = calloc(n ? n : 1, sizeof(*add));
    const char **rem = calloc(n ? n : 1, sizeof(*rem));
    size_t nadd = 0, nrem = 0;
    char tail[128], *body = NULL;

    for (size_t i = 0; add != NULL && rem != NULL && i < n; i++) {
        size_t g = job->plan.rec_group[i];
        char proj[16];

        if (g == SIZE_MAX || job->base.set[i])
            continue;
        if (job->ids[g][0] == '\0') {
            crm_job_result(&job->base, i, PUSH_RETRY, "HubSpot record id of the member not learnt",
                           -1, 0, NULL);
            continue;
        }
        if (hs_project(CHANGE_SEGMENT, job->pb->records[i].field, job->pb->records[i].value_json,
                       proj, sizeof(proj)) != 0) {
            crm_job_result(&job->base, i, PUSH_REJECT, "unreadable segment value", -1, 0, NULL);
            continue;
        }
        if (strcmp(proj, "in") == 0)
            add[nadd++] = job->ids[g];
        else
            rem[nrem++] = job->ids[g];
    }
    if (nadd + nrem > 0)
        body = hs_memberships_body(add, nadd, rem, nrem);
    free(add);
    free(rem);
    if (nadd + nrem == 0) {
        hs_job_done(job);
        return;
    }
    snprintf(tail, sizeof(tail), "/%s/memberships/add-and-remove", job->list_id);
    hs_job_send(job, HTTP_PUT, hs_path(job->hs, HS_V_LISTS, tail), body, members_answer);
    free(body);
}

/* The list create of job ended: take job off hs->creating and hand the
 * outcome to the jobs waiting on it. A failure is not their records' fault:
 * they retry, and then find the list in the identity map or create it. */
static void release_waiters(struct hs_job *job, int ok)
{
    struct hs_job **p = &job->hs->creating;
    struct hs_job *w = job->waiters;

    while (*p != NULL && *p != job)
        p = &(*p)->next_creating;
    if (*p == job)
        *p = job->next_creating;
    job->waiters = NULL;
    while (w != NULL) {
        struct hs_job *next = w->next_creating;
        w->next_creating = NULL;
        if (ok) {
            snprintf(w->list_id, sizeof(w->list_id), "%s", job->list_id);
            resolve_ids(w);
        } else {
            crm_job_fail_rest(&w->base, PUSH_RETRY,
                              "creating the segment's list failed; will retry", 1000, 1);
            hs_job_done(w);
        }
        w = next;
    }
}

/* job->list_id holds the segment's list: remember it, hand it to the jobs
 * waiting on it, and go on with the memberships. */
static void list_known(struct hs_job *job, const char *how)
{
    struct connector *conn = job->hs->conn;
    char key[96], kept[80];

    snprintf(key, sizeof(key), "segment:%s", job->segment);
    /* Stored as "list:<id>": the identity map holds contact record ids of
     * the same system, unique per system, and list 1 is not contact 1. */
    snprintf(kept, sizeof(kept), "list:%s", job->list_id);
    if (conn->host != NULL && conn->host->learn_identity != NULL)
        conn->host->learn_identity(conn->host->ctx, conn, key, kept);
    log_info("hubspot", conn->name, "%s list \"crmsyncd %s\" (id %s)", how, job->segment,
             job->list_id);
    release_waiters(job, 1);
    resolve_ids(job);
}

static void list_failed(struct hs_job *job, struct http_result *res, const char *unreadable)
{
    release_waiters(job, 0);
    if (res->cls == HTTP_CLASS_OK)
        crm_job_fail_rest(&job->base, PUSH_RETRY, unreadable, -1, 1); /* the destination's fault */
    else
        hs_job_fail_from(job, res);
    hs_job_done(job);
}

/* An answer that carries the list's id (a create's, a fetch by name's):
 * the list is known (how: "created", "found"), 1; else 0. */
static int list_answered(struct hs_job *job, const struct http_result *res, const char *how)
{
    if (res->cls != HTTP_CLASS_OK ||
        hs_parse_list_id(res->body, job->list_id, sizeof(job->list_id)) != 0)
        return 0;
    list_known(job, how);
    return 1;
}

static void list_found(struct http_result *res, void *arg)
{
    struct hs_job *job = arg;

    if (list_answered(job, res, "found"))
        return;
    if (res->status == 404) {
        /* Gone since (deleted in HubSpot): the retry creates it again. */
        release_waiters(job, 0);
        crm_job_fail_rest(&job->base, PUSH_RETRY,
                          "the segment's list was not found by name; will retry", 1000, 1);
        hs_job_done(job);
        return;
    }
    list_failed(job, res, "unreadable list answer");
}

/* Percent-encodes s for one path segment (RFC 3986 unreserved kept). */
static void path_segment(const char *s, char *out, size_t outsize)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (; *s != '\0' && o + 4 < outsize; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

/* The create was refused because the list exists: our earlier create went
 * through and its answer was lost (a timeout, a cut body), so the list is
 * there under our name. Fetch it by name (HubSpot: not case sensitive)
 * rather than fail the segment's memberships. */
static void find_list(struct hs_job *job)
{
    char name[300], seg[900], tail[1000];

    snprintf(name, sizeof(name), "crmsyncd %s", job->segment);
    path_segment(name, seg, sizeof(seg));
    snprintf(tail, sizeof(tail), "/object-type-id/0-1/name/%s", seg);
    if (hs_request(job->hs, HTTP_GET, hs_path(job->hs, HS_V_LISTS, tail), NULL, list_found, job) !=
        0) {
        release_waiters(job, 0);
        crm_job_fail_rest(&job->base, PUSH_RETRY, "cannot send the request", -1, 1);
        hs_job_done(job);
    }
}

static void list_created(struct http_result *res, void *arg)
{
    struct hs_job *job = arg;

    if (list_answered(job, res, "created"))
        return;
    if (res->status == 400 && res->body != NULL && strstr(res->body, "already exists") != NULL) {
        find_list(job);
        return;
    }
    list_failed(job, res, "unreadable list create answer");
}

void hs_start_list(struct hs_job *job)
{
    struct connector *conn = job->hs->conn;
    char key[96];
    int found = 0;

    snprintf(job->segment, sizeof(job->segment), "%s", job->pb->class_key + 5);
    if (hs_job_plan(job, 0) < 0) {
        crm_job_fail_rest(&job->base, PUSH_RETRY, "out of memory", -1, 1);
        hs_job_done(job);
        return;
    }
    snprintf(key, sizeof(key), "segment:%s", job->segment);
    if (conn->host != NULL && conn->host->remote_id != NULL)
        found = conn->host->remote_id(conn->host->ctx, conn, key, job->list_id,
                                      sizeof(job->list_id)) == 1 &&
                strncmp(job->list_id, "list:", 5) == 0;
    if (found)
        memmove(job->list_id, job->list_id + 5, strlen(job->list_id + 5) + 1);
    if (found) {
        resolve_ids(job);
        return;
    }
    for (struct hs_job *c = job->hs->creating; c != NULL; c = c->next_creating) {
        if (strcmp(c->segment, job->segment) == 0) {
            job->next_creating = c->waiters;
            c->waiters = job;
            return;
        }
    }
    {
        char *body = hs_list_create_body(job->segment);

        /* On hs->creating before the request goes, so its answer always
         * finds it there. */
        job->next_creating = job->hs->creating;
        job->hs->creating = job;
        if (body == NULL || hs_request(job->hs, HTTP_POST, hs_path(job->hs, HS_V_LISTS, ""), body,
                                       list_created, job) != 0) {
            release_waiters(job, 0);
            crm_job_fail_rest(&job->base, PUSH_RETRY, "cannot send the request", -1, 1);
            hs_job_done(job);
        }
        free(body);
    }
}

/* --- erasure: archive by record id --- */

static void archived(struct http_result *res, void *arg)
{
    struct hs_job *job = arg;

    if (res->cls == HTTP_CLASS_OK) {
        for (size_t i = 0; i < job->pb->n; i++)
            crm_job_result(&job->base, i, PUSH_OK, NULL, -1, 0, NULL);
    } else {
        hs_job_fail_from(job, res);
    }
    hs_job_done(job);
}

static void send_archive(struct hs_job *job)
{
    json_t *inputs = json_array();
    char *text;

    for (size_t g = 0; g < job->plan.ng; g++) {
        if (job->ids[g][0] != '\0')
            json_array_append_new(inputs, json_pack("{s:s}", "id", job->ids[g]));
    }
    if (json_array_size(inputs) == 0) {
        /* Nobody to delete: HubSpot never had these members. */
        json_decref(inputs);
        for (size_t i = 0; i < job->pb->n; i++)
            crm_job_result(&job->base, i, PUSH_OK, NULL, -1, 0, NULL);
        hs_job_done(job);
        return;
    }
    text = hs_inputs_body(inputs);
    hs_job_send(job, HTTP_POST, hs_path(job->hs, HS_V_OBJECTS, "/batch/archive"), text, archived);
    free(text);
}

static void after_ids(struct hs_job *job)
{
    if (job->cls == JOB_LIST)
        send_memberships(job);
    else
        send_archive(job);
}

void hs_start_erase(struct hs_job *job)
{
    job->reading = 1; /* never create a contact in order to delete it */
    if (hs_job_plan(job, 0) < 0) {
        crm_job_fail_rest(&job->base, PUSH_RETRY, "out of memory", -1, 1);
        hs_job_done(job);
        return;
    }
    resolve_ids(job);
}
