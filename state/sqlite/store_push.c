/* The push side of the change-log (see store_push.h): the changes a
 * destination lane reads, the current values, the backlog, and the repair
 * and resend changes. Its statements are in store_push_sql.c; shadows,
 * identities, cursors, dead letters and tokens have files of their own
 * (issue 18). */
#include "store_push.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_batch.h"
#include "store_internal.h"
#include "store_push_sql.h"
#include "timefmt.h"

int store_push_read(struct store *st, const char *dest, int lane, int64_t after, int64_t upto,
                    int limit, push_row_fn fn, void *ctx, int *n, struct error *err)
{
    sqlite3_stmt *q = store_push_stmt(st, PS_READ, err);
    int s;
    int rc = -1;

    *n = 0;
    if (q == NULL)
        return -1;
    sqlite3_bind_int(q, 1, lane);
    sqlite3_bind_int64(q, 2, after);
    sqlite3_bind_int(q, 3, limit);
    sqlite3_bind_int64(q, 4, upto > 0 ? upto : INT64_MAX);
    sqlite3_bind_text(q, 5, dest, -1, SQLITE_STATIC);
    for (;;) {
        s = sqlite3_step(q);
        if (s != SQLITE_ROW)
            break;
        struct push_row r = {
            .seq = sqlite3_column_int64(q, 0),
            .origin = (const char *)sqlite3_column_text(q, 1),
            .member_key = (const char *)sqlite3_column_text(q, 2),
            .kind = (const char *)sqlite3_column_text(q, 3),
            .field = (const char *)sqlite3_column_text(q, 4),
            .value = (const char *)sqlite3_column_text(q, 5),
            .occurred_at = sqlite3_column_int64(q, 6),
            .received_at = sqlite3_column_int64(q, 7),
        };
        (*n)++;
        if (fn(ctx, &r) != 0)
            break;
    }
    if (s != SQLITE_ROW && s != SQLITE_DONE) {
        store_sql_error(st, err, "read lane");
        goto out;
    }
    rc = 0;
out:
    sqlite3_reset(q);
    return rc;
}

int store_current_get(struct store *st, const char *member, const char *field, char **value,
                      struct error *err)
{
    sqlite3_stmt *q = store_push_stmt(st, PS_CURRENT, err);
    int s;

    if (q == NULL)
        return -1;
    *value = NULL;
    sqlite3_bind_text(q, 1, member, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, field, -1, SQLITE_STATIC);
    s = sqlite3_step(q);
    if (s == SQLITE_ROW)
        *value = strdup((const char *)sqlite3_column_text(q, 0));
    sqlite3_reset(q);
    return s == SQLITE_ROW || s == SQLITE_DONE ? 0 : store_sql_error(st, err, "read current");
}

int store_push_backlog(struct store *st, int lane, int64_t after, int64_t *count, struct error *err)
{
    sqlite3_stmt *q = store_push_stmt(st, PS_BACKLOG, err);
    int s;

    if (q == NULL)
        return -1;
    sqlite3_bind_int(q, 1, lane);
    sqlite3_bind_int64(q, 2, after);
    s = sqlite3_step(q);
    *count = s == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sqlite3_reset(q);
    return s == SQLITE_ROW ? 0 : store_sql_error(st, err, "count backlog");
}

int store_max_seq(struct store *st, int64_t *seq, struct error *err)
{
    sqlite3_stmt *q = store_push_stmt(st, PS_MAX_SEQ, err);
    int s;

    if (q == NULL)
        return -1;
    s = sqlite3_step(q);
    *seq = s == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sqlite3_reset(q);
    return s == SQLITE_ROW ? 0 : store_sql_error(st, err, "max seq");
}

static int append_value(struct store *st, const char *origin, const char *member,
                        enum change_kind kind, const char *field, const char *value, int lane,
                        const char *idem_key, int *added, struct error *err)
{
    sqlite3_stmt *q = store_push_stmt(st, PS_REPAIR, err);
    int64_t seq, old_seq;

    *added = 0;
    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 8, origin, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 1, member, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, change_kind_name(kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, field, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, value, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, timefmt_now_ms());
    sqlite3_bind_text(q, 6, idem_key, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 7, lane);
    if (store_push_done(st, q, err, "append repair") != 0)
        return -1;
    if (sqlite3_changes(st->db) == 0)
        return 0;
    *added = 1;
    seq = sqlite3_last_insert_rowid(st->db);
    if (kind == CHANGE_POINTS)
        return 0;
    /* The repair now stands for the current value, so the engine's read
     * (which skips superseded values) offers it; the change it replaces
     * goes if compaction has passed it (state/store_retention.c). */
    q = store_push_stmt(st, PS_CURRENT_SEQ, err);
    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, member, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, field, -1, SQLITE_STATIC);
    old_seq = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sqlite3_reset(q);
    q = store_push_stmt(st, PS_REPAIR_CURRENT, err);
    if (q == NULL)
        return -1;
    sqlite3_bind_text(q, 1, member, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, field, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, seq);
    if (store_push_done(st, q, err, "repair current") != 0)
        return -1;
    return sqlite3_changes(st->db) > 0 ? store_change_superseded(st, old_seq, err) : 0;
}

int store_append_repair(struct store *st, const char *member, enum change_kind kind,
                        const char *field, const char *value, int lane, const char *idem_key,
                        int *added, struct error *err)
{
    return append_value(st, "repair", member, kind, field, value, lane, idem_key, added, err);
}

int store_append_resend(struct store *st, const char *dest, const char *member,
                        enum change_kind kind, const char *field, const char *value, int lane,
                        const char *idem_key, int *added, struct error *err)
{
    char origin[160];

    snprintf(origin, sizeof(origin), "%s%s", STORE_RESEND_PREFIX, dest);
    return append_value(st, origin, member, kind, field, value, lane, idem_key, added, err);
}
