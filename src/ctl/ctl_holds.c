/* crmsyncctl holds list | clear [CONNECTOR [FAMILY]]: the Retry-After holds
 * the daemon keeps across restarts (state/sqlite/store_holds.h). A vendor's hold is
 * capped ([daemon] max_retry_after) but may still stop a destination for a
 * while: an operator who knows better clears it. Clearing deletes the kept
 * rows and sends SIGHUP to the running daemon, whose reload restarts every
 * connector from the (now empty) kept holds. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "store_ctl.h"
#include "store_holds.h"
#include "timefmt.h"

static void help(FILE *out)
{
    fprintf(out, "Usage: crmsyncctl [-c FILE | -s DB] holds list [--json]\n"
                 "       crmsyncctl [-c FILE | -s DB] holds clear [CONNECTOR [FAMILY]]\n\n"
                 "A CRM that answers 429 with Retry-After stops its connector until then\n"
                 "(capped by [daemon] max_retry_after), and the hold is kept across restarts.\n"
                 "list shows the holds still running (connector, request family such as api\n"
                 "or search, until when); clear forgets them (all, one connector's, or one\n"
                 "family of it) and makes the running daemon reload (SIGHUP) so that it\n"
                 "forgets them too.\n\n"
                 "Exit codes: 0 ok, 1 failure (cannot signal the daemon), 2 usage, 3 unknown\n"
                 "connector, 5 database locked, 6 no usable database.\n");
}

static int list(struct ctl *ctl, struct store *st)
{
    struct error err = {""};
    json_t *holds = NULL, *h;
    size_t i;
    int rc;

    rc = store_holds_list(st, timefmt_now_ms(), &holds, &err);
    if (rc != 0)
        return ctl_store_error(rc, "holds list", err.msg);
    if (ctl->json) {
        json_t *doc = json_pack("{s:O}", "holds", holds);
        ctl_print_json(doc);
        json_decref(doc);
    } else if (json_array_size(holds) == 0) {
        printf("no Retry-After hold is kept\n");
    } else {
        printf("%-20s %-10s %-26s %s\n", "CONNECTOR", "FAMILY", "UNTIL", "LEFT");
        json_array_foreach(holds, i, h)
        {
            printf("%-20s %-10s %-26s %llds\n", json_string_value(json_object_get(h, "connector")),
                   json_string_value(json_object_get(h, "family")),
                   json_string_value(json_object_get(h, "until")),
                   (long long)(json_integer_value(json_object_get(h, "left_ms")) + 999) / 1000);
        }
    }
    json_decref(holds);
    return CTL_OK;
}

static int clear(struct ctl *ctl, struct store *st, const char *connector, const char *family)
{
    struct error err = {""};
    char detail[300], why[512] = "";
    int64_t n = 0;
    pid_t pid = 0;
    int running;
    int rc;

    snprintf(detail, sizeof(detail), "connector=%s family=%s", connector ? connector : "*",
             family ? family : "*");
    rc = store_holds_clear(st, connector, family, &n, &err);
    if (rc == 0)
        rc = store_ctl_log_action(st, "holds clear", detail, &err);
    if (rc != 0)
        return ctl_store_error(rc, "holds clear", err.msg);
    running = ctl_daemon_running(ctl, &pid, why, sizeof(why));
    if (running > 0 && n > 0 && kill(pid, SIGHUP) != 0) {
        ctl_err("holds clear: %lld hold(s) forgotten, but crmsyncd (pid %ld) cannot be told: "
                "%s%s; it forgets them at its next reload or restart",
                (long long)n, (long)pid, strerror(errno),
                errno == EPERM ? " (run as root or the crmsyncd user)" : "");
        return CTL_FAIL;
    }
    if (ctl->json) {
        json_t *doc = json_pack("{s:s?,s:s?,s:I,s:b}", "connector", connector, "family", family,
                                "cleared", (json_int_t)n, "daemon_reloaded", running > 0 && n > 0);
        ctl_print_json(doc);
        json_decref(doc);
    } else {
        printf("%lld hold(s) cleared%s\n", (long long)n,
               running > 0 && n > 0 ? "; crmsyncd reloads to forget them too" : "");
    }
    return CTL_OK;
}

int ctl_holds(struct ctl *ctl, int argc, char **argv)
{
    struct store *st = NULL;
    const char *action, *connector = NULL, *family = NULL;
    int rc;

    rc = ctl_json_help_options(ctl, argc, argv, help);
    if (rc >= 0)
        return rc;
    if (optind >= argc) {
        help(stderr);
        return CTL_USAGE;
    }
    action = argv[optind];
    if (strcmp(action, "list") == 0 && argc - optind == 1) {
        rc = ctl_open(ctl, 0, &st);
        if (rc != CTL_OK)
            return rc;
        rc = list(ctl, st);
    } else if (strcmp(action, "clear") == 0 && argc - optind <= 3) {
        if (argc - optind > 1)
            connector = argv[optind + 1];
        if (argc - optind > 2)
            family = argv[optind + 2];
        rc = ctl_load(ctl);
        if (rc != CTL_OK)
            return rc;
        if (connector != NULL && !ctl_connector_known(ctl, connector)) {
            ctl_err("holds clear: no connector '%s' in %s", connector, ctl->config_path);
            return CTL_NOT_FOUND;
        }
        rc = ctl_open(ctl, 1, &st);
        if (rc != CTL_OK)
            return rc;
        rc = clear(ctl, st, connector, family);
    } else {
        help(stderr);
        return CTL_USAGE;
    }
    store_close(st);
    return rc;
}
