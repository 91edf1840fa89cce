/* OAuth2 token manager, one per connector.
 *
 * It keeps an access token and sends requests with it:
 *
 *     oauth_new(http, "salesforce", &opts, &hooks, &tm, &err);
 *     r = http_request_new(http, HTTP_POST, url, &err);
 *     ...
 *     oauth_send(tm, r, on_done, ctx);        // tm owns r from here
 *
 * - Grants: client credentials (Adobe IMS, Salesforce), refresh token
 *   (HubSpot; a rotated refresh token is handed to persist_refresh_token),
 *   JWT bearer (Salesforce, RS256, see oauth_jwt.h), and a static bearer
 *   token (HubSpot private apps) through the same call.
 * - One token request in flight at a time. Requests that need a token wait
 *   for it and are sent when it arrives; while a still-valid token is being
 *   refreshed ahead of its expiry they go out with the current one.
 * - A 401 invalidates the token it was sent with, triggers one refresh and
 *   one resend; a second 401 goes to the caller (HTTP_CLASS_UNAUTHORIZED).
 * - A failing token endpoint (invalid_grant, invalid_client, 5xx, timeout)
 *   is logged with the vendor's error code, and the manager backs off
 *   (doubling, with jitter, up to backoff_max_ms; never below half the
 *   window, so no spinning). Meanwhile requests complete with
 *   HTTP_CLASS_UNAUTHORIZED, failure HTTP_FAIL_AUTH and retry_after_ms set
 *   to the end of the back-off: the connector pauses, the records stay.
 * - Secrets (client secret, refresh token, private key) are read from files
 *   with config_secret_read() (which refuses files open to group/others)
 *   when needed and wiped after use; tokens are wiped when replaced; none is
 *   ever logged.
 *
 * Completion callbacks are never called from inside oauth_send(). */
#ifndef CRMSYNC_OAUTH_H
#define CRMSYNC_OAUTH_H

#include <time.h>

#include "error.h"
#include "http.h"
#include "retry.h"

struct oauth;

enum oauth_grant {
    OAUTH_STATIC = 0,         /* token_file holds a long-lived bearer token */
    OAUTH_CLIENT_CREDENTIALS, /* client_id + client_secret_file [+ scope] */
    OAUTH_REFRESH_TOKEN,      /* client_id + client_secret_file + refresh token */
    OAUTH_JWT_BEARER,         /* client_id (iss) + jwt_subject + private_key_file */
};

struct oauth_options {
    enum oauth_grant grant;
    const char *token_url;          /* https, or loopback http per http_options */
    const char *client_id;          /* not a secret */
    const char *client_secret_file; /* CLIENT_CREDENTIALS, REFRESH_TOKEN */
    const char *refresh_token_file; /* REFRESH_TOKEN: first token, when the
                                       state has none persisted */
    const char *token_file;         /* STATIC */
    const char *private_key_file;   /* JWT_BEARER: PEM (PKCS#8 or PKCS#1) RSA */
    const char *jwt_subject;        /* JWT_BEARER: user name (sub) */
    const char *jwt_audience;       /* JWT_BEARER: e.g. https://login.salesforce.com */
    long jwt_lifetime_s;            /* exp = now + this; 1..180, default 180 */
    const char *scope;              /* optional, space-separated */
    long default_lifetime_ms;       /* when the response has no expires_in
                                       (Salesforce); default 15 min */
    long refresh_ahead_ms;          /* refresh this long before expiry (at most
                                       half the lifetime); default 60 s */
    long backoff_base_ms;           /* token endpoint failures; default 1 s */
    long backoff_max_ms;            /* default 5 min */
};

void oauth_options_defaults(struct oauth_options *opts);

struct oauth_hooks {
    /* Called when the token endpoint returns a new refresh token; the owner
     * must store it durably (the state module) before the next refresh. The
     * string is only valid during the call. May be NULL for other grants. */
    void (*persist_refresh_token)(void *ctx, const char *token);
    void *ctx;
    struct retry_clock clock;      /* monotonic; zeroed: the real one */
    time_t (*wall_now)(void *ctx); /* for JWT exp; NULL: time() */
    /* A response that says the token was refused although it is not a 401
     * (Adobe Campaign answers HTTP 500 with fault XSV-350008/XSV-350114):
     * 1 makes it count as a 401 (refresh once, resend once). NULL: only
     * 401. */
    int (*token_refused)(void *ctx, const struct http_result *res);
};

/* Creates the manager. conn names the connector in logs (copied). Option
 * strings are copied. A STATIC token file is read (and checked) now. */
int oauth_new(struct http_client *http, uv_loop_t *loop, const char *conn,
              const struct oauth_options *opts, const struct oauth_hooks *hooks, struct oauth **out,
              struct error *err);

/* Gives the refresh token persisted by the state module (it wins over
 * refresh_token_file). Copied. 0 or -1. */
int oauth_set_refresh_token(struct oauth *o, const char *token);

/* Sends r with a valid access token (see above). Takes r. done is called
 * exactly once, later, from the loop. */
void oauth_send(struct oauth *o, struct http_request *r, http_done_fn done, void *arg);

/* The current access token while it is valid, else NULL (then send a
 * request with oauth_send() to get one). For an API that takes the token
 * in a body (Adobe Campaign's xtk:session#BearerTokenLogon). A secret:
 * never log it; valid until the next refresh. */
const char *oauth_current_token(const struct oauth *o);

/* Salesforce's instance_url from the last token response, or NULL. */
const char *oauth_instance_url(const struct oauth *o);

/* The last token endpoint error ("invalid_grant: expired access/refresh
 * token"), or "" when the last refresh succeeded. */
const char *oauth_last_error(const struct oauth *o);

/* Token requests made so far (for metrics and tests). */
unsigned long oauth_refresh_count(const struct oauth *o);

/* 1 while a token request is in flight. */
int oauth_refresh_pending(const struct oauth *o);

/* Shuts down: waiting requests complete as CANCELLED now; requests already
 * sent complete through the HTTP client as usual. Memory goes when the last
 * of them and the timer's close callback are done. */
void oauth_close(struct oauth *o);

#endif
