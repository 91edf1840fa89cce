/* The calls of an Adobe Campaign push job (adobe_job.h): sent on the
 * engine's token or the request budget, in the batch's lane; a failure
 * that is not the records' fault keeps them all. Moved out of
 * adobe_push.c so that the write and the consent jobs (adobe_consent.c)
 * share them without calling each other. */
#include "adobe_job.h"
#include "log.h"
#include "ratelimit.h"

void acc_job_finish(struct acc_job *job)
{
    crm_job_done(&job->base, "no result from Campaign for this record");
}

int acc_job_call_arg(struct acc_job *job, const char *action, const char *body, http_done_fn done,
                     void *arg)
{
    int lane = job->base.pb->lane == 0 ? RATELIMIT_PRIORITY : RATELIMIT_BULK;

    if (job->calls++ == 0)
        return acc_call(job->acc, lane, action, body, done, arg);
    return acc_call_budget(job->acc, lane, action, body, done, arg);
}

int acc_job_call(struct acc_job *job, const char *action, const char *body, http_done_fn done)
{
    return acc_job_call_arg(job, action, body, done, job);
}

void acc_job_fail_rest(struct acc_job *job, enum acc_result r, const struct http_result *res,
                       const struct acc_fault *f)
{
    long after = r == ACC_STOP ? STOPPED_RETRY_MS : res ? res->retry_after_ms : -1;

    log_info("adobe_campaign", job->acc->conn->name, "%s: %s; will retry", job->base.pb->class_key,
             f->text[0] ? f->text : "call failed");
    crm_job_fail_rest(&job->base, PUSH_RETRY, f->text[0] ? f->text : "call failed", after, 1);
    acc_job_finish(job);
}
