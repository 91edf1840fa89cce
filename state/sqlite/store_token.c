/* OAuth refresh tokens (issue 18: split out of store_push.c): kept per
 * connector across restarts, a key-value table. */
#include "store_push.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "store_push_sql.h"
#include "timefmt.h"

int store_token_get(struct store *st, const char *connector, char **token, struct error *err)
{
    sqlite3_stmt *q = store_push_stmt(st, PS_TOKEN_GET, err);
    int s;

    *token = NULL;
    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, connector, -1, SQLITE_STATIC);
    s = sqlite3_step(q);
    if (s == SQLITE_ROW)
        *token = strdup((const char *)sqlite3_column_text(q, 0));
    sqlite3_reset(q);
    return s == SQLITE_ROW || s == SQLITE_DONE ? 0 : store_sql_error(st, err, "read token");
}

int store_token_put(struct store *st, const char *connector, const char *token, struct error *err)
{
    sqlite3_stmt *q = store_push_stmt(st, PS_TOKEN_PUT, err);

    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, connector, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, token, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, timefmt_now_ms());
    return store_push_done(st, q, err, "write token");
}
