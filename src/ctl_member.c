/* crmsyncctl member export|erase KEY. */
#include <getopt.h>
#include <string.h>

#include "ctl.h"
#include "store_ctl.h"
#include "timefmt.h"

#define FUTURE_TOLERANCE_MS (5 * 60 * 1000)

static void help(FILE *out)
{
    fprintf(out,
            "Usage: crmsyncctl [-c FILE | -s DB] member export KEY\n"
            "       crmsyncctl [-c FILE | -s DB] member erase KEY --yes [--json]\n\n"
            "export prints the member's full history as JSON (GDPR Art. 15): current\n"
            "state, consent events with their proof and audit hash, the points ledger\n"
            "and balance, tier, segment and profile history, identities in each CRM,\n"
            "and which CRMs acknowledged what and when (Art. 19).\n\n"
            "erase records an erasure (origin 'crmsyncctl') in one short write\n"
            "transaction: local data is removed at once, a tombstone keeps the member\n"
            "from coming back, and the engine propagates the deletion to every CRM\n"
            "('crmsyncctl status' shows its progress). Irreversible: needs --yes.\n\n"
            "Exit codes: 0 ok, 1 failure, 2 usage, 3 no such member, 5 database locked,\n"
            "6 no usable database.\n");
}

static int erase(struct ctl *ctl, struct store *st, const char *key)
{
    struct error err = {""};
    struct merge_policy policy = {0};
    struct change c = {0};
    enum apply_result res = APPLY_APPLIED;
    char idem[600], hash[65], detail[120];
    int64_t now = timefmt_now_ms();
    int known = 0, erased = 0;
    int rc;

    if ((rc = store_ctl_member_state(st, key, &known, &erased, &err)) != 0)
        return ctl_store_error(rc, "member erase", err.msg);
    if (erased) {
        printf("member %s is already erased\n", key);
        return CTL_OK;
    }
    if (!known) {
        ctl_err("member erase: no member with key '%s' in the state database", key);
        return CTL_NOT_FOUND;
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
        return ctl_store_error(store_ctl_last_busy(st) ? STORE_CTL_BUSY : -1, "member erase",
                               err.msg);
    }
    if (store_apply(st, &c, &policy, &res, &err) != 0 ||
        store_ctl_log_action(st, "member erase", detail, &err) != 0) {
        int busy = store_ctl_last_busy(st);
        store_rollback(st);
        return ctl_store_error(busy ? STORE_CTL_BUSY : -1, "member erase", err.msg);
    }
    if (store_commit(st, &err) != 0)
        return ctl_store_error(store_ctl_last_busy(st) ? STORE_CTL_BUSY : -1, "member erase",
                               err.msg);
    if (ctl->json) {
        json_t *doc = json_pack("{s:s,s:s}", "member_key", key, "result", apply_result_name(res));
        ctl_print_json(doc);
        json_decref(doc);
    } else {
        printf("member %s erased locally; the deletion is queued for every CRM "
               "(see 'crmsyncctl status')\n",
               key);
    }
    return CTL_OK;
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

    while ((opt = getopt_long(argc, argv, "yjh", longopts, NULL)) != -1) {
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
    if ((rc = ctl_open(ctl, strcmp(action, "erase") == 0, &st)) != CTL_OK)
        return rc;
    if (strcmp(action, "erase") == 0) {
        rc = erase(ctl, st, key);
    } else if ((rc = store_ctl_member_export(st, key, &doc, &err)) != 0) {
        rc = ctl_store_error(rc, "member export", err.msg);
    } else {
        ctl_print_json(doc);
        rc = CTL_OK;
    }
    json_decref(doc);
    store_close(st);
    return rc;
}
