#include "sim_auth.h"

#include <stdio.h>
#include <string.h>

/* Issued tokens are swept when the table grows past this, so a long
 * benchmark that refreshes often does not grow memory without bound. */
#define ACCESS_SWEEP_AT 10000

int sim_auth_init(struct sim_auth *auth)
{
    auth->static_tokens = json_object();
    auth->access = json_object();
    auth->refresh = json_object();
    if (auth->static_tokens == NULL || auth->access == NULL || auth->refresh == NULL) {
        sim_auth_fini(auth);
        return -1;
    }
    return 0;
}

void sim_auth_fini(struct sim_auth *auth)
{
    json_decref(auth->static_tokens);
    json_decref(auth->access);
    json_decref(auth->refresh);
    auth->static_tokens = NULL;
    auth->access = NULL;
    auth->refresh = NULL;
}

void sim_auth_reset(struct sim_auth *auth)
{
    json_object_clear(auth->access);
}

int sim_auth_add_static(struct sim_auth *auth, const char *token)
{
    if (token[0] == '\0')
        return -1;
    return json_object_set_new(auth->static_tokens, token, json_true());
}

int sim_auth_add_refresh(struct sim_auth *auth, const char *token)
{
    if (token[0] == '\0')
        return -1;
    return json_object_set_new(auth->refresh, token, json_true());
}

int sim_auth_has_refresh(const struct sim_auth *auth, const char *token)
{
    return json_object_get(auth->refresh, token) != NULL;
}

void sim_auth_remove_refresh(struct sim_auth *auth, const char *token)
{
    json_object_del(auth->refresh, token);
}

enum sim_token_state sim_auth_check(const struct sim_auth *auth, const char *token, int64_t now,
                                    int64_t *expired_ago_ms)
{
    json_t *exp;

    *expired_ago_ms = 0;
    if (token == NULL || token[0] == '\0')
        return SIM_TOKEN_INVALID;
    if (json_object_get(auth->static_tokens, token) != NULL)
        return SIM_TOKEN_OK;
    exp = json_object_get(auth->access, token);
    if (exp == NULL)
        return SIM_TOKEN_INVALID;
    if (json_integer_value(exp) <= now) {
        *expired_ago_ms = now - json_integer_value(exp);
        return SIM_TOKEN_EXPIRED;
    }
    return SIM_TOKEN_OK;
}

void sim_auth_random(struct sim_rng *rng, const char *prefix, char *out, size_t outlen)
{
    uint64_t a = sim_rng_next(rng);
    uint64_t b = sim_rng_next(rng);

    snprintf(out, outlen, "%s%016llx%016llx", prefix, (unsigned long long)a, (unsigned long long)b);
}

static void sweep_expired(struct sim_auth *auth, int64_t now)
{
    const char *key;
    json_t *val;
    void *tmp;

    /* Keep expired tokens for an hour so clients still get "expired", not
     * "invalid", for a while. */
    json_object_foreach_safe(auth->access, tmp, key, val)
    {
        if (json_integer_value(val) < now - 3600 * 1000LL)
            json_object_del(auth->access, key);
    }
}

int sim_auth_issue(struct sim_auth *auth, struct sim_rng *rng, int64_t now, int64_t lifetime_ms,
                   char *out, size_t outlen)
{
    if (json_object_size(auth->access) >= ACCESS_SWEEP_AT)
        sweep_expired(auth, now);
    sim_auth_random(rng, "sim-at-", out, outlen);
    return json_object_set_new(auth->access, out, json_integer(now + lifetime_ms));
}

size_t sim_auth_expire_all(struct sim_auth *auth, int64_t now)
{
    const char *key;
    json_t *val;
    size_t n = 0;

    json_object_foreach(auth->access, key, val)
    {
        if (json_integer_value(val) > now) {
            json_integer_set(val, now);
            n++;
        }
    }
    return n;
}

void sim_auth_expire(struct sim_auth *auth, const char *token, int64_t now)
{
    json_t *val = json_object_get(auth->access, token);

    if (val != NULL && json_integer_value(val) > now)
        json_integer_set(val, now);
}
