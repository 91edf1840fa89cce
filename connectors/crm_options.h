/* The options every CRM connector has, declared once (issue 13 part 1).
 *
 * A CRM connector's settings struct embeds struct crm_common_settings as a
 * member named `common`, and its option table lists CRM_COMMON_OPTIONS()
 * among its own options: the eight names, types, bounds and help texts live
 * here only, as Fluent Bit shares a config-map group between its outputs.
 * What differs per CRM (the vendor's documented rate, its usual lookback,
 * how slow its answers may be) is given as defaults.
 *
 * crm_common_apply() hands the values to the engine (struct connector) and
 * crm_common_http() to the HTTP client options. */
#ifndef CRMSYNC_CRM_OPTIONS_H
#define CRMSYNC_CRM_OPTIONS_H

#include <stddef.h>

#include "config.h"
#include "http.h"

struct connector;

struct crm_common_settings {
    long pull_interval_ms;
    long lookback_ms;
    long rate, burst, max_inflight;
    char *ca_file;
    int allow_loopback_http;
    long request_timeout_ms;
};

/* One option of a connector's settings struct S (the OPT macro the
 * connectors each had). */
#define CRM_OPT(S, name, type, def, field, min, max, help)                                         \
    {                                                                                              \
        name, type, def, offsetof(S, field), 0, min, max, NULL, help                               \
    }
#define CRM_OPT_ENUM(S, name, def, field, values, help)                                            \
    {                                                                                              \
        name, CONFIG_ENUM, def, offsetof(S, field), 0, 0, 0, values, help                          \
    }
#define CRM_OPT_BOOL(S, name, def, field, help)                                                    \
    {                                                                                              \
        name, CONFIG_BOOL, def, offsetof(S, field), 0, 0, 0, NULL, help                            \
    }

/* The shared group, for a settings struct S with a `common` member.
 * rate/burst (requests per second, bucket), lookback and request_timeout
 * are the connector's defaults; lookback_help says what the lookback
 * covers for that CRM. */
#define CRM_COMMON_OPTIONS(S, def_rate, def_burst, def_lookback, lookback_help, def_timeout)       \
    CRM_OPT(S, "pull_interval", CONFIG_DURATION_MS, "30s", common.pull_interval_ms, 1000,          \
            86400000, "time between pull cycles"),                                                 \
        CRM_OPT(S, "lookback", CONFIG_DURATION_MS, def_lookback, common.lookback_ms, 0, 86400000,  \
                lookback_help),                                                                    \
        CRM_OPT(S, "rate", CONFIG_INT, def_rate, common.rate, 1, 1000, "requests per second"),     \
        CRM_OPT(S, "burst", CONFIG_INT, def_burst, common.burst, 1, 1000, "request bucket size"),  \
        CRM_OPT(S, "max_inflight", CONFIG_INT, "4", common.max_inflight, 1, 64,                    \
                "push requests in flight at once"),                                                \
        CRM_OPT(S, "ca_file", CONFIG_PATH, NULL, common.ca_file, 0, 0,                             \
                "PEM bundle to trust instead of the system"),                                      \
        CRM_OPT_BOOL(S, "allow_loopback_http", "no", common.allow_loopback_http,                   \
                     "accept plain http to a loopback address (simulators only)"),                 \
        CRM_OPT(S, "request_timeout", CONFIG_DURATION_MS, def_timeout, common.request_timeout_ms,  \
                1000, 600000, "whole-request timeout")

/* Sets the engine's view of the connector (max_inflight, pull interval,
 * request budget) from the common settings. */
void crm_common_apply(struct connector *conn, const struct crm_common_settings *c);

/* HTTP client options from the common settings (defaults for the rest). */
void crm_common_http(const struct crm_common_settings *c, struct http_options *out);

#endif
