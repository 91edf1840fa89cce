#include <stdio.h>

#include "sim_options.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum opt_type { OPT_STR, OPT_INT, OPT_BOOL, OPT_STRLIST };

struct opt_desc {
    const char *name;
    enum opt_type type;
    size_t offset;
    size_t size;      /* OPT_STR: buffer size; OPT_STRLIST: element size */
    size_t count_off; /* OPT_STRLIST: offset of the element count */
    int64_t min, max; /* OPT_INT */
    const char *def;
    bool live;   /* may change through /__sim/config */
    bool secret; /* never shown by /__sim/config */
    const char *help;
};

#define STR(f) OPT_STR, offsetof(struct sim_options, f), sizeof(((struct sim_options *)0)->f), 0
#define INT(f) OPT_INT, offsetof(struct sim_options, f), 0, 0
#define BOOL(f) OPT_BOOL, offsetof(struct sim_options, f), 0, 0, 0, 0
#define LIST(f, n)                                                                                 \
    OPT_STRLIST, offsetof(struct sim_options, f), sizeof(((struct sim_options *)0)->f[0]),         \
        offsetof(struct sim_options, n), 0, 0

static const struct opt_desc opts[] = {
    {"flavor", STR(flavor), 0, 0, "", false, false, "salesforce|hubspot|adobe (required)"},
    {"listen", STR(listen), 0, 0, "127.0.0.1:0", false, false,
     "ADDR:PORT; port 0 picks a free one, printed as 'listening ADDR:PORT'"},
    {"tls-cert", STR(tls_cert), 0, 0, "", false, false, "PEM certificate file (enables TLS)"},
    {"tls-key", STR(tls_key), 0, 0, "", false, false, "PEM private key file"},
    {"threads", INT(threads), 0, 64, "2", false, false,
     "server thread pool size; 0 = one thread per connection"},
    {"seed", INT(seed), INT64_MIN, INT64_MAX, "1", false, false,
     "RNG seed (faults, ids of tokens)"},
    {"log-requests", BOOL(log_requests), "false", true, false,
     "one compact line per request on stderr"},
    {"max-body-kb", INT(max_body_kb), 1, 1024 * 1024, "32768", false, false,
     "largest request body accepted"},
    {"token", LIST(tokens, ntokens), "", false, true,
     "static bearer token (private app / service key); repeatable"},
    {"refresh-token", LIST(refresh_tokens, nrefresh_tokens), "", false, true,
     "OAuth refresh token accepted by the token endpoint; repeatable"},
    {"client-id", STR(client_id), 0, 0, "sim-client", false, false, "OAuth client id"},
    {"client-secret", STR(client_secret), 0, 0, "sim-secret", false, true, "OAuth client secret"},
    {"token-lifetime", INT(token_lifetime_s), 1, 86400 * 365, "1800", true, false,
     "access token lifetime, seconds (HubSpot: 1800)"},
    {"rotate-refresh-tokens", BOOL(rotate_refresh_tokens), "false", true, false,
     "each refresh returns a new refresh token and retires the old one"},
    {"rate-limits", BOOL(rate_limits), "true", true, false,
     "enforce the vendor's rate limits (false for throughput benchmarks)"},
    {"ten-secondly-max", INT(ten_secondly_max), 0, 100000000, "100", true, false,
     "requests per rolling 10 s (HubSpot TEN_SECONDLY_ROLLING); 0 = unlimited"},
    {"daily-max", INT(daily_max), 0, INT64_MAX, "250000", true, false,
     "requests per UTC day (HubSpot DAILY); 0 = unlimited"},
    {"search-per-second", INT(search_per_second), 0, 100000000, "5", true, false,
     "search requests per second (HubSpot SECONDLY); 0 = unlimited"},
    {"fast-paths", BOOL(fast_paths), "true", true, false,
     "answer common batch bodies (HubSpot batch upsert) without jansson trees; false "
     "sends every request down the general path (tests compare the two)"},
    {"search-lag-ms", INT(search_lag_ms), 0, 86400000, "0", true, false,
     "indexing lag before a write shows in search"},
    {"gdpr", BOOL(gdpr), "true", true, false,
     "portal has GDPR features on: subscription writes need a legalBasis"},
    {"sf-username", STR(sf_username), 0, 0, "integration@example.com", false, false,
     "Salesforce: the username a JWT bearer assertion's sub must name"},
    {"sf-jwt-public-key", STR(sf_jwt_public_key), 0, 0, "", false, false,
     "Salesforce: PEM public key or X.509 certificate that verifies JWT bearer assertions "
     "(the connected app's certificate); without it the JWT grant is refused"},
    {"sf-audience", LIST(sf_audiences, nsf_audiences), "", false, false,
     "Salesforce: accepted JWT aud besides the simulator's own base URL; repeatable "
     "[default https://login.salesforce.com and https://test.salesforce.com]"},
    {"sf-query-batch", INT(sf_query_batch), 1, 2000, "2000", true, false,
     "Salesforce: records per query page (Salesforce: 2000; smaller to test paging)"},
    {"sf-bulk-delay-ms", INT(sf_bulk_delay_ms), 0, 3600000, "200", true, false,
     "Salesforce: time from UploadComplete until a Bulk API 2.0 job is JobComplete"},
    {"adobe-token-lifetime", INT(adobe_token_lifetime_s), 1, 86400 * 365, "86400", true, false,
     "Adobe: lifetime of IMS access tokens and of xtk:session sessions, seconds (IMS: 24 h)"},
    {"adobe-extensions", STR(adobe_extensions), 0, 0,
     "memberKey:string:64,loyaltyPoints:long,loyaltyTier:string:32", false, false,
     "Adobe: extension fields of nms:recipient, "
     "name[:string[:len]|:long|:double|:boolean|:datetime], "
     "comma-separated"},
    {"adobe-unique", STR(adobe_unique), 0, 0, "memberKey", false, false,
     "Adobe: nms:recipient fields with a unique index (FDA mode only), comma-separated"},
    {"adobe-enterprise", BOOL(adobe_enterprise), "false", false, false,
     "Adobe: Enterprise (FFDA) mode: no unique indexes, and key lookups see a write only after "
     "--search-lag-ms (so concurrent upserts can make twins)"},
    {"adobe-tps", INT(adobe_tps), 0, 100000000, "0", true, false,
     "Adobe: SOAP calls per second before HTTP 429 (0 = no throttle)"},
    {"adobe-tps-retry-after", BOOL(adobe_tps_retry_after), "true", true, false,
     "Adobe: the throttle's 429 carries Retry-After (false: a bare 429)"},
    {"adobe-line-cap", INT(adobe_line_cap), 1, 100000000, "10000", true, false,
     "Adobe: rows a select returns when the queryDef has no lineCount"},
    {"adobe-deny-ip", BOOL(adobe_deny_ip), "false", true, false,
     "Adobe: every SOAP call fails with XSV-350013 (client IP not on the allow list)"},
    {"adobe-max-xml-kb", INT(adobe_max_xml_kb), 1, 1024 * 1024, "8192", true, false,
     "Adobe: largest SOAP envelope parsed"},
    {"faults", STR(faults), 0, 0, "", true, false,
     "fault rates, e.g. 503:0.05,slow:0.1 (kinds: 500 502 503 429 429-date slow drop "
     "truncate bad-json token-expiry apply-drop apply-stall)"},
    {"fault-script", STR(fault_script), 0, 0, "", true, false,
     "faults for the next matching requests in order, e.g. 503,ok,drop"},
    {"fault-match", STR(fault_match), 0, 0, "", true, false,
     "inject faults only on paths containing this string"},
    {"slow-ms", INT(slow_ms), 0, 600000, "2000", true, false, "delay of the 'slow' fault"},
    {"stall-ms", INT(stall_ms), 0, 600000, "10000", true, false,
     "stall of the 'apply-stall' fault before the connection is dropped"},
    {"retry-after", INT(retry_after_s), 0, 86400, "1", true, false,
     "seconds announced by injected 429s"},
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static const struct opt_desc *find_opt(const char *name)
{
    for (size_t i = 0; i < NOPTS; i++) {
        if (strcmp(opts[i].name, name) == 0)
            return &opts[i];
    }
    return NULL;
}

static int set_desc(struct sim_options *opt, const struct opt_desc *d, const char *value, char *err,
                    size_t errlen)
{
    char *base = (char *)opt;

    switch (d->type) {
    case OPT_STR:
        if (strlen(value) >= d->size) {
            snprintf(err, errlen, "--%s: value too long (max %zu)", d->name, d->size - 1);
            return -1;
        }
        memcpy(base + d->offset, value, strlen(value) + 1);
        return 0;
    case OPT_INT: {
        char *end;
        long long v;

        errno = 0;
        v = strtoll(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0' || v < d->min || v > d->max) {
            snprintf(err, errlen, "--%s: expected an integer in [%lld, %lld], got '%s'", d->name,
                     (long long)d->min, (long long)d->max, value);
            return -1;
        }
        *(int64_t *)(void *)(base + d->offset) = v;
        return 0;
    }
    case OPT_BOOL:
        if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0 || strcmp(value, "on") == 0) {
            *(bool *)(base + d->offset) = true;
        } else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0 ||
                   strcmp(value, "off") == 0) {
            *(bool *)(base + d->offset) = false;
        } else {
            snprintf(err, errlen, "--%s: expected true or false, got '%s'", d->name, value);
            return -1;
        }
        return 0;
    case OPT_STRLIST: {
        size_t *count = (size_t *)(void *)(base + d->count_off);

        if (value[0] == '\0')
            return 0;
        if (*count >= SIM_OPT_LIST_MAX || strlen(value) >= d->size) {
            snprintf(err, errlen, "--%s: at most %d values of %zu bytes", d->name, SIM_OPT_LIST_MAX,
                     d->size - 1);
            return -1;
        }
        memcpy(base + d->offset + *count * d->size, value, strlen(value) + 1);
        (*count)++;
        return 0;
    }
    }
    return -1;
}

void sim_options_defaults(struct sim_options *opt)
{
    char err[256];

    memset(opt, 0, sizeof(*opt));
    for (size_t i = 0; i < NOPTS; i++)
        (void)set_desc(opt, &opts[i], opts[i].def, err, sizeof(err));
}

int sim_options_set(struct sim_options *opt, const char *name, const char *value, bool live_only,
                    char *err, size_t errlen)
{
    const struct opt_desc *d = find_opt(name);

    if (d == NULL) {
        snprintf(err, errlen, "unknown option '%s'", name);
        return -1;
    }
    if (live_only && !d->live) {
        snprintf(err, errlen, "option '%s' cannot change while running", name);
        return -1;
    }
    return set_desc(opt, d, value, err, errlen);
}

int sim_options_parse_argv(struct sim_options *opt, int argc, char **argv, char *err, size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *eq;
        const struct opt_desc *d;
        char name[64];
        const char *value;

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            sim_options_usage(stdout);
            return 1;
        }
        if (strncmp(arg, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument '%s'", arg);
            return -1;
        }
        arg += 2;
        eq = strchr(arg, '=');
        if ((eq ? (size_t)(eq - arg) : strlen(arg)) >= sizeof(name)) {
            snprintf(err, errlen, "unknown option '--%s'", arg);
            return -1;
        }
        snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - arg) : (int)strlen(arg), arg);
        d = find_opt(name);
        if (d == NULL) {
            snprintf(err, errlen, "unknown option '--%s'", name);
            return -1;
        }
        if (eq != NULL) {
            value = eq + 1;
        } else if (d->type == OPT_BOOL) {
            /* "--flag" alone is true; "--flag false" is also accepted. */
            const char *next = i + 1 < argc ? argv[i + 1] : "";

            if (strcmp(next, "true") == 0 || strcmp(next, "false") == 0 ||
                strcmp(next, "on") == 0 || strcmp(next, "off") == 0) {
                value = next;
                i++;
            } else {
                value = "true";
            }
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            snprintf(err, errlen, "--%s needs a value", name);
            return -1;
        }
        if (set_desc(opt, d, value, err, errlen) != 0)
            return -1;
    }
    return 0;
}

json_t *sim_options_to_json(const struct sim_options *opt)
{
    const char *base = (const char *)opt;
    json_t *o = json_object();

    for (size_t i = 0; i < NOPTS; i++) {
        const struct opt_desc *d = &opts[i];

        if (d->secret)
            continue;
        switch (d->type) {
        case OPT_STR:
            json_object_set_new(o, d->name, json_string(base + d->offset));
            break;
        case OPT_INT:
            json_object_set_new(o, d->name,
                                json_integer(*(const int64_t *)(const void *)(base + d->offset)));
            break;
        case OPT_BOOL:
            json_object_set_new(o, d->name, json_boolean(*(const bool *)(base + d->offset)));
            break;
        case OPT_STRLIST:
            break;
        }
    }
    return o;
}

void sim_options_usage(FILE *out)
{
    fprintf(out, "usage: crmsim --flavor NAME [--listen ADDR:PORT] [options]\n\n");
    for (size_t i = 0; i < NOPTS; i++) {
        fprintf(out, "  --%-22s %s%s%s%s\n", opts[i].name, opts[i].help,
                opts[i].def[0] ? " [default " : "", opts[i].def[0] ? opts[i].def : "",
                opts[i].def[0] ? "]" : "");
    }
    fprintf(out, "\nLive control endpoint: /__sim/ (see tests/sim/README.md).\n");
}
