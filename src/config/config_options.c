/* The declared option tables of [daemon] and [state], and the one set of
 * value parsers every table (connectors' included) goes through. Parsers
 * report why a value is refused, naming the accepted values or range; the
 * loader (config.c) adds "file:line: [section] key = 'value': ". */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "duration.h"
#include "log.h"

#define MS_PER_S 1000L
#define MS_PER_MIN (60L * MS_PER_S)
#define MS_PER_H (60L * MS_PER_MIN)
#define MS_PER_D (24L * MS_PER_H)

static const char *const log_level_names[] = {"error", "warning", "notice", "info", "debug", NULL};
static const char *const start_failure_names[] = {"fatal", "unhealthy", NULL};
static const char *const synchronous_names[] = {"full", "normal", NULL};
static const char *const ingest_verify_names[] = {"jwks_uri", "jwk",        "pem",
                                                  "pubkey",   "introspect", NULL};

static const struct config_option daemon_options[] = {
    {"log_level", CONFIG_LOG_LEVEL, "info", offsetof(struct daemon_settings, log_level), 0, 0, 0,
     log_level_names, "Lowest priority written to stderr (journald keeps the level)."},
    {"shutdown_grace", CONFIG_DURATION_MS, "10s",
     offsetof(struct daemon_settings, shutdown_grace_ms), 0, 0, 10 * MS_PER_MIN, NULL,
     "At SIGTERM, how long in-flight requests may drain; keep below TimeoutStopSec=."},
    {"watchdog", CONFIG_DURATION_MS, "0", offsetof(struct daemon_settings, watchdog_ms), 0, 0,
     MS_PER_H, NULL, "Watchdog ping interval; 0 uses $WATCHDOG_USEC from systemd if set."},
    {"admin_listen", CONFIG_STRING, NULL, offsetof(struct daemon_settings, admin_listen), 0, 0, 0,
     NULL, "host:port of the admin endpoint (/healthz, /metrics); unset: off."},
    {"admin_allow_remote", CONFIG_BOOL, "no", offsetof(struct daemon_settings, admin_allow_remote),
     0, 0, 0, NULL,
     "Serve the admin endpoint on a non-loopback address (it has no authentication)."},
    {"admin_max_connections", CONFIG_INT, "16",
     offsetof(struct daemon_settings, admin_max_connections), 0, 1, 1024, NULL,
     "Admin endpoint connections at once, all clients."},
    {"admin_per_ip_connections", CONFIG_INT, "4",
     offsetof(struct daemon_settings, admin_per_ip_connections), 0, 1, 1024, NULL,
     "Admin endpoint connections at once from one client address."},
    {"admin_request_timeout", CONFIG_DURATION_MS, "10s",
     offsetof(struct daemon_settings, admin_request_timeout_ms), 0, MS_PER_S, 10 * MS_PER_MIN, NULL,
     "A request to the admin endpoint must be answered within this long, slow or not."},
    {"admin_connections_per_minute", CONFIG_INT, "120",
     offsetof(struct daemon_settings, admin_connections_per_minute), 0, 0, 1000000, NULL,
     "New admin endpoint connections per client address per minute; 0: no limit."},
    {"connector_start_failure", CONFIG_ENUM, "fatal",
     offsetof(struct daemon_settings, connector_start_failure), 0, 0, 0, start_failure_names,
     "A connector that cannot start at daemon start: fatal (exit 1), or unhealthy (run "
     "without it, /healthz 503)."},
    {"allow_core_dumps", CONFIG_BOOL, "no", offsetof(struct daemon_settings, allow_core_dumps), 0,
     0, 0, NULL, "Allow core dumps (debugging only: a core holds tokens and member data)."},
    {"retry_give_up_after", CONFIG_DURATION_MS, "1h",
     offsetof(struct daemon_settings, retry_give_up_after_ms), 0, 0, 30 * MS_PER_D, NULL,
     "A record the CRM keeps refusing for now is dead-lettered after this long; 0: never. "
     "Withdrawals and erasures are never dead-lettered by it."},
    {"retry_max_attempts", CONFIG_INT, "0", offsetof(struct daemon_settings, retry_max_attempts), 0,
     0, 1000000, NULL,
     "Also give a record up after this many sends (0: no limit, time alone decides)."},
    {"retry_backoff_max", CONFIG_DURATION_MS, "5m",
     offsetof(struct daemon_settings, retry_backoff_max_ms), 0, MS_PER_S, MS_PER_D, NULL,
     "Longest wait between two tries of a record (exponential backoff with jitter)."},
    {"max_retry_after", CONFIG_DURATION_MS, "1h",
     offsetof(struct daemon_settings, max_retry_after_ms), 0, MS_PER_S, MS_PER_D, NULL,
     "Longest Retry-After believed from a CRM (a hold kept across a restart too)."},
    {"backlog_bound", CONFIG_INT, "200000", offsetof(struct daemon_settings, backlog_bound), 0, 1,
     1000000000L, NULL,
     "Changes pending for one destination above which pulls pause and /healthz fails."},
    {"urgent_max_age", CONFIG_DURATION_MS, "5m",
     offsetof(struct daemon_settings, urgent_max_age_ms), 0, 0, 30 * MS_PER_D, NULL,
     "A withdrawal or erasure pending longer than this for a destination fails /healthz; 0: "
     "never."},
    {"unreachable_after", CONFIG_DURATION_MS, "1m",
     offsetof(struct daemon_settings, unreachable_after_ms), 0, 0, MS_PER_D, NULL,
     "A destination with no successful request for this long fails /healthz "
     "(destination_unreachable; destination_rejecting when it answers 4xx)."},
    {"audit_verify_interval", CONFIG_DURATION_MS, "1d",
     offsetof(struct daemon_settings, audit_verify_interval_ms), 0, 0, 30 * MS_PER_D, NULL,
     "How often the consent audit's hash chain is verified (metric crmsyncd_audit_chain_broken); "
     "0: never."},
    {NULL},
};

static const struct config_option state_options[] = {
    {"path", CONFIG_PATH, "/var/lib/crmsyncd/state.db", offsetof(struct state_settings, path), 0, 0,
     0, NULL, "SQLite database holding changes, cursors and dead letters."},
    {"synchronous", CONFIG_ENUM, "full", offsetof(struct state_settings, synchronous), 0, 0, 0,
     synchronous_names, "SQLite synchronous mode; full survives power loss, normal is faster."},
    {"busy_timeout", CONFIG_DURATION_MS, "5s", offsetof(struct state_settings, busy_timeout_ms), 0,
     0, 10 * MS_PER_MIN, NULL, "How long to wait for a lock held by crmsyncctl."},
    {"txn_max_changes", CONFIG_INT, "5000", offsetof(struct state_settings, txn_max_changes), 0, 1,
     1000000, NULL, "Changes per ingest transaction; bounds a transaction's length."},
    {"change_retention", CONFIG_DURATION_MS, "7d",
     offsetof(struct state_settings, change_retention_ms), 0, 0, 3650L * MS_PER_D, NULL,
     "How long a change every destination has passed stays in the change-log; 0: none."},
    /* No floor of its own: the longest lookback is the floor
     * (check_dedup_window in config.c), so a soak can run with minutes. */
    {"dedup_window", CONFIG_DURATION_MS, "30d", offsetof(struct state_settings, dedup_window_ms), 0,
     MS_PER_S, 3650L * MS_PER_D, NULL,
     "How long idempotency keys are kept; longer than every connector's lookback."},
    {"audit_retention", CONFIG_DURATION_MS, "0",
     offsetof(struct state_settings, audit_retention_ms), 0, 0, 36500L * MS_PER_D, NULL,
     "Consent audit rows older than this move to the hash-chained archive file; 0: keep."},
    {"audit_archive", CONFIG_PATH, NULL, offsetof(struct state_settings, audit_archive), 0, 0, 0,
     NULL, "The audit archive (JSON lines); unset: the database's path with -audit.jsonl."},
    {"history_retention", CONFIG_DURATION_MS, "90d",
     offsetof(struct state_settings, history_retention_ms), 0, 0, 36500L * MS_PER_D, NULL,
     "Operator actions, finished resync requests and resolved dead letters older than this "
     "go; 0: keep."},
    {"ledger_retention", CONFIG_DURATION_MS, "0",
     offsetof(struct state_settings, ledger_retention_ms), 0, 0, 36500L * MS_PER_D, NULL,
     "Points transactions older than this that no longer change the balance fold into an "
     "opening balance per member; 0: keep."},
    {NULL},
};

static const struct config_option ingest_options[] = {
    {"listen", CONFIG_STRING, NULL, offsetof(struct ingest_settings, listen), 0, 0, 0, NULL,
     "host:port or socket path of the HTTP ingest (POST /v1/events); unset: off."},
    {"tls_cert", CONFIG_PATH, NULL, offsetof(struct ingest_settings, tls_cert), 0, 0, 0, NULL,
     "PEM certificate chain of the HTTP ingest; needed off loopback."},
    {"tls_key", CONFIG_SECRET_FILE, NULL, offsetof(struct ingest_settings, tls_key), 0, 0, 0, NULL,
     "PEM private key of ingest_tls_cert."},
    {"verify", CONFIG_ENUM, "jwks_uri", offsetof(struct ingest_settings, verify), 0, 0, 0,
     ingest_verify_names, "How liboauth2 verifies bearer tokens."},
    {"verify_value", CONFIG_STRING, NULL, offsetof(struct ingest_settings, verify_value), 0, 0, 0,
     NULL, "The JWKS or introspection URL, the JWK, or the key file, per ingest_verify."},
    {"verify_options", CONFIG_STRING, "", offsetof(struct ingest_settings, verify_options), 0, 0, 0,
     NULL, "Further liboauth2 verify options, form-encoded (e.g. introspection client auth)."},
    {"issuer", CONFIG_STRING, NULL, offsetof(struct ingest_settings, issuer), 0, 0, 0, NULL,
     "The iss every token must carry."},
    {"audience", CONFIG_STRING, NULL, offsetof(struct ingest_settings, audience), 0, 0, 0, NULL,
     "The aud every token must name."},
    {"token_cache", CONFIG_DURATION_MS, "60s", offsetof(struct ingest_settings, token_cache_ms), 0,
     0, MS_PER_H, NULL, "How long a verified token is cached (never past its exp); 0: no cache."},
    {"bad_token_limit", CONFIG_INT, "20", offsetof(struct ingest_settings, bad_token_limit), 0, 0,
     100000, NULL, "Bad tokens per client address per minute before 429; 0: no limit."},
    {"max_body", CONFIG_SIZE, "1M", offsetof(struct ingest_settings, max_body), 0, 1024,
     64 * 1024 * 1024, NULL, "Largest request body; larger is answered 413."},
    {"max_connections", CONFIG_INT, "64", offsetof(struct ingest_settings, max_connections), 0, 1,
     4096, NULL, "Connections at once (one thread each)."},
    {"per_ip_connections", CONFIG_INT, "16", offsetof(struct ingest_settings, per_ip_connections),
     0, 1, 4096, NULL, "Connections at once from one client address."},
    {"timeout", CONFIG_DURATION_MS, "30s", offsetof(struct ingest_settings, timeout_ms), 0, 1000,
     MS_PER_H, NULL, "An idle connection is closed after this long."},
    {"header_timeout", CONFIG_DURATION_MS, "10s",
     offsetof(struct ingest_settings, header_timeout_ms), 0, 0, MS_PER_H, NULL,
     "A request's line and headers must arrive within this long (of the connection's opening, "
     "or of the next request's line); a slower client is answered 408 and disconnected. 0: no "
     "bound."},
    {"request_timeout", CONFIG_DURATION_MS, "60s",
     offsetof(struct ingest_settings, request_timeout_ms), 0, 0, MS_PER_H, NULL,
     "A request's body must arrive whole within this long of its headers; a slower client is "
     "disconnected. 0: no bound."},
    {"max_pending", CONFIG_INT, "20000", offsetof(struct ingest_settings, max_pending), 0, 1,
     10000000, NULL, "Events waiting to be stored before requests get 429."},
    {"max_backlog", CONFIG_INT, "200000", offsetof(struct ingest_settings, max_backlog), 0, 0,
     1000000000, NULL,
     "Changes a destination may have waiting before requests get 429 (withdrawals and erasures "
     "still pass); 0: no bound."},
    {"scope_consent", CONFIG_STRING, "crmsync.consent.write",
     offsetof(struct ingest_settings, scope_consent), 0, 0, 0, NULL,
     "Scope a token needs for consent events."},
    {"scope_points", CONFIG_STRING, "crmsync.points.write",
     offsetof(struct ingest_settings, scope_points), 0, 0, 0, NULL,
     "Scope a token needs for points events."},
    {"scope_profile", CONFIG_STRING, "crmsync.profile.write",
     offsetof(struct ingest_settings, scope_profile), 0, 0, 0, NULL,
     "Scope a token needs for profile and segment events."},
    {"scope_erasure", CONFIG_STRING, "crmsync.erasure.write",
     offsetof(struct ingest_settings, scope_erasure), 0, 0, 0, NULL,
     "Scope a token needs for erasure events."},
    {"scope_members", CONFIG_STRING, "crmsync.members.read",
     offsetof(struct ingest_settings, scope_members), 0, 0, 0, NULL,
     "Scope a token needs for GET /v1/members/{key}."},
    {NULL},
};

const struct config_table daemon_config_table = {"daemon", daemon_options,
                                                 sizeof(struct daemon_settings)};
const struct config_table state_config_table = {"state", state_options,
                                                sizeof(struct state_settings)};
const struct config_table ingest_config_table = {"ingest", ingest_options,
                                                 sizeof(struct ingest_settings)};

static void *field_of(const struct config_option *opt, void *settings)
{
    return (char *)settings + opt->offset;
}

static const void *cfield_of(const struct config_option *opt, const void *settings)
{
    return (const char *)settings + opt->offset;
}

static int is_string_type(enum config_type type)
{
    return type == CONFIG_STRING || type == CONFIG_PATH || type == CONFIG_SECRET_FILE;
}

static int is_long_type(enum config_type type)
{
    return type == CONFIG_INT || type == CONFIG_DURATION_MS || type == CONFIG_SIZE;
}

const struct config_option *config_option_find(const struct config_table *table, const char *name)
{
    for (const struct config_option *o = table->options; o->name != NULL; o++) {
        if (strcmp(o->name, name) == 0)
            return o;
    }
    return NULL;
}

/* Puts an option back to "not set": NULL string or 0. */
static void option_reset(const struct config_option *opt, void *settings)
{
    void *field = field_of(opt, settings);

    if (is_string_type(opt->type)) {
        free(*(char **)field);
        *(char **)field = NULL;
    } else if (is_long_type(opt->type)) {
        *(long *)field = 0;
    } else {
        *(int *)field = 0;
    }
}

void config_settings_release(const struct config_table *table, void *settings)
{
    if (settings == NULL)
        return;
    for (const struct config_option *o = table->options; o->name != NULL; o++) {
        if (is_string_type(o->type))
            option_reset(o, settings);
    }
}

/* Largest unit that represents ms exactly, so "600000" prints as "10m". */
static void format_duration(long ms, char *buf, size_t len)
{
    if (ms != 0 && ms % MS_PER_D == 0)
        snprintf(buf, len, "%ldd", ms / MS_PER_D);
    else if (ms != 0 && ms % MS_PER_H == 0)
        snprintf(buf, len, "%ldh", ms / MS_PER_H);
    else if (ms != 0 && ms % MS_PER_MIN == 0)
        snprintf(buf, len, "%ldm", ms / MS_PER_MIN);
    else if (ms != 0 && ms % MS_PER_S == 0)
        snprintf(buf, len, "%lds", ms / MS_PER_S);
    else if (ms != 0)
        snprintf(buf, len, "%ldms", ms);
    else
        snprintf(buf, len, "0");
}

static void format_size(long bytes, char *buf, size_t len)
{
    if (bytes != 0 && bytes % (1024L * 1024 * 1024) == 0)
        snprintf(buf, len, "%ldG", bytes / (1024L * 1024 * 1024));
    else if (bytes != 0 && bytes % (1024L * 1024) == 0)
        snprintf(buf, len, "%ldM", bytes / (1024L * 1024));
    else if (bytes != 0 && bytes % 1024L == 0)
        snprintf(buf, len, "%ldk", bytes / 1024L);
    else
        snprintf(buf, len, "%ld", bytes);
}

static void format_long(enum config_type type, long v, char *buf, size_t len)
{
    if (type == CONFIG_DURATION_MS)
        format_duration(v, buf, len);
    else if (type == CONFIG_SIZE)
        format_size(v, buf, len);
    else
        snprintf(buf, len, "%ld", v);
}

/* "one of: a, b, c" for enum errors and the reference. */
static void format_enum_values(const char *const *values, char *buf, size_t len)
{
    size_t pos = 0;

    buf[0] = '\0';
    for (size_t i = 0; values != NULL && values[i] != NULL && pos < len; i++) {
        int n = snprintf(buf + pos, len - pos, "%s%s", i > 0 ? ", " : "", values[i]);
        if (n < 0)
            break;
        pos += (size_t)n;
    }
}

/* Parses an unsigned decimal number followed by a unit suffix. Signs,
 * spaces and hex are refused: a config value should read one way only. */
static int parse_scaled(const char *value, long *out, const char **suffix)
{
    char *end = NULL;
    long n = 0;

    if (!isdigit((unsigned char)value[0]))
        return -1;
    errno = 0;
    n = strtol(value, &end, 10);
    if (errno != 0)
        return -1;
    *out = n;
    *suffix = end;
    return 0;
}

static int scale(long n, long mult, long *out)
{
    if (n > LONG_MAX / mult)
        return -1;
    *out = n * mult;
    return 0;
}

/* The one duration syntax, shared with crmsyncctl (src/config/duration.h). */
static int parse_duration(const char *value, long *out)
{
    int64_t ms = 0;

    if (duration_parse(value, LONG_MAX, &ms) != 0)
        return -1;
    *out = (long)ms;
    return 0;
}

static int parse_size(const char *value, long *out)
{
    const char *suffix = NULL;
    long n = 0;
    long mult = 1;

    if (parse_scaled(value, &n, &suffix) < 0)
        return -1;
    if (suffix[0] != '\0' && suffix[1] != '\0')
        return -1;
    switch (tolower((unsigned char)suffix[0])) {
    case '\0':
        mult = 1;
        break;
    case 'k':
        mult = 1024L;
        break;
    case 'm':
        mult = 1024L * 1024;
        break;
    case 'g':
        mult = 1024L * 1024 * 1024;
        break;
    default:
        return -1;
    }
    return scale(n, mult, out);
}

static int parse_int(const char *value, long *out)
{
    char *end = NULL;
    long n = 0;
    const char *p = value;

    if (*p == '-' || *p == '+')
        p++;
    if (!isdigit((unsigned char)*p))
        return -1;
    errno = 0;
    n = strtol(value, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = n;
    return 0;
}

static int parse_bool(const char *value, int *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(value, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(value, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static int has_bounds(const struct config_option *opt)
{
    return !(opt->min == 0 && opt->max == 0);
}

/* Describes what a long-typed option accepts, for its error message. */
static void describe_long(const struct config_option *opt, char *buf, size_t len)
{
    char lo[32];
    char hi[32];
    const char *what = "an integer";

    if (opt->type == CONFIG_DURATION_MS)
        what = DURATION_FORMS;
    else if (opt->type == CONFIG_SIZE)
        what = "a size like 512, 64k, 10M or 1G (powers of 1024)";
    if (!has_bounds(opt)) {
        snprintf(buf, len, "expected %s", what);
        return;
    }
    format_long(opt->type, opt->min, lo, sizeof(lo));
    format_long(opt->type, opt->max, hi, sizeof(hi));
    snprintf(buf, len, "expected %s between %s and %s", what, lo, hi);
}

static int parse_long_option(const struct config_option *opt, const char *value, long *out,
                             char *why, size_t why_len)
{
    int rc = -1;
    long v = 0;

    if (opt->type == CONFIG_DURATION_MS)
        rc = parse_duration(value, &v);
    else if (opt->type == CONFIG_SIZE)
        rc = parse_size(value, &v);
    else
        rc = parse_int(value, &v);
    if (rc == 0 && has_bounds(opt) && (v < opt->min || v > opt->max))
        rc = -1;
    if (rc < 0) {
        describe_long(opt, why, why_len);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_enum_index(const struct config_option *opt, const char *value, int *out)
{
    for (int i = 0; opt->enum_values != NULL && opt->enum_values[i] != NULL; i++) {
        if (strcasecmp(value, opt->enum_values[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return -1;
}

static int parse_string_option(const struct config_option *opt, const char *value,
                               const char *config_dir, char **out, char *why, size_t why_len)
{
    char *copy = NULL;

    if (opt->type == CONFIG_PATH && value[0] != '/') {
        snprintf(why, why_len, "expected an absolute path (starting with /)");
        return -1;
    }
    if (opt->type == CONFIG_SECRET_FILE) {
        copy = config_secret_resolve(value, config_dir, why, why_len);
        if (copy == NULL)
            return -1;
        if (config_secret_check(copy, why, why_len) < 0) {
            free(copy);
            return -1;
        }
    } else {
        copy = strdup(value);
        if (copy == NULL) {
            snprintf(why, why_len, "out of memory");
            return -1;
        }
    }
    *out = copy;
    return 0;
}

int config_value_parse(const struct config_option *opt, const char *value, const char *config_dir,
                       void *settings, char *why, size_t why_len)
{
    void *field = field_of(opt, settings);
    char *s = NULL;
    long l = 0;
    int i = 0;
    enum log_level level = LOG_LVL_INFO;
    char names[256];

    if (value[0] == '\0') {
        /* Empty assignment: back to the default, as in systemd units. */
        option_reset(opt, settings);
        if (opt->default_value == NULL || opt->default_value[0] == '\0')
            return 0;
        return config_value_parse(opt, opt->default_value, config_dir, settings, why, why_len);
    }
    switch (opt->type) {
    case CONFIG_STRING:
    case CONFIG_PATH:
    case CONFIG_SECRET_FILE:
        if (parse_string_option(opt, value, config_dir, &s, why, why_len) < 0)
            return -1;
        option_reset(opt, settings);
        *(char **)field = s;
        return 0;
    case CONFIG_BOOL:
        if (parse_bool(value, &i) < 0) {
            snprintf(why, why_len, "expected yes/no, true/false, on/off or 1/0");
            return -1;
        }
        *(int *)field = i;
        return 0;
    case CONFIG_INT:
    case CONFIG_DURATION_MS:
    case CONFIG_SIZE:
        if (parse_long_option(opt, value, &l, why, why_len) < 0)
            return -1;
        *(long *)field = l;
        return 0;
    case CONFIG_ENUM:
        if (parse_enum_index(opt, value, &i) < 0) {
            format_enum_values(opt->enum_values, names, sizeof(names));
            snprintf(why, why_len, "expected one of: %s", names);
            return -1;
        }
        *(int *)field = i;
        return 0;
    case CONFIG_LOG_LEVEL:
        if (log_level_parse(value, &level) < 0) {
            format_enum_values(opt->enum_values, names, sizeof(names));
            snprintf(why, why_len, "expected one of: %s", names);
            return -1;
        }
        *(int *)field = (int)level;
        return 0;
    }
    snprintf(why, why_len, "option has an unknown type %d", (int)opt->type);
    return -1;
}

void config_value_format(const struct config_option *opt, const void *settings, char *buf,
                         size_t len)
{
    const void *field = cfield_of(opt, settings);
    const char *s = NULL;
    enum log_level level = LOG_LVL_INFO;
    int v = 0;

    buf[0] = '\0';
    switch (opt->type) {
    case CONFIG_STRING:
    case CONFIG_PATH:
    case CONFIG_SECRET_FILE:
        s = *(char *const *)field;
        snprintf(buf, len, "%s", s != NULL ? s : "");
        break;
    case CONFIG_BOOL:
        snprintf(buf, len, "%s", *(const int *)field ? "yes" : "no");
        break;
    case CONFIG_INT:
    case CONFIG_DURATION_MS:
    case CONFIG_SIZE:
        format_long(opt->type, *(const long *)field, buf, len);
        break;
    case CONFIG_ENUM:
        v = *(const int *)field;
        for (int i = 0; opt->enum_values != NULL && opt->enum_values[i] != NULL; i++) {
            if (i == v)
                snprintf(buf, len, "%s", opt->enum_values[i]);
        }
        break;
    case CONFIG_LOG_LEVEL:
        /* Map back through log_level_parse() so names live in log.c only. */
        v = *(const int *)field;
        for (int i = 0; opt->enum_values != NULL && opt->enum_values[i] != NULL; i++) {
            if (log_level_parse(opt->enum_values[i], &level) == 0 && (int)level == v)
                snprintf(buf, len, "%s", opt->enum_values[i]);
        }
        break;
    }
}

int config_apply_defaults(const struct config_table *table, const char *config_dir, void *settings,
                          char *why, size_t why_len)
{
    char reason[512];

    for (const struct config_option *o = table->options; o->name != NULL; o++) {
        if (o->default_value == NULL)
            continue;
        if (config_value_parse(o, o->default_value, config_dir, settings, reason, sizeof(reason)) <
            0) {
            snprintf(why, why_len, "[%s] %s: bad built-in default '%s': %s", table->kind, o->name,
                     o->default_value, reason);
            return -1;
        }
    }
    return 0;
}

static const char *type_name(enum config_type type)
{
    switch (type) {
    case CONFIG_STRING:
        return "string";
    case CONFIG_PATH:
        return "absolute path";
    case CONFIG_SECRET_FILE:
        return "secret file";
    case CONFIG_BOOL:
        return "boolean";
    case CONFIG_INT:
        return "integer";
    case CONFIG_DURATION_MS:
        return "duration";
    case CONFIG_SIZE:
        return "size";
    case CONFIG_ENUM:
        return "enum";
    case CONFIG_LOG_LEVEL:
        return "log level";
    }
    return "?";
}

/* Appends one problem line to err, keeping earlier ones. */
static void add_problem(struct error *err, size_t *n, const char *line)
{
    size_t used = strlen(err->msg);

    if (*n > 0 && used + 1 < sizeof(err->msg)) {
        err->msg[used++] = '\n';
        err->msg[used] = '\0';
    }
    snprintf(err->msg + used, sizeof(err->msg) - used, "%s", line);
    (*n)++;
}

int config_table_validate(const struct config_table *table, struct error *err)
{
    char line[640];
    char why[512];
    size_t n = 0;
    void *settings = NULL;

    error_clear(err);
    settings = calloc(1, table->settings_size > 0 ? table->settings_size : 1);
    if (settings == NULL)
        return error_set(err, "out of memory");
    for (const struct config_option *o = table->options; o->name != NULL; o++) {
        const char *problem = NULL;
        size_t width = is_string_type(o->type) ? sizeof(char *)
                       : is_long_type(o->type) ? sizeof(long)
                                               : sizeof(int);

        if (config_option_find(table, o->name) != o)
            problem = "declared twice";
        else if (strcmp(o->name, "type") == 0)
            problem = "'type' is reserved for the connector type";
        else if (o->help == NULL || o->help[0] == '\0')
            problem = "has no help text";
        else if ((o->type == CONFIG_ENUM || o->type == CONFIG_LOG_LEVEL) &&
                 (o->enum_values == NULL || o->enum_values[0] == NULL))
            problem = "enum without enum_values";
        else if (o->min > o->max)
            problem = "min > max";
        else if (o->offset + width > table->settings_size)
            problem = "offset outside settings_size";
        if (problem != NULL) {
            snprintf(line, sizeof(line), "[%s] %s: %s", table->kind, o->name, problem);
            add_problem(err, &n, line);
            continue;
        }
        /* A secret file default names a file of the installed system (often
         * a credential name); only its resolution is checked here. */
        if (o->default_value != NULL && o->type != CONFIG_SECRET_FILE &&
            config_value_parse(o, o->default_value, NULL, settings, why, sizeof(why)) < 0) {
            snprintf(line, sizeof(line), "[%s] %s: bad default '%s': %s", table->kind, o->name,
                     o->default_value, why);
            add_problem(err, &n, line);
        }
        if (o->type == CONFIG_LOG_LEVEL) {
            enum log_level level = LOG_LVL_INFO;
            for (size_t i = 0; o->enum_values[i] != NULL; i++) {
                if (log_level_parse(o->enum_values[i], &level) < 0) {
                    snprintf(line, sizeof(line), "[%s] %s: '%s' is not a log level", table->kind,
                             o->name, o->enum_values[i]);
                    add_problem(err, &n, line);
                }
            }
        }
    }
    config_settings_release(table, settings);
    free(settings);
    return n == 0 ? 0 : -1;
}

int config_print_reference(const struct config_table *table, FILE *out)
{
    char accepted[512];
    char lo[32];
    char hi[32];

    if (fprintf(out, "[%s]\n", table->kind) < 0)
        return -1;
    for (const struct config_option *o = table->options; o->name != NULL; o++) {
        accepted[0] = '\0';
        if (o->type == CONFIG_ENUM || o->type == CONFIG_LOG_LEVEL) {
            format_enum_values(o->enum_values, accepted, sizeof(accepted));
        } else if (is_long_type(o->type) && has_bounds(o)) {
            format_long(o->type, o->min, lo, sizeof(lo));
            format_long(o->type, o->max, hi, sizeof(hi));
            snprintf(accepted, sizeof(accepted), "%s to %s", lo, hi);
        }
        if (fprintf(out, "  %s (%s%s%s)%s%s%s\n      %s\n", o->name, type_name(o->type),
                    accepted[0] != '\0' ? ": " : "", accepted,
                    o->default_value != NULL ? " default: " : "",
                    o->default_value != NULL ? o->default_value : "",
                    o->required ? " required" : "", o->help != NULL ? o->help : "") < 0)
            return -1;
    }
    return 0;
}
