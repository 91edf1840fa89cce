/* JWT bearer assertions (RFC 7523) signed RS256 with OpenSSL EVP. */
#ifndef CRMSYNC_OAUTH_JWT_H
#define CRMSYNC_OAUTH_JWT_H

#include <stddef.h>
#include <time.h>

#include "error.h"

/* Builds header.claims.signature with header {"alg":"RS256","typ":"JWT"} and
 * claims iss, sub, aud, exp = now + lifetime_s, iat = now. key_pem is an RSA
 * private key in PEM. Returns a malloc'd string, or NULL with err set. */
char *oauth_jwt_rs256(const char *key_pem, size_t key_len, const char *iss, const char *sub,
                      const char *aud, time_t now, long lifetime_s, struct error *err);

/* base64url without padding (RFC 7515 §2). Returns a malloc'd string. */
char *oauth_base64url(const unsigned char *data, size_t len);

#endif
