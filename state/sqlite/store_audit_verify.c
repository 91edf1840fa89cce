/* Verifying the audit chain (issue 18: split out of store_audit.c): the
 * archived part first (store_audit_archive.c), then the rows in the
 * database, each row's hash recomputed over the previous one. Above the
 * audit's append and the archive; nothing below calls it. */
#include "store_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "store_audit_archive.h"

int store_audit_verify_parts(struct store *st, int64_t *rows, int64_t *archived, int64_t *bad_id,
                             struct error *err)
{
    sqlite3_stmt *q = NULL;
    char prev[65] = "";
    char input[1024], hash[65], payload_hash[65];
    int s;
    int rc = -1;

    *rows = 0;
    *archived = 0;
    *bad_id = 0;
    /* The archived part of the chain first; the live rows go on from its
     * head (docs/state.md "Audit archive"). */
    if (store_audit_archive_verify(st, prev, archived, bad_id, err) != 0)
        return -1;
    if (*bad_id != 0)
        return 0;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT id, seq, lower(hex(member_hash)), field, payload,"
                           " payload_hash, recorded_at, lower(hex(hash)) FROM audit ORDER BY id",
                           -1, &q, NULL) != SQLITE_OK) {
        store_sql_error(st, err, "verify audit");
        goto out;
    }
    for (;;) {
        s = sqlite3_step(q);
        if (s != SQLITE_ROW)
            break;
        int64_t id = sqlite3_column_int64(q, 0);

        (*rows)++;
        /* A changed payload changes its hash, so the row's hash no longer
         * matches; a row with neither payload nor hash cannot be checked. */
        if (store_audit_row_payload_hash(q, 4, 5, payload_hash) != 0) {
            *bad_id = id;
            error_set(err, "audit row %" PRId64 ": neither payload nor payload hash", id);
            rc = 0;
            goto out;
        }
        store_audit_chain_input(input, sizeof(input), prev, sqlite3_column_int64(q, 1),
                                (const char *)sqlite3_column_text(q, 2),
                                (const char *)sqlite3_column_text(q, 3), payload_hash,
                                sqlite3_column_int64(q, 6));
        store_sha256_hex(input, strlen(input), hash);
        if (strcmp(hash, (const char *)sqlite3_column_text(q, 7)) != 0) {
            *bad_id = id;
            error_set(err,
                      "audit row %" PRId64
                      ": hash does not match its contents and the previous row's hash",
                      id);
            rc = 0;
            goto out;
        }
        memcpy(prev, hash, sizeof(prev));
    }
    if (s != SQLITE_DONE) {
        store_sql_error(st, err, "verify audit");
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(q);
    return rc;
}

int store_audit_verify(struct store *st, int64_t *rows, int64_t *bad_id, struct error *err)
{
    int64_t live = 0, archived = 0;
    int rc = store_audit_verify_parts(st, &live, &archived, bad_id, err);

    *rows = live + archived;
    return rc;
}
