/* HTTP ingest: the settings in effect (struct ingest_live in
 * http_ingest_internal.h) and their reload. What a reload may change is one
 * immutable, reference-counted set; a request holds the set it started
 * with, http_ingest_reload() swaps in a new one on the loop, and the last
 * holder of an old set frees it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr_limit.h"
#include "http_ingest.h"
#include "http_ingest_auth.h"
#include "http_ingest_head.h"
#include "http_ingest_internal.h"
#include "log.h"

/* The strings of the options, as pointers to their places, so that the
 * listener keeps copies of its own: the configuration they came from is
 * freed by a reload while the listener keeps running. */
static size_t option_strings(struct http_ingest_options *o, const char ***out, size_t max)
{
    const char **all[] = {&o->listen,
                          &o->tls_cert,
                          &o->tls_key,
                          &o->origin,
                          &o->scopes[INGEST_SCOPE_CONSENT],
                          &o->scopes[INGEST_SCOPE_POINTS],
                          &o->scopes[INGEST_SCOPE_PROFILE],
                          &o->scopes[INGEST_SCOPE_ERASURE],
                          &o->scopes[INGEST_SCOPE_MEMBERS],
                          &o->auth.verify,
                          &o->auth.verify_value,
                          &o->auth.verify_options,
                          &o->auth.issuer,
                          &o->auth.audience,
                          &o->state_path};
    size_t n = sizeof(all) / sizeof(all[0]);

    for (size_t i = 0; i < n && i < max; i++)
        out[i] = all[i];
    return n < max ? n : max;
}

void http_ingest_options_free(struct http_ingest_options *o)
{
    const char **s[16];
    size_t n = option_strings(o, s, 16);

    for (size_t i = 0; i < n; i++) {
        free((char *)*s[i]);
        *s[i] = NULL;
    }
}

int http_ingest_options_copy(struct http_ingest_options *o)
{
    const char **s[16];
    size_t n = option_strings(o, s, 16);
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        if (*s[i] == NULL)
            continue;
        *s[i] = strdup(*s[i]);
        if (*s[i] == NULL)
            rc = -1;
    }
    return rc;
}

/* --- the settings in effect (see struct ingest_live) ----------------------- */

static void live_free(struct ingest_live *L)
{
    if (L == NULL)
        return;
    ingest_auth_free(L->auth);
    addr_limit_free(L->bad_tokens);
    http_ingest_options_free(&L->o);
    free(L);
}

/* A set for o (copied), its verifier made next to prev's (NULL at the
 * start: see ingest_auth_renew). One reference. */
struct ingest_live *http_ingest_live_new(const struct http_ingest_options *o,
                                         const struct ingest_auth *prev, struct error *err)
{
    struct ingest_live *L = calloc(1, sizeof(*L));

    if (L == NULL) {
        error_set(err, "out of memory");
        return NULL;
    }
    L->refs = 1;
    L->o = *o;
    if (http_ingest_options_copy(&L->o) != 0) {
        error_set(err, "out of memory");
        goto fail;
    }
    if ((prev != NULL ? ingest_auth_renew(prev, &L->o.auth, &L->auth, err)
                      : ingest_auth_new(&L->o.auth, &L->auth, err)) != 0)
        goto fail;
    /* A new set counts bad tokens afresh (a reload forgets the counts). */
    L->bad_tokens = addr_limit_new(L->o.bad_token_limit);
    if (L->o.bad_token_limit > 0 && L->bad_tokens == NULL) {
        error_set(err, "out of memory");
        goto fail;
    }
    return L;
fail:
    live_free(L);
    return NULL;
}

/* On a request thread, once its headers are in. */
struct ingest_live *http_ingest_live_take(struct http_ingest *h)
{
    struct ingest_live *L;

    pthread_mutex_lock(&h->lock);
    L = h->live;
    L->refs++;
    pthread_mutex_unlock(&h->lock);
    return L;
}

void http_ingest_live_drop(struct http_ingest *h, struct ingest_live *L)
{
    int last;

    if (L == NULL)
        return;
    pthread_mutex_lock(&h->lock);
    last = --L->refs == 0;
    pthread_mutex_unlock(&h->lock);
    if (last)
        live_free(L);
}

static int options_str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

/* 1 when what only a restart changes differs between a and b; names
 * lists them. */
static int restart_only_changed(const struct http_ingest_options *a,
                                const struct http_ingest_options *b, char *names, size_t size)
{
    struct {
        const char *name;
        int differs;
    } f[] = {
        {"listen", !options_str_eq(a->listen, b->listen)},
        {"tls_cert", !options_str_eq(a->tls_cert, b->tls_cert)},
        {"tls_key", !options_str_eq(a->tls_key, b->tls_key)},
        {"max_connections", a->max_connections != b->max_connections},
        {"per_ip_connections", a->per_ip_connections != b->per_ip_connections},
    };
    size_t used = 0;
    int any = 0;

    names[0] = '\0';
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        int n;
        if (!f[i].differs)
            continue;
        n = snprintf(names + used, size - used, "%s%s", any ? ", " : "", f[i].name);
        if (n > 0 && (size_t)n < size - used)
            used += (size_t)n;
        any = 1;
    }
    return any;
}

int http_ingest_reload(struct http_ingest *h, const struct http_ingest_options *next,
                       struct error *err)
{
    struct http_ingest_options o = *next;
    struct ingest_live *L, *old;
    char names[128];
    int had_backlog = h->live->o.max_backlog > 0;

    if (restart_only_changed(&h->o, next, names, sizeof(names)))
        log_warn("ingest", NULL,
                 "[ingest] %s changed: the HTTP ingest on %s keeps the old value until crmsyncd "
                 "restarts (libmicrohttpd holds its socket, TLS credentials and connection "
                 "limits from its start); the rest of [ingest] is applied",
                 names, http_ingest_address(h));
    /* What only a restart changes stays as started, so that the set says
     * what is in effect. */
    o.listen = h->o.listen;
    o.tls_cert = h->o.tls_cert;
    o.tls_key = h->o.tls_key;
    o.max_connections = h->o.max_connections;
    o.per_ip_connections = h->o.per_ip_connections;
    o.origin = h->o.origin;
    o.state_path = h->o.state_path;
    o.busy_timeout_ms = h->o.busy_timeout_ms;
    L = http_ingest_live_new(&o, h->live->auth, err);
    if (L == NULL)
        return -1;
    pthread_mutex_lock(&h->lock);
    old = h->live;
    h->live = L;
    if (L->o.max_backlog <= 0)
        h->over_backlog = 0;
    pthread_mutex_unlock(&h->lock);
    http_ingest_live_drop(h, old);
    head_watch_set_timeout(h->heads, L->o.header_timeout_ms);
    if (L->o.max_backlog > 0 && !had_backlog)
        uv_timer_start(&h->backlog_timer, http_ingest_backlog_cb, 0, BACKLOG_CHECK_MS);
    else if (L->o.max_backlog <= 0 && had_backlog)
        uv_timer_stop(&h->backlog_timer);
    log_notice("ingest", NULL,
               "[ingest] reloaded: limits, timeouts, scopes and token verification apply to "
               "requests whose headers arrive from now on");
    return 0;
}

const char *http_ingest_address(const struct http_ingest *h)
{
    return h->ls.address;
}

const struct http_ingest_options *http_ingest_options(const struct http_ingest *h)
{
    return &h->live->o;
}
