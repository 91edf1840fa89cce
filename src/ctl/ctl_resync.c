/* crmsyncctl resync [CONNECTOR]: records a request in resync_requests
 * (naming the connector, or none for all) and sends SIGUSR1 to the daemon,
 * which takes every pending request (src/daemon.c do_resync). Then waits,
 * bounded, until the daemon has marked it started. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "store_ctl.h"

#define WAIT_MS 10000

static void help(FILE *out)
{
    fprintf(out, "Usage: crmsyncctl [-c FILE | -s DB] resync [--no-wait] [--json] [CONNECTOR]\n\n"
                 "Asks the running crmsyncd for a full resync of CONNECTOR, or of every\n"
                 "connector: the pull watermark is reset and everything is read and pushed\n"
                 "again. The request is recorded in the state database, the daemon is woken\n"
                 "with SIGUSR1 (the pid comes from the lock file it holds), and crmsyncctl\n"
                 "waits up to 10 s for the daemon to take it.\n\n"
                 "  --no-wait   return once the signal is sent\n\n"
                 "Exit codes: 0 accepted (or sent, with --no-wait), 1 not taken in time or\n"
                 "cannot signal, 2 usage, 3 unknown connector, 4 daemon not running,\n"
                 "5 database locked, 6 no usable database.\n");
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* --no-wait, --json, --help. Returns -1 when the command is to go on, else
 * the exit code (CTL_OK after --help, CTL_USAGE). */
static int parse_options(struct ctl *ctl, int argc, char **argv, int *no_wait)
{
    static const struct option longopts[] = {{"no-wait", no_argument, NULL, 'n'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int opt;

    for (;;) {
        opt = getopt_long(argc, argv, "njh", longopts, NULL);
        if (opt == -1)
            break;
        switch (opt) {
        case 'n':
            *no_wait = 1;
            break;
        case 'j':
            ctl->json = 1;
            break;
        case 'h':
            help(stdout);
            return CTL_OK;
        default:
            help(stderr);
            return CTL_USAGE;
        }
    }
    return -1;
}

/* Records the request (*id), signals the daemon (pid) and, unless no_wait,
 * waits (bounded) until the daemon has taken it. Returns the exit code. */
static int request(struct store *st, const char *connector, pid_t pid, int no_wait, int64_t *id)
{
    struct error err = {""};
    char detail[200];
    int started = 0;
    int rc;

    snprintf(detail, sizeof(detail), "resync %s", connector ? connector : "(all)");
    rc = store_resync_request(st, connector, id, &err);
    if (rc == 0)
        rc = store_ctl_log_action(st, "resync", detail, &err);
    if (rc != 0)
        return ctl_store_error(rc, "resync: recording the request", err.msg);
    if (kill(pid, SIGUSR1) != 0) {
        ctl_err("resync: cannot signal crmsyncd (pid %ld): %s%s; the request stays recorded "
                "and runs at the next SIGUSR1",
                (long)pid, strerror(errno),
                errno == EPERM ? " (run as root or the crmsyncd user)" : "");
        return CTL_FAIL;
    }
    for (long waited = 0; !no_wait && !started && waited < WAIT_MS; waited += 100) {
        rc = store_resync_started(st, *id, &started, &err);
        if (rc != 0)
            return ctl_store_error(rc, "resync: reading the request", err.msg);
        if (!started)
            sleep_ms(100);
    }
    if (!no_wait && !started) {
        ctl_err("resync: signal sent to crmsyncd (pid %ld) but it did not take the request "
                "within %d s",
                (long)pid, WAIT_MS / 1000);
        return CTL_FAIL;
    }
    return CTL_OK;
}

int ctl_resync(struct ctl *ctl, int argc, char **argv)
{
    const char *connector = NULL;
    struct store *st = NULL;
    char why[512] = "";
    int64_t id = 0;
    pid_t pid = 0;
    int no_wait = 0, running;
    int rc = parse_options(ctl, argc, argv, &no_wait);

    if (rc >= 0)
        return rc;
    if (argc - optind > 1) {
        ctl_err("resync: at most one connector");
        return CTL_USAGE;
    }
    if (optind < argc)
        connector = argv[optind];
    rc = ctl_load(ctl);
    if (rc != CTL_OK)
        return rc;
    if (connector != NULL && !ctl_connector_known(ctl, connector)) {
        ctl_err("resync: no connector '%s' in %s", connector, ctl->config_path);
        return CTL_NOT_FOUND;
    }
    running = ctl_daemon_running(ctl, &pid, why, sizeof(why));
    if (running == 0) {
        ctl_err("crmsyncd is not running for %s (nobody holds its lock file); a resync "
                "needs the daemon",
                ctl->state_path);
        return CTL_NOT_RUNNING;
    }
    if (running < 0) {
        ctl_err("cannot tell whether crmsyncd runs: %s", why);
        return CTL_FAIL;
    }
    rc = ctl_open(ctl, 1, &st);
    if (rc != CTL_OK)
        return rc;
    rc = request(st, connector, pid, no_wait, &id);
    if (rc == CTL_OK && ctl->json) {
        json_t *doc =
            json_pack("{s:s?,s:I,s:I,s:s}", "connector", connector, "request_id", (json_int_t)id,
                      "pid", (json_int_t)pid, "result", no_wait ? "sent" : "accepted");
        ctl_print_json(doc);
        json_decref(doc);
    } else if (rc == CTL_OK) {
        printf("resync of %s %s by crmsyncd (pid %ld)\n", connector ? connector : "all connectors",
               no_wait ? "requested" : "accepted", (long)pid);
    }
    store_close(st);
    return rc;
}
