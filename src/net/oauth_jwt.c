/* RS256 JWT bearer assertion, as Salesforce's OAuth 2.0 JWT bearer flow and
 * RFC 7523 §3 describe it: iss = the client id (consumer key), sub = the
 * user, aud = the authorization server, exp a few minutes ahead. */
#include "oauth_jwt.h"

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

char *oauth_base64url(const unsigned char *data, size_t len)
{
    size_t cap = 4 * ((len + 2) / 3) + 1;
    char *out = malloc(cap);
    size_t n = 0;
    size_t i = 0;

    if (out == NULL)
        return NULL;
    n = (size_t)EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = '\0';
    for (i = 0; i < n; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
    return out;
}

static char *json_b64(json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *b64 = NULL;

    if (text == NULL)
        return NULL;
    b64 = oauth_base64url((const unsigned char *)text, strlen(text));
    free(text);
    return b64;
}

/* The signing input: base64url(header) "." base64url(claims). */
static char *signing_input(const char *iss, const char *sub, const char *aud, time_t now,
                           long lifetime_s, struct error *err)
{
    json_t *header = json_pack("{s:s, s:s}", "alg", "RS256", "typ", "JWT");
    json_t *claims = json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", iss, "sub", sub, "aud", aud,
                               "exp", (json_int_t)(now + lifetime_s), "iat", (json_int_t)now);
    char *h64 = NULL;
    char *c64 = NULL;
    char *input = NULL;
    size_t inlen;

    if (header == NULL || claims == NULL) {
        error_set(err, "cannot build JWT claims");
        goto out;
    }
    h64 = json_b64(header);
    c64 = json_b64(claims);
    if (h64 != NULL && c64 != NULL) {
        inlen = strlen(h64) + 1 + strlen(c64);
        input = malloc(inlen + 1);
    }
    if (input == NULL) {
        error_set(err, "out of memory");
        goto out;
    }
    snprintf(input, inlen + 1, "%s.%s", h64, c64);
out:
    json_decref(header);
    json_decref(claims);
    free(h64);
    free(c64);
    return input;
}

/* The RSA private key in key_pem, or NULL. */
static EVP_PKEY *read_rsa_key(const char *key_pem, size_t key_len, struct error *err)
{
    BIO *bio = BIO_new_mem_buf(key_pem, (int)key_len);
    EVP_PKEY *pkey = NULL;

    if (bio == NULL) {
        error_set(err, "out of memory");
        return NULL;
    }
    pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (pkey == NULL) {
        error_set(err, "private key is not a readable PEM key");
    } else if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
        error_set(err, "private key is not an RSA key (RS256 needs one)");
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    return pkey;
}

/* base64url of the RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature of
 * input, or NULL. */
static char *sign_rs256(EVP_PKEY *pkey, const char *input, struct error *err)
{
    size_t inlen = strlen(input);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *sig = NULL;
    size_t siglen = 0;
    char *s64 = NULL;

    if (md == NULL)
        goto oom;
    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) != 1 ||
        EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)input, inlen) != 1) {
        error_set(err, "RS256 signing failed");
        goto out;
    }
    sig = malloc(siglen);
    if (sig == NULL)
        goto oom;
    if (EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input, inlen) != 1) {
        error_set(err, "RS256 signing failed");
        goto out;
    }
    s64 = oauth_base64url(sig, siglen);
    if (s64 == NULL)
        goto oom;
    goto out;
oom:
    error_set(err, "out of memory");
out:
    free(sig);
    EVP_MD_CTX_free(md);
    return s64;
}

char *oauth_jwt_rs256(const char *key_pem, size_t key_len, const char *iss, const char *sub,
                      const char *aud, time_t now, long lifetime_s, struct error *err)
{
    char *input = NULL;
    char *s64 = NULL;
    char *jwt = NULL;
    EVP_PKEY *pkey = NULL;
    size_t cap;

    input = signing_input(iss, sub, aud, now, lifetime_s, err);
    if (input == NULL)
        goto out;
    pkey = read_rsa_key(key_pem, key_len, err);
    if (pkey == NULL)
        goto out;
    s64 = sign_rs256(pkey, input, err);
    if (s64 == NULL)
        goto out;
    cap = strlen(input) + 1 + strlen(s64) + 1;
    jwt = malloc(cap);
    if (jwt == NULL) {
        error_set(err, "out of memory");
        goto out;
    }
    snprintf(jwt, cap, "%s.%s", input, s64);
out:
    free(input);
    free(s64);
    EVP_PKEY_free(pkey); /* frees (and clears) the key material */
    return jwt;
}
