/* The test-only control endpoint, /__sim/...: state dump/seed/reset,
 * counters, live config and faults, tokens, and the simulated clock. It
 * bypasses auth, rate limits, faults and counters. Answers are plain JSON
 * (not vendor-shaped); errors are {"error": "..."} with 400/404. */
#include <stdio.h>
#include <string.h>

#include "sim.h"
#include "sim_store.h"
#include "sim_time.h"

static void control_error(struct sim_response *resp, int status, const char *msg)
{
    sim_resp_json(resp, status, json_pack("{s:s}", "error", msg));
}

static json_t *counters_json(struct sim *sim)
{
    const struct sim_flavor_ops *fl = sim->flavor;
    json_t *eps = json_object();
    json_t *faults = json_object();

    for (size_t i = 0; i <= fl->nroutes; i++) {
        struct sim_route_stats *st = i < fl->nroutes ? &sim->stats[i] : &sim->unmatched;
        const char *name = i < fl->nroutes ? fl->routes[i].name : "unmatched";
        uint64_t n = atomic_load(&st->requests);
        json_t *prev;

        if (n == 0)
            continue;
        /* Several routes may share a name (v3 alias and dated path): sum. */
        prev = json_object_get(eps, name);
        if (prev != NULL) {
            json_object_set_new(prev, "requests",
                                json_integer(json_integer_value(json_object_get(prev, "requests")) +
                                             (json_int_t)n));
            json_object_set_new(prev, "errors",
                                json_integer(json_integer_value(json_object_get(prev, "errors")) +
                                             (json_int_t)atomic_load(&st->errors)));
            json_object_set_new(prev, "records",
                                json_integer(json_integer_value(json_object_get(prev, "records")) +
                                             (json_int_t)atomic_load(&st->records_in)));
            json_object_set_new(prev, "written",
                                json_integer(json_integer_value(json_object_get(prev, "written")) +
                                             (json_int_t)atomic_load(&st->written)));
            continue;
        }
        json_object_set_new(eps, name,
                            json_pack("{s:I, s:I, s:I, s:I}", "requests", (json_int_t)n, "errors",
                                      (json_int_t)atomic_load(&st->errors), "records",
                                      (json_int_t)atomic_load(&st->records_in), "written",
                                      (json_int_t)atomic_load(&st->written)));
    }
    for (int k = 1; k < SIM_FAULT_KIND_COUNT; k++) {
        uint64_t n = atomic_load(&sim->faults_injected[k]);

        if (n > 0)
            json_object_set_new(faults, sim_fault_name((enum sim_fault_kind)k),
                                json_integer((json_int_t)n));
    }
    return json_pack("{s:I, s:I, s:o, s:o}", "requests_total",
                     (json_int_t)atomic_load(&sim->requests_total), "records_written_total",
                     (json_int_t)atomic_load(&sim->written_total), "endpoints", eps, "faults",
                     faults);
}

static void counters_reset(struct sim *sim)
{
    for (size_t i = 0; i < sim->flavor->nroutes; i++) {
        atomic_store(&sim->stats[i].requests, 0);
        atomic_store(&sim->stats[i].errors, 0);
        atomic_store(&sim->stats[i].records_in, 0);
        atomic_store(&sim->stats[i].written, 0);
    }
    atomic_store(&sim->unmatched.requests, 0);
    atomic_store(&sim->unmatched.errors, 0);
    atomic_store(&sim->unmatched.records_in, 0);
    atomic_store(&sim->unmatched.written, 0);
    atomic_store(&sim->requests_total, 0);
    atomic_store(&sim->written_total, 0);
    for (int k = 0; k < SIM_FAULT_KIND_COUNT; k++)
        atomic_store(&sim->faults_injected[k], 0);
}

static json_t *state_json(struct sim *sim, int64_t now)
{
    char t[32];

    return json_pack("{s:s, s:s, s:o, s:o}", "flavor", sim->flavor->name, "now",
                     sim_time_format(now, t, sizeof(t)), "collections", sim_store_dump(sim->store),
                     "flavor_state", sim->flavor->dump(sim));
}

static json_t *faults_json(const struct sim_fault_cfg *f)
{
    json_t *rates = json_object();
    json_t *script = json_array();

    for (int k = 1; k < SIM_FAULT_KIND_COUNT; k++) {
        if (f->rate[k] > 0)
            json_object_set_new(rates, sim_fault_name((enum sim_fault_kind)k),
                                json_real(f->rate[k]));
    }
    for (size_t i = f->script_pos; i < f->script_len; i++)
        json_array_append_new(script, json_string(sim_fault_name(f->script[i])));
    return json_pack("{s:o, s:o, s:s}", "rates", rates, "script_remaining", script, "match",
                     f->match);
}

/* Applies {"name": value, ...} to the live options; faults re-parsed. */
static int apply_config(struct sim *sim, json_t *body, char *err, size_t errlen)
{
    struct sim_options opt = sim->opt;
    struct sim_fault_cfg faults = sim->faults;
    const char *key;
    json_t *val;

    if (!json_is_object(body)) {
        snprintf(err, errlen, "expected a JSON object of option: value");
        return -1;
    }
    json_object_foreach(body, key, val)
    {
        char text[2048];

        if (json_is_string(val))
            snprintf(text, sizeof(text), "%s", json_string_value(val));
        else if (json_is_integer(val))
            snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(val));
        else if (json_is_boolean(val))
            snprintf(text, sizeof(text), "%s", json_is_true(val) ? "true" : "false");
        else {
            snprintf(err, errlen, "option '%s': expected a string, integer or boolean", key);
            return -1;
        }
        if (sim_options_set(&opt, key, text, true, err, errlen) != 0)
            return -1;
        if (strcmp(key, "faults") == 0 &&
            sim_fault_parse_rates(&faults, opt.faults, err, errlen) != 0)
            return -1;
        if (strcmp(key, "fault-script") == 0 &&
            sim_fault_parse_script(&faults, opt.fault_script, err, errlen) != 0)
            return -1;
        if (strcmp(key, "fault-match") == 0)
            snprintf(faults.match, sizeof(faults.match), "%s", opt.fault_match);
    }
    sim->opt = opt;
    sim->faults = faults;
    return 0;
}

static void do_seed(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    char err[512];
    json_error_t jerr;
    json_t *body = json_loadb(req->body, req->body_len, 0, &jerr);
    json_t *colls;

    if (!json_is_object(body)) {
        json_decref(body);
        control_error(resp, 400, "expected the JSON shape of GET /__sim/state");
        return;
    }
    colls = json_object_get(body, "collections");
    if ((colls != NULL && sim_store_seed(sim->store, colls, req->now_ms, err, sizeof(err)) != 0) ||
        sim->flavor->seed(sim, json_object_get(body, "flavor_state"), err, sizeof(err)) != 0) {
        control_error(resp, 400, err);
    } else {
        size_t n = 0;

        for (size_t i = 0; i < sim->store->ncolls; i++)
            n += sim->store->colls[i]->n;
        sim_resp_json(resp, 200, json_pack("{s:I}", "records", (json_int_t)n));
    }
    json_decref(body);
}

static void do_clock(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    char t[32];

    if (strcmp(req->method, "POST") == 0) {
        json_t *body = json_loadb(req->body, req->body_len, 0, NULL);
        json_t *adv = json_object_get(body, "advance_ms");
        json_t *off = json_object_get(body, "offset_ms");
        json_t *freeze = json_object_get(body, "freeze");

        /* Freezing pins the wall clock at its current reading, so rate
         * windows and expiries move only when a test advances the clock. */
        if (json_is_true(freeze) && atomic_load(&sim->clock_frozen_ms) == 0)
            atomic_store(&sim->clock_frozen_ms, sim_time_wall_ms());
        else if (json_is_false(freeze))
            atomic_store(&sim->clock_frozen_ms, 0);
        if (json_is_integer(adv))
            atomic_fetch_add(&sim->clock_offset_ms, json_integer_value(adv));
        else if (json_is_integer(off))
            atomic_store(&sim->clock_offset_ms, json_integer_value(off));
        else if (freeze == NULL) {
            json_decref(body);
            control_error(resp, 400,
                          "expected {\"advance_ms\": N}, {\"offset_ms\": N} or {\"freeze\": B}");
            return;
        }
        json_decref(body);
    }
    sim_resp_json(resp, 200,
                  json_pack("{s:s, s:I, s:I, s:b}", "now",
                            sim_time_format(sim_now_ms(sim), t, sizeof(t)), "now_ms",
                            (json_int_t)sim_now_ms(sim), "offset_ms",
                            (json_int_t)atomic_load(&sim->clock_offset_ms), "frozen",
                            atomic_load(&sim->clock_frozen_ms) != 0));
}

static void do_tokens(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    json_t *body = json_loadb(req->body, req->body_len, 0, NULL);
    const char *tok = json_string_value(json_object_get(body, "token"));
    const char *rt = json_string_value(json_object_get(body, "refresh_token"));
    int rc = 0;

    if (tok == NULL && rt == NULL) {
        control_error(resp, 400, "expected {\"token\": T} and/or {\"refresh_token\": R}");
        json_decref(body);
        return;
    }
    if (tok != NULL)
        rc |= sim_auth_add_static(&sim->auth, tok);
    if (rt != NULL)
        rc |= sim_auth_add_refresh(&sim->auth, rt);
    json_decref(body);
    if (rc != 0)
        control_error(resp, 400, "empty token");
    else
        sim_resp_json(resp, 200, json_pack("{s:b}", "ok", 1));
}

static bool is(const struct sim_request *req, const char *method, const char *path)
{
    return strcmp(req->method, method) == 0 && strcmp(req->path, path) == 0;
}

void sim_control(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    char err[512];

    pthread_mutex_lock(&sim->lock);
    if (is(req, "GET", "/__sim/health")) {
        sim_resp_json(resp, 200,
                      json_pack("{s:s, s:s, s:i}", "status", "ok", "flavor", sim->flavor->name,
                                "port", (int)sim->port));
    } else if (is(req, "GET", "/__sim/state")) {
        sim_resp_json(resp, 200, state_json(sim, req->now_ms));
    } else if (is(req, "POST", "/__sim/seed")) {
        do_seed(sim, req, resp);
    } else if (is(req, "POST", "/__sim/reset")) {
        sim_store_clear(sim->store);
        sim->flavor->reset(sim);
        sim_auth_reset(&sim->auth);
        counters_reset(sim);
        sim->faults.script_pos = sim->faults.script_len;
        atomic_store(&sim->clock_offset_ms, 0);
        atomic_store(&sim->clock_frozen_ms, 0);
        sim_rng_seed(&sim->rng, (uint64_t)sim->opt.seed);
        sim_resp_json(resp, 200, json_pack("{s:b}", "ok", 1));
    } else if (is(req, "GET", "/__sim/counters")) {
        sim_resp_json(resp, 200, counters_json(sim));
    } else if (is(req, "POST", "/__sim/counters/reset")) {
        counters_reset(sim);
        sim_resp_json(resp, 200, json_pack("{s:b}", "ok", 1));
    } else if (is(req, "GET", "/__sim/config")) {
        sim_resp_json(resp, 200, sim_options_to_json(&sim->opt));
    } else if (is(req, "POST", "/__sim/config")) {
        json_t *body = json_loadb(req->body, req->body_len, 0, NULL);

        if (apply_config(sim, body, err, sizeof(err)) != 0)
            control_error(resp, 400, err);
        else
            sim_resp_json(resp, 200, sim_options_to_json(&sim->opt));
        json_decref(body);
    } else if (is(req, "GET", "/__sim/faults")) {
        sim_resp_json(resp, 200, faults_json(&sim->faults));
    } else if (is(req, "DELETE", "/__sim/faults")) {
        sim_fault_clear(&sim->faults);
        sim->opt.faults[0] = sim->opt.fault_script[0] = sim->opt.fault_match[0] = '\0';
        sim_resp_json(resp, 200, faults_json(&sim->faults));
    } else if (is(req, "POST", "/__sim/tokens")) {
        do_tokens(sim, req, resp);
    } else if (is(req, "POST", "/__sim/tokens/expire")) {
        size_t n = sim_auth_expire_all(&sim->auth, sim_now_ms(sim));

        sim_resp_json(resp, 200, json_pack("{s:I}", "expired", (json_int_t)n));
    } else if (is(req, "GET", "/__sim/clock") || is(req, "POST", "/__sim/clock")) {
        do_clock(sim, req, resp);
    } else {
        control_error(resp, 404, "unknown control endpoint (see tests/sim/README.md)");
    }
    pthread_mutex_unlock(&sim->lock);
}
