/* crmsyncctl audit verify: walks the consent audit hash chain. */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "store_audit_archive.h"
#include "store_ctl.h"

static void help(FILE *out)
{
    fprintf(out, "Usage: crmsyncctl [-c FILE | -s DB] audit verify [--json]\n\n"
                 "Recomputes the SHA-256 chain over the consent audit rows and reports the\n"
                 "first row whose payload or hash does not match (in the archive: payload,\n"
                 "prev_hash or hash). Erased members'\n"
                 "rows keep their hashes, so erasure does not break the chain. Rows moved to\n"
                 "the audit archive ([state] audit_retention) are verified first, from the\n"
                 "archive file the database names; the archive must end at the head, row\n"
                 "count and length the database recorded, and the live rows go on from it.\n\n"
                 "Exit codes: 0 the chain holds, 7 broken (the first bad row is named),\n"
                 "1 failure, 5 database locked, 6 no usable database.\n");
}

int ctl_audit(struct ctl *ctl, int argc, char **argv)
{
    struct store *st = NULL;
    struct error err = {""};
    int64_t rows = 0, archived = 0, bad = 0;
    char *archive = NULL;
    int rc;

    rc = ctl_json_help_options(ctl, argc, argv, help);
    if (rc >= 0)
        return rc;
    if (optind >= argc || strcmp(argv[optind], "verify") != 0 || optind + 1 != argc) {
        if (optind < argc)
            ctl_err("audit: unknown action '%s' (only 'verify')", argv[optind]);
        help(stderr);
        return CTL_USAGE;
    }
    rc = ctl_open(ctl, 0, &st);
    if (rc != CTL_OK)
        return rc;
    if (store_audit_verify_parts(st, &rows, &archived, &bad, &err) != 0 ||
        store_audit_archive_path(st, &archive, &err) != 0) {
        rc =
            ctl_store_error(store_ctl_last_busy(st) ? STORE_CTL_BUSY : -1, "audit verify", err.msg);
        goto out;
    }
    if (ctl->json) {
        json_t *doc = json_pack("{s:b,s:I,s:I}", "ok", bad == 0, "rows", (json_int_t)rows,
                                "archived_rows", (json_int_t)archived);
        json_object_set_new(doc, "archive", archive ? json_string(archive) : json_null());
        if (bad != 0) {
            json_object_set_new(doc, "first_bad_row", json_integer(bad));
            json_object_set_new(doc, "reason", json_string(err.msg));
        }
        ctl_print_json(doc);
        json_decref(doc);
    } else if (bad == 0 && archive == NULL) {
        printf("audit chain holds: %" PRId64 " rows verified\n", rows);
    } else if (bad == 0) {
        printf("audit chain holds: %" PRId64 " archived rows (%s) and %" PRId64
               " rows in the database verified\n",
               archived, archive, rows);
    } else if (bad < 0) {
        printf("audit chain BROKEN (%" PRId64 " archived and %" PRId64 " rows read): %s\n",
               archived, rows, err.msg);
    } else {
        printf("audit chain BROKEN at row %" PRId64 " (%" PRId64 " archived and %" PRId64
               " rows read): %s\n",
               bad, archived, rows, err.msg);
    }
    rc = bad == 0 ? CTL_OK : CTL_BROKEN;
out:
    free(archive);
    store_close(st);
    return rc;
}
