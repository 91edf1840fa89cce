/* What a connector's failing requests say about its CRM (issue 19): a CRM
 * that does not answer, answers 5xx or 429 is unreachable (it will take the
 * request later as it is); one that answers 401, 403, 404 or another 4xx is
 * rejecting it (reachable, but the configuration is wrong: credentials,
 * permissions, a URL or an object name), which waiting does not cure.
 *
 * The HTTP client notes each failed request of a connector here; the engine
 * asks, when a pull or a push batch failed through the destination's fault,
 * whether the connector's latest failure was a rejection, to raise
 * destination_rejecting (naming the status and the option to check)
 * instead of destination_unreachable. Thread-safe. */
#ifndef CRMSYNC_HTTP_VERDICT_H
#define CRMSYNC_HTTP_VERDICT_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_VERDICT_ENDPOINT_MAX 64

/* A request of connector ended with status (0: no HTTP answer) on endpoint
 * (a metrics label: the URL's path without ids). Statuses below 400 are
 * not failures and are ignored. */
void http_verdict_note(const char *connector, long status, const char *endpoint);

/* 1 when status is a rejection: a 4xx other than 408 (timeout) and 429
 * (rate limit), which are the CRM saying "later". */
int http_verdict_is_rejection(long status);

/* 1 when the latest failed request of connector, at or after since_ms
 * (wall clock), was a rejection; *status and endpoint receive it. */
int http_verdict_rejecting(const char *connector, int64_t since_ms, long *status, char *endpoint,
                           size_t endpoint_size);

/* The options of a connector of type (connector_ops.name: "hubspot",
 * "salesforce", "adobe_campaign") an operator checks for a rejection with
 * status: e.g. "token_file" for HubSpot's 401. Never NULL. */
const char *http_verdict_config_hint(const char *type, long status);

/* Forgets everything (tests). */
void http_verdict_reset(void);

#endif
