/* Bulk API 2.0 upsert of one Contact job (docs/salesforce.md "Bulk"): a
 * batch of at least bulk_threshold Contact rows goes as ONE ingest job
 * instead of ceil(rows/200) collections requests:
 *
 *   POST  jobs/ingest {object Contact, operation upsert, externalIdFieldName}
 *   PUT   jobs/ingest/<id>/batches           the CSV (sf_bulk_csv)
 *   PATCH jobs/ingest/<id> {state UploadComplete}
 *         (a CSV under bulk_multipart_max bytes goes with the POST, one
 *         multipart/form-data request: the job is then UploadComplete at
 *         once, Salesforce's processing starts as the batch is sent, and
 *         two requests are saved)
 *   GET   jobs/ingest/<id>                   polled on one shared timer,
 *                                            250 ms doubling to 5 s, until
 *                                            JobComplete, Failed or Aborted
 *   GET   successfulResults/, failedResults/, unprocessedrecords/: only
 *         the lists the job info says hold rows (bulk_lists)
 *
 * Result rows carry the original columns, so each is mapped back to its
 * group (member) by the external id column: successful -> OK with sf__Id,
 * failed -> REJECT with sf__Error (RETRY for the retryable codes),
 * unprocessed -> RETRY not the record's fault. A row Salesforce refused for
 * a missing LastName (a new Contact) is resent by collections with the
 * placeholder, as on the collections path. A 401 inside the flow is the
 * token manager's: it mints a new session and resends that request; the
 * job id is kept, so a created job goes on.
 *
 * A job that ends Failed (Salesforce could not run it: a CSV it cannot
 * parse, a header field it does not know, an internal error) keeps the
 * rows it processed (their results are read as above); every other row is
 * resent by collections, whose per-record answers say which record is at
 * fault (REJECT with its own errorCode) and write the others. A job that
 * ends Aborted was stopped by someone in the org: its unprocessed rows are
 * RETRY with "Bulk job <id> Aborted", counted as an attempt, so a job
 * aborted again and again ends in the dead letters with that reason
 * rather than looping. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "strbuf.h"
#include "salesforce_int.h"

#define POLL_FIRST_MS 250
#define POLL_MAX_MS 5000
#define POLL_MAX_FAILURES 10

static const char *const result_tails[3] = {"/successfulResults/", "/failedResults/",
                                            "/unprocessedrecords/"};

static const char *job_path(struct salesforce *sf, const char *id, const char *tail)
{
    char t[200];

    snprintf(t, sizeof(t), "/jobs/ingest/%s%s", id, tail);
    return sf_data_path(sf, t);
}

static void fail(struct sf_job *job, const struct http_result *res)
{
    sf_job_fail_from(job, res);
    sf_job_done(job);
}

static void fail_text(struct sf_job *job, const char *why)
{
    log_warn("salesforce", job->sf->conn->name, "push: Bulk job %s: %s",
             job->bulk_id[0] ? job->bulk_id : "(none)", why);
    sf_job_fail_rest(job, PUSH_RETRY, why, -1, 1);
    sf_job_done(job);
}

static void retry_unknown(struct sf_job *job, const struct http_result *res)
{
    char why[200], st[32];

    snprintf(why, sizeof(why), "Bulk job %s: outcome unknown (%s %s)", job->bulk_id,
             http_result_label(res, st, sizeof(st)),
             res->status != 0 ? http_class_name(res->cls) : res->error);
    fail_text(job, why);
}

static int cmp_gkey(const void *a, const void *b)
{
    return strcmp(((const struct sf_gkey *)a)->member, ((const struct sf_gkey *)b)->member);
}

/* --- results --- */

/* Group g goes by collections after the job (once). */
static void add_fix(struct sf_job *job, size_t g)
{
    if (job->in_fix[g])
        return;
    job->in_fix[g] = 1;
    job->fix[job->nfix++] = g;
}

static void on_row(void *arg, const char *key, const struct sf_outcome *o)
{
    struct sf_job *job = arg;
    struct sf_gkey want = {key, 0}, *hit;
    struct crm_group *g;
    int nrf = 0;

    hit = bsearch(&want, job->order, job->plan.ng, sizeof(*job->order), cmp_gkey);
    if (hit == NULL) {
        log_debug("salesforce", job->sf->conn->name, "Bulk result row for no member of job %s",
                  job->bulk_id);
        return;
    }
    g = &job->plan.g[hit->g];
    if (o->state == SF_REJECT && strcmp(o->code, "REQUIRED_FIELD_MISSING") == 0 &&
        strstr(o->reason, "LastName") != NULL && !g->placeholder) {
        g->placeholder = 1;
        add_fix(job, hit->g);
        return;
    }
    if (o->state == SF_RETRY && o->code[0] == '\0') {
        /* Unprocessed: a Failed job's rows go by collections; an Aborted
         * job's are retried as an attempt; otherwise (a JobComplete job
         * listing one) not the records' fault. */
        if (job->bulk_end == SF_BULK_FAILED) {
            add_fix(job, hit->g);
            return;
        }
        if (job->bulk_end == SF_BULK_ABORTED) {
            for (size_t k = job->grp_off[hit->g]; k < job->grp_off[hit->g + 1]; k++)
                sf_job_set(job, job->grp_recs[k], PUSH_RETRY, job->bulk_why, -1, 0, NULL);
            return;
        }
        nrf = 1;
    }
    for (size_t k = job->grp_off[hit->g]; k < job->grp_off[hit->g + 1]; k++) {
        size_t i = job->grp_recs[k];
        if (o->state == SF_OK)
            snprintf(job->ids[i], sizeof(job->ids[i]), "%s", o->id);
        else if (!job->set[i] && o->state == SF_REJECT)
            log_info("salesforce", job->sf->conn->name, "seq %lld %s: %s",
                     (long long)job->pb->records[i].seq, job->pb->records[i].field, o->reason);
        sf_job_set(job, i, sf_outcome_push(o->state), o->reason, -1, nrf, o->id);
    }
}

static void fetch_results(struct sf_job *job);

/* The next result list to read (from job->bulk_stage), or 3 when none is
 * left. */
static int next_list(const struct sf_job *job)
{
    int st = job->bulk_stage;

    while (st < 3 && !(job->bulk_lists & (1u << st)))
        st++;
    return st;
}

/* Which result lists can hold rows, from the job info's counts (Get Job
 * Info: numberRecordsProcessed includes the failed ones): no successful
 * list when every processed row failed, no failed list when none failed,
 * no unprocessed list for a JobComplete job that processed every row
 * uploaded (Salesforce documents that list for Failed and Aborted jobs).
 * A count missing from the answer reads the list. Two requests a job
 * saved in the common case (issue 17); a row no list named is still
 * retried by sf_job_done, as before. */
static unsigned lists_to_read(const struct sf_job *job, json_t *info)
{
    json_t *p = json_object_get(info, "numberRecordsProcessed");
    json_t *f = json_object_get(info, "numberRecordsFailed");
    unsigned lists = 7;

    if (json_is_integer(p) && json_is_integer(f)) {
        if (json_integer_value(p) <= json_integer_value(f))
            lists &= ~1u;
        if (json_integer_value(f) == 0)
            lists &= ~2u;
    }
    if (job->bulk_end == SF_BULK_COMPLETE && json_is_integer(p) &&
        json_integer_value(p) >= (json_int_t)job->plan.ng)
        lists &= ~4u;
    return lists;
}

/* A Failed or Aborted job's rows that no result list named: a Failed
 * job's go by collections, an Aborted job's are retried as an attempt. */
static void after_failed_job(struct sf_job *job)
{
    for (size_t g = 0; g < job->plan.ng; g++) {
        int open = 0;
        for (size_t k = job->grp_off[g]; k < job->grp_off[g + 1]; k++)
            open |= !job->set[job->grp_recs[k]];
        if (!open || job->in_fix[g])
            continue;
        if (job->bulk_end == SF_BULK_FAILED) {
            add_fix(job, g);
            continue;
        }
        for (size_t k = job->grp_off[g]; k < job->grp_off[g + 1]; k++)
            sf_job_set(job, job->grp_recs[k], PUSH_RETRY, job->bulk_why, -1, 0, NULL);
    }
    if (job->bulk_end == SF_BULK_FAILED)
        log_warn("salesforce", job->sf->conn->name,
                 "push: %s; %zu Contact(s) resent by collections", job->bulk_why, job->nfix);
    else
        log_warn("salesforce", job->sf->conn->name, "push: %s; its rows will be retried",
                 job->bulk_why);
}

static void results_read(struct http_result *res, void *arg)
{
    struct sf_job *job = arg;
    int rows;

    if (res->cls != HTTP_CLASS_OK) {
        retry_unknown(job, res);
        return;
    }
    rows = sf_parse_bulk_results(res->body, job->bulk_stage, job->sf->map.ext_id, on_row, job);
    if (rows < 0) {
        fail_text(job, "unreadable Bulk results CSV");
        return;
    }
    job->bulk_stage++;
    if (next_list(job) < 3) {
        fetch_results(job);
        return;
    }
    if (job->bulk_end != SF_BULK_COMPLETE)
        after_failed_job(job);
    if (job->nfix > 0 && job->bulk_end == SF_BULK_COMPLETE)
        log_info("salesforce", job->sf->conn->name,
                 "Bulk job %s: %zu new Contact(s) without LastName resent with the placeholder",
                 job->bulk_id, job->nfix);
    if (job->nfix > 0) {
        sf_contacts_next(job); /* collections, job->fix */
        return;
    }
    sf_job_done(job);
}

static void fetch_results(struct sf_job *job)
{
    struct salesforce *sf = job->sf;

    job->bulk_stage = next_list(job);
    if (sf_request(sf, HTTP_GET, job_path(sf, job->bulk_id, result_tails[job->bulk_stage]), NULL,
                   NULL, results_read, job) != 0)
        fail_text(job, "cannot ask for the Bulk job results");
}

/* --- polling, on one timer for every job --- */

static void arm(struct salesforce *sf);
static void poll_answer(struct http_result *res, void *arg);

static void poll_cb(uv_timer_t *t)
{
    struct salesforce *sf = t->data;
    uint64_t now = uv_now(sf->conn->loop);
    struct sf_job **pp = &sf->polling;

    while (*pp != NULL) {
        struct sf_job *job = *pp;
        if (job->poll_at > now) {
            pp = &job->poll_next;
            continue;
        }
        *pp = job->poll_next;
        job->poll_next = NULL;
        if (sf_request(sf, HTTP_GET, job_path(sf, job->bulk_id, ""), NULL, NULL, poll_answer,
                       job) != 0)
            fail_text(job, "cannot poll the Bulk job");
    }
    arm(sf);
}

static void arm(struct salesforce *sf)
{
    uint64_t now = uv_now(sf->conn->loop), first = UINT64_MAX;

    for (struct sf_job *j = sf->polling; j != NULL; j = j->poll_next) {
        if (j->poll_at < first)
            first = j->poll_at;
    }
    if (first == UINT64_MAX)
        uv_timer_stop(&sf->bulk_timer);
    else
        uv_timer_start(&sf->bulk_timer, poll_cb, first > now ? first - now : 0, 0);
}

static void schedule_poll(struct sf_job *job)
{
    struct salesforce *sf = job->sf;

    job->poll_at = uv_now(sf->conn->loop) + (uint64_t)job->poll_ms;
    job->poll_next = sf->polling;
    sf->polling = job;
    arm(sf);
}

static void poll_answer(struct http_result *res, void *arg)
{
    struct sf_job *job = arg;
    json_t *root;
    const char *state;

    if (res->cls != HTTP_CLASS_OK) {
        /* The job runs on whatever happens to one poll: ask again, a few
         * times, before giving the records back to the engine. */
        if (res->cls != HTTP_CLASS_PERMANENT && res->cls != HTTP_CLASS_CANCELLED &&
            ++job->poll_failures < POLL_MAX_FAILURES && !sf_closing(job->sf)) {
            job->poll_ms = job->poll_ms * 2 > POLL_MAX_MS ? POLL_MAX_MS : job->poll_ms * 2;
            schedule_poll(job);
            return;
        }
        /* The job's fate is unknown (gone, or the way to it): the records
         * go back to the engine, not to the dead letters; an upsert sent
         * again is harmless. */
        retry_unknown(job, res);
        return;
    }
    job->poll_failures = 0;
    root = json_loads(res->body ? res->body : "", 0, NULL);
    state = json_string_value(json_object_get(root, "state"));
    if (state == NULL) {
        json_decref(root);
        fail_text(job, "no state in the Bulk job info");
        return;
    }
    if (strcmp(state, "JobComplete") == 0 || strcmp(state, "Failed") == 0 ||
        strcmp(state, "Aborted") == 0) {
        if (strcmp(state, "JobComplete") != 0) {
            const char *why = json_string_value(json_object_get(root, "errorMessage"));
            job->bulk_end = strcmp(state, "Failed") == 0 ? SF_BULK_FAILED : SF_BULK_ABORTED;
            snprintf(job->bulk_why, sizeof(job->bulk_why), "Bulk job %s %s%s%s", job->bulk_id,
                     state, why ? ": " : "", why ? why : "");
        }
        job->bulk_lists = lists_to_read(job, root);
        json_decref(root);
        job->bulk_stage = 0;
        if (next_list(job) == 3) {
            /* Nothing was processed and nothing is unprocessed: only an
             * empty job (not sent) or counts that do not add up; every
             * row is then left to sf_job_done (RETRY). */
            job->bulk_lists = 7;
        }
        fetch_results(job);
        return;
    }
    json_decref(root);
    job->poll_ms = job->poll_ms * 2 > POLL_MAX_MS ? POLL_MAX_MS : job->poll_ms * 2;
    schedule_poll(job);
}

/* --- create, upload, close --- */

static void closed(struct http_result *res, void *arg)
{
    struct sf_job *job = arg;

    if (res->cls != HTTP_CLASS_OK) {
        fail(job, res);
        return;
    }
    job->poll_ms = POLL_FIRST_MS;
    schedule_poll(job);
}

static void uploaded(struct http_result *res, void *arg)
{
    struct sf_job *job = arg;
    struct salesforce *sf = job->sf;

    if (res->cls != HTTP_CLASS_OK) {
        /* The job stays Open without data: Salesforce removes it after 7
         * days; the records are retried in a new one. */
        fail(job, res);
        return;
    }
    if (sf_request(sf, HTTP_PATCH, job_path(sf, job->bulk_id, ""), NULL,
                   "{\"state\":\"UploadComplete\"}", closed, job) != 0)
        fail_text(job, "cannot close the Bulk job");
}

static void created(struct http_result *res, void *arg)
{
    struct sf_job *job = arg;
    struct salesforce *sf = job->sf;
    json_t *root;
    const char *id, *state;
    int rc;

    if (res->cls != HTTP_CLASS_OK) {
        fail(job, res);
        return;
    }
    root = json_loads(res->body ? res->body : "", 0, NULL);
    id = json_string_value(json_object_get(root, "id"));
    if (id == NULL || strlen(id) >= sizeof(job->bulk_id) || strpbrk(id, "/?#%") != NULL) {
        json_decref(root);
        fail_text(job, "no usable id in the Bulk job answer");
        return;
    }
    snprintf(job->bulk_id, sizeof(job->bulk_id), "%s", id);
    state = json_string_value(json_object_get(root, "state"));
    if (job->bulk_multipart && state != NULL && strcmp(state, "Open") != 0) {
        /* Closed automatically with its data: wait for it. */
        json_decref(root);
        free(job->csv);
        job->csv = NULL;
        job->poll_ms = POLL_FIRST_MS;
        schedule_poll(job);
        return;
    }
    json_decref(root);
    rc = sf_request(sf, HTTP_PUT, job_path(sf, job->bulk_id, "/batches"), "text/csv", job->csv,
                    uploaded, job);
    free(job->csv); /* sf_request keeps its own copy */
    job->csv = NULL;
    if (rc != 0)
        fail_text(job, "cannot upload the Bulk job data");
}

/* The job's creation with its CSV, when the CSV is shorter than
 * bulk_multipart_max bytes (Salesforce takes data under 100,000
 * characters this way; a byte count is never below the character count):
 * *body (the job's JSON) is replaced by the multipart/form-data body and
 * ctype set, job->bulk_multipart = 1. Otherwise nothing changes. 0, or -1
 * out of memory. */
static int multipart_body(struct sf_job *job, char **body, char *ctype, size_t ctsize)
{
    struct strbuf b;
    char boundary[64];
    size_t len = strlen(job->csv);

    job->bulk_multipart = 0;
    if ((long)len >= job->sf->cfg->bulk_multipart_max)
        return 0;
    snprintf(boundary, sizeof(boundary), "crmsync-%llx-%llx", (unsigned long long)uv_hrtime(),
             (unsigned long long)(uintptr_t)job);
    if (strstr(job->csv, boundary) != NULL)
        return 0; /* the 3-step upload, then */
    strbuf_init(&b, len + strlen(*body) + 1024);
    strbuf_addf(&b,
                "--%s\r\nContent-Type: application/json\r\nContent-Disposition: form-data; "
                "name=\"job\"\r\n\r\n%s\r\n--%s\r\nContent-Type: text/csv\r\nContent-Disposition: "
                "form-data; name=\"content\"; filename=\"content\"\r\n\r\n",
                boundary, *body, boundary);
    strbuf_addn(&b, job->csv, len);
    strbuf_addf(&b, "\r\n--%s--\r\n", boundary);
    if (strbuf_str(&b) == NULL) {
        strbuf_free(&b);
        return -1;
    }
    free(*body);
    *body = strbuf_take(&b);
    snprintf(ctype, ctsize, "multipart/form-data; boundary=%s", boundary);
    job->bulk_multipart = 1;
    return 0;
}

void sf_bulk_start(struct sf_job *job)
{
    struct salesforce *sf = job->sf;
    size_t ng = job->plan.ng, n = job->pb->n, *sel = NULL, *cnt = NULL;
    json_t *spec = NULL;
    char *body = NULL, ctype[80];

    job->grp_off = calloc(ng + 1, sizeof(*job->grp_off));
    job->grp_recs = calloc(n + 1, sizeof(*job->grp_recs));
    job->order = calloc(ng + 1, sizeof(*job->order));
    job->fix = calloc(ng + 1, sizeof(*job->fix));
    job->in_fix = calloc(ng + 1, 1);
    sel = calloc(ng + 1, sizeof(*sel));
    cnt = calloc(ng + 1, sizeof(*cnt));
    if (job->grp_off == NULL || job->grp_recs == NULL || job->order == NULL || job->fix == NULL ||
        job->in_fix == NULL || sel == NULL || cnt == NULL)
        goto oom;
    /* Per group, its records (CSR), for the result rows. */
    for (size_t i = 0; i < n; i++) {
        if (job->plan.rec_group[i] != SIZE_MAX)
            job->grp_off[job->plan.rec_group[i] + 1]++;
    }
    for (size_t g = 0; g < ng; g++)
        job->grp_off[g + 1] += job->grp_off[g];
    for (size_t i = 0; i < n; i++) {
        size_t g = job->plan.rec_group[i];
        if (g != SIZE_MAX)
            job->grp_recs[job->grp_off[g] + cnt[g]++] = i;
    }
    for (size_t g = 0; g < ng; g++) {
        sf_fill_last_name(job, g);
        sel[g] = g;
        job->order[g].member = job->plan.g[g].member;
        job->order[g].g = g;
    }
    qsort(job->order, ng, sizeof(*job->order), cmp_gkey);
    job->csv = sf_bulk_csv(&sf->map, &job->plan, sel, ng);
    spec = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "object", "Contact", "externalIdFieldName",
                     sf->map.ext_id, "contentType", "CSV", "operation", "upsert", "lineEnding",
                     "LF", "columnDelimiter", "COMMA");
    body = spec ? json_dumps(spec, JSON_COMPACT) : NULL;
    json_decref(spec);
    if (job->csv == NULL || body == NULL)
        goto oom;
    log_info("salesforce", sf->conn->name, "Bulk upsert of %zu Contact(s) (%zu records)", ng, n);
    if (multipart_body(job, &body, ctype, sizeof(ctype)) != 0)
        goto oom;
    if (sf_request(sf, HTTP_POST, sf_data_path(sf, "/jobs/ingest"),
                   job->bulk_multipart ? ctype : NULL, body, created, job) != 0) {
        free(body);
        free(sel);
        free(cnt);
        fail_text(job, "cannot create the Bulk job");
        return;
    }
    free(body);
    free(sel);
    free(cnt);
    return;
oom:
    free(body);
    free(sel);
    free(cnt);
    sf_job_fail_rest(job, PUSH_RETRY, "out of memory", -1, 1);
    sf_job_done(job);
}

void sf_bulk_cancel(struct salesforce *sf)
{
    while (sf->polling != NULL) {
        struct sf_job *job = sf->polling;
        sf->polling = job->poll_next;
        job->poll_next = NULL;
        sf_job_fail_rest(job, PUSH_RETRY, "connector closing", -1, 1);
        sf_job_done(job);
    }
    uv_timer_stop(&sf->bulk_timer);
}
