/* Bearer tokens shared by all flavours: static tokens (HubSpot private-app /
 * service keys, never expire), issued access tokens with an expiry, and
 * refresh tokens. Guarded by sim->lock like the rest of the state. */
#ifndef CRMSIM_AUTH_H
#define CRMSIM_AUTH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_rng.h"

struct sim_auth {
    json_t *static_tokens; /* token -> true */
    json_t *access;        /* token -> expiry (ms, integer) */
    json_t *refresh;       /* refresh token -> true */
};

enum sim_token_state { SIM_TOKEN_OK, SIM_TOKEN_EXPIRED, SIM_TOKEN_INVALID };

int sim_auth_init(struct sim_auth *auth);
void sim_auth_fini(struct sim_auth *auth);
/* Forgets issued access tokens (static and refresh tokens stay). */
void sim_auth_reset(struct sim_auth *auth);
int sim_auth_add_static(struct sim_auth *auth, const char *token);
int sim_auth_add_refresh(struct sim_auth *auth, const char *token);
int sim_auth_has_refresh(const struct sim_auth *auth, const char *token);
void sim_auth_remove_refresh(struct sim_auth *auth, const char *token);
/* *expired_ago_ms is set for SIM_TOKEN_EXPIRED. */
enum sim_token_state sim_auth_check(const struct sim_auth *auth, const char *token, int64_t now,
                                    int64_t *expired_ago_ms);
/* Writes a fresh random token "<prefix><32 hex>" into out. */
void sim_auth_random(struct sim_rng *rng, const char *prefix, char *out, size_t outlen);
/* Issues an access token valid for lifetime_ms from now. Returns 0 or -1. */
int sim_auth_issue(struct sim_auth *auth, struct sim_rng *rng, int64_t now, int64_t lifetime_ms,
                   char *out, size_t outlen);
/* Makes every issued access token expired as of now. Returns how many. */
size_t sim_auth_expire_all(struct sim_auth *auth, int64_t now);
/* Expires one issued access token (no effect on static ones). */
void sim_auth_expire(struct sim_auth *auth, const char *token, int64_t now);

#endif
