/* crmsyncctl internals: the context every subcommand gets, exit codes, and
 * helpers to open the state and find the running daemon (src/ctl_*.c). */
#ifndef CRMSYNC_CTL_H
#define CRMSYNC_CTL_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "config.h"
#include "store.h"

/* Exit codes (documented in crmsyncctl(1) and --help). */
enum ctl_exit {
    CTL_OK = 0,
    CTL_FAIL = 1,        /* anything else that went wrong */
    CTL_USAGE = 2,       /* unknown command or option, bad argument */
    CTL_NOT_FOUND = 3,   /* no such member, dead letter or connector */
    CTL_NOT_RUNNING = 4, /* the daemon is not running (resync) */
    CTL_BUSY = 5,        /* the database stayed locked */
    CTL_BAD_STATE = 6,   /* no database, not ours, or another schema version */
    CTL_BROKEN = 7,      /* audit verify: the chain is broken */
};

/* status --check (src/ctl/ctl_check.c): the monitoring plugin convention. */
enum ctl_check {
    CTL_CHECK_OK = 0,
    CTL_CHECK_WARNING = 1,
    CTL_CHECK_CRITICAL = 2,
    CTL_CHECK_UNKNOWN = 3,
};

struct ctl {
    const char *config_path;
    const char *state_path;
    struct config *cfg; /* NULL with --state */
    int json;
};

struct ctl_command {
    const char *name;
    const char *summary;
    int (*run)(struct ctl *ctl, int argc, char **argv); /* argv[0] is the command */
};

int ctl_status(struct ctl *ctl, int argc, char **argv);
int ctl_resync(struct ctl *ctl, int argc, char **argv);
int ctl_dead_letters(struct ctl *ctl, int argc, char **argv);
int ctl_member(struct ctl *ctl, int argc, char **argv);
int ctl_audit(struct ctl *ctl, int argc, char **argv);
int ctl_holds(struct ctl *ctl, int argc, char **argv);

/* Prints the one-line verdict of a status document and returns its
 * enum ctl_check; _unknown when there is no document (why). */
int ctl_status_check(json_t *doc);
int ctl_status_check_unknown(const char *why);

/* Loads the configuration (unless --state) and resolves the state path. */
int ctl_load(struct ctl *ctl);
/* The options of a subcommand that takes only --json and --help: -1 go on
 * (ctl->json set for --json; operands from optind), else the exit code
 * (--help printed: CTL_OK; an unknown option: help on stderr, CTL_USAGE). */
int ctl_json_help_options(struct ctl *ctl, int argc, char **argv, void (*help)(FILE *out));
/* Opens the state read-only or for a short write; on failure prints a
 * message (never a raw SQLite error) and returns the exit code. */
int ctl_open(struct ctl *ctl, int write, struct store **st);
/* Maps a store_ctl return code to an exit code, printing err. */
int ctl_store_error(int rc, const char *what, const char *msg);

/* 1 running (*pid set), 0 not running, -1 cannot tell (why in buf). */
int ctl_daemon_running(const struct ctl *ctl, pid_t *pid, char *why, size_t size);

/* "30s", "2h", "7d" -> ms; -1 when invalid. */
int64_t ctl_parse_duration(const char *s);

void ctl_print_json(json_t *doc);
void ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A subcommand's option parsing: resets getopt for argv. */
void ctl_getopt_reset(void);

/* Is name a configured connector? (1 when no configuration is loaded.) */
int ctl_connector_known(const struct ctl *ctl, const char *name);

#endif
