/* The consent audit: append-only, each row chained to the previous one by a
 * SHA-256 over hashes (never over personal data, so erasure keeps the chain
 * verifiable). The head of the chain is mirrored in memory to avoid a read
 * per append; store_rollback() reloads it. */
#include "store_internal.h"

#include "store_audit_archive.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int store_audit_load_head(struct store *st, struct error *err)
{
    sqlite3_stmt *q = st->audit_last;
    int s;
    int rc = -1;

    st->audit_head[0] = '\0';
    s = sqlite3_step(q);
    if (s == SQLITE_ROW) {
        snprintf(st->audit_head, sizeof(st->audit_head), "%s",
                 (const char *)sqlite3_column_text(q, 0));
    } else if (s != SQLITE_DONE) {
        store_sql_error(st, err, "read audit head");
        goto out;
    } else if (store_audit_archive_head(st, st->audit_head, err) != 0) {
        /* Every row archived: the chain goes on from the archive's head. */
        goto out;
    }
    rc = 0;
out:
    sqlite3_reset(q);
    return rc;
}

/* The text the chain hashes for one row; shared with verification. */
static void chain_input(char *buf, size_t size, const char *prev, int64_t seq,
                        const char *member_hash, const char *field, const char *payload_hash,
                        int64_t recorded_at)
{
    snprintf(buf, size, "%s|%" PRId64 "|%s|%s|%s|%" PRId64, prev, seq, member_hash, field,
             payload_hash, recorded_at);
}

void store_audit_chain_hash(const char *prev, int64_t seq, const char *member_hash,
                            const char *field, const char *payload_hash, int64_t recorded_at,
                            char out[65])
{
    char input[1024];

    chain_input(input, sizeof(input), prev, seq, member_hash, field, payload_hash, recorded_at);
    store_sha256_hex(input, strlen(input), out);
}

int store_audit_append(struct store *st, int64_t seq, const char *member_key, const char *field,
                       const char *payload, int64_t recorded_at, struct error *err)
{
    sqlite3_stmt *q = st->ins_audit;
    char member_hash[65], payload_hash[65], hash[65];
    char input[1024];
    int rc = -1;

    store_member_hash(st, member_key, member_hash);
    store_sha256_hex(payload, strlen(payload), payload_hash);
    chain_input(input, sizeof(input), st->audit_head, seq, member_hash, field, payload_hash,
                recorded_at);
    store_sha256_hex(input, strlen(input), hash);

    /* Neither the payload's hash nor the previous row's is stored: the
     * first is the payload's (until an erasure blanks it, schema 14), the
     * second the previous row's hash. */
    sqlite3_bind_int64(q, 1, seq);
    sqlite3_bind_text(q, 2, member_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, field, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, payload, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, recorded_at);
    sqlite3_bind_text(q, 6, hash, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE) {
        store_sql_error(st, err, "append audit");
        goto out;
    }
    memcpy(st->audit_head, hash, sizeof(hash));
    rc = 0;
out:
    sqlite3_reset(q);
    return rc;
}

int store_audit_row_payload_hash(sqlite3_stmt *q, int payload_col, int hash_col, char out[65])
{
    const char *payload = (const char *)sqlite3_column_text(q, payload_col);
    const char *stored = (const char *)sqlite3_column_text(q, hash_col);

    if (payload != NULL) {
        store_sha256_hex(payload, (size_t)sqlite3_column_bytes(q, payload_col), out);
        return 0;
    }
    if (stored == NULL || strlen(stored) != 64)
        return -1;
    memcpy(out, stored, 65);
    return 0;
}

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
                           "SELECT id, seq, member_hash, field, payload, payload_hash,"
                           " recorded_at, hash FROM audit ORDER BY id",
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
        chain_input(input, sizeof(input), prev, sqlite3_column_int64(q, 1),
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
