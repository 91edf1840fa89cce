/* crmsync_batch: an eponymous, read-only virtual table over a batch the
 * caller passes as a pointer parameter (SQLite's pointer-passing interface,
 * https://sqlite.org/bindptr.html; the same idea as its carray extension).
 * Written from the virtual table documentation (https://sqlite.org/vtab.html):
 * the hidden column `batch` is the table-valued function's argument, and a
 * plan that does not bind it is refused (SQLITE_CONSTRAINT), so the table is
 * never scanned without its rows. */
#include "store_batch.h"

#include <stdlib.h>
#include <string.h>

enum { COL_MEMBER, COL_FIELD, COL_HASH, COL_REMOTE, COL_SEQ, COL_I, COL_BATCH };

struct batch_cursor {
    sqlite3_vtab_cursor base;
    const struct store_batch *b;
    size_t i;
};

static int b_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **vt,
                     char **errmsg)
{
    sqlite3_vtab *v;
    int rc;

    (void)aux;
    (void)argc;
    (void)argv;
    (void)errmsg;
    rc = sqlite3_declare_vtab(db, "CREATE TABLE x(member TEXT, field TEXT, hash TEXT,"
                                  " remote_id TEXT, seq INTEGER, i INTEGER, batch HIDDEN)");
    if (rc != SQLITE_OK)
        return rc;
    v = sqlite3_malloc(sizeof(*v));
    if (v == NULL)
        return SQLITE_NOMEM;
    memset(v, 0, sizeof(*v));
    sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
    *vt = v;
    return SQLITE_OK;
}

static int b_disconnect(sqlite3_vtab *v)
{
    sqlite3_free(v);
    return SQLITE_OK;
}

/* The only plan: the batch argument bound (argv[0] of xFilter). Its rows
 * are few (one batch) and come in index order. */
static int b_best_index(sqlite3_vtab *v, sqlite3_index_info *info)
{
    (void)v;
    for (int i = 0; i < info->nConstraint; i++) {
        const struct sqlite3_index_constraint *c = &info->aConstraint[i];
        if (c->iColumn != COL_BATCH || c->op != SQLITE_INDEX_CONSTRAINT_EQ)
            continue;
        if (!c->usable)
            return SQLITE_CONSTRAINT;
        info->aConstraintUsage[i].argvIndex = 1;
        info->aConstraintUsage[i].omit = 1;
        info->idxNum = 1;
        info->estimatedCost = 100;
        info->estimatedRows = 100;
        if (info->nOrderBy == 1 && info->aOrderBy[0].iColumn == COL_I && !info->aOrderBy[0].desc)
            info->orderByConsumed = 1;
        return SQLITE_OK;
    }
    return SQLITE_CONSTRAINT;
}

static int b_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out)
{
    struct batch_cursor *c = sqlite3_malloc(sizeof(*c));

    (void)v;
    if (c == NULL)
        return SQLITE_NOMEM;
    memset(c, 0, sizeof(*c));
    *out = &c->base;
    return SQLITE_OK;
}

static int b_close(sqlite3_vtab_cursor *cur)
{
    sqlite3_free(cur);
    return SQLITE_OK;
}

static int b_filter(sqlite3_vtab_cursor *cur, int idx_num, const char *idx_str, int argc,
                    sqlite3_value **argv)
{
    struct batch_cursor *c = (struct batch_cursor *)cur;

    (void)idx_str;
    c->i = 0;
    c->b = idx_num == 1 && argc == 1 ? sqlite3_value_pointer(argv[0], STORE_BATCH_PTR) : NULL;
    return SQLITE_OK;
}

static int b_next(sqlite3_vtab_cursor *cur)
{
    ((struct batch_cursor *)cur)->i++;
    return SQLITE_OK;
}

static int b_eof(sqlite3_vtab_cursor *cur)
{
    const struct batch_cursor *c = (const struct batch_cursor *)cur;
    return c->b == NULL || c->i >= c->b->n;
}

static void text_or_null(sqlite3_context *ctx, const char *s)
{
    if (s == NULL)
        sqlite3_result_null(ctx);
    else
        sqlite3_result_text(ctx, s, -1, SQLITE_STATIC);
}

static int b_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
    const struct batch_cursor *c = (const struct batch_cursor *)cur;
    const struct store_batch *b = c->b;
    size_t i = c->i;

    switch (col) {
    case COL_MEMBER:
        text_or_null(ctx, b->keys ? b->keys[i].member : b->member ? b->member[i] : NULL);
        break;
    case COL_FIELD:
        text_or_null(ctx, b->keys ? b->keys[i].field : NULL);
        break;
    case COL_HASH:
        text_or_null(ctx, b->keys ? b->keys[i].hash : NULL);
        break;
    case COL_REMOTE:
        text_or_null(ctx, b->remote_id ? b->remote_id[i] : NULL);
        break;
    case COL_SEQ:
        if (b->seq != NULL)
            sqlite3_result_int64(ctx, b->seq[i]);
        else
            sqlite3_result_null(ctx);
        break;
    case COL_I:
        sqlite3_result_int64(ctx, (sqlite3_int64)i);
        break;
    default:
        sqlite3_result_null(ctx);
        break;
    }
    return SQLITE_OK;
}

static int b_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
    *rowid = (sqlite3_int64)((const struct batch_cursor *)cur)->i;
    return SQLITE_OK;
}

static const sqlite3_module batch_module = {
    .iVersion = 0,
    .xCreate = NULL, /* eponymous only: never CREATE VIRTUAL TABLE'd in a file */
    .xConnect = b_connect,
    .xBestIndex = b_best_index,
    .xDisconnect = b_disconnect,
    .xOpen = b_open,
    .xClose = b_close,
    .xFilter = b_filter,
    .xNext = b_next,
    .xEof = b_eof,
    .xColumn = b_column,
    .xRowid = b_rowid,
};

int store_batch_register(sqlite3 *db)
{
    return sqlite3_create_module(db, "crmsync_batch", &batch_module, NULL) == SQLITE_OK ? 0 : -1;
}
