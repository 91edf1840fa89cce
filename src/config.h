/* Configuration: INI files (inih), a main file plus conf.d/*.conf drop-ins.
 *
 * Options are declared, not parsed ad hoc: each section kind has a table of
 * struct config_option (name, type, default, offsetof into its settings
 * struct), and this module alone parses values and reports errors as
 * "file:line: message". Unknown sections and unknown keys are errors.
 *
 * Sections:
 *   [daemon]            -> struct daemon_settings   (daemon_options[])
 *   [state]             -> struct state_settings    (state_options[])
 *   [connector.NAME]    -> a connector instance; its `type = ...` key picks
 *                          the option table through the lookup function given
 *                          to config_load(), and its settings are allocated
 *                          with that table's struct size.
 *
 * Drop-ins in <dir of main file>/conf.d/*.conf are read in lexical order
 * after the main file; a later file may set a key again (last one wins) and
 * may add connector sections.
 */
#ifndef CRMSYNC_CONFIG_H
#define CRMSYNC_CONFIG_H

#include <stddef.h>

#include "error.h"

enum config_type {
    CONFIG_STRING,      /* char *, malloc'd, freed by config_free() */
    CONFIG_PATH,        /* char *, like STRING; must be absolute */
    CONFIG_SECRET_FILE, /* char *, path of a file holding a secret; checked at
                           load: must exist, be a regular file, and not be
                           readable or writable by group or others. A relative
                           path is resolved against $CREDENTIALS_DIRECTORY
                           when set (systemd LoadCredential=). */
    CONFIG_BOOL,        /* int: yes/no/true/false/on/off/1/0 */
    CONFIG_INT,         /* long, within [min, max] */
    CONFIG_DURATION_MS, /* long milliseconds; "250ms", "30s", "5m", "2h", "1d";
                           a bare number means seconds */
    CONFIG_SIZE,        /* long bytes; "512", "64k", "10M", "1G" (powers of 1024) */
    CONFIG_ENUM,        /* int index into enum_values */
};

struct config_option {
    const char *name;
    enum config_type type;
    const char *default_value; /* NULL: no default; with required=0 the field
                                  stays NULL/0 */
    size_t offset;             /* offsetof(settings struct, field) */
    int required;
    long min, max;                   /* CONFIG_INT/DURATION_MS/SIZE; min==max==0: unbounded */
    const char *const *enum_values;  /* CONFIG_ENUM: NULL-terminated */
    const char *help;                /* one line, for --help-config and docs */
};

/* A table for one kind of section; options is terminated by {NULL}. */
struct config_table {
    const char *kind;     /* "daemon", "state", "spool", "hubspot", ... */
    const struct config_option *options;
    size_t settings_size; /* sizeof the settings struct the offsets point into */
};

enum state_synchronous { STATE_SYNC_FULL = 0, STATE_SYNC_NORMAL = 1 };

struct daemon_settings {
    int log_level;          /* enum log_level, parsed from a name; default info */
    long shutdown_grace_ms; /* bound on draining at SIGTERM; default 10s */
    long watchdog_ms;       /* 0: use $WATCHDOG_USEC from systemd if set */
    char *admin_listen;     /* e.g. "127.0.0.1:9187"; NULL: admin endpoint off */
};

struct state_settings {
    char *path;             /* default /var/lib/crmsyncd/state.db */
    int synchronous;        /* enum state_synchronous; default full */
    long busy_timeout_ms;   /* default 5s */
    long txn_max_changes;   /* changes per ingest transaction; default 5000 */
};

extern const struct config_table daemon_config_table;
extern const struct config_table state_config_table;

struct connector_config {
    char *name;     /* NAME of [connector.NAME] */
    char *type;     /* value of its type = key */
    char *file;     /* where the section header is */
    int line;
    void *settings; /* struct of the type's table, parsed; freed by config_free */
    const struct config_table *table;
};

struct config {
    char *main_path;
    struct daemon_settings daemon;
    struct state_settings state;
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

#endif
