/* The request wrapper every CRM connector sends through (issue 13 part 1):
 * URL from base and path (sized to fit, never cut), the connector's name
 * and limits on the request, an Accept header, extra headers, a body, the
 * token manager (or none), and on completion the connector's 429 policy,
 * then the engine's rate limiter fed with the response (once: after the
 * policy set how long a 429 holds), then the caller's callback. */
#ifndef CRMSYNC_CRM_REQUEST_H
#define CRMSYNC_CRM_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"

struct connector;
struct oauth;

/* Runs before the rate limiter sees a response. May set
 * res->retry_after_ms (a 429 the vendor gave no Retry-After). Returns 1
 * when the rate limiter must not see it (a window of the connector's own
 * took the hold), else 0. tag is the request's. */
typedef int (*crm_policy_fn)(void *ctx, int tag, struct http_result *res);

struct crm_http {
    struct connector *conn;
    const char *subsystem; /* log subsystem */
    struct http_client *http;
    struct oauth *oauth; /* NULL: requests go as they are */
    struct http_limits limits;
    int closing; /* no new requests */
    crm_policy_fn policy;
    void *policy_ctx;
};

struct crm_header {
    const char *name, *value;
};

struct crm_req {
    enum http_method method;
    const char *base;   /* "https://host" (may be ""); URL = base + path */
    const char *path;   /* "/nl/jsp/soaprouter.jsp" */
    const char *accept; /* NULL: application/json */
    const char *content_type;
    const char *body; /* NULL: none */
    size_t body_len;  /* 0: strlen(body) */
    const struct crm_header *headers;
    size_t nheaders;
    int tag; /* handed to the policy */
};

/* Milliseconds of the monotonic clock (the engine's timebase). */
uint64_t crm_mono_ms(void);

/* Milliseconds the vendor asked the connector to hold off (a 429's
 * Retry-After on the engine's bucket), 0 when it may send. Requests outside
 * the engine's scheduling (setup, pulls) check it themselves. */
uint64_t crm_held_ms(const struct connector *conn);

/* Starts one request; done is called exactly once, later, from the loop.
 * Returns -1 (done not called) when closing or the request cannot be
 * built. */
int crm_request(struct crm_http *h, const struct crm_req *rq, http_done_fn done, void *arg);

/* The path part plus base joined into a new string (malloc'd), or NULL. */
char *crm_url_join(const char *base, const char *path);

#endif
