/* crmsyncctl: the operator's view of a running (or stopped) crmsyncd.
 * It reads the state database read-only, so it never blocks the daemon. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "connector.h"
#include "store.h"
#include "store_report.h"

#define DEFAULT_CONFIG "/etc/crmsyncd/crmsyncd.conf"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static void usage(FILE *out)
{
    fprintf(out, "Usage: crmsyncctl [-c FILE | --state DB] [--json] COMMAND\n\n"
                 "Commands:\n"
                 "  status   per connector cursors, change-log size, dead letters,\n"
                 "           the last ingested files\n\n"
                 "Options:\n"
                 "  -c, --config FILE  daemon configuration (default " DEFAULT_CONFIG ")\n"
                 "  -s, --state DB     state database (instead of reading the configuration)\n"
                 "  -j, --json         machine-readable output\n"
                 "  -h, --help         this text\n\n"
                 "Exit codes: 0 ok, 1 failure, 2 usage error.\n");
}

static const char *str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : "-";
}

static long long num(json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

static void print_status_text(json_t *doc)
{
    json_t *cl = json_object_get(doc, "changelog");
    json_t *m = json_object_get(doc, "members");
    json_t *v;
    size_t i;

    printf("change-log: %lld changes (%lld effective), last seq %lld, last received %s\n",
           num(cl, "changes"), num(cl, "effective"), num(cl, "last_seq"),
           str(cl, "last_received_at"));
    printf("members: %lld with state, %lld points transactions, %lld erased\n",
           num(m, "with_state"), num(m, "points_transactions"), num(m, "erased"));
    printf("\nchanges by origin:\n");
    json_array_foreach(json_object_get(doc, "changes_by_origin"), i, v)
        printf("  %-16s %-8s %8lld (%lld effective)\n", str(v, "origin"), str(v, "kind"),
               num(v, "changes"), num(v, "effective"));
    printf("\nconnector cursors:\n");
    if (json_array_size(json_object_get(doc, "cursors")) == 0)
        printf("  (none yet)\n");
    json_array_foreach(json_object_get(doc, "cursors"), i, v)
        printf("  %-16s pull %s (at %s)\n", str(v, "connector"), str(v, "pull_watermark"),
               str(v, "updated_at"));
    json_array_foreach(json_object_get(doc, "push_cursors"), i, v)
        printf("  %-16s push lane %lld at seq %lld\n", str(v, "connector"), num(v, "lane"),
               num(v, "seq"));
    printf("\ndead letters:\n");
    if (json_array_size(json_object_get(doc, "dead_letters")) == 0)
        printf("  (none)\n");
    json_array_foreach(json_object_get(doc, "dead_letters"), i, v)
        printf("  %-16s from %-16s %6lld (oldest %s)\n", str(v, "destination"), str(v, "origin"),
               num(v, "count"), str(v, "oldest_at"));
    printf("\nlast ingested files:\n");
    if (json_array_size(json_object_get(doc, "recent_files")) == 0)
        printf("  (none)\n");
    json_array_foreach(json_object_get(doc, "recent_files"), i, v)
        printf("  %-16s %-28s %-16s %lld lines; changes: %lld applied, %lld unchanged, %lld dup; "
               "%lld rejected (%s)\n",
               str(v, "connector"), str(v, "name"), str(v, "status"), num(v, "lines"),
               num(v, "applied"), num(v, "unchanged"), num(v, "duplicates"), num(v, "rejected"),
               str(v, "finished_at"));
    if (json_array_size(json_object_get(doc, "pending_resyncs")) > 0) {
        printf("\npending resync requests:\n");
        json_array_foreach(json_object_get(doc, "pending_resyncs"), i, v)
            printf("  %s requested %s\n", json_is_string(json_object_get(v, "connector"))
                                              ? str(v, "connector")
                                              : "(all)",
                   str(v, "requested_at"));
    }
}

static int cmd_status(struct store *st, int json_out)
{
    json_t *doc = NULL;
    struct error err = {""};

    if (store_report_status(st, &doc, &err) != 0) {
        fprintf(stderr, "crmsyncctl: %s\n", err.msg);
        return EXIT_FAIL;
    }
    if (json_out) {
        json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        putchar('\n');
    } else {
        print_status_text(doc);
    }
    json_decref(doc);
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"state", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},         {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = DEFAULT_CONFIG;
    const char *state_path = NULL;
    struct config *cfg = NULL;
    struct store *st = NULL;
    struct store_options so = {0};
    struct error err = {""};
    int json_out = 0;
    int opt;
    int rc = EXIT_FAIL;

    while ((opt = getopt_long(argc, argv, "c:s:jh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 's':
            state_path = optarg;
            break;
        case 'j':
            json_out = 1;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[optind], "status") != 0) {
        fprintf(stderr, "crmsyncctl: unknown command '%s'\n", argv[optind]);
        usage(stderr);
        return EXIT_USAGE;
    }
    if (state_path == NULL) {
        if (config_load(config_path, connector_config_lookup, &cfg, &err) != 0) {
            fprintf(stderr, "crmsyncctl: cannot read configuration %s:\n%s\n", config_path,
                    err.msg);
            goto out;
        }
        state_path = cfg->state.path;
    }
    so.path = state_path;
    so.readonly = 1;
    so.busy_timeout_ms = 2000;
    if (store_open(&so, &st, &err) != 0) {
        fprintf(stderr, "crmsyncctl: %s\n", err.msg);
        goto out;
    }
    rc = cmd_status(st, json_out);
out:
    store_close(st);
    config_free(cfg);
    return rc;
}
