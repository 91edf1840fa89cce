/* Loading: the main file and its conf.d drop-ins are read (config_read.c)
 * into a flat list of (section, key, value, file, line) entries; only when
 * every file is read are the entries parsed against the option tables. So
 * the order of keys does not matter (a connector's `type` may come last), a
 * drop-in can override any key, and all problems of all files are reported
 * together as "file:line: message", sorted by file and line. */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CONNECTOR_PREFIX "connector."
#define CONNECTOR_NAME_MAX 32
/* Bounds memory on a pathological file; the message shows fewer anyway. */
#define MAX_ERRORS_KEPT 256

enum { SECTION_NONE = -1, SECTION_BAD = -2 };

struct entry {
    char *key;
    char *value;
    size_t section; /* index into loader.sections */
    size_t file;    /* index into loader.files */
    int line;
};

/* One section header as written; a section may appear several times. */
struct section_ref {
    char *name;
    size_t file;
    int line;
};

/* Errors are sorted by file (in reading order) and line before they are
 * shown, whichever phase found them. */
struct problem {
    char *msg;
    size_t file_rank; /* index into loader.files; after them if not read */
    int line;
    size_t seq; /* keeps the order of equal positions */
};

struct loader {
    char **files;
    size_t n_files;
    struct entry *entries;
    size_t n_entries;
    struct section_ref *sections;
    size_t n_sections;
    struct problem *errors;
    size_t n_errors;
    size_t n_errors_dropped;
    int oom;
    /* State while one file is read. */
    size_t file;
    long cur_section; /* index into sections, or SECTION_NONE/SECTION_BAD */
};

static void add_error(struct loader *ld, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add_error(struct loader *ld, const char *file, int line, const char *fmt, ...)
{
    char msg[768];
    char *copy = NULL;
    struct problem *grown = NULL;
    size_t rank = 0;
    int n = 0;
    va_list ap;

    if (ld->n_errors >= MAX_ERRORS_KEPT) {
        ld->n_errors_dropped++;
        return;
    }
    if (line > 0)
        n = snprintf(msg, sizeof(msg), "%s:%d: ", file, line);
    else
        n = snprintf(msg, sizeof(msg), "%s: ", file);
    if (n < 0 || (size_t)n >= sizeof(msg))
        n = 0;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
    va_end(ap);
    copy = strdup(msg);
    grown = realloc(ld->errors, (ld->n_errors + 1) * sizeof(*grown));
    if (copy == NULL || grown == NULL) {
        free(copy);
        if (grown != NULL)
            ld->errors = grown;
        ld->oom = 1;
        return;
    }
    ld->errors = grown;
    while (rank < ld->n_files && strcmp(ld->files[rank], file) != 0)
        rank++;
    ld->errors[ld->n_errors] = (struct problem){copy, rank, line, ld->n_errors};
    ld->n_errors++;
}

static int problem_order(const void *a, const void *b)
{
    const struct problem *x = a;
    const struct problem *y = b;

    if (x->file_rank != y->file_rank)
        return x->file_rank < y->file_rank ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static const char *file_name(const struct loader *ld, size_t file)
{
    return ld->files[file];
}

static int is_connector_section(const char *name)
{
    return strncmp(name, CONNECTOR_PREFIX, strlen(CONNECTOR_PREFIX)) == 0;
}

static int connector_name_ok(const char *name)
{
    size_t len = strlen(name);

    if (len == 0 || len > CONNECTOR_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && c != '_' && c != '-')
            return 0;
    }
    return 1;
}

/* config_read_ops.section: checks and records a "[name]" header; name is
 * NULL for a header the reader could not read (already reported). */
static void on_section(void *user, const char *name, int line)
{
    struct loader *ld = user;
    const char *file = file_name(ld, ld->file);
    struct section_ref *grown = NULL;
    char *copy = NULL;

    ld->cur_section = SECTION_BAD;
    if (name == NULL)
        return;
    if (is_connector_section(name)) {
        if (!connector_name_ok(name + strlen(CONNECTOR_PREFIX))) {
            add_error(ld, file, line,
                      "invalid connector name in [%s]: use 1 to %d letters, digits, '_' or '-'",
                      name, CONNECTOR_NAME_MAX);
            return;
        }
    } else if (strcmp(name, "daemon") != 0 && strcmp(name, "state") != 0 &&
               strcmp(name, "ingest") != 0) {
        add_error(ld, file, line,
                  "unknown section [%s]; expected [daemon], [state], [ingest] or [connector.NAME]",
                  name);
        return;
    }
    copy = strdup(name);
    grown = realloc(ld->sections, (ld->n_sections + 1) * sizeof(*grown));
    if (copy == NULL || grown == NULL) {
        free(copy);
        if (grown != NULL)
            ld->sections = grown;
        ld->oom = 1;
        return;
    }
    ld->sections = grown;
    ld->sections[ld->n_sections] = (struct section_ref){copy, ld->file, line};
    ld->cur_section = (long)ld->n_sections++;
}

/* config_read_ops.entry: records one key = value of the current section. A
 * key set twice in one file is an error: within a file it is a copy-paste
 * slip, while overriding is what a later drop-in is for. */
static void on_entry(void *user, const char *name, const char *value, int line)
{
    struct loader *ld = user;
    const char *file = file_name(ld, ld->file);
    const char *section = NULL;
    struct entry *grown = NULL;
    char *key = NULL;
    char *val = NULL;

    if (ld->cur_section == SECTION_BAD)
        return; /* already reported at the header */
    if (ld->cur_section == SECTION_NONE) {
        add_error(ld, file, line, "key '%s' is outside any section", name);
        return;
    }
    section = ld->sections[ld->cur_section].name;
    for (size_t i = ld->n_entries; i > 0; i--) {
        const struct entry *e = &ld->entries[i - 1];
        if (e->file != ld->file)
            break;
        if (strcmp(ld->sections[e->section].name, section) == 0 && strcmp(e->key, name) == 0) {
            add_error(ld, file, line,
                      "duplicate key '%s' in [%s] (first set at line %d); set a key once per "
                      "file, a later conf.d file may override it",
                      name, section, e->line);
            return;
        }
    }
    key = strdup(name);
    val = strdup(value);
    grown = realloc(ld->entries, (ld->n_entries + 1) * sizeof(*grown));
    if (key == NULL || val == NULL || grown == NULL) {
        free(key);
        free(val);
        if (grown != NULL)
            ld->entries = grown;
        ld->oom = 1;
        return;
    }
    ld->entries = grown;
    ld->entries[ld->n_entries++] =
        (struct entry){key, val, (size_t)ld->cur_section, ld->file, line};
}

/* config_read_ops.error: a syntax problem of the file being read. */
static void on_read_error(void *user, int line, const char *msg)
{
    struct loader *ld = user;

    add_error(ld, file_name(ld, ld->file), line, "%s", msg);
}

static const struct config_read_ops read_ops = {on_section, on_entry, on_read_error};

static int parse_file(struct loader *ld, const char *path)
{
    struct stat st;
    char **grown = NULL;
    char *copy = NULL;
    FILE *fp = NULL;
    int rc = -1;

    fp = fopen(path, "re");
    if (fp == NULL) {
        add_error(ld, path, 0, "cannot open: %s", strerror(errno));
        goto out;
    }
    if (fstat(fileno(fp), &st) < 0 || !S_ISREG(st.st_mode)) {
        add_error(ld, path, 0, "not a regular file");
        goto out;
    }
    copy = strdup(path);
    grown = realloc(ld->files, (ld->n_files + 1) * sizeof(*grown));
    if (grown != NULL)
        ld->files = grown;
    if (copy == NULL || grown == NULL) {
        ld->oom = 1;
        goto out;
    }
    ld->files[ld->n_files] = copy;
    copy = NULL;
    ld->file = ld->n_files++;
    ld->cur_section = SECTION_NONE;
    rc = config_read_file(fp, &read_ops, ld);
out:
    free(copy);
    if (fp != NULL)
        fclose(fp);
    return rc;
}

static int dropin_filter(const struct dirent *d)
{
    size_t len = strlen(d->d_name);

    /* Hidden files are editor and package-manager leftovers. */
    return d->d_name[0] != '.' && len > 5 && strcmp(d->d_name + len - 5, ".conf") == 0;
}

/* Byte order, not the locale's collation: "lexical order" must not change
 * with LANG. */
static int dropin_order(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void parse_dropins(struct loader *ld, const char *dir)
{
    struct dirent **list = NULL;
    char path[PATH_MAX];
    int n = 0;

    n = scandir(dir, &list, dropin_filter, dropin_order);
    if (n < 0) {
        if (errno != ENOENT)
            add_error(ld, dir, 0, "cannot read drop-in directory: %s", strerror(errno));
        return;
    }
    for (int i = 0; i < n; i++) {
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name) >= sizeof(path))
            add_error(ld, dir, 0, "path of %s is too long", list[i]->d_name);
        else
            parse_file(ld, path);
        free(list[i]);
    }
    free(list);
}

/* "dir/of/main" for "dir/of/main/crmsyncd.conf"; "." when there is none. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static void valid_keys(const struct config_table *table, char *buf, size_t len)
{
    size_t pos = 0;

    buf[0] = '\0';
    for (const struct config_option *o = table->options; o->name != NULL && pos < len; o++) {
        int n = snprintf(buf + pos, len - pos, "%s%s", pos > 0 ? ", " : "", o->name);
        if (n < 0)
            break;
        pos += (size_t)n;
    }
}

/* Parses every entry of one section (all files, in order: later wins) into
 * settings, then defaults for what no entry set, then required keys. The
 * header position names where a missing key should go. */
static void load_section(struct loader *ld, const char *section, const char *label,
                         const struct config_table *table, void *settings, const char *config_dir,
                         const char *hdr_file, int hdr_line)
{
    size_t n_opts = 0;
    unsigned char *touched = NULL;
    unsigned char *set = NULL;
    char why[512];
    char keys[512];
    int listed = 0; /* the valid keys are listed once per section */

    while (table->options[n_opts].name != NULL)
        n_opts++;
    touched = calloc(n_opts + 1, 1);
    set = calloc(n_opts + 1, 1);
    if (touched == NULL || set == NULL) {
        ld->oom = 1;
        goto out;
    }
    for (size_t i = 0; i < ld->n_entries; i++) {
        const struct entry *e = &ld->entries[i];
        const struct config_option *opt = NULL;
        size_t idx = 0;

        if (strcmp(ld->sections[e->section].name, section) != 0)
            continue;
        if (is_connector_section(section) && strcmp(e->key, "type") == 0)
            continue;
        opt = config_option_find(table, e->key);
        if (opt == NULL && listed) {
            add_error(ld, file_name(ld, e->file), e->line,
                      "unknown key '%s' in %s; valid keys listed above", e->key, label);
            continue;
        }
        if (opt == NULL) {
            valid_keys(table, keys, sizeof(keys));
            add_error(ld, file_name(ld, e->file), e->line, "unknown key '%s' in %s; valid keys: %s",
                      e->key, label, keys);
            listed = 1;
            continue;
        }
        idx = (size_t)(opt - table->options);
        if (config_value_parse(opt, e->value, config_dir, settings, why, sizeof(why)) < 0) {
            if (opt->type == CONFIG_SECRET_FILE)
                add_error(ld, file_name(ld, e->file), e->line, "%s %s: %s", label, e->key, why);
            else
                add_error(ld, file_name(ld, e->file), e->line, "%s %s = '%.80s': %s", label, e->key,
                          e->value, why);
            continue;
        }
        touched[idx] = 1;
        set[idx] = e->value[0] != '\0';
    }
    for (size_t idx = 0; idx < n_opts; idx++) {
        const struct config_option *opt = &table->options[idx];

        if (!touched[idx] && opt->default_value != NULL &&
            config_value_parse(opt, opt->default_value, config_dir, settings, why, sizeof(why)) < 0)
            add_error(ld, hdr_file, hdr_line, "%s %s (default '%s'): %s", label, opt->name,
                      opt->default_value, why);
        if (opt->required && !set[idx] && opt->default_value == NULL)
            add_error(ld, hdr_file, hdr_line, "%s is missing required key '%s' (%s)", label,
                      opt->name, opt->help != NULL ? opt->help : "no help");
    }
out:
    free(touched);
    free(set);
}

/* First header of a section, for messages about the section as a whole. */
static const struct section_ref *first_header(const struct loader *ld, const char *name)
{
    for (size_t i = 0; i < ld->n_sections; i++) {
        if (strcmp(ld->sections[i].name, name) == 0)
            return &ld->sections[i];
    }
    return NULL;
}

static void load_connector(struct loader *ld, const struct section_ref *hdr,
                           config_lookup_fn lookup, const char *config_dir,
                           struct connector_config *conn)
{
    const struct entry *type = NULL;
    const char *hdr_file = file_name(ld, hdr->file);
    char label[64];

    snprintf(label, sizeof(label), "[%s]", hdr->name);
    conn->name = strdup(hdr->name + strlen(CONNECTOR_PREFIX));
    conn->file = strdup(hdr_file);
    conn->line = hdr->line;
    if (conn->name == NULL || conn->file == NULL) {
        ld->oom = 1;
        return;
    }
    for (size_t i = 0; i < ld->n_entries; i++) {
        const struct entry *e = &ld->entries[i];
        if (strcmp(ld->sections[e->section].name, hdr->name) == 0 && strcmp(e->key, "type") == 0)
            type = e;
    }
    if (type == NULL || type->value[0] == '\0') {
        add_error(ld, type != NULL ? file_name(ld, type->file) : hdr_file,
                  type != NULL ? type->line : hdr->line,
                  "%s has no connector type; add 'type = <connector type>'", label);
        return;
    }
    conn->table = lookup != NULL ? lookup(type->value) : NULL;
    if (conn->table == NULL) {
        add_error(ld, file_name(ld, type->file), type->line, "%s unknown connector type '%.60s'",
                  label, type->value);
        return;
    }
    conn->type = strdup(type->value);
    conn->settings = calloc(1, conn->table->settings_size > 0 ? conn->table->settings_size : 1);
    if (conn->type == NULL || conn->settings == NULL) {
        ld->oom = 1;
        return;
    }
    snprintf(label, sizeof(label), "[%s] (type %s)", hdr->name, conn->type);
    load_section(ld, hdr->name, label, conn->table, conn->settings, config_dir, hdr_file,
                 hdr->line);
}

/* An idempotency key pruned while a pull may still re-read its record
 * (its lookback) would let the re-read in as a new change: the dedup window
 * must be longer than every connector's `lookback` option. */
static void check_dedup_window(struct loader *ld, const struct config *cfg)
{
    for (size_t i = 0; i < cfg->n_connectors; i++) {
        const struct connector_config *cc = &cfg->connectors[i];
        if (cc->table == NULL || cc->settings == NULL)
            continue;
        for (const struct config_option *o = cc->table->options; o->name != NULL; o++) {
            long lookback;
            if (strcmp(o->name, "lookback") != 0 || o->type != CONFIG_DURATION_MS)
                continue;
            lookback = *(const long *)((const char *)cc->settings + o->offset);
            if (cfg->state.dedup_window_ms <= lookback)
                add_error(ld, cc->file != NULL ? cc->file : cfg->main_path, cc->line,
                          "[state] dedup_window (%ld ms) must be longer than the lookback of "
                          "[connector.%s] (%ld ms)",
                          cfg->state.dedup_window_ms, cc->name, lookback);
        }
    }
}

static int build_config(struct loader *ld, const char *main_path, config_lookup_fn lookup,
                        const char *config_dir, struct config *cfg)
{
    const struct section_ref *hdr = NULL;
    size_t n = 0;

    cfg->main_path = strdup(main_path);
    if (cfg->main_path == NULL)
        return -1;
    hdr = first_header(ld, "daemon");
    load_section(ld, "daemon", "[daemon]", &daemon_config_table, &cfg->daemon, config_dir,
                 hdr != NULL ? file_name(ld, hdr->file) : main_path, hdr != NULL ? hdr->line : 0);
    hdr = first_header(ld, "state");
    load_section(ld, "state", "[state]", &state_config_table, &cfg->state, config_dir,
                 hdr != NULL ? file_name(ld, hdr->file) : main_path, hdr != NULL ? hdr->line : 0);
    hdr = first_header(ld, "ingest");
    load_section(ld, "ingest", "[ingest]", &ingest_config_table, &cfg->ingest, config_dir,
                 hdr != NULL ? file_name(ld, hdr->file) : main_path, hdr != NULL ? hdr->line : 0);
    for (size_t i = 0; i < ld->n_sections; i++) {
        if (is_connector_section(ld->sections[i].name) &&
            first_header(ld, ld->sections[i].name) == &ld->sections[i])
            n++;
    }
    if (n == 0)
        return 0;
    cfg->connectors = calloc(n, sizeof(*cfg->connectors));
    if (cfg->connectors == NULL)
        return -1;
    for (size_t i = 0; i < ld->n_sections; i++) {
        if (!is_connector_section(ld->sections[i].name) ||
            first_header(ld, ld->sections[i].name) != &ld->sections[i])
            continue;
        load_connector(ld, &ld->sections[i], lookup, config_dir,
                       &cfg->connectors[cfg->n_connectors++]);
    }
    check_dedup_window(ld, cfg);
    return 0;
}

/* Joins the collected errors into err->msg, one per line; when they do not
 * all fit, the last line says how many were left out. */
static void report_errors(struct loader *ld, struct error *err)
{
    size_t size = sizeof(err->msg);
    size_t pos = 0;
    size_t shown = 0;
    size_t total = ld->n_errors + ld->n_errors_dropped;
    const size_t reserve = 32; /* "\n... and 99999 more" */

    if (err == NULL)
        return;
    if (ld->n_errors > 1)
        qsort(ld->errors, ld->n_errors, sizeof(*ld->errors), problem_order);
    err->msg[0] = '\0';
    if (ld->oom) {
        pos = (size_t)snprintf(err->msg, size, "out of memory while loading the configuration");
        total++;
        shown++;
    }
    for (size_t i = 0; i < ld->n_errors; i++) {
        size_t len = strlen(ld->errors[i].msg) + (pos > 0 ? 1 : 0);
        int last = shown + 1 == total;

        if (pos + len + (last ? 0 : reserve) >= size && shown > 0)
            break;
        snprintf(err->msg + pos, size - pos, "%s%s", pos > 0 ? "\n" : "", ld->errors[i].msg);
        pos = strlen(err->msg);
        shown++;
    }
    if (shown < total)
        snprintf(err->msg + pos, size - pos, "%s... and %zu more", pos > 0 ? "\n" : "",
                 total - shown);
}

static void loader_free(struct loader *ld)
{
    for (size_t i = 0; i < ld->n_files; i++)
        free(ld->files[i]);
    for (size_t i = 0; i < ld->n_entries; i++) {
        free(ld->entries[i].key);
        free(ld->entries[i].value);
    }
    for (size_t i = 0; i < ld->n_sections; i++)
        free(ld->sections[i].name);
    for (size_t i = 0; i < ld->n_errors; i++)
        free(ld->errors[i].msg);
    free(ld->files);
    free(ld->entries);
    free(ld->sections);
    free(ld->errors);
}

int config_load(const char *main_path, config_lookup_fn lookup, struct config **out,
                struct error *err)
{
    struct loader ld;
    struct config *cfg = NULL;
    char *dir = NULL;
    char *config_dir = NULL;
    char *dropin_dir = NULL;
    size_t len = 0;
    int rc = -1;

    memset(&ld, 0, sizeof(ld));
    *out = NULL;
    error_clear(err);
    dir = dir_of(main_path);
    if (dir == NULL) {
        ld.oom = 1;
        goto out;
    }
    len = strlen(dir) + sizeof("/conf.d");
    dropin_dir = malloc(len);
    if (dropin_dir == NULL) {
        ld.oom = 1;
        goto out;
    }
    snprintf(dropin_dir, len, "%s%sconf.d", dir, strcmp(dir, "/") == 0 ? "" : "/");
    /* Absolute, so a relative secret path still means the same file after
     * the daemon changes directory. NULL if the directory is gone: then
     * opening the main file fails and says so. */
    config_dir = realpath(dir, NULL);
    if (parse_file(&ld, main_path) == 0)
        parse_dropins(&ld, dropin_dir);
    cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL || build_config(&ld, main_path, lookup, config_dir, cfg) < 0)
        ld.oom = 1;
    if (ld.oom || ld.n_errors > 0 || ld.n_errors_dropped > 0) {
        report_errors(&ld, err);
        goto out;
    }
    *out = cfg;
    cfg = NULL;
    rc = 0;
out:
    config_free(cfg);
    loader_free(&ld);
    free(dir);
    free(config_dir);
    free(dropin_dir);
    return rc;
}

void config_free(struct config *cfg)
{
    if (cfg == NULL)
        return;
    config_settings_release(&daemon_config_table, &cfg->daemon);
    config_settings_release(&state_config_table, &cfg->state);
    config_settings_release(&ingest_config_table, &cfg->ingest);
    for (size_t i = 0; i < cfg->n_connectors; i++) {
        struct connector_config *c = &cfg->connectors[i];
        if (c->table != NULL)
            config_settings_release(c->table, c->settings);
        free(c->settings);
        free(c->name);
        free(c->type);
        free(c->file);
    }
    free(cfg->connectors);
    free(cfg->main_path);
    free(cfg);
}

const struct connector_config *config_find_connector(const struct config *cfg, const char *name)
{
    for (size_t i = 0; cfg != NULL && i < cfg->n_connectors; i++) {
        if (strcmp(cfg->connectors[i].name, name) == 0)
            return &cfg->connectors[i];
    }
    return NULL;
}
