/* Configuration: INI files (inih), a main file plus conf.d/NAME.conf drop-ins.
 *
 * Options are declared, not parsed ad hoc: each section kind has a table of
 * struct config_option (name, type, default, offsetof into its settings
 * struct), and this module alone parses values and reports errors as
 * "file:line: message". Unknown sections and unknown keys are errors.
 *
 * Sections:
 *   [daemon]            -> struct daemon_settings   (daemon_options[])
 *   [state]             -> struct state_settings    (state_options[])
 *   [ingest]            -> struct ingest_settings   (ingest_options[])
 *   [connector.NAME]    -> a connector instance; its `type = ...` key picks
 *                          the option table through the lookup function given
 *                          to config_load(), and its settings are allocated
 *                          with that table's struct size.
 *
 * Drop-ins in <dir of main file>/conf.d/NAME.conf are read in lexical order
 * after the main file; a later file may set a key again (last one wins) and
 * may add connector sections.
 */
#ifndef CRMSYNC_CONFIG_H
#define CRMSYNC_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "error.h"

enum config_type {
    CONFIG_STRING,      /* char *, malloc'd, freed by config_free() */
    CONFIG_PATH,        /* char *, like STRING; must be absolute */
    CONFIG_SECRET_FILE, /* char *, path of a file holding a secret; checked at
                           load: must exist, be a non-empty regular file owned
                           by the daemon's uid or root, not be readable or
                           writable by group or others, and sit in no
                           group/other-writable directory without the sticky
                           bit (config_secret_check()). A relative
                           path is resolved against $CREDENTIALS_DIRECTORY
                           when set (systemd LoadCredential=). */
    CONFIG_BOOL,        /* int: yes/no/true/false/on/off/1/0 */
    CONFIG_INT,         /* long, within [min, max] */
    CONFIG_DURATION_MS, /* long milliseconds; "250ms", "30s", "5m", "2h", "1d";
                           a bare number means seconds */
    CONFIG_SIZE,        /* long bytes; "512", "64k", "10M", "1G" (powers of 1024) */
    CONFIG_ENUM,        /* int index into enum_values */
    CONFIG_LOG_LEVEL,   /* int holding an enum log_level, parsed by
                           log_level_parse() so log.c stays the one place
                           that maps names to levels; enum_values lists the
                           names for errors, dumps and the reference */
};

struct config_option {
    const char *name;
    enum config_type type;
    const char *default_value; /* NULL: no default; with required=0 the field
                                  stays NULL/0 */
    size_t offset;             /* offsetof(settings struct, field) */
    int required;
    long min, max;                  /* CONFIG_INT/DURATION_MS/SIZE; min==max==0: unbounded */
    const char *const *enum_values; /* CONFIG_ENUM: NULL-terminated */
    const char *help;               /* one line, for --help-config and docs */
};

/* A table for one kind of section; options is terminated by {NULL}. */
struct config_table {
    const char *kind; /* "daemon", "state", "spool", "hubspot", ... */
    const struct config_option *options;
    size_t settings_size; /* sizeof the settings struct the offsets point into */
};

/* A connector that cannot start at daemon start (issue 19): the daemon
 * exits, or runs without it with /healthz failing (connector_failed). */
enum connector_start_failure { CONNECTOR_START_FATAL = 0, CONNECTOR_START_UNHEALTHY = 1 };

enum state_synchronous { STATE_SYNC_FULL = 0, STATE_SYNC_NORMAL = 1 };

struct daemon_settings {
    int log_level;          /* enum log_level, parsed from a name; default info */
    long shutdown_grace_ms; /* bound on draining at SIGTERM; default 10s */
    long watchdog_ms;       /* 0: use $WATCHDOG_USEC from systemd if set */
    char *admin_listen;     /* e.g. "127.0.0.1:9187"; NULL: admin endpoint off */
    /* Admin endpoint limits (issue 14 item 11, src/admin.h). */
    int admin_allow_remote;
    long admin_max_connections;
    long admin_per_ip_connections;
    long admin_request_timeout_ms;
    long admin_connections_per_minute;
    int connector_start_failure; /* enum connector_start_failure; default fatal */
    int allow_core_dumps;        /* default no: not dumpable, RLIMIT_CORE 0 (hardening.h) */
    /* Retry policy of pushed records (issue 14 item 3). */
    long retry_give_up_after_ms; /* a record's own failures, then dead letter; 0: never */
    long retry_max_attempts;     /* 0: no limit (give up by time alone) */
    long retry_backoff_max_ms;   /* cap of the exponential backoff */
    long max_retry_after_ms;     /* cap on a vendor's Retry-After (issue 14 item 10) */
    /* Health (issue 19). */
    long backlog_bound;            /* pulls pause and /healthz fails above it */
    long urgent_max_age_ms;        /* a withdrawal/erasure pending longer: unhealthy; 0: off */
    long unreachable_after_ms;     /* no successful request for this long: unhealthy */
    long audit_verify_interval_ms; /* consent audit chain walk (audit_check.h); 0: off */
};

/* [ingest]: the HTTP ingest listener (src/http_ingest.c); NULL listen: off. */
struct ingest_settings {
    char *listen;
    char *tls_cert;
    char *tls_key;
    int verify; /* index into jwks_uri, jwk, pem, pubkey, introspect */
    char *verify_value;
    char *verify_options;
    char *issuer;
    char *audience;
    long token_cache_ms;
    long bad_token_limit;
    long max_body;
    long max_connections;
    long per_ip_connections;
    long timeout_ms;
    long header_timeout_ms;  /* a request's head must arrive within this */
    long request_timeout_ms; /* a request must arrive whole within this */
    long max_pending;
    long max_backlog; /* a destination's backlog above which events get 429 */
    char *scope_consent;
    char *scope_points;
    char *scope_profile;
    char *scope_erasure;
    char *scope_members;
};

struct state_settings {
    char *path;           /* default /var/lib/crmsyncd/state.db */
    int synchronous;      /* enum state_synchronous; default full */
    long busy_timeout_ms; /* default 5s */
    long txn_max_changes; /* changes per ingest transaction; default 5000 */
    /* Retention (issue 15, docs/state.md): how long a change every
     * destination has passed stays in the change-log (0: not at all), and
     * how long idempotency keys are kept (longer than every lookback). */
    long change_retention_ms; /* default 7d */
    long dedup_window_ms;     /* default 30d */
    /* Consent audit rows older than this move to the archive file
     * (state/sqlite/store_audit_archive.h); 0: kept in the database. */
    long audit_retention_ms; /* default 0 */
    char *audit_archive;     /* default: the database's path + "-audit.jsonl" */
    /* Operator actions, finished resync requests and resolved push dead
     * letters older than this are deleted (state/sqlite/store_history.h); 0: kept. */
    long history_retention_ms; /* default 90d */
    /* Points transactions older than this whose contribution is final fold
     * into a per-member opening balance (state/sqlite/store_ledger.h); 0: kept. */
    long ledger_retention_ms; /* default 0 */
};

extern const struct config_table daemon_config_table;
extern const struct config_table state_config_table;
extern const struct config_table ingest_config_table;

struct connector_config {
    char *name; /* NAME of [connector.NAME] */
    char *type; /* value of its type = key */
    char *file; /* where the section header is */
    int line;
    void *settings; /* struct of the type's table, parsed; freed by config_free */
    const struct config_table *table;
};

struct config {
    char *main_path;
    struct daemon_settings daemon;
    struct state_settings state;
    struct ingest_settings ingest;
    struct connector_config *connectors;
    size_t n_connectors;
};

/* Returns the option table for a connector type, or NULL if unknown. */
typedef const struct config_table *(*config_lookup_fn)(const char *type);

/* Loads main_path and its conf.d drop-ins. On error returns -1 and err holds
 * every problem found, one per line, each "file:line: message" (so
 * --check-config shows them all at once); *out is left NULL. */
int config_load(const char *main_path, config_lookup_fn lookup, struct config **out,
                struct error *err);
void config_free(struct config *cfg);

/* Finds a connector instance by name; NULL if none. */
const struct connector_config *config_find_connector(const struct config *cfg, const char *name);

/* Reads a secret file (the checks of CONFIG_SECRET_FILE again, at use time),
 * strips one trailing newline. The caller wipes and frees it with
 * config_secret_free(). Returns NULL and sets err on failure. */
char *config_secret_read(const char *path, struct error *err);
void config_secret_free(char *secret);

/* Writes the effective configuration (defaults included) as INI text that
 * config_load() accepts again. Secret options show only their (resolved)
 * path: the configuration never holds secret contents. Returns 0 or -1 on a
 * write error. */
int config_dump(const struct config *cfg, FILE *out);

/* Writes the option reference of one table (name, type, accepted values,
 * default, help) for --help-config and the docs. Returns 0 or -1. */
int config_print_reference(const struct config_table *table, FILE *out);

/* Checks a table: names unique and not "type" (reserved for connector
 * sections), help present, enum values present, bounds sane, and every
 * default parses through the same parser as a configured value. Connector
 * unit tests should call it on their table. Returns 0, or -1 with all
 * problems in err. */
int config_table_validate(const struct config_table *table, struct error *err);

/* --- Lower level, shared by src/config*.c and the unit tests. --- */

/* Finds an option of a table by key name; NULL if none. */
const struct config_option *config_option_find(const struct config_table *table, const char *name);

/* Parses value for opt into settings (at opt->offset), replacing what was
 * there. An empty value resets the option to its default (systemd style), so
 * a drop-in can write "admin_listen =" to turn a default or earlier value off.
 * Relative CONFIG_SECRET_FILE paths resolve against $CREDENTIALS_DIRECTORY,
 * else against config_dir (the main file's directory; NULL: refused).
 * Returns 0, or -1 with the reason (no file:line) in why. */
int config_value_parse(const struct config_option *opt, const char *value, const char *config_dir,
                       void *settings, char *why, size_t why_len);

/* Formats the current value of opt in settings as config_value_parse()
 * accepts it ("10s", "64k", "yes", "info"); "" when unset. */
void config_value_format(const struct config_option *opt, const void *settings, char *buf,
                         size_t len);

/* Applies every default of table to settings (zeroed before); config_dir as
 * for config_value_parse(). Returns 0, or -1 with the first bad default in
 * why. */
int config_apply_defaults(const struct config_table *table, const char *config_dir, void *settings,
                          char *why, size_t why_len);

/* Frees the strings a table's options own in settings (not settings). */
void config_settings_release(const struct config_table *table, void *settings);

/* The checks of CONFIG_SECRET_FILE: path exists, is a non-empty regular
 * file we can open, owned by our effective uid or root, mode & 077 == 0,
 * and no directory above it is group/other-writable without the sticky
 * bit. Returns 0, or -1 with the reason in why. */
int config_secret_check(const char *path, char *why, size_t why_len);
/* Tests only: check ownership against uid instead of geteuid() (-1: back
 * to geteuid()). */
void config_secret_set_owner_uid(long uid);

/* Reads one INI file through inih, with line numbers (Debian's libinih 55
 * has no INI_HANDLER_LINENO). Calls section() for every "[name]" header,
 * even of an empty section, with name NULL for a header that could not be
 * read (its keys should be skipped); entry() for every key = value; error()
 * for every syntax problem. Leading whitespace is ignored and values do not
 * continue on the next line. Returns 0, or -1 if the file could not be read
 * (reported through error() with line 0). */
struct config_read_ops {
    void (*section)(void *user, const char *name, int line);
    void (*entry)(void *user, const char *key, const char *value, int line);
    void (*error)(void *user, int line, const char *msg);
};
int config_read_file(FILE *fp, const struct config_read_ops *ops, void *user);

/* Resolves a secret file value to an absolute path as described at
 * config_value_parse(). Returns malloc'd path, or NULL with why set. */
char *config_secret_resolve(const char *value, const char *config_dir, char *why, size_t why_len);

#endif
