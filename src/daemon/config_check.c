#include "config_check.h"

#include <string.h>
#include <uv.h>

#include "connector.h"
#include "error.h"
#include "log.h"
#include "spool_event.h"

static void closed(struct connector *conn)
{
    (void)conn;
}

static void close_walked(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void give_up(uv_timer_t *t)
{
    uv_stop(t->loop);
}

int config_check_connectors(const struct config *cfg, FILE *out)
{
    uv_loop_t loop;
    uv_timer_t guard;
    int bad = 0;

    enum log_level level = log_get_level();

    if (uv_loop_init(&loop) != 0) {
        fprintf(out, "crmsyncd: cannot set up an event loop to check the connectors\n");
        return 1;
    }
    /* What open() logs (its address, a setup request cancelled by the close)
     * is no news at check time; its refusal is printed below. */
    log_set_level((enum log_level)(LOG_LVL_ERR - 1));
    for (size_t i = 0; i < cfg->n_connectors; i++) {
        const struct connector_config *cc = &cfg->connectors[i];
        struct connector c = {0};
        struct error err = {""};

        c.ops = connector_find_type(cc->type);
        if (c.ops == NULL || c.ops->push == NULL)
            continue;
        c.name = cc->name;
        c.settings = cc->settings;
        c.loop = &loop;
        c.page_max_changes = cfg->state.txn_max_changes;
        if (c.ops->open(&c, &err) != 0) {
            fprintf(out, "%s:%d: [connector.%s] cannot start: %s\n", cc->file, cc->line, cc->name,
                    err.msg);
            bad++;
            continue;
        }
        c.ops->close(&c, closed);
        /* The close completes in loop callbacks; nothing was sent. A
         * connector that left a handle running is not waited for. */
        uv_timer_init(&loop, &guard);
        uv_timer_start(&guard, give_up, 5000, 0);
        uv_unref((uv_handle_t *)&guard);
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_close((uv_handle_t *)&guard, NULL);
        uv_run(&loop, UV_RUN_NOWAIT);
    }
    uv_walk(&loop, close_walked, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    log_set_level(level);
    return bad;
}

/* The string option name of a connector's settings, NULL when it has none
 * or it is unset. */
static const char *string_option(const struct connector_config *cc, const char *name)
{
    const struct config_option *o = config_option_find(cc->table, name);

    if (o == NULL || o->type != CONFIG_STRING)
        return NULL;
    return *(char *const *)((const char *)cc->settings + o->offset);
}

/* 1 when word (n bytes) is one of the comma-separated names of list. */
static int in_list(const char *list, const char *word, size_t n)
{
    const char *p = list;

    while (p != NULL && *p != '\0') {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        while (len > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            len--;
        }
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == n && strncmp(p, word, n) == 0)
            return 1;
        p = end != NULL ? end + 1 : NULL;
    }
    return 0;
}

/* 1 when some input accepts the profile attribute: a spool connector's
 * attributes list, or the HTTP ingest, which takes the default vocabulary;
 * -1 when there is no such input (profiles come from CRMs only). */
static int attribute_accepted(const struct config *cfg, const char *word, size_t n)
{
    int inputs = 0;

    for (size_t i = 0; i < cfg->n_connectors; i++) {
        const struct connector_config *cc = &cfg->connectors[i];
        const char *list;

        if (strcmp(cc->type, "spool") != 0)
            continue;
        inputs++;
        list = string_option(cc, "attributes");
        if (list != NULL && in_list(list, word, n))
            return 1;
    }
    if (cfg->ingest.listen != NULL) {
        inputs++;
        for (const char *const *a = spool_default_vocab.attributes; *a != NULL; a++) {
            if (strlen(*a) == n && strncmp(*a, word, n) == 0)
                return 1;
        }
    }
    return inputs > 0 ? 0 : -1;
}

int config_check_attribute_maps(const struct config *cfg, FILE *out)
{
    int bad = 0;

    for (size_t i = 0; i < cfg->n_connectors; i++) {
        const struct connector_config *cc = &cfg->connectors[i];
        const char *map = string_option(cc, "attribute_map");
        const char *p = map;

        while (p != NULL && *p != '\0') {
            const char *end = strchr(p, ',');
            const char *eq;
            size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

            while (len > 0 && (*p == ' ' || *p == '\t')) {
                p++;
                len--;
            }
            eq = memchr(p, '=', len);
            if (eq != NULL) {
                size_t n = (size_t)(eq - p);
                while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
                    n--;
                if (n > 0 && attribute_accepted(cfg, p, n) == 0) {
                    fprintf(out,
                            "%s:%d: [connector.%s] attribute_map: '%.*s' is not a profile "
                            "attribute any input accepts (a spool connector's attributes, or the "
                            "HTTP ingest's email, phone, first_name, last_name, birthday)\n",
                            cc->file, cc->line, cc->name, (int)n, p);
                    bad++;
                }
            }
            p = end != NULL ? end + 1 : NULL;
        }
    }
    return bad;
}
