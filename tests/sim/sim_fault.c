#include "sim_fault.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const fault_names[SIM_FAULT_KIND_COUNT] = {
    [SIM_FAULT_NONE] = "none",
    [SIM_FAULT_500] = "500",
    [SIM_FAULT_502] = "502",
    [SIM_FAULT_503] = "503",
    [SIM_FAULT_429] = "429",
    [SIM_FAULT_429_DATE] = "429-date",
    [SIM_FAULT_SLOW] = "slow",
    [SIM_FAULT_DROP] = "drop",
    [SIM_FAULT_TRUNCATE] = "truncate",
    [SIM_FAULT_BAD_JSON] = "bad-json",
    [SIM_FAULT_TOKEN_EXPIRY] = "token-expiry",
    [SIM_FAULT_APPLY_DROP] = "apply-drop",
    [SIM_FAULT_APPLY_STALL] = "apply-stall",
    [SIM_FAULT_PROXY_PAGE] = "proxy-page",
    [SIM_FAULT_REDIRECT] = "redirect",
    [SIM_FAULT_403] = "403",
    [SIM_FAULT_404] = "404",
};

const char *sim_fault_name(enum sim_fault_kind kind)
{
    if ((int)kind < 0 || kind >= SIM_FAULT_KIND_COUNT)
        return "?";
    return fault_names[kind];
}

int sim_fault_from_name(const char *name, size_t len, enum sim_fault_kind *out)
{
    if (len == 2 && strncmp(name, "ok", 2) == 0) {
        *out = SIM_FAULT_NONE;
        return 0;
    }
    for (int k = 0; k < SIM_FAULT_KIND_COUNT; k++) {
        if (strlen(fault_names[k]) == len && strncmp(name, fault_names[k], len) == 0) {
            *out = (enum sim_fault_kind)k;
            return 0;
        }
    }
    return -1;
}

void sim_fault_clear(struct sim_fault_cfg *cfg)
{
    memset(cfg->rate, 0, sizeof(cfg->rate));
    cfg->script_len = 0;
    cfg->script_pos = 0;
    cfg->match[0] = '\0';
}

int sim_fault_parse_rates(struct sim_fault_cfg *cfg, const char *spec, char *err, size_t errlen)
{
    double rate[SIM_FAULT_KIND_COUNT] = {0};
    double sum = 0;
    const char *p = spec;

    while (*p != '\0') {
        const char *end = strchr(p, ',');
        const char *colon;
        size_t len = end ? (size_t)(end - p) : strlen(p);
        enum sim_fault_kind kind;
        char num[32];
        char *numend;
        double r;

        colon = memchr(p, ':', len);
        if (colon == NULL) {
            snprintf(err, errlen, "fault rate '%.*s': expected kind:rate", (int)len, p);
            return -1;
        }
        if (sim_fault_from_name(p, (size_t)(colon - p), &kind) != 0 || kind == SIM_FAULT_NONE) {
            snprintf(err, errlen, "unknown fault kind '%.*s'", (int)(colon - p), p);
            return -1;
        }
        if ((size_t)(p + len - colon - 1) >= sizeof(num)) {
            snprintf(err, errlen, "fault rate '%.*s': bad number", (int)len, p);
            return -1;
        }
        memcpy(num, colon + 1, (size_t)(p + len - colon - 1));
        num[p + len - colon - 1] = '\0';
        errno = 0;
        r = strtod(num, &numend);
        if (errno != 0 || numend == num || *numend != '\0' || !(r >= 0.0 && r <= 1.0)) {
            snprintf(err, errlen, "fault rate '%.*s': rate must be a number in [0,1]", (int)len, p);
            return -1;
        }
        rate[kind] = r;
        p += len;
        if (*p == ',')
            p++;
    }
    for (int k = 0; k < SIM_FAULT_KIND_COUNT; k++)
        sum += rate[k];
    if (sum > 1.0 + 1e-9) {
        snprintf(err, errlen, "fault rates sum to %.3f, more than 1", sum);
        return -1;
    }
    memcpy(cfg->rate, rate, sizeof(rate));
    return 0;
}

int sim_fault_parse_script(struct sim_fault_cfg *cfg, const char *spec, char *err, size_t errlen)
{
    enum sim_fault_kind script[SIM_FAULT_SCRIPT_MAX];
    size_t n = 0;
    const char *p = spec;

    while (*p != '\0') {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);

        if (n == SIM_FAULT_SCRIPT_MAX) {
            snprintf(err, errlen, "fault script longer than %d steps", SIM_FAULT_SCRIPT_MAX);
            return -1;
        }
        if (sim_fault_from_name(p, len, &script[n]) != 0) {
            snprintf(err, errlen, "unknown fault kind '%.*s' in script", (int)len, p);
            return -1;
        }
        n++;
        p += len;
        if (*p == ',')
            p++;
    }
    memcpy(cfg->script, script, n * sizeof(script[0]));
    cfg->script_len = n;
    cfg->script_pos = 0;
    return 0;
}

enum sim_fault_kind sim_fault_pick(struct sim_fault_cfg *cfg, struct sim_rng *rng, const char *path)
{
    double any = 0;
    double u;
    double acc = 0;

    if (cfg->match[0] != '\0' && strstr(path, cfg->match) == NULL)
        return SIM_FAULT_NONE;
    if (cfg->script_pos < cfg->script_len)
        return cfg->script[cfg->script_pos++];
    for (int k = 1; k < SIM_FAULT_KIND_COUNT; k++)
        any += cfg->rate[k];
    if (any <= 0)
        return SIM_FAULT_NONE;
    /* Exactly one draw per matching request keeps runs reproducible. */
    u = sim_rng_unit(rng);
    for (int k = 1; k < SIM_FAULT_KIND_COUNT; k++) {
        acc += cfg->rate[k];
        if (u < acc)
            return (enum sim_fault_kind)k;
    }
    return SIM_FAULT_NONE;
}
