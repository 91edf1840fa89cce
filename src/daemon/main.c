/* crmsyncd: command line. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_check.h"
#include "connector.h"
#include "daemon.h"
#include "http.h"
#include "http_ingest_conf.h"

#define DEFAULT_CONFIG "/etc/crmsyncd/crmsyncd.conf"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: crmsyncd [-c FILE] [--check-config [-v]] [--help-config] [--version] [-h]\n"
            "Keeps loyalty and consent data in sync between local state and CRMs.\n\n"
            "  -c, --config FILE   main configuration file (default %s);\n"
            "                      drop-ins are read from conf.d/*.conf beside it\n"
            "      --check-config  validate the configuration and exit (0 valid, 1 not)\n"
            "  -v, --verbose       with --check-config: print the effective configuration\n"
            "      --help-config   list every configuration option with its default\n"
            "      --version       print the version and exit\n"
            "  -h, --help          this text\n\n"
            "Signals: SIGHUP reloads the configuration, SIGUSR1 requests a full resync,\n"
            "SIGTERM/SIGINT drain and exit.\n",
            DEFAULT_CONFIG);
}

/* The URL options of every connector (names ending in _url) under the
 * daemon's own rule (http_url_allowed), so that --check-config refuses what
 * the daemon would refuse later. Prints each problem; returns how many. */
static int check_urls(const struct config *cfg)
{
    int bad = 0;

    for (size_t i = 0; i < cfg->n_connectors; i++) {
        const struct connector_config *cc = &cfg->connectors[i];
        const struct config_option *lo = config_option_find(cc->table, "allow_loopback_http");
        int loopback = 0;

        if (lo != NULL && lo->type == CONFIG_BOOL)
            loopback = *(const int *)((const char *)cc->settings + lo->offset);
        for (const struct config_option *o = cc->table->options; o->name != NULL; o++) {
            size_t n = strlen(o->name);
            const char *url;
            struct error err = {""};

            if (o->type != CONFIG_STRING || n < 4 || strcmp(o->name + n - 4, "_url") != 0)
                continue;
            url = *(char *const *)((const char *)cc->settings + o->offset);
            if (url == NULL || url[0] == '\0' || http_url_allowed(url, loopback, &err) == 0)
                continue;
            fprintf(stderr, "%s:%d: [connector.%s] %s = %s: %s\n", cc->file, cc->line, cc->name,
                    o->name, url, err.msg);
            bad++;
        }
    }
    return bad;
}

static int check_config(const char *path, int verbose)
{
    struct config *cfg = NULL;
    struct error err = {""};

    if (config_load(path, connector_config_lookup, &cfg, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        fprintf(stderr, "crmsyncd: configuration %s is NOT valid\n", path);
        return 1;
    }
    if (http_ingest_check_settings(&cfg->ingest, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        fprintf(stderr, "crmsyncd: configuration %s is NOT valid\n", path);
        config_free(cfg);
        return 1;
    }
    if (check_urls(cfg) + config_check_attribute_maps(cfg, stderr) +
            config_check_connectors(cfg, stderr) !=
        0) {
        fprintf(stderr, "crmsyncd: configuration %s is NOT valid\n", path);
        config_free(cfg);
        return 1;
    }
    if (verbose)
        config_dump(cfg, stdout);
    /* Issue 19: valid, but nothing to do: said, not an error (a first
     * install checks the shipped file before adding connectors). */
    if (cfg->n_connectors == 0)
        fprintf(stderr,
                "crmsyncd: warning: %s has no [connector.NAME] section: the daemon "
                "would run and sync nothing\n",
                path);
    printf("crmsyncd: configuration %s is valid (%zu connector(s))\n", path, cfg->n_connectors);
    config_free(cfg);
    return 0;
}

static int help_config(void)
{
    const struct connector_ops *ops;

    config_print_reference(&daemon_config_table, stdout);
    printf("\n");
    config_print_reference(&state_config_table, stdout);
    printf("\n");
    config_print_reference(&ingest_config_table, stdout);
    for (size_t i = 0; (ops = connector_type_at(i)) != NULL; i++) {
        printf("\n# [connector.NAME] with type = %s\n", ops->type);
        config_print_reference(ops->config, stdout);
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, 'C'},
        {"verbose", no_argument, NULL, 'v'},
        {"version", no_argument, NULL, 'V'},
        {"help-config", no_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = DEFAULT_CONFIG;
    int check = 0, verbose = 0;
    int opt;

    for (;;) {
        opt = getopt_long(argc, argv, "c:vh", longopts, NULL);
        if (opt == -1)
            break;
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'C':
            check = 1;
            break;
        case 'v':
            verbose = 1;
            break;
        case 'V':
            printf("crmsyncd %s\n", CRMSYNC_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        case 'H':
            return help_config();
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "crmsyncd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (check)
        return check_config(config_path, verbose);
    return daemon_run(config_path);
}
