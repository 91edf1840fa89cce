#include "http_ingest_auth.h"

#include <errno.h>
#include <jansson.h>
#include <oauth2/mem.h>
#include <oauth2/oauth2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

struct ingest_auth {
    oauth2_log_t *log;
    oauth2_cfg_token_verify_t *verify;
    char *issuer;
    char *audience;
    long leeway_s;
    char *material; /* what the key is (see ingest_auth_renew) */
    int cache_gen;  /* its result cache: CACHE_NAME, or CACHE_NAME<n> */
};

static const char *const failure_names[AUTH_FAIL_COUNT] = {
    "none", "missing", "invalid", "expired", "not_yet_valid", "issuer", "audience", "rate_limited",
};

const char *ingest_auth_failure_name(enum ingest_auth_failure f)
{
    return (unsigned)f < AUTH_FAIL_COUNT ? failure_names[f] : "?";
}

/* The token being verified on this thread, so the log sink can take it out
 * of whatever the library writes. */
static __thread const char *current_token;

static int jwt_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '=';
}

void ingest_auth_redact(const char *msg, const char *token, char *out, size_t size)
{
    size_t tlen = token != NULL ? strlen(token) : 0;
    size_t o = 0;
    const char *p = msg;

    if (size == 0)
        return;
    while (*p != '\0' && o + 1 < size) {
        size_t run = 0, dots = 0;
        if (tlen > 0 && strncmp(p, token, tlen) == 0) {
            int n = snprintf(out + o, size - o, "[token]");
            o += n > 0 ? (size_t)n : 0;
            p += tlen;
            continue;
        }
        /* A JWT: base64url segments joined by dots, or a long base64url
         * run (an opaque token or a part of one). */
        while (jwt_char(p[run])) {
            dots += p[run] == '.';
            run++;
        }
        if ((run >= 24 && dots >= 2) || run >= 40) {
            int n = snprintf(out + o, size - o, "[token]");
            o += n > 0 ? (size_t)n : 0;
            p += run;
            continue;
        }
        if (run == 0)
            run = 1;
        while (run-- > 0 && o + 1 < size)
            out[o++] = *p++;
    }
    if (o >= size)
        o = size - 1;
    out[o] = '\0';
}

static void sink_cb(oauth2_log_sink_t *sink, const char *filename, unsigned long line,
                    const char *function, oauth2_log_level_t level, const char *msg)
{
    char clean[600];

    (void)sink;
    (void)filename;
    (void)line;
    ingest_auth_redact(msg, current_token, clean, sizeof(clean));
    /* A bad token is an error to the library and an everyday event to us:
     * its complaints go out at info, the rest at debug. */
    if (level <= OAUTH2_LOG_WARN)
        log_info("ingest", NULL, "liboauth2: %s: %s", function, clean);
    else
        log_debug("ingest", NULL, "liboauth2: %s: %s", function, clean);
}

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static oauth2_log_t *global_log;
static oauth2_log_sink_t *global_sink;
static int users;
/* Our own result caches (see ingest_auth_new), named in the verify
 * options: one per key material since the start (ingest_auth_renew). */
#define CACHE_NAME "crmsync_ingest"
static int caches_ready[INGEST_AUTH_MAX_CACHES];

/* Under init_lock, after oauth2_init: makes result cache gen (once). */
static int cache_ready(int gen)
{
    char options[128];
    char *cerr;

    if (caches_ready[gen])
        return 1;
    /* The library's default result cache is 1000 slots of 8 KiB in
     * shared memory, each slot's first page touched at start (4 MB of
     * RSS), and every lookup walks all the slots under a lock. A
     * quarter of that holds the tokens of a few hundred clients; a
     * token pushed out is only verified again. */
    if (gen == 0)
        snprintf(options, sizeof(options), "name=%s&max_entries=256", CACHE_NAME);
    else
        snprintf(options, sizeof(options), "name=%s%d&max_entries=256", CACHE_NAME, gen);
    cerr = oauth2_cfg_set_cache(global_log, NULL, "shm", options);
    caches_ready[gen] = cerr == NULL;
    /* Not freed: one of the library's error strings is a literal. */
    if (cerr != NULL)
        log_warn("ingest", NULL, "liboauth2 cache %d not made, no result cache: %s", gen, cerr);
    return caches_ready[gen];
}

/* pem and pubkey: liboauth2 takes the PEM text itself, the configuration
 * names the file. */
static char *read_key_file(const char *path, struct error *err)
{
    FILE *f = fopen(path, "re");
    char *buf = NULL;
    long n;

    if (f == NULL) {
        error_set(err, "[ingest] cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (n > 0 && n < 1024 * 1024 && fseek(f, 0, SEEK_SET) == 0)
        buf = calloc(1, (size_t)n + 1);
    if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf == NULL)
        error_set(err, "[ingest] cannot read the key in %s", path);
    return buf;
}

/* Takes a share of the library's log (and its caches): the first user
 * makes them, the last one's ingest_auth_free shuts them down. */
static oauth2_log_t *log_acquire(void)
{
    oauth2_log_t *log;

    pthread_mutex_lock(&init_lock);
    if (users++ == 0) {
        oauth2_log_level_t lvl =
            log_get_level() >= LOG_LVL_DEBUG ? OAUTH2_LOG_DEBUG : OAUTH2_LOG_WARN;
        global_sink = oauth2_log_sink_create(lvl, sink_cb, NULL);
        global_log = oauth2_init(lvl, global_sink);
    }
    log = global_log;
    pthread_mutex_unlock(&init_lock);
    return log;
}

/* The key material: a reload that changes it gets a cache of its own. */
static int set_material(struct ingest_auth *a, const struct ingest_auth *prev,
                        const struct ingest_auth_options *opts, const char *value,
                        struct error *err)
{
    size_t mlen = strlen(opts->verify) + strlen(value) + 3 +
                  (opts->verify_options != NULL ? strlen(opts->verify_options) : 0);

    a->material = malloc(mlen);
    if (a->material == NULL)
        return error_set(err, "out of memory");
    snprintf(a->material, mlen, "%s\n%s\n%s", opts->verify,
             opts->verify_options != NULL ? opts->verify_options : "", value);
    a->cache_gen = 0;
    if (prev != NULL)
        a->cache_gen = prev->cache_gen + (strcmp(prev->material, a->material) != 0);
    if (a->cache_gen >= INGEST_AUTH_MAX_CACHES)
        return error_set(err,
                         "[ingest] the token verification key changed %d times since crmsyncd "
                         "started: restart it to apply (each change needs a token result cache "
                         "of its own, so that tokens verified with the old key are not taken "
                         "from the cache)",
                         a->cache_gen);
    return 0;
}

/* Hands the key and the verify options to the library, naming the result
 * cache of a's key material. */
static int add_verify(struct ingest_auth *a, const struct ingest_auth_options *opts,
                      const char *value, struct error *err)
{
    char options[2048], cache[64];
    char *rv;
    int n, ready;

    if (a->cache_gen == 0)
        snprintf(cache, sizeof(cache), "%s", CACHE_NAME);
    else
        snprintf(cache, sizeof(cache), "%s%d", CACHE_NAME, a->cache_gen);
    pthread_mutex_lock(&init_lock);
    ready = cache_ready(a->cache_gen);
    pthread_mutex_unlock(&init_lock);
    /* exp is required by the library too; the result cache lives at most
     * cache_s, and our own exp check bounds it by the token's exp. Without
     * a cache of our own: no result cache (a changed key must not find the
     * old key's results in the library's default one). */
    n = snprintf(options, sizeof(options), "verify.exp=required&expiry=%ld%s%s%s%s",
                 ready ? opts->cache_s : 0L, ready ? "&verify.cache=" : "", ready ? cache : "",
                 opts->verify_options != NULL && opts->verify_options[0] ? "&" : "",
                 opts->verify_options != NULL ? opts->verify_options : "");
    if (n < 0 || (size_t)n >= sizeof(options))
        return error_set(err, "[ingest] verify_options too long");
    rv = oauth2_cfg_token_verify_add_options(a->log, &a->verify, opts->verify, value, options);
    if (rv != NULL) {
        char clean[512];
        ingest_auth_redact(rv, NULL, clean, sizeof(clean));
        error_set(err, "[ingest] liboauth2 does not take verify = %s: %s", opts->verify, clean);
        oauth2_mem_free(rv);
        return -1;
    }
    return 0;
}

static int make_auth(const struct ingest_auth *prev, const struct ingest_auth_options *opts,
                     struct ingest_auth **out, struct error *err)
{
    char *key_text = NULL;
    const char *value;
    struct ingest_auth *a = NULL;
    int rc = -1;

    *out = NULL;
    if (opts->verify == NULL || opts->verify_value == NULL)
        return error_set(err, "[ingest] verify and verify_value are required");
    if (opts->issuer == NULL || opts->audience == NULL)
        return error_set(err, "[ingest] issuer and audience are required");
    a = calloc(1, sizeof(*a));
    if (a == NULL)
        return error_set(err, "out of memory");
    a->log = log_acquire();
    a->issuer = strdup(opts->issuer);
    a->audience = strdup(opts->audience);
    a->leeway_s = opts->leeway_s;
    if (a->issuer == NULL || a->audience == NULL) {
        error_set(err, "out of memory");
        goto out;
    }
    value = opts->verify_value;
    /* A JWK may be named by its file too: an RSA key's JWK is longer than
     * an INI line may be. */
    if (strcmp(opts->verify, "pem") == 0 || strcmp(opts->verify, "pubkey") == 0 ||
        (strcmp(opts->verify, "jwk") == 0 && opts->verify_value[0] == '/')) {
        key_text = read_key_file(opts->verify_value, err);
        if (key_text == NULL)
            goto out;
        value = key_text;
    }
    if (set_material(a, prev, opts, value, err) != 0 || add_verify(a, opts, value, err) != 0)
        goto out;
    *out = a;
    a = NULL;
    rc = 0;
out:
    free(key_text);
    ingest_auth_free(a);
    return rc;
}

int ingest_auth_new(const struct ingest_auth_options *opts, struct ingest_auth **out,
                    struct error *err)
{
    return make_auth(NULL, opts, out, err);
}

int ingest_auth_renew(const struct ingest_auth *prev, const struct ingest_auth_options *opts,
                      struct ingest_auth **out, struct error *err)
{
    return make_auth(prev, opts, out, err);
}

void ingest_auth_free(struct ingest_auth *a)
{
    if (a == NULL)
        return;
    if (a->verify != NULL)
        oauth2_cfg_token_verify_free(a->log, a->verify);
    free(a->material);
    free(a->issuer);
    free(a->audience);
    free(a);
    pthread_mutex_lock(&init_lock);
    if (--users == 0) {
        oauth2_shutdown(global_log); /* frees the sinks and the caches too */
        global_log = NULL;
        global_sink = NULL;
        memset(caches_ready, 0, sizeof(caches_ready));
    }
    pthread_mutex_unlock(&init_lock);
}

int ingest_scope_has(const char *scope, const char *name)
{
    size_t n = strlen(name);
    const char *p = scope;

    if (n == 0)
        return 0;
    while (p != NULL && *p != '\0') {
        size_t len;
        while (*p == ' ')
            p++;
        len = strcspn(p, " ");
        if (len == n && strncmp(p, name, n) == 0)
            return 1;
        p += len;
    }
    return 0;
}

static int aud_has(json_t *aud, const char *audience)
{
    size_t i;
    json_t *v;

    if (json_is_string(aud))
        return strcmp(json_string_value(aud), audience) == 0;
    json_array_foreach(aud, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), audience) == 0)
            return 1;
    }
    return 0;
}

static void copy_claim(json_t *doc, const char *const *names, char *out, size_t size)
{
    out[0] = '\0';
    for (size_t i = 0; names[i] != NULL; i++) {
        const char *v = json_string_value(json_object_get(doc, names[i]));
        if (v != NULL && v[0] != '\0') {
            snprintf(out, size, "%s", v);
            return;
        }
    }
}

static void copy_scope(json_t *doc, char *out, size_t size)
{
    json_t *scp = json_object_get(doc, "scp");
    size_t i, o = 0;
    json_t *v;

    out[0] = '\0';
    if (json_is_string(json_object_get(doc, "scope"))) {
        snprintf(out, size, "%s", json_string_value(json_object_get(doc, "scope")));
        return;
    }
    /* Some providers give the scopes as an array "scp". */
    json_array_foreach(scp, i, v)
    {
        int n;
        if (!json_is_string(v))
            continue;
        n = snprintf(out + o, size - o, "%s%s", o ? " " : "", json_string_value(v));
        if (n < 0 || (size_t)n >= size - o)
            break;
        o += (size_t)n;
    }
}

enum ingest_auth_failure ingest_auth_check_claims(const char *payload_json, const char *issuer,
                                                  const char *audience, long leeway_s, int64_t now,
                                                  struct ingest_token *tok)
{
    static const char *const client_claims[] = {"client_id", "azp", "sub", NULL};
    json_t *doc = json_loads(payload_json, 0, NULL);
    enum ingest_auth_failure f = AUTH_FAIL_INVALID;
    json_t *exp, *nbf;

    if (!json_is_object(doc))
        goto out;
    exp = json_object_get(doc, "exp");
    nbf = json_object_get(doc, "nbf");
    if (!json_is_number(exp) || (int64_t)json_number_value(exp) + leeway_s <= now) {
        f = AUTH_FAIL_EXPIRED;
        goto out;
    }
    if (nbf != NULL && (!json_is_number(nbf) || (int64_t)json_number_value(nbf) - leeway_s > now)) {
        f = AUTH_FAIL_NOT_YET;
        goto out;
    }
    if (!json_is_string(json_object_get(doc, "iss")) ||
        strcmp(json_string_value(json_object_get(doc, "iss")), issuer) != 0) {
        f = AUTH_FAIL_ISSUER;
        goto out;
    }
    if (!aud_has(json_object_get(doc, "aud"), audience)) {
        f = AUTH_FAIL_AUDIENCE;
        goto out;
    }
    tok->exp = (int64_t)json_number_value(exp);
    copy_claim(doc, client_claims, tok->client_id, sizeof(tok->client_id));
    copy_scope(doc, tok->scope, sizeof(tok->scope));
    f = AUTH_FAIL_NONE;
out:
    json_decref(doc);
    return f;
}

enum ingest_auth_failure ingest_auth_verify(struct ingest_auth *a, const char *token,
                                            struct ingest_token *tok)
{
    json_t *payload = NULL;
    char *text = NULL;
    enum ingest_auth_failure f = AUTH_FAIL_INVALID;
    bool ok;

    memset(tok, 0, sizeof(*tok));
    if (token == NULL || token[0] == '\0')
        return AUTH_FAIL_MISSING;
    current_token = token;
    ok = oauth2_token_verify(a->log, NULL, a->verify, token, &payload);
    current_token = NULL;
    if (!ok || payload == NULL)
        goto out;
    /* Checked on every answer, cached or not: the cache may hand back the
     * payload of a token that expired since it was stored. */
    text = json_dumps(payload, JSON_COMPACT);
    if (text == NULL)
        goto out;
    f = ingest_auth_check_claims(text, a->issuer, a->audience, a->leeway_s, (int64_t)time(NULL),
                                 tok);
out:
    free(text);
    json_decref(payload);
    return f;
}
