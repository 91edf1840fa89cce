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

/* What the command line asks for. */
struct dl_args {
    struct store_dl_filter f;
    const char *action; /* list, show, retry, drop */
    int all;
};

/* Parses the options. Returns -1 when the command is to go on, else the
 * exit code (CTL_OK after --help, CTL_USAGE). */
static int parse_options(struct ctl *ctl, int argc, char **argv, struct dl_args *a)
{
    static const struct option longopts[] = {{"connector", required_argument, NULL, 'C'},
                                             {"older-than", required_argument, NULL, 'o'},
                                             {"member", required_argument, NULL, 'm'},
                                             {"limit", required_argument, NULL, 'l'},
                                             {"all", no_argument, NULL, 'a'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    struct store_dl_filter *f = &a->f;
    int opt;

    for (;;) {
        opt = getopt_long(argc, argv, "C:o:m:l:ajh", longopts, NULL);
        if (opt == -1)
            break;
        switch (opt) {
        case 'C':
            f->destination = optarg;
            break;
        case 'm':
            f->member_key = optarg;
            break;
        case 'o': {
            int64_t ms = ctl_parse_duration(optarg);
            if (ms < 0) {
                ctl_err("dead-letters: --older-than '%s': expected a duration like 30m, 12h, 7d",
                        optarg);
                return CTL_USAGE;
            }
            f->failed_before_ms = timefmt_now_ms() - ms;
            break;
        }
        case 'l':
            f->limit = strtol(optarg, NULL, 10);
            if (f->limit <= 0) {
                ctl_err("dead-letters: --limit '%s': expected a positive number", optarg);
                return CTL_USAGE;
            }
            break;
        case 'a':
            a->all = 1;
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

/* After the options: the action and its ID, checked to go together with the
 * options. Returns -1 when the command is to run, else CTL_USAGE. */
static int parse_action(int argc, char **argv, struct dl_args *a)
{
    struct store_dl_filter *f = &a->f;

    if (optind >= argc) {
        help(stderr);
        return CTL_USAGE;
    }
    a->action = argv[optind++];
    if (strcmp(a->action, "list") != 0 && strcmp(a->action, "show") != 0 &&
        strcmp(a->action, "retry") != 0 && strcmp(a->action, "drop") != 0) {
        ctl_err("dead-letters: unknown action '%s' (list, show, retry, drop)", a->action);
        return CTL_USAGE;
    }
    if (optind < argc && parse_id(argv[optind], &f->id) != 0) {
        ctl_err("dead-letters %s: '%s' is not a dead letter id", a->action, argv[optind]);
        return CTL_USAGE;
    }
    if (optind < argc)
        optind++;
    if (optind < argc) {
        ctl_err("dead-letters %s: unexpected argument '%s'", a->action, argv[optind]);
        return CTL_USAGE;
    }
    if (strcmp(a->action, "show") == 0 && f->id == 0) {
        ctl_err("dead-letters show: which ID?");
        return CTL_USAGE;
    }
    if ((strcmp(a->action, "retry") == 0 || strcmp(a->action, "drop") == 0) && f->id == 0 &&
        !a->all && f->destination == NULL && f->failed_before_ms == 0 && f->member_key == NULL) {
        ctl_err("dead-letters %s: give an ID, --connector, --member, --older-than, or --all",
                a->action);
        return CTL_USAGE;
    }
    if (strcmp(a->action, "list") == 0 && f->id != 0) {
        ctl_err("dead-letters list takes no ID (use show)");
        return CTL_USAGE;
    }
    return -1;
}

/* Each action returns the exit code; *doc, if set, is the caller's to free. */
static int dl_list(struct ctl *ctl, struct store *st, const struct store_dl_filter *f, json_t **doc)
{
    struct error err = {""};
    int rc = store_ctl_dead_list(st, f, doc, &err);

    if (rc != 0)
        return ctl_store_error(rc, "dead-letters", err.msg);
    if (ctl->json) {
        ctl_print_json(*doc);
    } else {
        text_escape_json(*doc); /* sources name spool files */
        print_list(*doc);
    }
    return CTL_OK;
}

static int dl_show(struct ctl *ctl, struct store *st, const struct store_dl_filter *f, json_t **doc)
{
    struct error err = {""};
    const char *k;
    json_t *v;
    int rc = store_ctl_dead_show(st, f->id, doc, &err);

    if (rc != 0)
        return ctl_store_error(rc, "dead-letters", err.msg);
    if (ctl->json) {
        ctl_print_json(*doc);
        return CTL_OK;
    }
    text_escape_json(*doc);
    json_object_foreach(*doc, k, v)
    {
        char *s = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        printf("%-19s %s\n", k, s ? s : json_string_value(v));
        free(s);
    }
    return CTL_OK;
}

static int dl_retry(struct ctl *ctl, struct store *st, const struct store_dl_filter *f,
                    json_t **doc)
{
    struct error err = {""};
    int64_t n = 0, skipped = 0;
    int rc = store_ctl_dead_retry(st, f, &n, &skipped, &err);

    if (rc != 0)
        return ctl_store_error(rc, "dead-letters", err.msg);
    if (f->id != 0 && n == 0 && skipped == 0) {
        ctl_err("no dead letter with id %lld", (long long)f->id);
        return CTL_NOT_FOUND;
    }
    /* Issue 19: "0 marked" with exit 0 read as success. */
    if (n == 0 && skipped > 0) {
        if (f->id != 0)
            ctl_err("dead letter %lld is a bad input record: it cannot be retried; fix the "
                    "input and drop it into the spool again (or drop the dead letter)",
                    (long long)f->id);
        else
            ctl_err("the %lld dead letter(s) selected are bad input records: they cannot be "
                    "retried; fix the input and drop it into the spool again",
                    (long long)skipped);
        return CTL_FAIL;
    }
    if (ctl->json) {
        *doc = json_pack("{s:I,s:I}", "retry_requested", (json_int_t)n, "skipped_ingest",
                         (json_int_t)skipped);
        ctl_print_json(*doc);
    } else {
        printf("%lld dead letter(s) marked for retry\n", (long long)n);
        if (skipped > 0)
            printf("%lld input dead letter(s) skipped: bad input cannot be re-sent; fix "
                   "the input and drop it again\n",
                   (long long)skipped);
    }
    return CTL_OK;
}

static int dl_drop(struct ctl *ctl, struct store *st, const struct dl_args *a, json_t **doc)
{
    const struct store_dl_filter *f = &a->f;
    struct error err = {""};
    char detail[300];
    int64_t n = 0;
    int rc;

    snprintf(detail, sizeof(detail), "id=%lld connector=%s member=%s older_than_cutoff_ms=%lld%s",
             (long long)f->id, f->destination ? f->destination : "*",
             f->member_key ? f->member_key : "*", (long long)f->failed_before_ms,
             a->all ? " --all" : "");
    rc = store_ctl_dead_drop(st, f, detail, &n, &err);
    if (rc != 0)
        return ctl_store_error(rc, "dead-letters", err.msg);
    if (f->id != 0 && n == 0) {
        ctl_err("no dead letter with id %lld", (long long)f->id);
        return CTL_NOT_FOUND;
    }
    if (ctl->json) {
        *doc = json_pack("{s:I}", "dropped", (json_int_t)n);
        ctl_print_json(*doc);
    } else {
        printf("%lld dead letter(s) dropped (recorded in operator_actions)\n", (long long)n);
    }
    return CTL_OK;
}

int ctl_dead_letters(struct ctl *ctl, int argc, char **argv)
{
    struct dl_args a = {0};
    struct store *st = NULL;
    json_t *doc = NULL;
    int rc = parse_options(ctl, argc, argv, &a);

    if (rc < 0)
        rc = parse_action(argc, argv, &a);
    if (rc >= 0)
        return rc;
    rc = ctl_open(ctl, a.action[0] == 'r' || a.action[0] == 'd', &st);
    if (rc != CTL_OK)
        return rc;
    if (strcmp(a.action, "list") == 0)
        rc = dl_list(ctl, st, &a.f, &doc);
    else if (strcmp(a.action, "show") == 0)
        rc = dl_show(ctl, st, &a.f, &doc);
    else if (strcmp(a.action, "retry") == 0)
        rc = dl_retry(ctl, st, &a.f, &doc);
    else
        rc = dl_drop(ctl, st, &a, &doc);
    json_decref(doc);
    store_close(st);
    return rc;
}
