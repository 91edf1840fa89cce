/* crmsim core: what a flavour sees.
 *
 * A flavour (HubSpot, Salesforce, ...) is one static `struct sim_flavor_ops`:
 * a table of routes plus a few hooks (admission = auth and rate limits,
 * error body shape, dump/seed/reset of its own state). The core owns the HTTP
 * server (libmicrohttpd), the record store, tokens, fault injection, the
 * control endpoint (/__sim/...), counters and request logging.
 *
 * Locking: the core takes sim->lock around a flavour's admit hook and its
 * route handler, so handlers touch the store, the tokens and their own
 * flavour data without further locking. Handlers never sleep. */
#ifndef CRMSIM_SIM_H
#define CRMSIM_SIM_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_auth.h"
#include "sim_fault.h"
#include "sim_options.h"
#include "sim_rng.h"

struct sim;

#define SIM_MAX_CAPS 4
#define SIM_MAX_RESP_HEADERS 16

/* One parsed request, as handlers see it. Strings are borrowed. */
struct sim_request {
    const char *method;
    const char *path; /* without the query string */
    const char *body;
    size_t body_len;
    const char *bearer;             /* token from "Authorization: Bearer", or NULL */
    const char *caps[SIM_MAX_CAPS]; /* path segments matched by "*" */
    size_t ncaps;
    int64_t now_ms;   /* simulated wall clock (real clock + control offset) */
    void *conn;       /* the MHD connection; use sim_req_query()/sim_req_header() */
    void *flavor_ctx; /* set by admit for the handler, e.g. the token used */
    /* A JSON body parsed by the core before it takes sim->lock, or NULL;
     * sim_req_json() hands out a reference instead of parsing again. */
    json_t *body_json;
    /* What the flavour's prepare hook made of the body, or NULL (the core
     * then parses it into body_json as usual). */
    void *prepared;
};

struct sim_response {
    int status;
    json_t *json; /* owned; serialised compactly */
    char *text;   /* owned raw body, used when json is NULL */
    size_t text_len;
    const char *content_type; /* static string; default application/json */
    struct {
        char name[64];
        char value[160];
    } headers[SIM_MAX_RESP_HEADERS];
    size_t nheaders;
    size_t records_in; /* records the request carried (batch inputs, search results) */
    size_t written;    /* records created/updated/archived by the request */
    /* What the request did when its path does not say it (a SOAP flavour's
     * "urn#Method"); the request log adds it as " op=<note>". */
    char note[96];
};

typedef void (*sim_handler_fn)(struct sim *sim, struct sim_request *req, struct sim_response *resp);

/* Pattern syntax: literal segments, "*" captures one segment into
 * req->caps, "@family" matches any version segment the flavour accepts for
 * that API family (see struct sim_version_family), so that a vendor's
 * date-versioned paths are one table entry to change. */
struct sim_route {
    const char *method;
    const char *pattern;
    const char *name; /* counter key, e.g. "contacts.batch.upsert" */
    unsigned flags;   /* flavour-defined (auth kind, rate-limit class) */
    sim_handler_fn handler;
};

struct sim_version_family {
    const char *family;          /* "objects", "lists", ... */
    const char *const *accepted; /* NULL-terminated; first is the current one */
};

/* A legacy path prefix served as another ("/crm/v3/objects/" ->
 * "/crm/objects/2026-09/"), for APIs whose old versions put the version
 * segment elsewhere. Requests keep their original path in logs. */
struct sim_alias {
    const char *from;
    const char *to;
};

#define SIM_FLAVOR_OPS_VERSION 2

/* New hooks are appended, never reordered; `version` says which exist. */
struct sim_flavor_ops {
    int version;
    const char *name;
    const struct sim_route *routes;
    size_t nroutes;
    const struct sim_version_family *families; /* terminated by {NULL, NULL} */
    /* Creates sim->flavor_data from sim->opt. Returns 0 or -1 (message in err). */
    int (*init)(struct sim *sim, char *err, size_t errlen);
    void (*fini)(struct sim *sim);
    /* Auth and rate limits for one route. Returns 0 to run the handler, or
     * 1 when it filled resp (401, 429, ...). May add headers either way. */
    int (*admit)(struct sim *sim, const struct sim_route *route, struct sim_request *req,
                 struct sim_response *resp);
    /* Fills resp with the vendor's error body. category may be NULL. */
    void (*error)(struct sim_response *resp, int status, const char *category, const char *message);
    /* Flavour data beyond the store's collections (lists, definitions, ...),
     * dumped under "flavor" and seeded from the same shape. */
    json_t *(*dump)(struct sim *sim);
    int (*seed)(struct sim *sim, json_t *flavor_state, char *err, size_t errlen);
    void (*reset)(struct sim *sim);
    /* Answers a 401 the way the vendor does for an expired token; used by
     * the "token_expiry" fault. */
    void (*expired)(struct sim *sim, struct sim_response *resp);
    /* Legacy path prefixes, terminated by {NULL, NULL}; may be NULL. */
    const struct sim_alias *aliases;
    /* Version 2. Called without sim->lock, before admit, for a request with
     * a JSON body: may turn the body into what the route's handler wants
     * (req->prepared), so that parsing runs on the server threads in
     * parallel. Must not touch shared state. NULL: not prepared. `release`
     * frees it after the handler, again without the lock. May be NULL. */
    void *(*prepare)(const struct sim_route *route, const struct sim_request *req);
    void (*release)(const struct sim_route *route, void *prepared);
};

struct sim_route_stats {
    _Atomic uint64_t requests;
    _Atomic uint64_t errors; /* status >= 400, faults included */
    _Atomic uint64_t records_in;
    _Atomic uint64_t written;
};

struct sim_store;

struct sim {
    const struct sim_flavor_ops *flavor;
    struct sim_options opt; /* live-changeable through /__sim/config (under lock) */
    pthread_mutex_t lock;
    struct sim_store *store;
    struct sim_auth auth;
    struct sim_fault_cfg faults;
    struct sim_rng rng;
    void *flavor_data;
    _Atomic int64_t clock_offset_ms;
    _Atomic int64_t clock_frozen_ms; /* nonzero: the wall clock reads this */
    struct sim_route_stats *stats;   /* one per flavour route */
    struct sim_route_stats unmatched;
    _Atomic uint64_t requests_total;
    _Atomic uint64_t written_total;
    _Atomic uint64_t faults_injected[SIM_FAULT_KIND_COUNT];
    void *mhd; /* struct MHD_Daemon */
    uint16_t port;
};

/* --- core services for flavours --- */

int64_t sim_now_ms(struct sim *sim);

const char *sim_req_query(const struct sim_request *req, const char *name);
const char *sim_req_header(const struct sim_request *req, const char *name);
/* Parses the body as JSON; on failure fills resp with a 400 via the
 * flavour's error hook and returns NULL. */
json_t *sim_req_json(struct sim *sim, const struct sim_request *req, struct sim_response *resp);

void sim_resp_json(struct sim_response *resp, int status, json_t *body_take);
void sim_resp_empty(struct sim_response *resp, int status);
void sim_resp_header(struct sim_response *resp, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sim_resp_error(struct sim *sim, struct sim_response *resp, int status, const char *category,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void sim_resp_reset(struct sim_response *resp);

/* Matches path against pattern (see struct sim_route). Captures point into
 * buf (a copy of path). Pure; unit-tested. Returns 1 on match. */
int sim_route_match(const char *pattern, const char *path,
                    const struct sim_version_family *families, char *buf, size_t bufsize,
                    const char **caps, size_t *ncaps);

/* Registered flavours (one line each in sim_flavors.c). */
const struct sim_flavor_ops *sim_flavor_find(const char *name);
extern const struct sim_flavor_ops sim_flavor_hubspot;
extern const struct sim_flavor_ops sim_flavor_salesforce;
extern const struct sim_flavor_ops sim_flavor_adobe;

/* Lifecycle (sim_server.c). */
int sim_init(struct sim *sim, const struct sim_flavor_ops *flavor, char *err, size_t errlen);
int sim_start(struct sim *sim, char *err, size_t errlen);
void sim_stop(struct sim *sim);
void sim_fini(struct sim *sim);

/* Control endpoint (sim_control.c): handles /__sim/... Caller holds no lock. */
void sim_control(struct sim *sim, struct sim_request *req, struct sim_response *resp);

#endif
