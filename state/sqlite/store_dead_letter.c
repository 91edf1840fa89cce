/* Push dead letters (issue 18: split out of store_push.c): a record a
 * destination refused for good, filed once per change (a second failure
 * updates it), and the retries an operator asked for. */
#include "store_push.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "store_push_sql.h"
#include "timefmt.h"

int store_push_dead_letter(struct store *st, const char *dest, int64_t seq, const char *origin,
                           const char *member, const char *field, const char *payload,
                           const char *reason, int attempts, struct error *err)
{
    sqlite3_stmt *q = store_push_stmt(st, PS_DEAD_AGAIN, err);
    char source[48];

    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, dest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, seq);
    sqlite3_bind_int(q, 3, attempts);
    sqlite3_bind_int64(q, 4, timefmt_now_ms());
    sqlite3_bind_text(q, 5, reason, -1, SQLITE_STATIC);
    if (store_push_done(st, q, err, "update push dead letter") != 0)
        return -1;
    if (sqlite3_changes(st->db) > 0)
        return 0;
    q = store_push_stmt(st, PS_DEAD, err);
    if (q == NULL)
        return -1;
    snprintf(source, sizeof(source), "seq %lld", (long long)seq);
    sqlite3_bind_text(q, 1, dest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, seq);
    sqlite3_bind_text(q, 3, origin, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, member, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, field, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 6, payload, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 7, source, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 8, reason, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 9, attempts);
    sqlite3_bind_int64(q, 10, timefmt_now_ms());
    return store_push_done(st, q, err, "write push dead letter");
}

int store_dead_letter_retries(struct store *st, const char *dest, dead_letter_fn fn, void *ctx,
                              struct error *err)
{
    sqlite3_stmt *q = store_push_stmt(st, PS_DL_RETRIES, err);
    int s;

    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, dest, -1, SQLITE_STATIC);
    for (;;) {
        s = sqlite3_step(q);
        if (s != SQLITE_ROW)
            break;
        char member[256], field[256];
        snprintf(member, sizeof(member), "%s", (const char *)sqlite3_column_text(q, 1));
        snprintf(field, sizeof(field), "%s", (const char *)sqlite3_column_text(q, 2));
        fn(ctx, sqlite3_column_int64(q, 0), member, field, sqlite3_column_int64(q, 3));
    }
    sqlite3_reset(q);
    return s == SQLITE_DONE ? 0 : store_sql_error(st, err, "read dead letters to retry");
}

int store_dead_letter_delete(struct store *st, int64_t id, struct error *err)
{
    sqlite3_stmt *q = store_push_stmt(st, PS_DL_DELETE, err);

    if (q == NULL)
        return -1;
    sqlite3_bind_int64(q, 1, id);
    return store_push_done(st, q, err, "delete dead letter");
}
