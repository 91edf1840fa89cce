/* Destination reachability for operators (issue 19): /healthz stayed 200
 * and `crmsyncctl status` said "running" for as long as a CRM was
 * unreachable. The engine tells here when a batch failed through the
 * destination's fault (an outage, a transport error, a 5xx) and when one
 * went through; once no request has succeeded for unreachable_after, the
 * health registry says destination_unreachable with "retrying since T,
 * last error: ...", which /healthz, crmsyncd_healthy and crmsyncctl status
 * show. */
#include <stdio.h>
#include <string.h>

#include "engine_internal.h"
#include "health.h"
#include "log.h"
#include "metrics.h"
#include "timefmt.h"

void engine_note_outage(struct dest *d, const char *why)
{
    int64_t now = timefmt_now_ms();
    char since[40], masked[200];

    if (d->outage_since_ms == 0)
        d->outage_since_ms = now;
    log_mask_emails(why != NULL && why[0] != '\0' ? why : "destination unavailable", masked,
                    sizeof(masked));
    snprintf(d->outage_error, sizeof(d->outage_error), "%s", masked);
    if (now - d->outage_since_ms < d->eng->opt.unreachable_after_ms)
        return;
    timefmt_format_rfc3339(d->outage_since_ms, since, sizeof(since));
    health_raise(HEALTH_DESTINATION_UNREACHABLE, d->conn->name, "retrying since %s, last error: %s",
                 since, d->outage_error);
    metrics_gauge_set(METRIC_CONNECTOR_UP, (const char *[]){d->conn->name}, 0);
    if (!d->unreachable_raised)
        log_warn("engine", d->conn->name, "destination unreachable since %s: %s", since,
                 d->outage_error);
    d->unreachable_raised = 1;
}

/* The pulls' side clears when anything goes through again. */
static void pull_side_clear(struct dest *d, const char *why)
{
    d->pull_fail_since_ms = 0;
    if (!d->pull_unreachable_raised)
        return;
    d->pull_unreachable_raised = 0;
    if (d->unreachable_raised)
        return; /* the pushes' outage holds the reason now */
    metrics_gauge_set(METRIC_CONNECTOR_UP, (const char *[]){d->conn->name}, 1);
    health_clear(HEALTH_DESTINATION_UNREACHABLE, d->conn->name);
    log_notice("engine", d->conn->name, "destination reachable again (%s)", why);
}

/* Issue 19: a destination was reported unreachable only by failed push
 * batches; a CRM with nothing to push (quiet hours, a pull-mostly
 * connector) stayed "healthy" while every pull failed. Failed pulls with no
 * request going through for unreachable_after raise the same reason. A
 * push that goes through meanwhile means the CRM answers: the pulls'
 * failures are then their own (the log says why), not reachability. */
void engine_note_pull(struct dest *d, int ok)
{
    int64_t now = timefmt_now_ms();
    char since[40];

    if (d->conn->ops->push == NULL)
        return; /* a local input (spool), not a CRM */
    if (ok) {
        pull_side_clear(d, "a pull went through");
        return;
    }
    if (d->pull_fail_since_ms == 0)
        d->pull_fail_since_ms = now;
    if (d->unreachable_raised || d->push_ok_ms >= d->pull_fail_since_ms ||
        now - d->pull_fail_since_ms < d->eng->opt.unreachable_after_ms)
        return;
    timefmt_format_rfc3339(d->pull_fail_since_ms, since, sizeof(since));
    health_raise(HEALTH_DESTINATION_UNREACHABLE, d->conn->name,
                 "pulls failing since %s (the log says why)", since);
    metrics_gauge_set(METRIC_CONNECTOR_UP, (const char *[]){d->conn->name}, 0);
    if (!d->pull_unreachable_raised)
        log_warn("engine", d->conn->name, "destination unreachable: pulls failing since %s", since);
    d->pull_unreachable_raised = 1;
}

void engine_note_reachable(struct dest *d)
{
    metrics_gauge_set(METRIC_LAST_SUCCESS, (const char *[]){d->conn->name, "push"},
                      (double)timefmt_now_ms() / 1000.0);
    d->push_ok_ms = timefmt_now_ms();
    pull_side_clear(d, "a push went through");
    if (d->outage_since_ms == 0)
        return;
    if (d->unreachable_raised) {
        metrics_gauge_set(METRIC_CONNECTOR_UP, (const char *[]){d->conn->name}, 1);
        health_clear(HEALTH_DESTINATION_UNREACHABLE, d->conn->name);
        log_notice("engine", d->conn->name, "destination reachable again");
    }
    d->outage_since_ms = 0;
    d->outage_error[0] = '\0';
    d->unreachable_raised = 0;
}
