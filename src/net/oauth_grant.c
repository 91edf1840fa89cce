/* See oauth_grant.h. Client authentication is by client_id/client_secret in
 * the form body (RFC 6749 §2.3.1 "client_secret_post"), which HubSpot
 * requires and Salesforce and Adobe IMS accept. */
#include "oauth_grant.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "oauth_jwt.h"

void oauth_wipe_free(char *s)
{
    if (s == NULL)
        return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

int oauth_form_add(char **body, size_t *len, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t need = *len + 1 + strlen(name) + 1 + 3 * strlen(value) + 1;
    char *nb = malloc(need);
    size_t n = 0;
    const unsigned char *p = NULL;

    if (nb == NULL)
        return -1;
    if (*body != NULL && *len > 0) {
        memcpy(nb, *body, *len);
        n = *len;
        nb[n++] = '&';
    }
    for (p = (const unsigned char *)name; *p != '\0'; p++)
        nb[n++] = (char)*p;
    nb[n++] = '=';
    for (p = (const unsigned char *)value; *p != '\0'; p++) {
        if (unreserved(*p)) {
            nb[n++] = (char)*p;
        } else {
            nb[n++] = '%';
            nb[n++] = hex[*p >> 4];
            nb[n++] = hex[*p & 15];
        }
    }
    nb[n] = '\0';
    if (*body != NULL) {
        OPENSSL_cleanse(*body, *len);
        free(*body);
    }
    *body = nb;
    *len = n;
    return 0;
}

char *oauth_grant_body(const struct oauth_options *opts, const char *refresh_token, time_t now,
                       size_t *len, struct error *err)
{
    char *body = NULL;
    char *secret = NULL;
    char *assertion = NULL;
    int ok = 0;

    *len = 0;
    switch (opts->grant) {
    case OAUTH_CLIENT_CREDENTIALS:
    case OAUTH_REFRESH_TOKEN:
        secret = config_secret_read(opts->client_secret_file, err);
        if (secret == NULL)
            goto out;
        if (opts->grant == OAUTH_REFRESH_TOKEN) {
            if (refresh_token == NULL || refresh_token[0] == '\0') {
                error_set(err, "no refresh token");
                goto out;
            }
            ok = oauth_form_add(&body, len, "grant_type", "refresh_token") == 0 &&
                 oauth_form_add(&body, len, "refresh_token", refresh_token) == 0;
        } else {
            ok = oauth_form_add(&body, len, "grant_type", "client_credentials") == 0;
        }
        ok = ok && oauth_form_add(&body, len, "client_id", opts->client_id) == 0 &&
             oauth_form_add(&body, len, "client_secret", secret) == 0;
        if (ok && opts->scope != NULL && opts->scope[0] != '\0')
            ok = oauth_form_add(&body, len, "scope", opts->scope) == 0;
        break;
    case OAUTH_JWT_BEARER:
        secret = config_secret_read(opts->private_key_file, err);
        if (secret == NULL)
            goto out;
        assertion = oauth_jwt_rs256(secret, strlen(secret), opts->client_id, opts->jwt_subject,
                                    opts->jwt_audience, now, opts->jwt_lifetime_s, err);
        if (assertion == NULL)
            goto out;
        ok = oauth_form_add(&body, len, "grant_type",
                            "urn:ietf:params:oauth:grant-type:jwt-bearer") == 0 &&
             oauth_form_add(&body, len, "assertion", assertion) == 0;
        break;
    case OAUTH_STATIC:
        error_set(err, "a static token has no token request");
        goto out;
    }
    if (!ok)
        error_set(err, "out of memory");
out:
    if (secret != NULL)
        config_secret_free(secret);
    oauth_wipe_free(assertion); /* short-lived, but a credential until exp */
    if (!ok && body != NULL) {
        OPENSSL_cleanse(body, *len);
        free(body);
        body = NULL;
        *len = 0;
    }
    return body;
}

static char *json_strdup(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_string(v))
        return NULL;
    return strdup(json_string_value(v));
}

int oauth_parse_token_response(long status, const char *body, struct oauth_token_response *out)
{
    json_t *root = NULL;
    json_t *v = NULL;
    json_error_t jerr;
    const char *code = NULL;
    const char *desc = NULL;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    out->expires_in_s = -1;
    root = body != NULL ? json_loads(body, 0, &jerr) : NULL;
    if (status >= 200 && status < 300) {
        if (root == NULL || !json_is_object(root)) {
            snprintf(out->error, sizeof(out->error), "token response is not a JSON object");
            goto out;
        }
        out->access_token = json_strdup(root, "access_token");
        if (out->access_token == NULL || out->access_token[0] == '\0') {
            snprintf(out->error, sizeof(out->error), "token response has no access_token");
            goto out;
        }
        v = json_object_get(root, "expires_in");
        if (json_is_integer(v))
            out->expires_in_s = (long)json_integer_value(v);
        else if (json_is_string(v))
            out->expires_in_s = strtol(json_string_value(v), NULL, 10);
        out->refresh_token = json_strdup(root, "refresh_token");
        out->instance_url = json_strdup(root, "instance_url");
        rc = 0;
        goto out;
    }
    /* RFC 6749 §5.2: {"error": "...", "error_description": "..."}. Adobe
     * IMS and HubSpot add their own fields; the two standard ones suffice. */
    if (root != NULL && json_is_object(root)) {
        v = json_object_get(root, "error");
        code = json_is_string(v) ? json_string_value(v) : NULL;
        v = json_object_get(root, "error_description");
        if (!json_is_string(v))
            v = json_object_get(root, "message");
        desc = json_is_string(v) ? json_string_value(v) : NULL;
    }
    snprintf(out->error, sizeof(out->error), "HTTP %ld%s%s%s%.160s", status,
             code != NULL ? ": " : "", code != NULL ? code : "", desc != NULL ? ": " : "",
             desc != NULL ? desc : "");
    out->credentials_rejected =
        code != NULL &&
        (strcmp(code, "invalid_grant") == 0 || strcmp(code, "invalid_client") == 0 ||
         strcmp(code, "unauthorized_client") == 0 || strcmp(code, "unsupported_grant_type") == 0);
out:
    json_decref(root);
    if (rc < 0) {
        oauth_wipe_free(out->access_token);
        out->access_token = NULL;
    }
    return rc;
}

void oauth_token_response_clear(struct oauth_token_response *t)
{
    oauth_wipe_free(t->access_token);
    oauth_wipe_free(t->refresh_token);
    free(t->instance_url);
    t->access_token = t->refresh_token = t->instance_url = NULL;
}
