/* Push jobs of a CRM connector (crm_job.h). */
#include "crm_job.h"

#include <stdio.h>
#include <stdlib.h>

#include "log.h"

static void defer_cb(uv_timer_t *t)
{
    struct crm_jobs *q = (struct crm_jobs *)(void *)((char *)t - offsetof(struct crm_jobs, defer));
    crm_jobs_flush(q);
}

void crm_jobs_init(struct crm_jobs *q, uv_loop_t *loop, void *handle_data, const char *subsystem,
                   const char *conn_name)
{
    uv_timer_init(loop, &q->defer);
    q->defer.data = handle_data;
    q->done_q = NULL;
    q->norphans = 0;
    q->closing = 0;
    q->subsystem = subsystem;
    q->conn_name = conn_name;
}

void crm_jobs_flush(struct crm_jobs *q)
{
    while (q->norphans > 0) {
        struct push_batch *pb = q->orphans[--q->norphans];
        pb->done(pb);
    }
    while (q->done_q != NULL) {
        struct crm_job *job = q->done_q;
        struct push_batch *pb = job->pb;
        q->done_q = job->next;
        free(job->set);
        job->set = NULL;
        if (job->release != NULL)
            job->release(job);
        pb->done(pb);
    }
}

void crm_jobs_orphan(struct crm_jobs *q, struct push_batch *pb)
{
    for (size_t i = 0; i < pb->n; i++) {
        pb->results[i].outcome = PUSH_RETRY;
        pb->results[i].not_record_fault = 1;
        pb->results[i].retry_after_ms = -1;
        push_result_set_reason(&pb->results[i], "out of memory");
    }
    if (q->norphans < sizeof(q->orphans) / sizeof(q->orphans[0])) {
        q->orphans[q->norphans++] = pb;
        if (q->closing)
            crm_jobs_flush(q);
        else
            uv_timer_start(&q->defer, defer_cb, 0, 0);
        return;
    }
    /* Broken invariant: the engine never has more than max_inflight (<= 64)
     * batches out. */
    log_error(q->subsystem, q->conn_name, "more push batches out than max_inflight allows");
    abort();
}

void crm_jobs_close(struct crm_jobs *q, uv_close_cb cb)
{
    q->closing = 1;
    crm_jobs_flush(q);
    uv_close((uv_handle_t *)&q->defer, cb);
}

int crm_job_init(struct crm_job *job, struct crm_jobs *q, struct push_batch *pb,
                 void (*release)(struct crm_job *job))
{
    job->jobs = q;
    job->pb = pb;
    job->release = release;
    job->next = NULL;
    job->set = calloc(pb->n ? pb->n : 1, 1);
    return job->set != NULL ? 0 : -1;
}

struct crm_job *crm_job_new(struct crm_jobs *q, struct push_batch *pb, size_t size,
                            void (*release)(struct crm_job *job))
{
    struct crm_job *job = calloc(1, size);

    if (job == NULL || crm_job_init(job, q, pb, release) != 0) {
        free(job);
        log_error(q->subsystem, q->conn_name, "out of memory; batch of %zu retried", pb->n);
        crm_jobs_orphan(q, pb);
        return NULL;
    }
    return job;
}

void crm_job_result(struct crm_job *job, size_t i, enum push_outcome o, const char *reason,
                    long retry_after_ms, int not_record_fault, const char *remote_id)
{
    struct push_result *r = &job->pb->results[i];

    if (job->set[i])
        return;
    job->set[i] = 1;
    r->outcome = o;
    r->retry_after_ms = retry_after_ms;
    r->not_record_fault = not_record_fault;
    push_result_set_reason(r, "%s", reason ? reason : "");
    if (remote_id != NULL && remote_id[0] != '\0')
        snprintf(r->remote_id, sizeof(r->remote_id), "%s", remote_id);
}

int crm_job_has_result(const struct crm_job *job, size_t i)
{
    return job->set[i] != 0;
}

void crm_job_fail_rest(struct crm_job *job, enum push_outcome o, const char *reason,
                       long retry_after_ms, int not_record_fault)
{
    for (size_t i = 0; i < job->pb->n; i++)
        crm_job_result(job, i, o, reason, retry_after_ms, not_record_fault, NULL);
}

void crm_job_fail_from(struct crm_job *job, const struct http_result *res, crm_error_parser parse)
{
    char code[64] = "", msg[200] = "", reason[256];
    const char *sub = job->jobs->subsystem;
    const char *name = job->jobs->conn_name;

    if (parse != NULL)
        parse(res->body, code, sizeof(code), msg, sizeof(msg));
    if (res->status != 0)
        snprintf(reason, sizeof(reason), "HTTP %ld%s%s: %s", res->status, code[0] ? " " : "", code,
                 msg[0] ? msg : res->error);
    else
        snprintf(reason, sizeof(reason), "%s", res->error);
    /* A 403 answers the whole request: the credentials lack a permission
     * or a scope (HubSpot's MISSING_SCOPES), never the records' fault
     * (issue 19): the destination backs off and /healthz says
     * destination_rejecting, where every record became a dead letter. */
    if (res->cls == HTTP_CLASS_PERMANENT && res->status != 403) {
        log_warn(sub, name, "%s rejected: %s", job->pb->class_key, reason);
        crm_job_fail_rest(job, PUSH_REJECT, reason, -1, 0);
    } else {
        log_info(sub, name, "%s: %s (%s); will retry", job->pb->class_key,
                 http_class_name(res->cls), reason);
        crm_job_fail_rest(job, PUSH_RETRY, reason, res->retry_after_ms, 1);
    }
}

void crm_job_done(struct crm_job *job, const char *no_result)
{
    struct crm_jobs *q = job->jobs;
    struct crm_job **tail = &q->done_q;

    crm_job_fail_rest(job, PUSH_RETRY, no_result, -1, 0);
    while (*tail != NULL)
        tail = &(*tail)->next;
    *tail = job;
    if (q->closing)
        crm_jobs_flush(q);
    else
        uv_timer_start(&q->defer, defer_cb, 0, 0);
}
