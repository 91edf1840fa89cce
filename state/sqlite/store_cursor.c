/* Push cursors (issue 18: split out of store_push.c): how far each
 * destination lane has handled the change-log, and their reset by a
 * resync (with the destination's shadows and pull watermarks). */
#include "store_push.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "store_push_sql.h"
#include "timefmt.h"

int store_push_cursor_get(struct store *st, const char *dest, int lane, int64_t *seq,
                          struct error *err)
{
    sqlite3_stmt *q = store_push_stmt(st, PS_CURSOR_GET, err);
    int s;

    if (q == NULL)
        return -1;
    *seq = 0;
    sqlite3_bind_text(q, 1, dest, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, lane);
    s = sqlite3_step(q);
    if (s == SQLITE_ROW)
        *seq = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    return s == SQLITE_ROW || s == SQLITE_DONE ? 0 : store_sql_error(st, err, "read push cursor");
}

int store_push_cursor_set(struct store *st, const char *dest, int lane, int64_t seq,
                          struct error *err)
{
    sqlite3_stmt *q = store_push_stmt(st, PS_CURSOR_SET, err);

    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, dest, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, lane);
    sqlite3_bind_int64(q, 3, seq);
    sqlite3_bind_int64(q, 4, timefmt_now_ms());
    return store_push_done(st, q, err, "set push cursor");
}

int store_resync_reset(struct store *st, const char *dest, struct error *err)
{
    int64_t now = timefmt_now_ms();
    sqlite3_stmt *q;

    if (store_shadow_clear(st, dest, err) != 0)
        return -1;
    q = store_push_stmt(st, PS_WM_CLEAR, err);
    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, dest, -1, SQLITE_STATIC);
    if (store_push_done(st, q, err, "clear watermark") != 0)
        return -1;
    q = store_push_stmt(st, PS_CURSORS_RESET, err);
    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, dest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, now);
    if (store_push_done(st, q, err, "reset push cursors") != 0)
        return -1;
    q = store_push_stmt(st, PS_RESYNC_DONE, err);
    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, dest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, now);
    return store_push_done(st, q, err, "mark resync");
}
