/* crmsim options, declared once in a table (sim_options.c) with type,
 * default, bounds and offset into struct sim_options. The same table parses
 * the command line (--name value, --name=value, --flag) and live changes
 * through POST /__sim/config ({"name": value}), for options marked live. */
#ifndef CRMSIM_OPTIONS_H
#define CRMSIM_OPTIONS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SIM_OPT_LIST_MAX 8

struct sim_options {
    char flavor[32];
    char listen[128];
    char tls_cert[512];
    char tls_key[512];
    int64_t threads;
    int64_t seed;
    bool log_requests;
    int64_t max_body_kb;
    /* auth */
    char tokens[SIM_OPT_LIST_MAX][256];
    size_t ntokens;
    char refresh_tokens[SIM_OPT_LIST_MAX][256];
    size_t nrefresh_tokens;
    char client_id[128];
    char client_secret[128];
    int64_t token_lifetime_s;
    bool rotate_refresh_tokens;
    /* limits (0 = unlimited) */
    bool rate_limits;
    bool fast_paths;
    int64_t ten_secondly_max;
    int64_t daily_max;
    int64_t search_per_second;
    /* behaviour */
    int64_t search_lag_ms;
    bool gdpr;
    /* Salesforce flavour */
    char sf_username[128];
    char sf_jwt_public_key[512];
    char sf_audiences[SIM_OPT_LIST_MAX][256];
    size_t nsf_audiences;
    int64_t sf_query_batch;
    int64_t sf_bulk_delay_ms;
    /* Adobe Campaign flavour */
    int64_t adobe_token_lifetime_s;
    char adobe_extensions[512];
    char adobe_unique[192];
    bool adobe_enterprise;
    int64_t adobe_tps;
    bool adobe_tps_retry_after;
    int64_t adobe_line_cap;
    bool adobe_deny_ip;
    int64_t adobe_max_xml_kb;
    /* faults */
    char faults[512];
    char fault_script[2048];
    char fault_match[128];
    int64_t slow_ms;
    int64_t stall_ms;
    int64_t retry_after_s;
};

void sim_options_defaults(struct sim_options *opt);
/* Sets one option from its text form. live_only refuses options that cannot
 * change while running. Returns 0, or -1 with a message in err. */
int sim_options_set(struct sim_options *opt, const char *name, const char *value, bool live_only,
                    char *err, size_t errlen);
/* Parses argv. Returns 0, 1 if --help was given (usage printed), -1 on error. */
int sim_options_parse_argv(struct sim_options *opt, int argc, char **argv, char *err,
                           size_t errlen);
/* The live view for GET /__sim/config; secrets are left out. */
json_t *sim_options_to_json(const struct sim_options *opt);
void sim_options_usage(FILE *out);

#endif
