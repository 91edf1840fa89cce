/* The consent audit: append-only, each row chained to the previous one by a
 * SHA-256 over hashes (never over personal data, so erasure keeps the chain
 * verifiable). The head of the chain is mirrored in memory to avoid a read
 * per append; store_rollback() reloads it. */
#include "store_internal.h"

#include "store_audit_archive.h"
#include "store_audit_meta.h"
#include "store_push.h"
#include "store_push_sql.h"
#include "timefmt.h"

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
void store_audit_chain_input(char *buf, size_t size, const char *prev, int64_t seq,
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

    store_audit_chain_input(input, sizeof(input), prev, seq, member_hash, field, payload_hash,
                            recorded_at);
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
    store_audit_chain_input(input, sizeof(input), st->audit_head, seq, member_hash, field,
                            payload_hash, recorded_at);
    store_sha256_hex(input, strlen(input), hash);

    /* Neither the payload's hash nor the previous row's is stored: the
     * first is the payload's (until an erasure blanks it, schema 14), the
     * second the previous row's hash. The member hash and the row's hash
     * are stored as their 32 bytes (schema 16). */
    sqlite3_bind_int64(q, 1, seq);
    store_bind_hash(q, 2, member_hash);
    sqlite3_bind_text(q, 3, field, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, payload, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, recorded_at);
    store_bind_hash(q, 6, hash);
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

int store_audit_ack(struct store *st, int64_t seq, const char *system, struct error *err)
{
    sqlite3_stmt *q = store_push_stmt(st, PS_ACK, err);

    if (q == NULL)
        return -1;
    sqlite3_bind_int64(q, 1, seq);
    sqlite3_bind_text(q, 2, system, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, timefmt_now_ms());
    return store_push_done(st, q, err, "write audit ack");
}

int store_audit_ack_batch(struct store *st, const int64_t *seq, size_t n, const char *system,
                          struct error *err)
{
    struct store_batch b = {.n = n, .seq = seq};
    return store_push_batch_write(st, PS_ACK_BATCH, system, &b, err, "write audit acks");
}
