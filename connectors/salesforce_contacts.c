/* Salesforce Contacts by sObject Collections upsert on the external id
 * field (PATCH /composite/sobjects/Contact/<field>), at most 200 members a
 * request, allOrNone false, results by position; a new Contact refused
 * for its missing LastName is sent again once with the placeholder. The
 * Contact step of every job that needs one: Contact batches under the Bulk
 * threshold, a Bulk job's resends (salesforce_bulk.c), a segment's or a
 * consent's Contacts, after which job->after_contacts goes on. Moved out
 * of salesforce_push.c (issue 18). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "salesforce_int.h"

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
    rc = sf_job_patch(job, strbuf_str(&tail), body, contacts_answer);
    strbuf_free(&tail);
    free(body);
    if (rc != 0) {
        sf_job_fail_rest(job, PUSH_RETRY, "cannot send the upsert", -1, 1);
        sf_job_done(job);
    }
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
        if (job->after_contacts != NULL)
            job->after_contacts(job); /* segment, consent: the next step */
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
