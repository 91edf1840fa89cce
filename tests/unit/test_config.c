/* The config module: declared tables, the value parsers, file:line errors,
 * drop-in precedence and the secret file rules. Every test writes real files
 * into its own mkdtemp directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

struct test_settings {
    char *name;
    char *dir;
    char *token_file;
    int enabled;
    long count;
    long interval_ms;
    long buffer;
    int color;
};

static const char *const colors[] = {"red", "green", "blue", NULL};

static const struct config_option test_options[] = {
    {"name", CONFIG_STRING, NULL, offsetof(struct test_settings, name), 1, 0, 0, NULL,
     "required name"},
    {"dir", CONFIG_PATH, "/var/spool/test", offsetof(struct test_settings, dir), 0, 0, 0, NULL,
     "a directory"},
    {"token_file", CONFIG_SECRET_FILE, NULL, offsetof(struct test_settings, token_file), 0, 0, 0,
     NULL, "a token"},
    {"enabled", CONFIG_BOOL, "yes", offsetof(struct test_settings, enabled), 0, 0, 0, NULL,
     "a switch"},
    {"count", CONFIG_INT, "3", offsetof(struct test_settings, count), 0, -5, 10, NULL, "a count"},
    {"interval", CONFIG_DURATION_MS, "5s", offsetof(struct test_settings, interval_ms), 0, 100,
     60000, NULL, "an interval"},
    {"buffer", CONFIG_SIZE, "64k", offsetof(struct test_settings, buffer), 0, 1024,
     1024L * 1024 * 1024, NULL, "a buffer"},
    {"color", CONFIG_ENUM, "green", offsetof(struct test_settings, color), 0, 0, 0, colors,
     "a color"},
    {NULL},
};

static const struct config_table test_table = {"test", test_options, sizeof(struct test_settings)};

/* An unbounded duration and size, to test the parsers without bounds. */
static const struct config_option free_duration = {"d", CONFIG_DURATION_MS, NULL, 0, 0, 0, 0, NULL,
                                                   "d"};
static const struct config_option free_size = {"z", CONFIG_SIZE, NULL, 0, 0, 0, 0, NULL, "z"};

/* A connector type with a pull lookback, as hubspot and salesforce have. */
struct pull_settings {
    long lookback_ms;
};
static const struct config_option pull_options[] = {
    {"lookback", CONFIG_DURATION_MS, "60s", offsetof(struct pull_settings, lookback_ms), 0, 0,
     86400000, NULL, "re-read window"},
    {NULL},
};
static const struct config_table pull_table = {"pull", pull_options, sizeof(struct pull_settings)};

static const struct config_table *test_lookup(const char *type)
{
    if (strcmp(type, "pull") == 0)
        return &pull_table;
    return strcmp(type, "test") == 0 ? &test_table : NULL;
}

struct fixture {
    char dir[PATH_MAX];
    char main[PATH_MAX];
    struct config *cfg;
    struct error err;
};

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_config.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->main, sizeof(f->main), "%s/crmsyncd.conf", f->dir);
    unsetenv("CREDENTIALS_DIRECTORY");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    config_free(f->cfg);
    nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    unsetenv("CREDENTIALS_DIRECTORY");
    free(f);
    return 0;
}

/* Writes dir/rel with the given mode (not subject to umask). */
static void write_file(const struct fixture *f, const char *rel, mode_t mode, const char *text)
{
    char path[PATH_MAX * 2];
    FILE *fp = NULL;

    snprintf(path, sizeof(path), "%s/%s", f->dir, rel);
    fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0 || text[0] == '\0', 1);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static void make_dir(const struct fixture *f, const char *rel)
{
    char path[PATH_MAX * 2];

    snprintf(path, sizeof(path), "%s/%s", f->dir, rel);
    assert_int_equal(mkdir(path, 0700), 0);
}

static int load(struct fixture *f)
{
    config_free(f->cfg);
    f->cfg = NULL;
    return config_load(f->main, test_lookup, &f->cfg, &f->err);
}

/* Loads and expects failure with exactly this message. */
static void expect_error(struct fixture *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void expect_error(struct fixture *f, const char *fmt, ...)
{
    char want[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(want, sizeof(want), fmt, ap);
    va_end(ap);
    assert_int_equal(load(f), -1);
    assert_null(f->cfg);
    assert_string_equal(f->err.msg, want);
}

static void empty_file_gives_documented_defaults(void **state)
{
    struct fixture *f = *state;

    write_file(f, "crmsyncd.conf", 0644, "");
    assert_int_equal(load(f), 0);
    assert_int_equal(f->cfg->daemon.log_level, LOG_LVL_INFO);
    assert_int_equal(f->cfg->daemon.shutdown_grace_ms, 10000);
    assert_int_equal(f->cfg->daemon.watchdog_ms, 0);
    assert_null(f->cfg->daemon.admin_listen);
    assert_string_equal(f->cfg->state.path, "/var/lib/crmsyncd/state.db");
    assert_int_equal(f->cfg->state.synchronous, STATE_SYNC_FULL);
    assert_int_equal(f->cfg->state.busy_timeout_ms, 5000);
    assert_int_equal(f->cfg->state.txn_max_changes, 5000);
    assert_int_equal(f->cfg->state.change_retention_ms, 7L * 86400000);
    assert_int_equal(f->cfg->state.dedup_window_ms, 30L * 86400000);
    assert_int_equal(f->cfg->n_connectors, 0);
    assert_string_equal(f->cfg->main_path, f->main);
}

static void builtin_tables_and_their_defaults_validate(void **state)
{
    struct error err;
    static const struct config_option bad_options[] = {
        {"grace", CONFIG_DURATION_MS, "10x", 0, 0, 0, 0, NULL, "bad default"},
        {"type", CONFIG_STRING, NULL, 0, 0, 0, 0, NULL, "reserved"},
        {NULL},
    };
    static const struct config_table bad = {"bad", bad_options, sizeof(long)};

    (void)state;
    assert_int_equal(config_table_validate(&daemon_config_table, &err), 0);
    assert_int_equal(config_table_validate(&state_config_table, &err), 0);
    assert_int_equal(config_table_validate(&test_table, &err), 0);
    assert_int_equal(config_table_validate(&bad, &err), -1);
    assert_string_equal(err.msg,
                        "[bad] grace: bad default '10x': expected a duration like 250ms, 30s, "
                        "5min, 2h, 1d, 1w or 1h30m (a bare number means seconds)\n"
                        "[bad] type: 'type' is reserved for the connector type");
}

static void daemon_and_state_keys_parse(void **state)
{
    struct fixture *f = *state;

    write_file(f, "crmsyncd.conf", 0644,
               "# comment\n"
               "[daemon]\n"
               "log_level = debug\n"
               "shutdown_grace = 2m\n"
               "watchdog = 250ms\n"
               "admin_listen = 127.0.0.1:9187 ; inline comment\n"
               "[state]\n"
               "path = /srv/state.db\n"
               "synchronous = normal\n"
               "busy_timeout = 1\n"
               "  txn_max_changes = 100\n");
    assert_int_equal(load(f), 0);
    assert_int_equal(f->cfg->daemon.log_level, LOG_LVL_DEBUG);
    assert_int_equal(f->cfg->daemon.shutdown_grace_ms, 120000);
    assert_int_equal(f->cfg->daemon.watchdog_ms, 250);
    assert_string_equal(f->cfg->daemon.admin_listen, "127.0.0.1:9187");
    assert_string_equal(f->cfg->state.path, "/srv/state.db");
    assert_int_equal(f->cfg->state.synchronous, STATE_SYNC_NORMAL);
    assert_int_equal(f->cfg->state.busy_timeout_ms, 1000);
    assert_int_equal(f->cfg->state.txn_max_changes, 100);
}

/* Parses value for test option `name` into s; returns the parser's result. */
static int parse_opt(const char *name, const char *value, struct test_settings *s, char *why)
{
    return config_value_parse(config_option_find(&test_table, name), value, NULL, s, why, 512);
}

static void value_parsers_accept_and_bound(void **state)
{
    struct test_settings s;
    char why[512];
    long l = 0;

    (void)state;
    memset(&s, 0, sizeof(s));
    assert_int_equal(config_value_parse(&free_duration, "250ms", NULL, &l, why, sizeof(why)), 0);
    assert_int_equal(l, 250);
    assert_int_equal(config_value_parse(&free_duration, "30s", NULL, &l, why, sizeof(why)), 0);
    assert_int_equal(l, 30000);
    assert_int_equal(config_value_parse(&free_duration, "5m", NULL, &l, why, sizeof(why)), 0);
    assert_int_equal(l, 300000);
    assert_int_equal(config_value_parse(&free_duration, "2h", NULL, &l, why, sizeof(why)), 0);
    assert_int_equal(l, 7200000);
    assert_int_equal(config_value_parse(&free_duration, "1d", NULL, &l, why, sizeof(why)), 0);
    assert_int_equal(l, 86400000);
    assert_int_equal(config_value_parse(&free_duration, "7", NULL, &l, why, sizeof(why)), 0);
    assert_int_equal(l, 7000);
    /* crmsyncctl's syntax too (issue 19: one parser): weeks, long unit
     * names, parts in a row. */
    assert_int_equal(config_value_parse(&free_duration, "1w", NULL, &l, why, sizeof(why)), 0);
    assert_int_equal(l, 604800000L);
    assert_int_equal(config_value_parse(&free_duration, "30sec", NULL, &l, why, sizeof(why)), 0);
    assert_int_equal(l, 30000);
    assert_int_equal(config_value_parse(&free_duration, "1h30m", NULL, &l, why, sizeof(why)), 0);
    assert_int_equal(l, 5400000L);
    assert_int_equal(config_value_parse(&free_duration, "1.5s", NULL, &l, why, sizeof(why)), -1);
    assert_int_equal(config_value_parse(&free_duration, "-1s", NULL, &l, why, sizeof(why)), -1);
    assert_int_equal(config_value_parse(&free_duration, "5 s", NULL, &l, why, sizeof(why)), -1);
    assert_int_equal(
        config_value_parse(&free_duration, "999999999999999d", NULL, &l, why, sizeof(why)), -1);
    assert_int_equal(config_value_parse(&free_size, "512", NULL, &l, why, sizeof(why)), 0);
    assert_int_equal(l, 512);
    assert_int_equal(config_value_parse(&free_size, "64k", NULL, &l, why, sizeof(why)), 0);
    assert_int_equal(l, 65536);
    assert_int_equal(config_value_parse(&free_size, "10M", NULL, &l, why, sizeof(why)), 0);
    assert_int_equal(l, 10L * 1024 * 1024);
    assert_int_equal(config_value_parse(&free_size, "1G", NULL, &l, why, sizeof(why)), 0);
    assert_int_equal(l, 1024L * 1024 * 1024);
    assert_int_equal(config_value_parse(&free_size, "3T", NULL, &l, why, sizeof(why)), -1);
    assert_int_equal(config_value_parse(&free_size, "k", NULL, &l, why, sizeof(why)), -1);
    assert_string_equal(why, "expected a size like 512, 64k, 10M or 1G (powers of 1024)");

    assert_int_equal(config_apply_defaults(&test_table, NULL, &s, why, sizeof(why)), 0);
    assert_null(s.name);
    assert_string_equal(s.dir, "/var/spool/test");
    assert_null(s.token_file);
    assert_int_equal(s.enabled, 1);
    assert_int_equal(s.count, 3);
    assert_int_equal(s.interval_ms, 5000);
    assert_int_equal(s.buffer, 65536);
    assert_int_equal(s.color, 1);
    assert_int_equal(parse_opt("interval", "99ms", &s, why), -1);
    assert_string_equal(why, "expected a duration like 250ms, 30s, 5min, 2h, 1d, 1w or 1h30m (a "
                             "bare number means seconds) between 100ms and 1m");
    assert_int_equal(parse_opt("interval", "1m", &s, why), 0);
    assert_int_equal(s.interval_ms, 60000);
    assert_int_equal(parse_opt("buffer", "1023", &s, why), -1);
    assert_string_equal(why, "expected a size like 512, 64k, 10M or 1G (powers of 1024) between "
                             "1k and 1G");
    assert_int_equal(parse_opt("count", "-5", &s, why), 0);
    assert_int_equal(s.count, -5);
    assert_int_equal(parse_opt("count", "11", &s, why), -1);
    assert_string_equal(why, "expected an integer between -5 and 10");
    assert_int_equal(parse_opt("count", "0x3", &s, why), -1);
    assert_int_equal(parse_opt("count", "99999999999999999999", &s, why), -1);
    assert_int_equal(s.count, -5);

    assert_int_equal(parse_opt("enabled", "off", &s, why), 0);
    assert_int_equal(s.enabled, 0);
    assert_int_equal(parse_opt("enabled", "TRUE", &s, why), 0);
    assert_int_equal(s.enabled, 1);
    assert_int_equal(parse_opt("enabled", "maybe", &s, why), -1);
    assert_string_equal(why, "expected yes/no, true/false, on/off or 1/0");

    assert_int_equal(parse_opt("color", "Blue", &s, why), 0);
    assert_int_equal(s.color, 2);
    assert_int_equal(parse_opt("color", "purple", &s, why), -1);
    assert_string_equal(why, "expected one of: red, green, blue");

    assert_int_equal(parse_opt("dir", "spool", &s, why), -1);
    assert_string_equal(why, "expected an absolute path (starting with /)");
    assert_int_equal(parse_opt("dir", "/a", &s, why), 0);
    assert_int_equal(parse_opt("dir", "/b", &s, why), 0); /* replaces, no leak */
    assert_string_equal(s.dir, "/b");
    assert_int_equal(parse_opt("dir", "", &s, why), 0); /* empty: back to default */
    assert_string_equal(s.dir, "/var/spool/test");
    assert_int_equal(parse_opt("name", "x", &s, why), 0);
    assert_int_equal(parse_opt("name", "", &s, why), 0); /* no default: unset */
    assert_null(s.name);
    config_settings_release(&test_table, &s);
    assert_null(s.dir);
}

static void log_level_names_map_to_enum_log_level(void **state)
{
    const struct config_option *o = config_option_find(&daemon_config_table, "log_level");
    struct daemon_settings d;
    char why[512];
    char buf[32];

    (void)state;
    memset(&d, 0, sizeof(d));
    assert_int_equal(config_value_parse(o, "error", NULL, &d, why, sizeof(why)), 0);
    assert_int_equal(d.log_level, LOG_LVL_ERR);
    config_value_format(o, &d, buf, sizeof(buf));
    assert_string_equal(buf, "error");
    assert_int_equal(config_value_parse(o, "notice", NULL, &d, why, sizeof(why)), 0);
    assert_int_equal(d.log_level, LOG_LVL_NOTICE);
    assert_int_equal(config_value_parse(o, "loud", NULL, &d, why, sizeof(why)), -1);
    assert_string_equal(why, "expected one of: error, warning, notice, info, debug");
    assert_int_equal(d.log_level, LOG_LVL_NOTICE);
}

static void unknown_key_names_file_line_and_valid_keys(void **state)
{
    struct fixture *f = *state;

    write_file(f, "crmsyncd.conf", 0644, "[daemon]\nlog_level = info\nloglevel = debug\n");
    expect_error(f,
                 "%s:3: unknown key 'loglevel' in [daemon]; valid keys: log_level, "
                 "shutdown_grace, watchdog, admin_listen, admin_allow_remote, "
                 "admin_max_connections, admin_per_ip_connections, admin_request_timeout, "
                 "admin_connections_per_minute, connector_start_failure, allow_core_dumps, "
                 "retry_give_up_after, "
                 "retry_max_attempts, retry_backoff_max, max_retry_after, backlog_bound, "
                 "urgent_max_age, unreachable_after, audit_verify_interval",
                 f->main);
}

static void unknown_section_is_an_error_even_when_empty(void **state)
{
    struct fixture *f = *state;

    write_file(f, "crmsyncd.conf", 0644, "[daemon]\n\n[deamon]\n");
    expect_error(f,
                 "%s:3: unknown section [deamon]; expected [daemon], [state], [ingest] or "
                 "[connector.NAME]",
                 f->main);
}

static void connector_without_type_is_refused(void **state)
{
    struct fixture *f = *state;

    write_file(f, "crmsyncd.conf", 0644, "\n[connector.shop]\nname = x\n");
    expect_error(f, "%s:2: [connector.shop] has no connector type; add 'type = <connector type>'",
                 f->main);
}

static void unknown_connector_type_is_refused(void **state)
{
    struct fixture *f = *state;

    write_file(f, "crmsyncd.conf", 0644, "[connector.shop]\nname = x\ntype = nosuch\n");
    expect_error(f, "%s:3: [connector.shop] unknown connector type 'nosuch'", f->main);
}

static void connector_type_may_come_last_and_values_parse(void **state)
{
    struct fixture *f = *state;
    const struct connector_config *c = NULL;
    const struct test_settings *s = NULL;

    write_file(f, "crmsyncd.conf", 0644,
               "[connector.a]\nname = alpha\ncount = 7\ncolor = red\nbuffer = 2M\n"
               "enabled = no\ntype = test\n\n[connector.b]\ntype = test\nname = beta\n");
    assert_int_equal(load(f), 0);
    assert_int_equal(f->cfg->n_connectors, 2);
    c = config_find_connector(f->cfg, "a");
    assert_non_null(c);
    assert_string_equal(c->name, "a");
    assert_string_equal(c->type, "test");
    assert_string_equal(c->file, f->main);
    assert_int_equal(c->line, 1);
    assert_ptr_equal(c->table, &test_table);
    s = c->settings;
    assert_string_equal(s->name, "alpha");
    assert_int_equal(s->count, 7);
    assert_int_equal(s->color, 0);
    assert_int_equal(s->buffer, 2L * 1024 * 1024);
    assert_int_equal(s->enabled, 0);
    assert_string_equal(s->dir, "/var/spool/test");
    assert_null(s->token_file);
    assert_int_equal(s->interval_ms, 5000);
    s = config_find_connector(f->cfg, "b")->settings;
    assert_string_equal(s->name, "beta");
    assert_int_equal(s->count, 3);
    assert_int_equal(s->color, 1);
    assert_null(config_find_connector(f->cfg, "c"));
}

static void missing_required_key_points_at_section(void **state)
{
    struct fixture *f = *state;

    write_file(f, "crmsyncd.conf", 0644, "[daemon]\n[connector.a]\ntype = test\n");
    expect_error(f,
                 "%s:2: [connector.a] (type test) is missing required key 'name' (required name)",
                 f->main);
}

static void dropins_apply_in_lexical_order_and_later_wins(void **state)
{
    struct fixture *f = *state;
    char path[PATH_MAX * 2];
    const struct connector_config *c = NULL;

    write_file(f, "crmsyncd.conf", 0644,
               "[daemon]\nlog_level = error\nwatchdog = 1s\n"
               "[connector.a]\ntype = test\nname = main\ncount = 1\n");
    make_dir(f, "conf.d");
    write_file(f, "conf.d/20-b.conf", 0644,
               "[daemon]\nlog_level = debug\n[connector.a]\ncount = 9\n");
    write_file(f, "conf.d/10-a.conf", 0644,
               "[daemon]\nlog_level = warning\nshutdown_grace = 3s\n"
               "[connector.a]\ncount = 5\nname = dropin\n[connector.z]\ntype = test\nname = z\n");
    write_file(f, "conf.d/.hidden.conf", 0644, "[nonsense]\n");
    write_file(f, "conf.d/30-c.conf.bak", 0644, "[nonsense]\n");
    write_file(f, "conf.d/40-d.conf", 0644, "[daemon]\nwatchdog =\n");
    assert_int_equal(load(f), 0);
    assert_int_equal(f->cfg->daemon.log_level, LOG_LVL_DEBUG);
    assert_int_equal(f->cfg->daemon.shutdown_grace_ms, 3000);
    assert_int_equal(f->cfg->daemon.watchdog_ms, 0); /* reset to default */
    c = config_find_connector(f->cfg, "a");
    assert_int_equal(((const struct test_settings *)c->settings)->count, 9);
    assert_string_equal(((const struct test_settings *)c->settings)->name, "dropin");
    c = config_find_connector(f->cfg, "z");
    assert_non_null(c);
    snprintf(path, sizeof(path), "%s/conf.d/10-a.conf", f->dir);
    assert_string_equal(c->file, path);
    assert_int_equal(c->line, 7);
    assert_int_equal(f->cfg->n_connectors, 2);
}

static void all_errors_of_all_files_are_reported(void **state)
{
    struct fixture *f = *state;

    write_file(f, "crmsyncd.conf", 0644,
               "[daemon]\nlog_level = loud\nshutdown_grace = 1h\n[state]\npath = state.db\n"
               "oops\n");
    make_dir(f, "conf.d");
    write_file(f, "conf.d/a.conf", 0644, "log_level = info\n[connector.x]\ntype = bogus\n");
    expect_error(f,
                 "%s:2: [daemon] log_level = 'loud': expected one of: error, warning, notice, "
                 "info, debug\n"
                 "%s:3: [daemon] shutdown_grace = '1h': expected a duration like 250ms, 30s, "
                 "5min, 2h, 1d, 1w or 1h30m (a bare number means seconds) between 0 and 10m\n"
                 "%s:5: [state] path = 'state.db': expected an absolute path (starting with /)\n"
                 "%s:6: expected 'key = value', '[section]' or a comment\n"
                 "%s/conf.d/a.conf:1: key 'log_level' is outside any section\n"
                 "%s/conf.d/a.conf:3: [connector.x] unknown connector type 'bogus'",
                 f->main, f->main, f->main, f->main, f->dir, f->dir);
}

static void too_many_errors_end_with_a_count(void **state)
{
    struct fixture *f = *state;
    char text[4096] = "[daemon]\n";
    size_t shown = 0;
    const char *more = NULL;
    unsigned long rest = 0;

    for (int i = 0; i < 60; i++)
        snprintf(text + strlen(text), sizeof(text) - strlen(text), "bogus%d = 1\n", i);
    write_file(f, "crmsyncd.conf", 0644, text);
    assert_int_equal(load(f), -1);
    assert_true(strlen(f->err.msg) < sizeof(f->err.msg) - 1);
    for (const char *p = f->err.msg; *p != '\0'; p++)
        shown += *p == '\n';
    more = strstr(f->err.msg, "\n... and ");
    assert_non_null(more);
    assert_int_equal(sscanf(more, "\n... and %lu more", &rest), 1);
    assert_int_equal(shown + rest, 60); /* shown lines = newlines, the count line is extra */
    assert_true(shown >= 3);
    assert_non_null(strstr(f->err.msg, ":2: unknown key 'bogus0' in [daemon]; valid keys: "));
    /* The list once, not on every line (it grows with every option). */
    assert_non_null(
        strstr(f->err.msg, ":3: unknown key 'bogus1' in [daemon]; valid keys listed above"));
}

static void duplicate_key_in_one_file_is_an_error(void **state)
{
    struct fixture *f = *state;

    write_file(f, "crmsyncd.conf", 0644,
               "[daemon]\nlog_level = info\n[state]\n[daemon]\nlog_level = debug\n");
    expect_error(f,
                 "%s:5: duplicate key 'log_level' in [daemon] (first set at line 2); set a key "
                 "once per file, a later conf.d file may override it",
                 f->main);
}

static void syntax_problems_are_reported_per_line(void **state)
{
    struct fixture *f = *state;
    char text[1024];

    snprintf(text, sizeof(text),
             "[daemon\n[connector.bad name]\n[state] x\n= 1\n[daemon]\n"
             "admin_listen = %0300d\n",
             0);
    write_file(f, "crmsyncd.conf", 0644, text);
    expect_error(f,
                 "%s:1: section header without closing ']'\n"
                 "%s:2: invalid connector name in [connector.bad name]: use 1 to 32 letters, "
                 "digits, '_' or '-'\n"
                 "%s:3: unexpected text after section header\n"
                 "%s:4: missing key name before '='\n"
                 "%s:6: line is longer than 197 characters",
                 f->main, f->main, f->main, f->main, f->main);
}

static void missing_main_file_is_reported(void **state)
{
    struct fixture *f = *state;

    expect_error(f, "%s: cannot open: No such file or directory", f->main);
}

static void secret_file_readable_by_others_is_refused(void **state)
{
    struct fixture *f = *state;
    char real[PATH_MAX];

    assert_non_null(realpath(f->dir, real));
    write_file(f, "token", 0644, "t0k3n\n");
    write_file(f, "crmsyncd.conf", 0644,
               "[connector.a]\ntype = test\nname = a\ntoken_file = token\n");
    expect_error(f,
                 "%s:4: [connector.a] (type test) token_file: secret file %s/token is readable "
                 "by group or others (mode 0644); chmod 600 it",
                 f->main, real);
    write_file(f, "token", 0620, "t0k3n\n");
    expect_error(f,
                 "%s:4: [connector.a] (type test) token_file: secret file %s/token is writable "
                 "by group or others (mode 0620); chmod 600 it",
                 f->main, real);
    write_file(f, "token", 0604, "t0k3n\n"); /* others only, group clean */
    expect_error(f,
                 "%s:4: [connector.a] (type test) token_file: secret file %s/token is readable "
                 "by group or others (mode 0604); chmod 600 it",
                 f->main, real);
    write_file(f, "crmsyncd.conf", 0644,
               "[connector.a]\ntype = test\nname = a\ntoken_file = nope\n");
    expect_error(f,
                 "%s:4: [connector.a] (type test) token_file: cannot open secret file %s/nope: "
                 "No such file or directory",
                 f->main, real);
}

static void secret_file_0600_is_accepted_relative_to_config_dir(void **state)
{
    struct fixture *f = *state;
    char real[PATH_MAX];
    char want[PATH_MAX * 2];
    const struct test_settings *s = NULL;

    assert_non_null(realpath(f->dir, real));
    write_file(f, "token", 0600, "t0k3n\n");
    write_file(f, "crmsyncd.conf", 0644,
               "[connector.a]\ntype = test\nname = a\ntoken_file = token\n");
    assert_int_equal(load(f), 0);
    s = config_find_connector(f->cfg, "a")->settings;
    snprintf(want, sizeof(want), "%s/token", real);
    assert_string_equal(s->token_file, want);
}

static void secret_file_resolves_in_credentials_directory(void **state)
{
    struct fixture *f = *state;
    char creds[PATH_MAX * 2];
    char want[PATH_MAX * 3];
    const struct test_settings *s = NULL;

    make_dir(f, "creds");
    write_file(f, "creds/token", 0400, "from-creds\n");
    write_file(f, "token", 0644, "wrong one\n"); /* must not be used */
    snprintf(creds, sizeof(creds), "%s/creds", f->dir);
    setenv("CREDENTIALS_DIRECTORY", creds, 1);
    write_file(f, "crmsyncd.conf", 0644,
               "[connector.a]\ntype = test\nname = a\ntoken_file = token\n");
    assert_int_equal(load(f), 0);
    s = config_find_connector(f->cfg, "a")->settings;
    snprintf(want, sizeof(want), "%s/token", creds);
    assert_string_equal(s->token_file, want);
}

static void secret_read_strips_one_newline_and_rechecks(void **state)
{
    struct fixture *f = *state;
    char path[PATH_MAX * 2];
    struct error err;
    char *secret = NULL;

    snprintf(path, sizeof(path), "%s/s", f->dir);
    write_file(f, "s", 0600, "s3cr3t\n");
    secret = config_secret_read(path, &err);
    assert_non_null(secret);
    assert_string_equal(secret, "s3cr3t");
    config_secret_free(secret);
    write_file(f, "s", 0600, "two\n\n");
    secret = config_secret_read(path, &err);
    assert_string_equal(secret, "two\n");
    config_secret_free(secret);
    write_file(f, "s", 0600, "crlf\r\n");
    secret = config_secret_read(path, &err);
    assert_string_equal(secret, "crlf");
    config_secret_free(secret);
    write_file(f, "s", 0600, "no-newline");
    secret = config_secret_read(path, &err);
    assert_string_equal(secret, "no-newline");
    config_secret_free(secret);
    write_file(f, "s", 0640, "s3cr3t\n");
    assert_null(config_secret_read(path, &err));
    assert_non_null(strstr(err.msg, "is readable by group or others (mode 0640); chmod 600 it"));
    write_file(f, "s", 0600, "\n");
    assert_null(config_secret_read(path, &err));
    assert_non_null(strstr(err.msg, "is empty"));
    snprintf(path, sizeof(path), "%s", f->dir);
    assert_null(config_secret_read(path, &err));
    assert_non_null(strstr(err.msg, "is not a regular file"));
}

/* Issue 14 item 7: a 0600 token owned by another user, a token in a
 * directory others may write, and a 0-byte file (what procfs files look
 * like) are all refused; a sticky world-writable directory (/tmp) is fine. */
static void secret_file_owner_parents_and_size_are_checked(void **state)
{
    struct fixture *f = *state;
    char path[PATH_MAX * 2], dir[PATH_MAX * 2];
    char why[1024];

    snprintf(path, sizeof(path), "%s/s", f->dir);
    write_file(f, "s", 0600, "s3cr3t\n");
    assert_int_equal(config_secret_check(path, why, sizeof(why)), 0);

    /* Another user's file: the daemon plays uid 4242 (the file is ours). */
    config_secret_set_owner_uid((long)geteuid() + 4242);
    if (geteuid() == 0) {
        /* root-owned files stay acceptable (LoadCredential= makes them) */
        assert_int_equal(config_secret_check(path, why, sizeof(why)), 0);
        assert_int_equal(chown(path, 4243, 4243), 0);
    }
    assert_int_equal(config_secret_check(path, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "not to the daemon's user"));
    config_secret_set_owner_uid(-1);
    if (geteuid() == 0) {
        assert_int_equal(config_secret_check(path, why, sizeof(why)), -1);
        assert_int_equal(chown(path, 0, 0), 0);
    }

    /* A parent others may write, without the sticky bit. */
    make_dir(f, "open");
    write_file(f, "open/s", 0600, "s3cr3t\n");
    snprintf(dir, sizeof(dir), "%s/open", f->dir);
    snprintf(path, sizeof(path), "%s/open/s", f->dir);
    assert_int_equal(chmod(dir, 0777), 0);
    assert_int_equal(config_secret_check(path, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "which group or others may write (mode 0777, no sticky bit)"));
    assert_null(config_secret_read(path, &f->err));
    assert_int_equal(chmod(dir, 0770), 0);
    assert_int_equal(config_secret_check(path, why, sizeof(why)), -1);
    assert_int_equal(chmod(dir, 01777), 0);
    assert_int_equal(config_secret_check(path, why, sizeof(why)), 0);
    assert_int_equal(chmod(dir, 0700), 0);

    /* An empty file, and a procfs file (reports 0 bytes). */
    write_file(f, "s", 0600, "");
    snprintf(path, sizeof(path), "%s/s", f->dir);
    assert_int_equal(config_secret_check(path, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "is empty"));
    if (access("/proc/self/environ", R_OK) == 0) { /* mode 0400, ours, "0 bytes" */
        assert_int_equal(config_secret_check("/proc/self/environ", why, sizeof(why)), -1);
        assert_non_null(strstr(why, "is empty"));
    }
}

static void dump_is_a_config_that_loads_to_the_same_values(void **state)
{
    struct fixture *f = *state;
    char path[PATH_MAX * 2];
    char text[4096];
    struct config *again = NULL;
    struct error err;
    FILE *fp = NULL;
    size_t n = 0;
    const struct test_settings *a = NULL;
    const struct test_settings *b = NULL;

    write_file(f, "token", 0600, "x\n");
    write_file(
        f, "crmsyncd.conf", 0644,
        "[daemon]\nlog_level = warning\nshutdown_grace = 90s\n[state]\nsynchronous = normal\n"
        "[connector.a]\ntype = test\nname = alpha\ntoken_file = token\ninterval = 1500ms\n");
    assert_int_equal(load(f), 0);
    make_dir(f, "again");
    snprintf(path, sizeof(path), "%s/again/crmsyncd.conf", f->dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(config_dump(f->cfg, fp), 0);
    fclose(fp);
    fp = fopen(path, "r");
    n = fread(text, 1, sizeof(text) - 1, fp);
    text[n] = '\0';
    fclose(fp);
    assert_non_null(strstr(text, "\n[daemon]\nlog_level = warning\nshutdown_grace = 90s\n"
                                 "watchdog = 0\n# admin_listen is not set\n"));
    assert_non_null(strstr(text, "\ninterval = 1500ms\nbuffer = 64k\ncolor = green\n"));
    assert_null(strstr(text, "x\n\n")); /* secret contents never appear */
    assert_int_equal(config_load(path, test_lookup, &again, &err), 0);
    assert_int_equal(again->daemon.log_level, LOG_LVL_WARNING);
    assert_int_equal(again->daemon.shutdown_grace_ms, 90000);
    assert_int_equal(again->state.synchronous, STATE_SYNC_NORMAL);
    a = config_find_connector(f->cfg, "a")->settings;
    b = config_find_connector(again, "a")->settings;
    assert_string_equal(a->token_file, b->token_file);
    assert_int_equal(b->interval_ms, 1500);
    assert_string_equal(b->name, "alpha");
    config_free(again);
}

static void reference_lists_type_values_and_default(void **state)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);

    (void)state;
    assert_non_null(fp);
    assert_int_equal(config_print_reference(&daemon_config_table, fp), 0);
    fclose(fp);
    assert_non_null(strstr(buf, "[daemon]\n  log_level (log level: error, warning, notice, info, "
                                "debug) default: info\n"));
    assert_non_null(strstr(buf, "  shutdown_grace (duration: 0 to 10m) default: 10s\n"));
    free(buf);
}

/* The shipped example must load, and each "#key = value" line in it must
 * state the real default: uncommenting all of them changes nothing. */
static void shipped_example_loads_and_states_true_defaults(void **state)
{
    struct fixture *f = *state;
    char example[PATH_MAX];
    char line[512];
    char *slash = NULL;
    FILE *in = NULL;
    FILE *out = NULL;
    int uncommented = 0;

    snprintf(example, sizeof(example), "%s", __FILE__);
    slash = strstr(example, "/tests/unit/test_config.c");
    assert_non_null(slash); /* CMake passes absolute source paths */
    snprintf(slash, sizeof(example) - (size_t)(slash - example), "/config/crmsyncd.conf");
    in = fopen(example, "r");
    assert_non_null(in);
    out = fopen(f->main, "w");
    assert_non_null(out);
    while (fgets(line, sizeof(line), in) != NULL) {
        if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' && strstr(line, " = ") != NULL) {
            fputs(line + 1, out);
            uncommented++;
        } else {
            fputs(line, out);
        }
    }
    fclose(in);
    fclose(out);
    assert_int_equal(uncommented, 17);
    assert_int_equal(load(f), 0);
    assert_int_equal(f->cfg->daemon.log_level, LOG_LVL_INFO);
    assert_int_equal(f->cfg->daemon.allow_core_dumps, 0);
    /* Issue 14 items 3 and 10: give up by time (1 h), no attempt limit, a
     * vendor's Retry-After believed for 1 h at most. */
    assert_int_equal(f->cfg->daemon.retry_give_up_after_ms, 3600000);
    assert_int_equal(f->cfg->daemon.retry_max_attempts, 0);
    assert_int_equal(f->cfg->daemon.retry_backoff_max_ms, 300000);
    assert_int_equal(f->cfg->daemon.max_retry_after_ms, 3600000);
    assert_int_equal(f->cfg->daemon.shutdown_grace_ms, 10000);
    assert_int_equal(f->cfg->daemon.watchdog_ms, 0);
    assert_null(f->cfg->daemon.admin_listen);
    assert_string_equal(f->cfg->state.path, "/var/lib/crmsyncd/state.db");
    assert_int_equal(f->cfg->state.synchronous, STATE_SYNC_FULL);
    assert_int_equal(f->cfg->state.busy_timeout_ms, 5000);
    assert_int_equal(f->cfg->state.txn_max_changes, 5000);
    assert_int_equal(f->cfg->state.change_retention_ms, 7L * 86400000);
    assert_int_equal(f->cfg->state.dedup_window_ms, 30L * 86400000);
    assert_int_equal(f->cfg->n_connectors, 0);
    config_free(f->cfg);
    f->cfg = NULL;
    assert_int_equal(config_load(example, test_lookup, &f->cfg, &f->err), 0);
}

/* Issue 15: idempotency keys pruned while a pull may still re-read their
 * records would let a re-read in as new changes. */
static void dedup_window_must_outlast_every_lookback(void **state)
{
    struct fixture *f = *state;

    write_file(f, "crmsyncd.conf", 0644,
               "[state]\ndedup_window = 1h\n\n[connector.crm]\ntype = pull\nlookback = 2h\n");
    assert_int_equal(load(f), -1);
    assert_non_null(strstr(f->err.msg, "crmsyncd.conf:4:"));
    assert_non_null(strstr(f->err.msg, "dedup_window"));
    assert_non_null(strstr(f->err.msg, "[connector.crm]"));
    write_file(f, "crmsyncd.conf", 0644,
               "[state]\ndedup_window = 1h\n\n[connector.crm]\ntype = pull\nlookback = 30m\n");
    assert_int_equal(load(f), 0);
    /* The longest lookback is the only floor (a soak runs with minutes):
     * 10 minutes past a 5-minute lookback loads, not past a 15-minute one. */
    write_file(f, "crmsyncd.conf", 0644,
               "[state]\ndedup_window = 10m\n\n[connector.crm]\ntype = pull\nlookback = 5m\n");
    assert_int_equal(load(f), 0);
    assert_int_equal(f->cfg->state.dedup_window_ms, 600000);
    write_file(f, "crmsyncd.conf", 0644,
               "[state]\ndedup_window = 10m\n\n[connector.crm]\ntype = pull\nlookback = 15m\n");
    assert_int_equal(load(f), -1);
    assert_non_null(strstr(f->err.msg, "dedup_window"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(dedup_window_must_outlast_every_lookback, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_file_gives_documented_defaults, setup, teardown),
        cmocka_unit_test(builtin_tables_and_their_defaults_validate),
        cmocka_unit_test_setup_teardown(daemon_and_state_keys_parse, setup, teardown),
        cmocka_unit_test(value_parsers_accept_and_bound),
        cmocka_unit_test(log_level_names_map_to_enum_log_level),
        cmocka_unit_test_setup_teardown(unknown_key_names_file_line_and_valid_keys, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(unknown_section_is_an_error_even_when_empty, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(connector_without_type_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_connector_type_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(connector_type_may_come_last_and_values_parse, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(missing_required_key_points_at_section, setup, teardown),
        cmocka_unit_test_setup_teardown(dropins_apply_in_lexical_order_and_later_wins, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(all_errors_of_all_files_are_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(too_many_errors_end_with_a_count, setup, teardown),
        cmocka_unit_test_setup_teardown(duplicate_key_in_one_file_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(syntax_problems_are_reported_per_line, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_main_file_is_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(secret_file_readable_by_others_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(secret_file_0600_is_accepted_relative_to_config_dir, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(secret_file_resolves_in_credentials_directory, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(secret_file_owner_parents_and_size_are_checked, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(secret_read_strips_one_newline_and_rechecks, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(dump_is_a_config_that_loads_to_the_same_values, setup,
                                        teardown),
        cmocka_unit_test(reference_lists_type_values_and_default),
        cmocka_unit_test_setup_teardown(shipped_example_loads_and_states_true_defaults, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
