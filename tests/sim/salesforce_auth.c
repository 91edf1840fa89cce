/* Salesforce flavour: /services/oauth2/token.
 *
 * JWT bearer flow (grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer):
 * the assertion is an RS256 JWS; iss is the connected app's consumer key
 * (--client-id), sub the username (--sf-username), aud the login URL
 * (--sf-audience, or login/test.salesforce.com, or the simulator's own base
 * URL), exp not past and at most 3 minutes ahead. The signature is checked
 * with OpenSSL EVP against --sf-jwt-public-key (a PEM public key or the
 * X.509 certificate uploaded to the connected app). README.md says why this
 * is not liboauth2.
 *
 * Client credentials flow: client_id/client_secret as configured.
 *
 * The response has no expires_in (Salesforce sends none); a session lasts
 * --token-lifetime seconds, then API calls answer 401 INVALID_SESSION_ID. */
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "salesforce.h"
#include "sim_form.h"

#define JWT_GRANT "urn:ietf:params:oauth:grant-type:jwt-bearer"
#define EXP_AHEAD_MAX_S 180

int sf_auth_init(struct sim *sim, char *err, size_t errlen)
{
    struct sf_state *sf = sf_state(sim);
    const char *path = sim->opt.sf_jwt_public_key;
    EVP_PKEY *key = NULL;
    BIO *bio;

    if (path[0] == '\0')
        return 0;
    bio = BIO_new_file(path, "r");
    if (bio == NULL) {
        snprintf(err, errlen, "--sf-jwt-public-key %s: cannot open", path);
        return -1;
    }
    key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    if (key == NULL) {
        X509 *cert;

        (void)BIO_reset(bio);
        cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (cert != NULL) {
            key = X509_get_pubkey(cert);
            X509_free(cert);
        }
    }
    BIO_free(bio);
    if (key == NULL || EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
        EVP_PKEY_free(key);
        snprintf(err, errlen, "--sf-jwt-public-key %s: not a PEM RSA public key or certificate",
                 path);
        return -1;
    }
    sf->jwt_key = key;
    return 0;
}

void sf_auth_fini(struct sim *sim)
{
    struct sf_state *sf = sf_state(sim);

    EVP_PKEY_free(sf->jwt_key);
    sf->jwt_key = NULL;
}

static void token_error(struct sim_response *resp, int status, const char *error,
                        const char *description)
{
    sim_resp_json(resp, status,
                  json_pack("{s:s, s:s}", "error", error, "error_description", description));
}

/* base64url without padding -> bytes. Returns the length or -1. */
static long b64url_decode(const char *in, size_t len, unsigned char *out, size_t outcap)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)in[i], v;

        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '-')
            v = 62;
        else if (c == '_')
            v = 63;
        else
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == outcap)
                return -1;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    return (long)o;
}

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s ? s : "";
}

static json_t *decode_json_part(const char *p, size_t len)
{
    unsigned char buf[4096];
    long n = b64url_decode(p, len, buf, sizeof(buf));

    if (n < 0)
        return NULL;
    return json_loadb((const char *)buf, (size_t)n, 0, NULL);
}

static bool aud_ok(struct sim *sim, json_t *aud)
{
    char base[160];
    const char *a = json_string_value(aud);

    if (json_is_array(aud) && json_array_size(aud) == 1)
        a = json_string_value(json_array_get(aud, 0));
    if (a == NULL)
        return false;
    sf_base_url(sim, base, sizeof(base));
    if (strcmp(a, base) == 0)
        return true;
    if (sim->opt.nsf_audiences == 0)
        return strcmp(a, "https://login.salesforce.com") == 0 ||
               strcmp(a, "https://test.salesforce.com") == 0;
    for (size_t i = 0; i < sim->opt.nsf_audiences; i++) {
        if (strcmp(a, sim->opt.sf_audiences[i]) == 0)
            return true;
    }
    return false;
}

/* Checks the assertion; on failure fills resp and returns -1. */
static int check_assertion(struct sim *sim, const char *jwt, int64_t now, struct sim_response *resp)
{
    struct sf_state *sf = sf_state(sim);
    const char *dot1 = strchr(jwt, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    json_t *hdr = NULL, *claims = NULL;
    unsigned char sig[1024];
    long siglen;
    EVP_MD_CTX *ctx = NULL;
    json_t *exp;
    int rc = -1;

    if (dot1 == NULL || dot2 == NULL || strchr(dot2 + 1, '.') != NULL) {
        token_error(resp, 400, "invalid_grant", "invalid assertion");
        goto out;
    }
    hdr = decode_json_part(jwt, (size_t)(dot1 - jwt));
    claims = decode_json_part(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    siglen = b64url_decode(dot2 + 1, strlen(dot2 + 1), sig, sizeof(sig));
    if (!json_is_object(hdr) || !json_is_object(claims) || siglen <= 0) {
        token_error(resp, 400, "invalid_grant", "invalid assertion");
        goto out;
    }
    if (strcmp(jstr(hdr, "alg"), "RS256") != 0) {
        token_error(resp, 400, "invalid_grant", "invalid assertion");
        goto out;
    }
    if (sf->jwt_key == NULL) {
        token_error(resp, 400, "invalid_grant", "invalid assertion");
        goto out;
    }
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL ||
        EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, (EVP_PKEY *)sf->jwt_key) != 1 ||
        EVP_DigestVerify(ctx, sig, (size_t)siglen, (const unsigned char *)jwt,
                         (size_t)(dot2 - jwt)) != 1) {
        token_error(resp, 400, "invalid_grant", "invalid assertion");
        goto out;
    }
    if (strcmp(jstr(claims, "iss"), sim->opt.client_id) != 0) {
        token_error(resp, 400, "invalid_client_id", "client identifier invalid");
        goto out;
    }
    if (!aud_ok(sim, json_object_get(claims, "aud"))) {
        token_error(resp, 400, "invalid_grant", "audience is invalid");
        goto out;
    }
    exp = json_object_get(claims, "exp");
    if (!json_is_number(exp)) {
        token_error(resp, 400, "invalid_grant", "invalid assertion");
        goto out;
    }
    if ((int64_t)(json_number_value(exp) * 1000) <= now) {
        token_error(resp, 400, "invalid_grant", "expired assertion");
        goto out;
    }
    if ((int64_t)(json_number_value(exp) * 1000) > now + EXP_AHEAD_MAX_S * 1000) {
        token_error(resp, 400, "invalid_grant", "invalid assertion: exp more than 3 minutes ahead");
        goto out;
    }
    if (strcmp(jstr(claims, "sub"), sim->opt.sf_username) != 0) {
        token_error(resp, 400, "invalid_grant", "user hasn't approved this consumer");
        goto out;
    }
    rc = 0;
out:
    EVP_MD_CTX_free(ctx);
    json_decref(hdr);
    json_decref(claims);
    return rc;
}

static void issue(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    char token[96], base[160], id[256], issued[24], sig_b64[64];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    char signed_text[300];
    uint64_t a = sim_rng_next(&sim->rng), b = sim_rng_next(&sim->rng);

    /* Salesforce session ids are "<org id>!<opaque>". */
    snprintf(token, sizeof(token), "00DSm0000000001!AQ%016llx%016llx", (unsigned long long)a,
             (unsigned long long)b);
    json_object_set_new(sim->auth.access, token,
                        json_integer(req->now_ms + sim->opt.token_lifetime_s * 1000));
    sf_base_url(sim, base, sizeof(base));
    snprintf(id, sizeof(id), "%s/id/00DSm0000000001AAA/005Sm0000000001AAA", base);
    snprintf(issued, sizeof(issued), "%lld", (long long)req->now_ms);
    /* signature: HMAC-SHA256 of id + issued_at keyed by the consumer
     * secret, base64, as the OAuth guide documents. */
    snprintf(signed_text, sizeof(signed_text), "%s%s", id, issued);
    HMAC(EVP_sha256(), sim->opt.client_secret, (int)strlen(sim->opt.client_secret),
         (const unsigned char *)signed_text, strlen(signed_text), mac, &maclen);
    EVP_EncodeBlock((unsigned char *)sig_b64, mac, (int)maclen);
    sim_resp_json(resp, 200,
                  json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "access_token", token,
                            "signature", sig_b64, "scope", "api", "instance_url", base, "id", id,
                            "token_type", "Bearer", "issued_at", issued));
}

void sf_oauth_token(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    const char *ctype = sim_req_header(req, "Content-Type");
    char grant[128], cid[256], secret[256];
    char *assertion = NULL;
    int g, c, s, a;

    sim_resp_header(resp, "Cache-Control", "no-cache,must-revalidate,max-age=0,no-store,private");
    if (ctype == NULL || strncasecmp(ctype, "application/x-www-form-urlencoded", 33) != 0) {
        token_error(resp, 400, "invalid_request", "grant type not supported");
        return;
    }
    assertion = malloc(req->body_len + 1);
    if (assertion == NULL) {
        token_error(resp, 500, "server_error", "out of memory");
        return;
    }
    g = sim_form_get(req->body, req->body_len, "grant_type", grant, sizeof(grant));
    c = sim_form_get(req->body, req->body_len, "client_id", cid, sizeof(cid));
    s = sim_form_get(req->body, req->body_len, "client_secret", secret, sizeof(secret));
    a = sim_form_get(req->body, req->body_len, "assertion", assertion, req->body_len + 1);
    if (g <= 0 || c < 0 || s < 0 || a < 0) {
        token_error(resp, 400, "unsupported_grant_type", "grant type not supported");
    } else if (strcmp(grant, JWT_GRANT) == 0) {
        if (a == 0)
            token_error(resp, 400, "invalid_request", "assertion required");
        else if (check_assertion(sim, assertion, req->now_ms, resp) == 0)
            issue(sim, req, resp);
    } else if (strcmp(grant, "client_credentials") == 0) {
        if (c == 0 || s == 0 || strcmp(cid, sim->opt.client_id) != 0 ||
            strcmp(secret, sim->opt.client_secret) != 0)
            token_error(resp, 400, "invalid_client", "invalid client credentials");
        else
            issue(sim, req, resp);
    } else {
        token_error(resp, 400, "unsupported_grant_type", "grant type not supported");
    }
    free(assertion);
}
