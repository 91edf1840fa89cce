/* [ingest] settings for the HTTP ingest listener (see http_ingest_conf.h). */
#include "http_ingest_conf.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static const char *const verify_names[] = {"jwks_uri", "jwk", "pem", "pubkey", "introspect"};

void http_ingest_options_of(const struct config *cfg, const char *state_path,
                            struct http_ingest_options *o)
{
    const struct ingest_settings *ds = &cfg->ingest;

    memset(o, 0, sizeof(*o));
    o->listen = ds->listen;
    o->tls_cert = ds->tls_cert;
    o->tls_key = ds->tls_key;
    o->origin = "http";
    o->max_connections = ds->max_connections;
    o->per_ip_connections = ds->per_ip_connections;
    o->timeout_s = (ds->timeout_ms + 999) / 1000;
    o->header_timeout_ms = ds->header_timeout_ms;
    o->request_timeout_ms = ds->request_timeout_ms;
    o->max_body = ds->max_body;
    o->max_pending = ds->max_pending;
    o->max_backlog = ds->max_backlog;
    o->max_group = cfg->state.txn_max_changes;
    o->bad_token_limit = ds->bad_token_limit;
    o->scopes[INGEST_SCOPE_CONSENT] = ds->scope_consent;
    o->scopes[INGEST_SCOPE_POINTS] = ds->scope_points;
    o->scopes[INGEST_SCOPE_PROFILE] = ds->scope_profile;
    o->scopes[INGEST_SCOPE_ERASURE] = ds->scope_erasure;
    o->scopes[INGEST_SCOPE_MEMBERS] = ds->scope_members;
    o->auth.verify = verify_names[ds->verify];
    o->auth.verify_value = ds->verify_value;
    o->auth.verify_options = ds->verify_options;
    o->auth.issuer = ds->issuer;
    o->auth.audience = ds->audience;
    o->auth.cache_s = (ds->token_cache_ms + 999) / 1000;
    o->auth.leeway_s = 0;
    o->state_path = state_path;
    o->busy_timeout_ms = cfg->state.busy_timeout_ms;
}

/* Appends one line to err's message (bounded: the rest is cut). */
static void problem(struct error *err, int *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void problem(struct error *err, int *n, const char *fmt, ...)
{
    size_t used = strlen(err->msg);
    va_list ap;

    if (used > 0 && used + 1 < sizeof(err->msg)) {
        err->msg[used++] = '\n';
        err->msg[used] = '\0';
    }
    if (used < sizeof(err->msg)) {
        va_start(ap, fmt);
        vsnprintf(err->msg + used, sizeof(err->msg) - used, fmt, ap);
        va_end(ap);
    }
    (*n)++;
}

static int empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

/* Loopback as listen_socket_open() will find it, without binding: a Unix
 * socket path, 127.0.0.0/8 or [::1] written as such (a name such as
 * localhost is not trusted: its resolution is not ours). */
static int loopback_spec(const char *spec)
{
    return spec[0] == '/' || strncmp(spec, "127.", 4) == 0 || strncmp(spec, "[::1]:", 6) == 0;
}

int http_ingest_check_settings(const struct ingest_settings *s, struct error *err)
{
    const char *verify = verify_names[s->verify];
    int n = 0;

    err->msg[0] = '\0';
    if (empty(s->listen))
        return 0;
    if (empty(s->verify_value)) {
        problem(err, &n,
                "[ingest] listen = %s but verify_value is unset: bearer tokens could not be "
                "verified (verify = %s wants %s)",
                s->listen, verify,
                s->verify == 0 || s->verify == 4 ? "the URL"
                : s->verify == 1                 ? "the JWK"
                                                 : "the key file");
    } else if (s->verify == 0 || s->verify == 4) {
        if (strncmp(s->verify_value, "https://", 8) != 0 &&
            strncmp(s->verify_value, "http://", 7) != 0)
            problem(err, &n, "[ingest] verify = %s: verify_value must be an http(s) URL", verify);
    } else if (s->verify == 1) {
        json_t *jwk = s->verify_value[0] == '/' ? json_load_file(s->verify_value, 0, NULL)
                                                : json_loads(s->verify_value, 0, NULL);
        if (!json_is_object(jwk) || json_object_get(jwk, "kty") == NULL)
            problem(err, &n,
                    "[ingest] verify = jwk: verify_value is not a JWK (a JSON object with kty, "
                    "or the absolute path of a file holding one)");
        json_decref(jwk);
    } else if (access(s->verify_value, R_OK) != 0) {
        problem(err, &n, "[ingest] verify = %s: cannot read the key file %s", verify,
                s->verify_value);
    }
    if (empty(s->issuer))
        problem(err, &n, "[ingest] listen = %s but issuer is unset: every token's iss is checked",
                s->listen);
    if (empty(s->audience))
        problem(err, &n, "[ingest] listen = %s but audience is unset: every token's aud is checked",
                s->listen);
    if (empty(s->tls_cert) != empty(s->tls_key))
        problem(err, &n, "[ingest] tls_cert and tls_key go together");
    else if (empty(s->tls_cert) && !loopback_spec(s->listen))
        problem(err, &n,
                "[ingest] listen = %s is not a loopback address: set tls_cert and tls_key "
                "(bearer tokens must not cross the network in clear)",
                s->listen);
    return n;
}

static int str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

int http_ingest_options_equal(const struct http_ingest_options *a,
                              const struct http_ingest_options *b)
{
    for (int k = 0; k < INGEST_SCOPE_N; k++) {
        if (!str_eq(a->scopes[k], b->scopes[k]))
            return 0;
    }
    return str_eq(a->listen, b->listen) && str_eq(a->tls_cert, b->tls_cert) &&
           str_eq(a->tls_key, b->tls_key) && str_eq(a->origin, b->origin) &&
           a->max_connections == b->max_connections &&
           a->per_ip_connections == b->per_ip_connections && a->timeout_s == b->timeout_s &&
           a->header_timeout_ms == b->header_timeout_ms &&
           a->request_timeout_ms == b->request_timeout_ms && a->max_body == b->max_body &&
           a->max_pending == b->max_pending && a->max_backlog == b->max_backlog &&
           a->max_group == b->max_group && a->bad_token_limit == b->bad_token_limit &&
           str_eq(a->auth.verify, b->auth.verify) &&
           str_eq(a->auth.verify_value, b->auth.verify_value) &&
           str_eq(a->auth.verify_options, b->auth.verify_options) &&
           str_eq(a->auth.issuer, b->auth.issuer) && str_eq(a->auth.audience, b->auth.audience) &&
           a->auth.cache_s == b->auth.cache_s && a->auth.leeway_s == b->auth.leeway_s &&
           str_eq(a->state_path, b->state_path) && a->busy_timeout_ms == b->busy_timeout_ms;
}

void http_ingest_apply_reload(struct http_ingest *h, const struct config *next,
                              const char *state_path)
{
    struct http_ingest_options want;
    struct error err = {""};

    if (h == NULL) {
        if (!empty(next->ingest.listen))
            log_warn("ingest", NULL,
                     "[ingest] listen = %s is new in the configuration: the HTTP ingest starts "
                     "only with crmsyncd; restart it to apply",
                     next->ingest.listen);
        return;
    }
    http_ingest_options_of(next, state_path, &want);
    if (empty(want.listen)) {
        log_warn("ingest", NULL,
                 "[ingest] listen is gone from the configuration: the HTTP ingest keeps "
                 "serving on %s until crmsyncd restarts",
                 http_ingest_address(h));
        return;
    }
    if (http_ingest_check_settings(&next->ingest, &err) != 0) {
        log_error("ingest", NULL,
                  "[ingest] not applied, the HTTP ingest on %s keeps its settings: %s",
                  http_ingest_address(h), err.msg);
        return;
    }
    if (http_ingest_reload(h, &want, &err) != 0)
        log_error("ingest", NULL,
                  "[ingest] not applied, the HTTP ingest on %s keeps its settings: %s",
                  http_ingest_address(h), err.msg);
}
