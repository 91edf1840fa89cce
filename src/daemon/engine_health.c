/* Destination reachability for operators (issue 19): /healthz stayed 200
 * and `crmsyncctl status` said "running" for as long as a CRM was
 * unreachable. The engine tells here when a batch failed through the
 * destination's fault (an outage, a transport error, a 5xx) and when one
 * went through; once no request has succeeded for unreachable_after, the
 * health registry says destination_unreachable with "retrying since T,
 * last error: ...", which /healthz, crmsyncd_healthy and crmsyncctl status
 * show. When the connector's latest failed request was refused (401 after
 * a new token, 403, 404, another 4xx but 408 and 429) the CRM answers but
 * will not take the request as configured: the reason is then
 * destination_rejecting, naming the status and the options to check
 * (src/obs/http_verdict.h), since waiting does not cure it. */
#include <stdio.h>
#include <string.h>

#include "engine_internal.h"
#include "health.h"
#include "http_verdict.h"
#include "log.h"
#include "metrics.h"
#include "timefmt.h"

/* Which of the two reasons a destination failing since since_ms is down
 * for; for a rejection, what it was and what to check into why. */
static enum health_reason down_reason(const struct dest *d, int64_t since_ms, char *why,
                                      size_t whysize)
{
    char endpoint[HTTP_VERDICT_ENDPOINT_MAX];
    long status = 0;

    why[0] = '\0';
    if (!http_verdict_rejecting(d->conn->name, since_ms, &status, endpoint, sizeof(endpoint)))
        return HEALTH_DESTINATION_UNREACHABLE;
    snprintf(why, whysize, "HTTP %ld%s%s; check %s", status, endpoint[0] != '\0' ? " on " : "",
             endpoint, http_verdict_config_hint(d->conn->ops->type, status));
    return HEALTH_DESTINATION_REJECTING;
}

/* Raises r for the destination, the other of the two cleared (a CRM may go
 * from refusing to not answering and back). */
static void raise_down(const struct dest *d, enum health_reason r, const char *detail)
{
    health_clear(r == HEALTH_DESTINATION_REJECTING ? HEALTH_DESTINATION_UNREACHABLE
                                                   : HEALTH_DESTINATION_REJECTING,
                 d->conn->name);
    health_raise(r, d->conn->name, "%s", detail);
    metrics_gauge_set(METRIC_CONNECTOR_UP, (const char *[]){d->conn->name}, 0);
}

static void clear_down(const struct dest *d)
{
    metrics_gauge_set(METRIC_CONNECTOR_UP, (const char *[]){d->conn->name}, 1);
    health_clear(HEALTH_DESTINATION_UNREACHABLE, d->conn->name);
    health_clear(HEALTH_DESTINATION_REJECTING, d->conn->name);
}

void engine_note_outage(struct dest *d, const char *why)
{
    int64_t now = timefmt_now_ms();
    char since[40], masked[200], hint[200], detail[512];
    enum health_reason r;

    if (d->outage_since_ms == 0)
        d->outage_since_ms = now;
    log_mask_emails(why != NULL && why[0] != '\0' ? why : "destination unavailable", masked,
                    sizeof(masked));
    snprintf(d->outage_error, sizeof(d->outage_error), "%s", masked);
    if (now - d->outage_since_ms < d->eng->opt.unreachable_after_ms)
        return;
    timefmt_format_rfc3339(d->outage_since_ms, since, sizeof(since));
    r = down_reason(d, d->outage_since_ms, hint, sizeof(hint));
    if (r == HEALTH_DESTINATION_REJECTING)
        snprintf(detail, sizeof(detail), "refusing our requests since %s: %s; last error: %s",
                 since, hint, d->outage_error);
    else
        snprintf(detail, sizeof(detail), "retrying since %s, last error: %s", since,
                 d->outage_error);
    raise_down(d, r, detail);
    if (!d->unreachable_raised)
        log_warn("engine", d->conn->name, "destination %s since %s: %s",
                 r == HEALTH_DESTINATION_REJECTING ? "rejecting" : "unreachable", since,
                 r == HEALTH_DESTINATION_REJECTING ? hint : d->outage_error);
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
    clear_down(d);
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
    char since[40], why[200], detail[512];
    enum health_reason r;

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
    r = down_reason(d, d->pull_fail_since_ms, why, sizeof(why));
    if (r == HEALTH_DESTINATION_REJECTING)
        snprintf(detail, sizeof(detail), "pulls refused since %s: %s", since, why);
    else
        snprintf(detail, sizeof(detail), "pulls failing since %s (the log says why)", since);
    raise_down(d, r, detail);
    if (!d->pull_unreachable_raised) {
        if (r == HEALTH_DESTINATION_REJECTING)
            log_warn("engine", d->conn->name, "destination rejecting: pulls refused since %s: %s",
                     since, why);
        else
            log_warn("engine", d->conn->name, "destination unreachable: pulls failing since %s",
                     since);
    }
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
        clear_down(d);
        log_notice("engine", d->conn->name, "destination reachable again");
    }
    d->outage_since_ms = 0;
    d->outage_error[0] = '\0';
    d->unreachable_raised = 0;
}
