/* The effective configuration as INI text (--check-config -v). The output is
 * itself a valid configuration: every value is written the way its parser
 * reads it, so dumping and loading again gives the same settings. */
#include "config.h"

#include <stdio.h>

static int dump_options(const struct config_table *table, const void *settings, FILE *out)
{
    char value[1024];

    for (const struct config_option *o = table->options; o->name != NULL; o++) {
        config_value_format(o, settings, value, sizeof(value));
        /* An unset option is written as a comment: "key =" would mean
         * "reset to default", which is not the same thing for every key. */
        if (value[0] == '\0') {
            if (fprintf(out, "# %s is not set\n", o->name) < 0)
                return -1;
            continue;
        }
        /* The configuration only ever holds the path of a secret. */
        if (o->type == CONFIG_SECRET_FILE &&
            fprintf(out, "# secret file, contents not shown\n") < 0)
            return -1;
        if (fprintf(out, "%s = %s\n", o->name, value) < 0)
            return -1;
    }
    return 0;
}

int config_dump(const struct config *cfg, FILE *out)
{
    if (fprintf(out, "# Effective configuration of %s and its conf.d/ (defaults included)\n",
                cfg->main_path != NULL ? cfg->main_path : "?") < 0)
        return -1;
    if (fprintf(out, "\n[daemon]\n") < 0 ||
        dump_options(&daemon_config_table, &cfg->daemon, out) < 0)
        return -1;
    if (fprintf(out, "\n[state]\n") < 0 || dump_options(&state_config_table, &cfg->state, out) < 0)
        return -1;
    if (fprintf(out, "\n[ingest]\n") < 0 ||
        dump_options(&ingest_config_table, &cfg->ingest, out) < 0)
        return -1;
    for (size_t i = 0; i < cfg->n_connectors; i++) {
        const struct connector_config *c = &cfg->connectors[i];

        if (fprintf(out, "\n# from %s:%d\n[connector.%s]\ntype = %s\n", c->file, c->line, c->name,
                    c->type) < 0)
            return -1;
        if (dump_options(c->table, c->settings, out) < 0)
            return -1;
    }
    return fflush(out) == 0 ? 0 : -1;
}
