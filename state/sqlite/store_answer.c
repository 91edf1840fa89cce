/* Answers kept per HTTP ingest event (see store_answer.h). */
#include "store_answer.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "hash.h"
#include "timefmt.h"

int64_t store_event_hash(const struct change *changes, size_t n)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    uint64_t h = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    if (ctx == NULL || EVP_DigestInit_ex(ctx, sha256_md(), NULL) != 1)
        goto out;
    /* The hashes of the changes, in order: the same event sent again gives
     * the same changes (the spool parser is deterministic), whatever the
     * spacing or key order of its JSON. */
    for (size_t i = 0; i < n; i++) {
        const struct change *c = &changes[i];
        uint64_t ch = (uint64_t)store_body_hash(c->member_key, change_kind_name(c->kind), c->field,
                                                c->value_json, c->occurred_at);
        unsigned char b[8];
        for (int k = 0; k < 8; k++)
            b[k] = (unsigned char)(ch >> (56 - 8 * k));
        if (EVP_DigestUpdate(ctx, b, sizeof(b)) != 1)
            goto out;
    }
    if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen < 8)
        goto out;
    for (int i = 0; i < 8; i++)
        h = (h << 8) | md[i];
out:
    EVP_MD_CTX_free(ctx);
    return (int64_t)h;
}

int64_t store_change_hash(const struct change *c)
{
    return store_body_hash(c->member_key, change_kind_name(c->kind), c->field, c->value_json,
                           c->occurred_at);
}

int store_answer_get(struct store *st, const char *key, int64_t body_hash,
                     enum store_answer_state *state, char **answer, struct error *err)
{
    sqlite3_stmt *q = st->get_answer;
    int rc = -1;
    int s;

    *state = STORE_ANSWER_NONE;
    *answer = NULL;
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    s = sqlite3_step(q);
    if (s == SQLITE_ROW) {
        if (sqlite3_column_int64(q, 0) != body_hash) {
            *state = STORE_ANSWER_CONFLICT;
        } else {
            const char *a = (const char *)sqlite3_column_text(q, 1);
            *state = STORE_ANSWER_SAME;
            if (a != NULL) {
                *answer = strdup(a);
                if (*answer == NULL) {
                    error_set(err, "state: out of memory");
                    goto out;
                }
            }
        }
    } else if (s != SQLITE_DONE) {
        store_sql_error(st, err, "read answer");
        goto out;
    }
    rc = 0;
out:
    sqlite3_reset(q);
    return rc;
}

int store_answer_put(struct store *st, const char *key, int64_t body_hash, const char *answer,
                     struct error *err)
{
    sqlite3_stmt *q = st->put_answer;
    int s;

    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, body_hash);
    sqlite3_bind_int64(q, 3, timefmt_now_ms());
    sqlite3_bind_text(q, 4, answer, -1, SQLITE_STATIC);
    s = sqlite3_step(q);
    sqlite3_reset(q);
    if (s != SQLITE_DONE)
        return store_sql_error(st, err, "record answer");
    return 0;
}

int store_answer_keep(struct store *st, const char *key, const char *answer, int *kept,
                      struct error *err)
{
    sqlite3_stmt *q = st->set_answer;
    int s;

    *kept = 0;
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, answer, -1, SQLITE_STATIC);
    s = sqlite3_step(q);
    sqlite3_reset(q);
    if (s != SQLITE_DONE)
        return store_sql_error(st, err, "keep answer");
    *kept = sqlite3_changes(st->db) > 0;
    return 0;
}
