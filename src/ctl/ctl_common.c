/* crmsyncctl helpers shared by the subcommands (see ctl.h). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "connector.h"
#include "ctl.h"
#include "duration.h"
#include "store_ctl.h"

void ctl_err(const char *fmt, ...)
{
    va_list ap;

    fputs("crmsyncctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void ctl_getopt_reset(void)
{
    optind = 0; /* glibc: 0 also resets its internal state */
    opterr = 1;
}

void ctl_print_json(json_t *doc)
{
    json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
    putchar('\n');
}

int ctl_load(struct ctl *ctl)
{
    struct error err = {""};

    if (ctl->state_path != NULL)
        return CTL_OK;
    if (config_load(ctl->config_path, connector_config_lookup, &ctl->cfg, &err) != 0) {
        ctl_err("cannot read configuration %s:\n%s", ctl->config_path, err.msg);
        return CTL_FAIL;
    }
    ctl->state_path = ctl->cfg->state.path;
    return CTL_OK;
}

int ctl_open(struct ctl *ctl, int write, struct store **st)
{
    struct store_options so = {0};
    struct error err = {""};
    int version = 0;
    int rc;

    *st = NULL;
    rc = ctl_load(ctl);
    if (rc != CTL_OK)
        return rc;
    switch (store_ctl_probe(ctl->state_path, &version, &err)) {
    case STORE_PROBE_OK:
        break;
    case STORE_PROBE_BUSY:
        ctl_err("%s", err.msg);
        return CTL_BUSY;
    default:
        ctl_err("%s", err.msg);
        return CTL_BAD_STATE;
    }
    so.path = ctl->state_path;
    so.readonly = !write;
    so.busy_timeout_ms = ctl->cfg ? ctl->cfg->state.busy_timeout_ms : 5000;
    if (store_open(&so, st, &err) != 0) {
        ctl_err("cannot open the state database %s%s", ctl->state_path,
                strstr(err.msg, "locked") || strstr(err.msg, "busy")
                    ? ": it stayed locked; try again"
                    : (write ? " for writing (are you the crmsyncd user or root?)" : ""));
        return strstr(err.msg, "locked") ? CTL_BUSY : CTL_FAIL;
    }
    return CTL_OK;
}

int ctl_store_error(int rc, const char *what, const char *msg)
{
    if (rc == STORE_CTL_BUSY) {
        ctl_err("%s: the state database stayed locked by another writer; try again", what);
        return CTL_BUSY;
    }
    if (rc == STORE_CTL_NOT_FOUND) {
        ctl_err("%s", msg);
        return CTL_NOT_FOUND;
    }
    /* Anything else is unexpected: say what failed, keep SQLite's text short. */
    ctl_err("%s failed (%s)", what, msg);
    return CTL_FAIL;
}

int ctl_daemon_running(const struct ctl *ctl, pid_t *pid, char *why, size_t size)
{
    char tmp[PATH_MAX], path[PATH_MAX + 32], buf[32] = "";
    ssize_t n;
    int fd;
    int rc = -1;

    *pid = 0;
    snprintf(tmp, sizeof(tmp), "%s", ctl->state_path);
    snprintf(path, sizeof(path), "%s/crmsyncd.lock", dirname(tmp));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(why, size, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    /* The daemon holds an exclusive flock for its whole life: if we can
     * take it, nobody runs (and we let it go at once). */
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
        rc = 0;
        goto out;
    }
    if (errno != EWOULDBLOCK) {
        snprintf(why, size, "cannot test the lock on %s: %s", path, strerror(errno));
        goto out;
    }
    n = pread(fd, buf, sizeof(buf) - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    *pid = (pid_t)strtol(buf, NULL, 10);
    if (*pid <= 0) {
        snprintf(why, size, "crmsyncd holds %s but its pid is not in it", path);
        goto out;
    }
    rc = 1;
out:
    close(fd);
    return rc;
}

/* The daemon's syntax (src/config/duration.h), up to 100 years. */
int64_t ctl_parse_duration(const char *s)
{
    int64_t ms = 0;

    if (duration_parse(s, 100LL * 365 * 86400 * 1000, &ms) != 0)
        return -1;
    return ms;
}

int ctl_connector_known(const struct ctl *ctl, const char *name)
{
    if (ctl->cfg == NULL)
        return 1;
    return config_find_connector(ctl->cfg, name) != NULL;
}

int ctl_json_help_options(struct ctl *ctl, int argc, char **argv, void (*help)(FILE *out))
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};

    for (;;) {
        int opt = getopt_long(argc, argv, "jh", longopts, NULL);
        if (opt == -1)
            return -1;
        if (opt == 'j') {
            ctl->json = 1;
        } else if (opt == 'h') {
            help(stdout);
            return CTL_OK;
        } else {
            help(stderr);
            return CTL_USAGE;
        }
    }
}
