/* Identities (issue 18: split out of store_push.c): the remote id of a
 * member in each CRM, read, found back from the remote id, written one by
 * one and per batch. */
#include "store_push.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "store_push_sql.h"
#include "timefmt.h"

static int get_text(struct store *st, enum push_stmt which, const char *a, const char *b, char *out,
                    size_t outsize, int *found, struct error *err)
{
    sqlite3_stmt *q = store_push_stmt(st, which, err);
    int s;

    if (q == NULL)
        return -1;
    *found = 0;
    sqlite3_bind_text(q, 1, a, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, b, -1, SQLITE_STATIC);
    s = sqlite3_step(q);
    if (s == SQLITE_ROW) {
        snprintf(out, outsize, "%s", (const char *)sqlite3_column_text(q, 0));
        *found = 1;
    }
    sqlite3_reset(q);
    return s == SQLITE_ROW || s == SQLITE_DONE ? 0 : store_sql_error(st, err, "read identity");
}

int store_identity_get(struct store *st, const char *member, const char *system, char *out,
                       size_t outsize, int *found, struct error *err)
{
    return get_text(st, PS_ID_GET, member, system, out, outsize, found, err);
}

int store_identity_find(struct store *st, const char *system, const char *remote_id, char *out,
                        size_t outsize, int *found, struct error *err)
{
    return get_text(st, PS_ID_FIND, system, remote_id, out, outsize, found, err);
}

int store_identity_put(struct store *st, const char *member, const char *system,
                       const char *remote_id, struct error *err)
{
    sqlite3_stmt *q = store_push_stmt(st, PS_ID_PUT, err);

    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, member, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, system, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, remote_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, timefmt_now_ms());
    return store_push_done(st, q, err, "write identity");
}

int store_identity_put_batch(struct store *st, const char *system, const char *const *member,
                             const char *const *remote_id, size_t n, struct error *err)
{
    struct store_batch b = {.n = n, .member = member, .remote_id = remote_id};
    return store_push_batch_write(st, PS_ID_PUT_BATCH, system, &b, err, "write identities");
}

int store_identity_get_batch(struct store *st, const char *system, const char *const *member,
                             size_t n, char (*remote_id)[64], int *found, struct error *err)
{
    struct store_batch b = {.n = n, .member = member};
    return store_push_batch_read(st, PS_ID_GET_BATCH, system, &b, (char *)remote_id, 64, found, err,
                                 "read identities");
}
