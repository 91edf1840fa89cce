/* crmsyncctl dead-letters list|show|retry|drop. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "store_ctl.h"
#include "textesc.h"
#include "timefmt.h"

static void help(FILE *out)
{
    fprintf(out,
            "Usage: crmsyncctl [-c FILE | -s DB] dead-letters ACTION [OPTIONS]\n\n"
            "  list  [--connector NAME] [--member KEY] [--older-than DURATION] [--limit N]\n"
            "        [--json]\n"
            "  show  ID [--json]\n"
            "  retry ID | [--connector NAME] [--member KEY] [--older-than DURATION] | --all\n"
            "  drop  ID | [--connector NAME] [--member KEY] [--older-than DURATION] | --all\n\n"
            "--connector selects the destination the record failed to reach ('ingest' for\n"
            "bad input records); --member those of one member key; --older-than selects\n"
            "those that first failed longer ago\n"
            "than DURATION (30m, 12h, 7d, 2w). retry marks records for the engine to send\n"
            "again (input dead letters cannot be retried: fix the input and drop a new\n"
            "file; retry of input dead letters only exits 1). drop deletes them and records the "
            "action in the state's\n"
            "operator_actions table. retry and drop need an ID, a filter, or --all.\n\n"
            "Exit codes: 0 ok, 1 failure, 2 usage, 3 no such dead letter, 5 database\n"
            "locked, 6 no usable database.\n");
}

static const char *str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : "-";
}

static void print_list(json_t *arr)
{
    size_t i;
    json_t *v;

    if (json_array_size(arr) == 0) {
        printf("(no dead letters)\n");
        return;
    }
    printf("%-6s %-12s %-12s %-14s %-28s %-24s %s\n", "ID", "DESTINATION", "ORIGIN", "MEMBER",
           "FIELD", "FIRST FAILED", "REASON");
    json_array_foreach(arr, i, v) printf(
        "%-6lld %-12s %-12s %-14s %-28s %-24s %s%s\n",
        (long long)json_integer_value(json_object_get(v, "id")), str(v, "destination"),
        str(v, "origin"), str(v, "member_key"), str(v, "field"), str(v, "first_failed_at"),
        str(v, "reason"),
        json_is_string(json_object_get(v, "retry_requested_at")) ? " [retry requested]" : "");
}

static int parse_id(const char *s, int64_t *id)
{
    char *end = NULL;
    long long v = strtoll(s, &end, 10);

    if (end == s || *end != '\0' || v <= 0)
        return -1;
    *id = v;
    return 0;
}

int ctl_dead_letters(struct ctl *ctl, int argc, char **argv)
{
    static const struct option longopts[] = {{"connector", required_argument, NULL, 'C'},
                                             {"older-than", required_argument, NULL, 'o'},
                                             {"member", required_argument, NULL, 'm'},
                                             {"limit", required_argument, NULL, 'l'},
                                             {"all", no_argument, NULL, 'a'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    struct store_dl_filter f = {0};
    struct store *st = NULL;
    struct error err = {""};
    const char *action;
    json_t *doc = NULL;
    int all = 0;
    int opt;
    int rc;

    for (;;) {
        opt = getopt_long(argc, argv, "C:o:m:l:ajh", longopts, NULL);
        if (opt == -1)
            break;
        switch (opt) {
        case 'C':
            f.destination = optarg;
            break;
        case 'm':
            f.member_key = optarg;
            break;
        case 'o': {
            int64_t ms = ctl_parse_duration(optarg);
            if (ms < 0) {
                ctl_err("dead-letters: --older-than '%s': expected a duration like 30m, 12h, 7d",
                        optarg);
                return CTL_USAGE;
            }
            f.failed_before_ms = timefmt_now_ms() - ms;
            break;
        }
        case 'l':
            f.limit = strtol(optarg, NULL, 10);
            if (f.limit <= 0) {
                ctl_err("dead-letters: --limit '%s': expected a positive number", optarg);
                return CTL_USAGE;
            }
            break;
        case 'a':
            all = 1;
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
    if (optind >= argc) {
        help(stderr);
        return CTL_USAGE;
    }
    action = argv[optind++];
    if (strcmp(action, "list") != 0 && strcmp(action, "show") != 0 &&
        strcmp(action, "retry") != 0 && strcmp(action, "drop") != 0) {
        ctl_err("dead-letters: unknown action '%s' (list, show, retry, drop)", action);
        return CTL_USAGE;
    }
    if (optind < argc && parse_id(argv[optind], &f.id) != 0) {
        ctl_err("dead-letters %s: '%s' is not a dead letter id", action, argv[optind]);
        return CTL_USAGE;
    }
    if (optind < argc)
        optind++;
    if (optind < argc) {
        ctl_err("dead-letters %s: unexpected argument '%s'", action, argv[optind]);
        return CTL_USAGE;
    }
    if (strcmp(action, "show") == 0 && f.id == 0) {
        ctl_err("dead-letters show: which ID?");
        return CTL_USAGE;
    }
    if ((strcmp(action, "retry") == 0 || strcmp(action, "drop") == 0) && f.id == 0 && !all &&
        f.destination == NULL && f.failed_before_ms == 0 && f.member_key == NULL) {
        ctl_err("dead-letters %s: give an ID, --connector, --member, --older-than, or --all",
                action);
        return CTL_USAGE;
    }
    if (strcmp(action, "list") == 0 && f.id != 0) {
        ctl_err("dead-letters list takes no ID (use show)");
        return CTL_USAGE;
    }

    rc = ctl_open(ctl, action[0] == 'r' || action[0] == 'd', &st);
    if (rc != CTL_OK)
        return rc;
    if (strcmp(action, "list") == 0) {
        rc = store_ctl_dead_list(st, &f, &doc, &err);
        if (rc != 0)
            goto fail;
        if (ctl->json) {
            ctl_print_json(doc);
        } else {
            text_escape_json(doc); /* sources name spool files */
            print_list(doc);
        }
    } else if (strcmp(action, "show") == 0) {
        rc = store_ctl_dead_show(st, f.id, &doc, &err);
        if (rc != 0)
            goto fail;
        if (ctl->json) {
            ctl_print_json(doc);
        } else {
            const char *k;
            json_t *v;
            text_escape_json(doc);
            json_object_foreach(doc, k, v)
            {
                char *s = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
                printf("%-19s %s\n", k, s ? s : json_string_value(v));
                free(s);
            }
        }
    } else if (strcmp(action, "retry") == 0) {
        int64_t n = 0, skipped = 0;
        rc = store_ctl_dead_retry(st, &f, &n, &skipped, &err);
        if (rc != 0)
            goto fail;
        if (f.id != 0 && n == 0 && skipped == 0) {
            ctl_err("no dead letter with id %lld", (long long)f.id);
            rc = CTL_NOT_FOUND;
            goto out;
        }
        /* Issue 19: "0 marked" with exit 0 read as success. */
        if (n == 0 && skipped > 0) {
            if (f.id != 0)
                ctl_err("dead letter %lld is a bad input record: it cannot be retried; fix the "
                        "input and drop it into the spool again (or drop the dead letter)",
                        (long long)f.id);
            else
                ctl_err("the %lld dead letter(s) selected are bad input records: they cannot be "
                        "retried; fix the input and drop it into the spool again",
                        (long long)skipped);
            rc = CTL_FAIL;
            goto out;
        }
        if (ctl->json) {
            doc = json_pack("{s:I,s:I}", "retry_requested", (json_int_t)n, "skipped_ingest",
                            (json_int_t)skipped);
            ctl_print_json(doc);
        } else {
            printf("%lld dead letter(s) marked for retry\n", (long long)n);
            if (skipped > 0)
                printf("%lld input dead letter(s) skipped: bad input cannot be re-sent; fix "
                       "the input and drop it again\n",
                       (long long)skipped);
        }
    } else {
        char detail[300];
        int64_t n = 0;
        snprintf(detail, sizeof(detail),
                 "id=%lld connector=%s member=%s older_than_cutoff_ms=%lld%s", (long long)f.id,
                 f.destination ? f.destination : "*", f.member_key ? f.member_key : "*",
                 (long long)f.failed_before_ms, all ? " --all" : "");
        rc = store_ctl_dead_drop(st, &f, detail, &n, &err);
        if (rc != 0)
            goto fail;
        if (f.id != 0 && n == 0) {
            ctl_err("no dead letter with id %lld", (long long)f.id);
            rc = CTL_NOT_FOUND;
            goto out;
        }
        if (ctl->json) {
            doc = json_pack("{s:I}", "dropped", (json_int_t)n);
            ctl_print_json(doc);
        } else {
            printf("%lld dead letter(s) dropped (recorded in operator_actions)\n", (long long)n);
        }
    }
    rc = CTL_OK;
    goto out;
fail:
    rc = ctl_store_error(rc, "dead-letters", err.msg);
out:
    json_decref(doc);
    store_close(st);
    return rc;
}
