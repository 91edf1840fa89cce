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
 * Retry-After on the engine's bucket), 0 when it may send. crm_request()
 * delays every request by it; a caller checks it to not even plan work. */
uint64_t crm_held_ms(const struct connector *conn);

/* Starts one request; done is called exactly once, later, from the loop.
 * Returns -1 (done not called) when closing or the request cannot be
 * built. */
int crm_request(struct crm_http *h, const struct crm_req *rq, http_done_fn done, void *arg);

/* The path part plus base joined into a new string (malloc'd), or NULL. */
char *crm_url_join(const char *base, const char *path);

/* A configured base URL without its trailing slashes (malloc'd), or NULL. */
char *crm_base_url(const char *url);

/* What must close before a connector instance may be freed: its libuv
 * handles and its HTTP client, one count each. The last release frees priv
 * (free_priv), clears conn->priv and calls the engine's closed callback. */
struct crm_life {
    int open;
    struct connector *conn;
    void *priv;
    void (*free_priv)(void *priv);
    void (*closed)(struct connector *conn);
};

void crm_life_release(struct crm_life *l);

/* The start of connector_ops.close: 1 when the connector has no instance
 * (never opened, or closed already; done has been called), else 0. */
int crm_close_nothing(struct connector *conn, void (*done)(struct connector *conn));

/* The host's services table (conn->host) is of a version this connector
 * knows every entry of: 0, or -1 with err (an older host; a NULL table, as
 * in --check-config, is accepted: the connector checks each entry). */
int crm_host_check(const struct connector *conn, struct error *err);

/* Fills h for conn (log subsystem, the limits of hopts, the policy hook)
 * after crm_host_check(), and creates its HTTP client with hopts on the connector's loop. The
 * token manager (h->oauth) is the caller's to set. 0, or -1 with err. */
int crm_http_open(struct crm_http *h, struct connector *conn, const char *subsystem,
                  const struct http_options *hopts, crm_policy_fn policy, void *policy_ctx,
                  struct error *err);

/* Closing: no new request goes; waiting and in-flight ones complete as
 * CANCELLED now (the token manager's first), and the HTTP client counts as
 * one of l's until it has closed. */
void crm_http_close(struct crm_http *h, struct crm_life *l);

#endif
