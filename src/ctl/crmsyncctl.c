/* crmsyncctl: the operator's view of a running (or stopped) crmsyncd.
 * Reads go through a read-only connection, so they never block the daemon;
 * the few writes (erase, dead-letter retry/drop, resync requests) are one
 * short transaction each, which SQLite's WAL and busy_timeout interleave with
 * the daemon's own. Subcommands live in src/ctl_*.c. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define DEFAULT_CONFIG "/etc/crmsyncd/crmsyncd.conf"

static const struct ctl_command commands[] = {
    {"status", "per connector state, cursors, backlog, dead letters, erasures", ctl_status},
    {"resync", "ask the running daemon for a full resync (all or one connector)", ctl_resync},
    {"dead-letters", "list, show, retry or drop dead letters", ctl_dead_letters},
    {"member", "export a member's history (GDPR Art. 15) or erase a member", ctl_member},
    {"audit", "verify the consent audit hash chain", ctl_audit},
    {"holds", "list or clear the Retry-After holds kept across restarts", ctl_holds},
};

static void usage(FILE *out)
{
    fprintf(out, "Usage: crmsyncctl [-c FILE | -s DB] [--json] COMMAND [ARGS]\n"
                 "       crmsyncctl --help | --version\n\nCommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-13s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'crmsyncctl COMMAND --help' describes each command.\n\n"
                 "Options:\n"
                 "  -c, --config FILE  daemon configuration (default " DEFAULT_CONFIG ")\n"
                 "  -s, --state DB     state database (instead of reading the configuration)\n"
                 "  -j, --json         machine-readable output\n"
                 "  -h, --help         this text\n"
                 "  -V, --version      print the version\n\n"
                 "Exit codes: 0 ok, 1 failure, 2 usage error, 3 not found, 4 daemon not running,\n"
                 "5 database locked, 6 no usable database (missing, not crmsyncd's, other schema\n"
                 "version), 7 audit chain broken.\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"state", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},         {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
    };
    struct ctl ctl = {DEFAULT_CONFIG, NULL, NULL, 0};
    int opt;
    int rc = CTL_USAGE;

    /* "+": stop at the command; its options are its own. */
    for (;;) {
        opt = getopt_long(argc, argv, "+c:s:jhV", longopts, NULL);
        if (opt == -1)
            break;
        switch (opt) {
        case 'c':
            ctl.config_path = optarg;
            break;
        case 's':
            ctl.state_path = optarg;
            break;
        case 'j':
            ctl.json = 1;
            break;
        case 'h':
            usage(stdout);
            return CTL_OK;
        case 'V':
            printf("crmsyncctl %s\n", CRMSYNC_VERSION);
            return CTL_OK;
        default:
            usage(stderr);
            return CTL_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return CTL_USAGE;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[optind], commands[i].name) == 0) {
            int first = optind;
            ctl_getopt_reset();
            rc = commands[i].run(&ctl, argc - first, argv + first);
            config_free(ctl.cfg);
            return rc;
        }
    }
    ctl_err("unknown command '%s' (try crmsyncctl --help)", argv[optind]);
    return CTL_USAGE;
}
