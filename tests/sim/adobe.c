/* Adobe Campaign v8 flavour: route table, the IMS token endpoint
 * (client_credentials, 24 h tokens, no refresh token), the TPS throttle,
 * error bodies as SOAP faults, dump/seed/reset. The SOAP side is
 * adobe_soap.c; see README.md ("Adobe Campaign flavour") for the request
 * shapes accepted and what had to be guessed. */
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adobe.h"
#include "sim_form.h"

#define AD_SOAP 1

static void ims_error(struct sim_response *resp, int status, const char *code, const char *desc)
{
    sim_resp_json(resp, status, json_pack("{s:s, s:s}", "error", code, "error_description", desc));
}

/* POST /ims/token/v3, form body: grant_type=client_credentials, client_id,
 * client_secret, scope. */
static void ims_token(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    char grant[64], id[256], secret[256], scope[512], token[160], rnd[64];
    int64_t lifetime_s = sim->opt.adobe_token_lifetime_s;

    if (sim_form_get(req->body, req->body_len, "grant_type", grant, sizeof(grant)) != 1) {
        ims_error(resp, 400, "invalid_request", "missing grant_type parameter");
        return;
    }
    if (strcmp(grant, "client_credentials") != 0) {
        ims_error(resp, 400, "unsupported_grant_type", "unsupported grant_type parameter");
        return;
    }
    if (sim_form_get(req->body, req->body_len, "client_id", id, sizeof(id)) != 1 ||
        strcmp(id, sim->opt.client_id) != 0) {
        ims_error(resp, 400, "invalid_client", "invalid client_id parameter");
        return;
    }
    if (sim_form_get(req->body, req->body_len, "client_secret", secret, sizeof(secret)) != 1 ||
        strcmp(secret, sim->opt.client_secret) != 0) {
        ims_error(resp, 401, "invalid_client", "invalid client_secret parameter");
        return;
    }
    if (sim_form_get(req->body, req->body_len, "scope", scope, sizeof(scope)) != 1)
        scope[0] = '\0';
    sim_auth_random(&sim->rng, "", rnd, sizeof(rnd));
    snprintf(token, sizeof(token), "eyJhbGciOiJSUzI1NiIsIng1dSI6ImltcyJ9.crmsim.%s", rnd);
    json_object_set_new(sim->auth.access, token, json_integer(req->now_ms + lifetime_s * 1000));
    /* IMS answers no refresh_token for client credentials. */
    sim_resp_json(resp, 200,
                  json_pack("{s:s, s:s, s:I}", "access_token", token, "token_type", "bearer",
                            "expires_in", (json_int_t)lifetime_s));
    sim_resp_header(resp, "Cache-Control", "no-store");
}

static void soap_route(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    ad_soaprouter(sim, req, resp);
}

static const struct sim_route ad_routes[] = {
    {"POST", "/ims/token/v3", "ims.token", 0, ims_token},
    {"POST", "/nl/jsp/soaprouter.jsp", "soaprouter", AD_SOAP, soap_route},
};

#define NROUTES (sizeof(ad_routes) / sizeof(ad_routes[0]))

/* The core's errors (injected 5xx/429, 404, 405, 413) as SOAP faults with
 * the status the core chose. */
static void ad_error_hook(struct sim_response *resp, int status, const char *category,
                          const char *message)
{
    char fs[512];

    (void)category;
    snprintf(fs, sizeof(fs), "%s", message);
    ad_fault(resp, "SOAP-ENV:Server", fs, NULL);
    resp->status = status;
}

static void ad_expired(struct sim *sim, struct sim_response *resp)
{
    (void)sim;
    ad_fault(resp, "SOAP-ENV:Client",
             "XSV-350008 Session has expired or is invalid. Please reconnect.", NULL);
}

/* The TPS throttle counts every SOAP call (the token endpoint is IMS's,
 * not Campaign's). */
static int ad_admit(struct sim *sim, const struct sim_route *route, struct sim_request *req,
                    struct sim_response *resp)
{
    struct ad_state *ad = ad_state(sim);
    uint64_t remaining;
    int64_t retry_ms;

    if (!(route->flags & AD_SOAP) || !sim->opt.rate_limits || sim->opt.adobe_tps <= 0)
        return 0;
    if (ad->tps_max != sim->opt.adobe_tps) {
        sim_window_free(&ad->tps);
        if (sim_window_init(&ad->tps, (uint64_t)sim->opt.adobe_tps, 1000) != 0)
            return 0;
        ad->tps_max = sim->opt.adobe_tps;
    }
    if (sim_window_take(&ad->tps, req->now_ms, &remaining, &retry_ms))
        return 0;
    resp->status = 429;
    resp->text = malloc(32);
    if (resp->text != NULL) {
        resp->text_len = (size_t)snprintf(resp->text, 32, "Too Many Requests\n");
        resp->content_type = "text/plain";
    }
    if (sim->opt.adobe_tps_retry_after)
        sim_resp_header(resp, "Retry-After", "%lld", (long long)((retry_ms + 999) / 1000));
    return 1;
}

static int ad_init(struct sim *sim, char *err, size_t errlen)
{
    struct ad_state *ad = calloc(1, sizeof(*ad));

    if (ad == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    sim->flavor_data = ad;
    xmlInitParser();
    ad->sessions = json_object();
    ad->methods = json_object();
    if (ad->sessions == NULL || ad->methods == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return ad_schema_init(ad, sim, err, errlen);
}

static void ad_fini(struct sim *sim)
{
    struct ad_state *ad = ad_state(sim);

    if (ad == NULL)
        return;
    json_decref(ad->sessions);
    json_decref(ad->methods);
    sim_window_free(&ad->tps);
    free(ad);
    sim->flavor_data = NULL;
    xmlCleanupParser();
}

static json_t *ad_dump(struct sim *sim)
{
    struct ad_state *ad = ad_state(sim);
    json_t *fields = json_array();
    const struct ad_schema *r = &ad->schemas[AD_RECIPIENT];

    for (size_t i = 0; i < r->nfields; i++)
        json_array_append_new(fields, json_string(r->fields[i].name));
    return json_pack("{s:I, s:I, s:b, s:o, s:o}", "sessions",
                     (json_int_t)json_object_size(ad->sessions), "sessionsOpened",
                     (json_int_t)ad->sessions_opened, "enterprise", sim->opt.adobe_enterprise,
                     "recipientFields", fields, "methods", json_deep_copy(ad->methods));
}

/* Records are seeded through the core's collections ("nms:recipient",
 * "nms:service", ...); nothing flavour-specific is seeded. */
static int ad_seed(struct sim *sim, json_t *state, char *err, size_t errlen)
{
    (void)sim;
    if (state != NULL && !json_is_object(state)) {
        snprintf(err, errlen, "flavor_state: expected an object");
        return -1;
    }
    return 0;
}

static void ad_reset(struct sim *sim)
{
    struct ad_state *ad = ad_state(sim);

    json_object_clear(ad->sessions);
    json_object_clear(ad->methods);
    ad->sessions_opened = 0;
    sim_window_free(&ad->tps);
    ad->tps_max = 0;
}

const struct sim_flavor_ops sim_flavor_adobe = {
    .version = SIM_FLAVOR_OPS_VERSION,
    .name = "adobe",
    .routes = ad_routes,
    .nroutes = NROUTES,
    .families = NULL,
    .init = ad_init,
    .fini = ad_fini,
    .admit = ad_admit,
    .error = ad_error_hook,
    .dump = ad_dump,
    .seed = ad_seed,
    .reset = ad_reset,
    .expired = ad_expired,
    .aliases = NULL,
    .prepare = NULL,
    .release = NULL,
};
