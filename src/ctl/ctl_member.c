/* crmsyncctl member export|erase KEY. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "connector.h"
#include "ctl.h"
#include "lockfile.h"
#include "store_ctl.h"
#include "store_ctl_delivery.h"
#include "timefmt.h"

#define FUTURE_TOLERANCE_MS (5 * 60 * 1000)

static int erase_done(struct ctl *ctl, const char *key, const char *via)
{
    if (ctl->json) {
        json_t *doc = json_pack("{s:s,s:s,s:s}", "member_key", key, "result", "erased", "via", via);
        ctl_print_json(doc);
        json_decref(doc);
    } else {
        printf("member %s erased locally (via %s); the deletion is queued for every CRM "
               "(see 'crmsyncctl status')\n",
               key, via);
    }
    return CTL_OK;
}

static void help(FILE *out)
{
    fprintf(out, "Usage: crmsyncctl [-c FILE | -s DB] member export KEY\n"
                 "       crmsyncctl [-c FILE | -s DB] member erase KEY --yes [--json]\n\n"
                 "export prints the member's full history as JSON (GDPR Art. 15): current\n"
                 "state, consent events with their proof and audit hash, the points ledger\n"
                 "and balance, tier, segment and profile history, identities in each CRM,\n"
                 "and which CRMs acknowledged what and when (Art. 19).\n\n"
                 "erase records an erasure: local data is removed, a tombstone keeps the\n"
                 "member from coming back, and the engine propagates the deletion to every\n"
                 "CRM ('crmsyncctl status' shows its progress). While crmsyncd runs, the\n"
                 "erasure goes through it (an erasure event dropped into the first spool\n"
                 "connector's directory; crmsyncctl waits up to 10 s until it is applied);\n"
                 "when it is stopped, crmsyncctl takes its lock and writes the change itself\n"
                 "(origin 'crmsyncctl'). Irreversible: needs --yes.\n\n"
                 "What remains, and for how long: the member key in the change-log until\n"
                 "every CRM confirmed the erasure (then a salted hash); the member's lines\n"
                 "in the spool's done/ files until the daemon rewrites them (seconds after\n"
                 "the erasure, or at its next start; the same for failed/ files);\n"
                 "each CRM's copy until it applied the deletion (and its recycle bin);\n"
                 "backups taken before. state.db and its WAL keep nothing (secure_delete,\n"
                 "checkpoint). crmsyncctl(1) says more.\n\n"
                 "Exit codes: 0 ok, 1 failure, 2 usage, 3 no such member, 5 database locked,\n"
                 "6 no usable database.\n");
}

/* Writes ev as one JSON line with its newline to a new file path. */
static int write_event_line(const json_t *ev, const char *path)
{
    char *text = json_dumps(ev, JSON_COMPACT);
    FILE *f = NULL;
    int rc = -1;

    if (text == NULL)
        return -1;
    f = fopen(path, "wx");
    if (f == NULL)
        goto out;
    if (fputs(text, f) >= 0 && fputc('\n', f) != EOF && fflush(f) == 0 && fsync(fileno(f)) == 0)
        rc = 0;
    if (fclose(f) != 0)
        rc = -1;
out:
    free(text);
    return rc;
}

/* With the daemon running, the erasure goes through it: the daemon is the
 * state's only writer and mirrors some tables in memory (the tombstone
 * count, the audit chain head), so a row written behind its back could be
 * missed. crmsyncctl drops an erasure event into the first spool connector's
 * directory, atomically, and waits (bounded) until the change-log has it. */
static int erase_via_spool(struct ctl *ctl, struct store *st, const char *key)
{
    const char *dir = NULL;
    const char *via = NULL;
    char path[PATH_MAX], tmp[PATH_MAX], id[64];
    int64_t now = timefmt_now_ms();
    json_t *ev;
    struct error err = {""};
    int known = 0, erased = 0;
    int rc;

    for (size_t i = 0; ctl->cfg != NULL && i < ctl->cfg->n_connectors && dir == NULL; i++) {
        const struct connector_config *cc = &ctl->cfg->connectors[i];
        const struct config_option *o = NULL;
        if (strcmp(cc->type, "spool") == 0)
            o = config_option_find(cc->table, "dir");
        if (o == NULL)
            continue;
        dir = *(char *const *)((const char *)cc->settings + o->offset);
        via = cc->name;
    }
    if (dir == NULL) {
        ctl_err("member erase: crmsyncd is running and has no spool connector to take the "
                "erasure; stop it or add a [connector.NAME] type = spool");
        return CTL_FAIL;
    }
    snprintf(id, sizeof(id), "crmsyncctl-erase-%lld-%ld", (long long)now, (long)getpid());
    snprintf(path, sizeof(path), "%s/%s.jsonl", dir, id);
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, id);
    {
        char at[40];
        ev = json_pack("{s:s,s:s,s:s,s:s}", "event_id", id, "type", "erasure", "member", key,
                       "occurred_at", timefmt_format_rfc3339(now, at, sizeof(at)));
    }
    /* One line, ended by its newline: the spool never takes a last line
     * without one (docs/spool-format.md). */
    if (ev == NULL || write_event_line(ev, tmp) != 0 || rename(tmp, path) != 0) {
        ctl_err("member erase: cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        json_decref(ev);
        return CTL_FAIL;
    }
    json_decref(ev);
    for (int waited = 0; waited < 100 && !erased; waited++) {
        struct timespec ts = {0, 100 * 1000000L};
        rc = store_ctl_member_state(st, key, &known, &erased, &err);
        if (rc != 0)
            return ctl_store_error(rc, "member erase", err.msg);
        if (!erased)
            nanosleep(&ts, NULL);
    }
    if (!erased) {
        ctl_err("member erase: the erasure event %s was written but crmsyncd has not applied "
                "it within 10 s; check its log",
                path);
        return CTL_FAIL;
    }
    return erase_done(ctl, key, via);
}

/* With no daemon, crmsyncctl is the writer: it takes the daemon's lock for
 * the length of one transaction, so crmsyncd cannot start meanwhile. */
static int erase_direct(struct ctl *ctl, struct store *st, const char *key)
{
    struct error err = {""};
    struct merge_policy policy = {0};
    struct change c = {0};
    enum apply_result res = APPLY_APPLIED;
    char idem[600], hash[65], detail[120], tmp[PATH_MAX];
    int64_t now = timefmt_now_ms();
    int lock_fd;
    int rc = CTL_FAIL;

    snprintf(tmp, sizeof(tmp), "%s", ctl->state_path);
    lock_fd = lockfile_acquire(dirname(tmp), &err);
    if (lock_fd < 0) {
        ctl_err("member erase: %s", err.msg);
        return CTL_BUSY;
    }
    snprintf(idem, sizeof(idem), "crmsyncctl:erase:%s:%lld", key, (long long)now);
    c.origin = "crmsyncctl";
    c.member_key = key;
    c.kind = CHANGE_ERASE;
    c.field = "erase";
    c.value_json = "{}";
    c.occurred_at = now;
    c.idem_key = idem;
    c.source_ref = "crmsyncctl member erase";
    policy.now_ms = now;
    policy.future_tolerance_ms = FUTURE_TOLERANCE_MS;
    store_member_hash(st, key, hash);
    /* The operator log must not keep the key the erasure removes. */
    snprintf(detail, sizeof(detail), "member_hash=%.16s", hash);
    if (store_begin(st, &err) != 0) {
        rc =
            ctl_store_error(store_ctl_last_busy(st) ? STORE_CTL_BUSY : -1, "member erase", err.msg);
        goto out;
    }
    if (store_apply(st, &c, &policy, &res, &err) != 0 ||
        store_ctl_log_action(st, "member erase", detail, &err) != 0) {
        int busy = store_ctl_last_busy(st);
        store_rollback(st);
        rc = ctl_store_error(busy ? STORE_CTL_BUSY : -1, "member erase", err.msg);
        goto out;
    }
    if (store_commit(st, &err) != 0) {
        rc =
            ctl_store_error(store_ctl_last_busy(st) ? STORE_CTL_BUSY : -1, "member erase", err.msg);
        goto out;
    }
    rc = erase_done(ctl, key, "crmsyncctl");
out:
    lockfile_release(lock_fd);
    return rc;
}

static int erase(struct ctl *ctl, struct store *st, const char *key)
{
    struct error err = {""};
    char why[512] = "";
    pid_t pid = 0;
    int known = 0, erased = 0;
    int running;
    int rc;

    rc = store_ctl_member_state(st, key, &known, &erased, &err);
    if (rc != 0)
        return ctl_store_error(rc, "member erase", err.msg);
    if (erased) {
        printf("member %s is already erased\n", key);
        return CTL_OK;
    }
    if (!known) {
        ctl_err("member erase: no member with key '%s' in the state database", key);
        return CTL_NOT_FOUND;
    }
    running = ctl_daemon_running(ctl, &pid, why, sizeof(why));
    if (running < 0) {
        ctl_err("member erase: cannot tell whether crmsyncd runs: %s", why);
        return CTL_FAIL;
    }
    return running ? erase_via_spool(ctl, st, key) : erase_direct(ctl, st, key);
}

/* Issue 19: where each change stands with each CRM the configuration
 * pushes to (with --state, those the daemon keeps push cursors for). */
static int add_delivery(struct ctl *ctl, struct store *st, json_t *doc, struct error *err)
{
    const char *dests[64];
    size_t n = 0;

    for (size_t k = 0; ctl->cfg != NULL && k < ctl->cfg->n_connectors; k++) {
        const struct connector_config *cc = &ctl->cfg->connectors[k];
        const struct connector_ops *ops = connector_find_type(cc->type);
        if (ops != NULL && ops->max_batch > 0 && n < sizeof(dests) / sizeof(dests[0]))
            dests[n++] = cc->name;
    }
    if (ctl->cfg != NULL && n == 0)
        return 0; /* nothing is pushed anywhere */
    return store_ctl_member_delivery(st, dests, n, json_object_get(doc, "changes"), err);
}

int ctl_member(struct ctl *ctl, int argc, char **argv)
{
    static const struct option longopts[] = {{"yes", no_argument, NULL, 'y'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    struct store *st = NULL;
    struct error err = {""};
    const char *action, *key;
    json_t *doc = NULL;
    int yes = 0;
    int opt;
    int rc;

    for (;;) {
        opt = getopt_long(argc, argv, "yjh", longopts, NULL);
        if (opt == -1)
            break;
        switch (opt) {
        case 'y':
            yes = 1;
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
    if (argc - optind != 2) {
        help(stderr);
        return CTL_USAGE;
    }
    action = argv[optind];
    key = argv[optind + 1];
    if (strcmp(action, "export") != 0 && strcmp(action, "erase") != 0) {
        ctl_err("member: unknown action '%s' (export, erase)", action);
        return CTL_USAGE;
    }
    if (key[0] == '\0') {
        ctl_err("member %s: empty key", action);
        return CTL_USAGE;
    }
    if (strcmp(action, "erase") == 0 && !yes) {
        ctl_err("member erase is irreversible: add --yes to confirm");
        return CTL_USAGE;
    }
    rc = ctl_open(ctl, strcmp(action, "erase") == 0, &st);
    if (rc != CTL_OK)
        return rc;
    if (strcmp(action, "erase") == 0) {
        rc = erase(ctl, st, key);
    } else {
        rc = store_ctl_member_export(st, key, &doc, &err);
        if (rc == 0)
            rc = add_delivery(ctl, st, doc, &err);
        if (rc != 0) {
            rc = ctl_store_error(rc, "member export", err.msg);
        } else {
            ctl_print_json(doc);
            rc = CTL_OK;
        }
    }
    json_decref(doc);
    store_close(st);
    return rc;
}
