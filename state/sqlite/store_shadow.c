/* Shadows (issue 18: split out of store_push.c): what each destination was
 * last confirmed to hold (value_hash) and what was last sent to it
 * (sent_hash, sent_prev_hash), per (member, field), one by one and per
 * batch. */
#include "store_push.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "store_push_sql.h"
#include "timefmt.h"

int store_shadow_get(struct store *st, const char *dest, const char *member, const char *field,
                     char hash[65], int *found, struct error *err)
{
    sqlite3_stmt *q = store_push_stmt(st, PS_SHADOW_GET, err);
    int s;

    if (q == NULL)
        return -1;
    *found = 0;
    sqlite3_bind_text(q, 1, dest, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, member, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, field, -1, SQLITE_STATIC);
    s = sqlite3_step(q);
    if (s == SQLITE_ROW) {
        snprintf(hash, 65, "%s", (const char *)sqlite3_column_text(q, 0));
        *found = 1;
    }
    sqlite3_reset(q);
    return s == SQLITE_ROW || s == SQLITE_DONE ? 0 : store_sql_error(st, err, "read shadow");
}

/* The two shadow writers (confirmed: value_hash; sent: sent_hash) take the
 * same parameters. */
static int write_shadow(struct store *st, enum push_stmt which, const char *dest,
                        const char *member, const char *field, const char *hash, struct error *err,
                        const char *what)
{
    sqlite3_stmt *q = store_push_stmt(st, which, err);

    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, dest, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, member, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, field, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, timefmt_now_ms());
    return store_push_done(st, q, err, what);
}

int store_shadow_put(struct store *st, const char *dest, const char *member, const char *field,
                     const char *hash, struct error *err)
{
    return write_shadow(st, PS_SHADOW_PUT, dest, member, field, hash, err, "write shadow");
}

int store_shadow_clear(struct store *st, const char *dest, struct error *err)
{
    sqlite3_stmt *q = store_push_stmt(st, PS_SHADOW_CLEAR, err);

    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, dest, -1, SQLITE_STATIC);
    return store_push_done(st, q, err, "clear shadow");
}

int store_shadow_sent(struct store *st, const char *dest, const char *member, const char *field,
                      const char *hash, struct error *err)
{
    return write_shadow(st, PS_SHADOW_SENT, dest, member, field, hash, err, "write sent shadow");
}

int store_shadow_is_ours(struct store *st, const char *dest, const char *member, const char *field,
                         const char *hash, int *ours, struct error *err)
{
    sqlite3_stmt *q = store_push_stmt(st, PS_SHADOW_BOTH, err);
    int s;

    *ours = 0;
    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, dest, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, member, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, field, -1, SQLITE_STATIC);
    s = sqlite3_step(q);
    if (s == SQLITE_ROW)
        *ours = strcmp((const char *)sqlite3_column_text(q, 0), hash) == 0 ||
                strcmp((const char *)sqlite3_column_text(q, 1), hash) == 0 ||
                strcmp((const char *)sqlite3_column_text(q, 2), hash) == 0;
    sqlite3_reset(q);
    return s == SQLITE_ROW || s == SQLITE_DONE ? 0 : store_sql_error(st, err, "read shadow");
}

int store_shadow_sent_batch(struct store *st, const char *dest, const struct push_key *k, size_t n,
                            struct error *err)
{
    struct store_batch b = {.n = n, .keys = k};
    return store_push_batch_write(st, PS_SHADOW_SENT_BATCH, dest, &b, err, "write sent shadows");
}

int store_shadow_put_batch(struct store *st, const char *dest, const struct push_key *k, size_t n,
                           struct error *err)
{
    struct store_batch b = {.n = n, .keys = k};
    return store_push_batch_write(st, PS_SHADOW_PUT_BATCH, dest, &b, err, "write shadows");
}

int store_shadow_get_batch(struct store *st, const char *dest, const struct push_key *k, size_t n,
                           char (*hash)[65], int *found, struct error *err)
{
    struct store_batch b = {.n = n, .keys = k};
    return store_push_batch_read(st, PS_SHADOW_GET_BATCH, dest, &b, (char *)hash, 65, found, err,
                                 "read shadows");
}
