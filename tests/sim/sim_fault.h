/* Fault injection: which fault (if any) a request gets. Pure logic over a
 * config and a seeded RNG; the server (sim_server.c) carries the fault out.
 *
 * Two sources, both settable on the command line and live via /__sim/faults:
 *  - a script: a list of kinds consumed in order, one per matching request
 *    ("503,ok,drop" = first matching request 503, second normal, third
 *    dropped); when the script is used up, rates apply;
 *  - rates: a probability per kind ("503:0.05,slow:0.1"), one RNG draw per
 *    matching request, so a run with the same --seed and the same request
 *    order injects the same faults.
 * `match` restricts faults to paths containing that substring. */
#ifndef CRMSIM_FAULT_H
#define CRMSIM_FAULT_H

#include <stddef.h>
#include <stdint.h>

#include "sim_rng.h"

enum sim_fault_kind {
    SIM_FAULT_NONE = 0,
    SIM_FAULT_500,
    SIM_FAULT_502,
    SIM_FAULT_503,
    SIM_FAULT_429,          /* 429 with Retry-After: <seconds> */
    SIM_FAULT_429_DATE,     /* 429 with Retry-After: <HTTP-date> */
    SIM_FAULT_SLOW,         /* wait slow_ms, then answer normally */
    SIM_FAULT_DROP,         /* close the connection, no response, nothing applied */
    SIM_FAULT_TRUNCATE,     /* full Content-Length declared, half the body sent, close */
    SIM_FAULT_BAD_JSON,     /* normal status, body cut to half a JSON document */
    SIM_FAULT_TOKEN_EXPIRY, /* 401 as the vendor answers an expired token */
    SIM_FAULT_APPLY_DROP,   /* the request is applied, then the connection dropped */
    SIM_FAULT_APPLY_STALL,  /* applied, then no answer for stall_ms, then dropped */
    SIM_FAULT_PROXY_PAGE,   /* 200 with an HTML page (a proxy's), nothing applied */
    SIM_FAULT_REDIRECT,     /* 302 to another host, nothing applied */
    SIM_FAULT_403,          /* 403 as the vendor answers a token without the scope */
    SIM_FAULT_404,          /* 404 as for an object or URL that does not exist */
    SIM_FAULT_KIND_COUNT
};

#define SIM_FAULT_SCRIPT_MAX 256

struct sim_fault_cfg {
    double rate[SIM_FAULT_KIND_COUNT];
    enum sim_fault_kind script[SIM_FAULT_SCRIPT_MAX];
    size_t script_len;
    size_t script_pos;
    char match[128];
};

const char *sim_fault_name(enum sim_fault_kind kind);
/* Accepts the names above and "ok" for SIM_FAULT_NONE. Returns 0 or -1. */
int sim_fault_from_name(const char *name, size_t len, enum sim_fault_kind *out);

/* "503:0.05,slow:0.1"; replaces all rates. Rates must be in [0,1] and sum to
 * at most 1. Returns 0, or -1 with a message in err. */
int sim_fault_parse_rates(struct sim_fault_cfg *cfg, const char *spec, char *err, size_t errlen);
/* "503,ok,drop"; replaces the script and rewinds it. */
int sim_fault_parse_script(struct sim_fault_cfg *cfg, const char *spec, char *err, size_t errlen);
void sim_fault_clear(struct sim_fault_cfg *cfg);

/* The fault for one request on `path`. */
enum sim_fault_kind sim_fault_pick(struct sim_fault_cfg *cfg, struct sim_rng *rng,
                                   const char *path);

#endif
