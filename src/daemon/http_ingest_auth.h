/* Bearer tokens of the HTTP ingest endpoint, verified by liboauth2
 * (oauth2_token_verify) and completed by what the daemon adds around it
 * (README "HTTP ingest"): liboauth2 1.4.5.4 checks the signature against a
 * static key, a JWKS it fetches, or an introspection endpoint, and exp when
 * told to; this module checks exp, nbf, iss and aud on the payload it
 * returns (also when the payload comes from the library's result cache,
 * which would otherwise replay a token after it expired), takes the client
 * id and the scopes out of it, and keeps every token out of the log (the
 * library's messages pass through a sink that redacts them).
 *
 * Thread-safe: verification runs on the HTTP server's threads. */
#ifndef CRMSYNC_HTTP_INGEST_AUTH_H
#define CRMSYNC_HTTP_INGEST_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct ingest_auth_options {
    const char *verify;         /* jwks_uri | jwk | pem | pubkey | introspect */
    const char *verify_value;   /* the URL, the JWK (JSON) or the key file */
    const char *verify_options; /* extra liboauth2 options (form-encoded), may be NULL */
    const char *issuer;         /* required "iss" */
    const char *audience;       /* required in "aud" */
    long cache_s;               /* result cache lifetime; 0: no cache */
    long leeway_s;              /* clock skew accepted for exp and nbf */
};

enum ingest_auth_failure {
    AUTH_FAIL_NONE = 0,
    AUTH_FAIL_MISSING,      /* no bearer token */
    AUTH_FAIL_INVALID,      /* signature, format, unknown key, alg: liboauth2 said no */
    AUTH_FAIL_EXPIRED,      /* exp in the past (or missing) */
    AUTH_FAIL_NOT_YET,      /* nbf in the future */
    AUTH_FAIL_ISSUER,       /* iss is not ours */
    AUTH_FAIL_AUDIENCE,     /* aud does not name us */
    AUTH_FAIL_RATE_LIMITED, /* too many bad tokens from this address */
    AUTH_FAIL_COUNT
};

const char *ingest_auth_failure_name(enum ingest_auth_failure f);

#define INGEST_CLIENT_ID_MAX 128
#define INGEST_SCOPE_MAX 1024

struct ingest_token {
    char client_id[INGEST_CLIENT_ID_MAX]; /* client_id, else azp, else sub */
    char scope[INGEST_SCOPE_MAX];         /* space-separated, as in "scope" */
    int64_t exp;                          /* seconds since the epoch */
};

struct ingest_auth;

/* Configures liboauth2 (once per process: its cache and curl are global). */
int ingest_auth_new(const struct ingest_auth_options *opts, struct ingest_auth **out,
                    struct error *err);
/* The same for a reload, next to prev (which stays usable until freed):
 * when the key material changed (verify, verify_options, verify_value or
 * the key file's text), the new verifier gets a result cache of its own,
 * so that a token verified with the old key is not taken from the cache.
 * A process makes at most INGEST_AUTH_MAX_CACHES such caches (liboauth2
 * frees them only at its shutdown); past that a changed key is refused
 * with a message saying to restart. */
#define INGEST_AUTH_MAX_CACHES 4
int ingest_auth_renew(const struct ingest_auth *prev, const struct ingest_auth_options *opts,
                      struct ingest_auth **out, struct error *err);
void ingest_auth_free(struct ingest_auth *a);

/* Verifies token. Returns AUTH_FAIL_NONE with *tok filled, or the reason. */
enum ingest_auth_failure ingest_auth_verify(struct ingest_auth *a, const char *token,
                                            struct ingest_token *tok);

/* The checks on a verified payload (JSON text), apart for unit tests:
 * now in seconds. */
enum ingest_auth_failure ingest_auth_check_claims(const char *payload_json, const char *issuer,
                                                  const char *audience, long leeway_s, int64_t now,
                                                  struct ingest_token *tok);

/* 1 when scope (space-separated) holds name. */
int ingest_scope_has(const char *scope, const char *name);

/* Copies msg to out with every bearer token it holds replaced: the exact
 * token given (may be NULL) and anything shaped like a JWT. */
void ingest_auth_redact(const char *msg, const char *token, char *out, size_t size);

#endif
