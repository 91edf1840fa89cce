/* The options every CRM connector has (crm_options.h). */
#include "crm_options.h"

#include "connector.h"

void crm_common_apply(struct connector *conn, const struct crm_common_settings *c)
{
    conn->max_inflight = c->max_inflight;
    conn->pull_interval_ms = c->pull_interval_ms;
    conn->rate = (double)c->rate;
    conn->burst = (double)c->burst;
}

void crm_common_http(const struct crm_common_settings *c, struct http_options *out)
{
    http_options_defaults(out);
    out->ca_file = c->ca_file;
    out->allow_loopback_http = c->allow_loopback_http;
    out->limits.timeout_ms = c->request_timeout_ms;
}
