/* Token requests and responses, per grant (RFC 6749 §4.4, §6; RFC 7523
 * §2.1). Pure: no network. Used by oauth.c, unit-tested directly. */
#ifndef CRMSYNC_OAUTH_GRANT_H
#define CRMSYNC_OAUTH_GRANT_H

#include <stddef.h>
#include <time.h>

#include "error.h"
#include "oauth.h"

/* Builds the x-www-form-urlencoded body of a token request. Secrets are
 * read from their files here and wiped before returning; refresh_token is
 * the current one (REFRESH_TOKEN grant). The caller wipes and frees the
 * body (it holds secrets). NULL with err set on failure. */
char *oauth_grant_body(const struct oauth_options *opts, const char *refresh_token, time_t now,
                       size_t *len, struct error *err);

/* Appends name=value, percent-encoded, to a growing form body. */
int oauth_form_add(char **body, size_t *len, const char *name, const char *value);

struct oauth_token_response {
    char *access_token;       /* wiped by oauth_token_response_clear */
    char *refresh_token;      /* set when the endpoint rotated it */
    char *instance_url;       /* Salesforce */
    long expires_in_s;        /* -1 when absent */
    char error[256];          /* "invalid_grant: description", "" on success */
    int credentials_rejected; /* invalid_grant/invalid_client/unauthorized_client */
};

/* Parses a token endpoint answer. Returns 0 when it carries an access token,
 * -1 with out->error set otherwise. */
int oauth_parse_token_response(long status, const char *body, struct oauth_token_response *out);
void oauth_token_response_clear(struct oauth_token_response *t);

/* Wipes and frees a NUL-terminated secret string. */
void oauth_wipe_free(char *s);

#endif
