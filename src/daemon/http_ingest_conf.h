/* The [ingest] section as the HTTP ingest listener takes it (issue 16):
 * its options built from the configuration, the checks --check-config and
 * the start share, and what a reload can and cannot change. Config apart
 * from I/O (src/http_ingest.c). */
#ifndef CRMSYNC_HTTP_INGEST_CONF_H
#define CRMSYNC_HTTP_INGEST_CONF_H

#include "config.h"
#include "error.h"
#include "http_ingest.h"

/* The listener's options from cfg; strings borrowed from cfg and
 * state_path (http_ingest_start copies what it keeps). */
void http_ingest_options_of(const struct config *cfg, const char *state_path,
                            struct http_ingest_options *o);

/* What an enabled listener needs that the option table cannot say: with
 * listen set, verify_value, issuer and audience, a verify_value that fits
 * verify (a URL, a JWK object, a readable key file), tls_cert and tls_key
 * together, and both off loopback. Returns the number of problems, each a
 * line "[ingest] ..." in err (0: none; an unset listen is always fine). */
int http_ingest_check_settings(const struct ingest_settings *s, struct error *err);

/* 1 when a and b run the same listener. */
int http_ingest_options_equal(const struct http_ingest_options *a,
                              const struct http_ingest_options *b);

/* On SIGHUP (on the loop), with the new configuration: limits, timeouts,
 * scopes and token verification are applied (http_ingest_reload); what
 * only a restart changes (listen, the TLS files, the connection limits)
 * is logged as such, and so is a listener added or removed. New settings
 * that fail the checks of http_ingest_check_settings, or whose verifier
 * cannot be made, are logged and the listener keeps all of its current
 * ones. h may be NULL (no listener). */
void http_ingest_apply_reload(struct http_ingest *h, const struct config *next,
                              const char *state_path);

#endif
