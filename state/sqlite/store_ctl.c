/* Control-plane SQL (see store_ctl.h). crmsyncctl is short-lived, so these
 * statements are prepared per call rather than kept in struct store. */
#include "store_ctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "schema.h"
#include "store_audit_archive.h"
#include "store_ctl_internal.h"
#include "store_internal.h"
#include "timefmt.h"

/* --- helpers ------------------------------------------------------------- */

int store_ctl_fail(struct store *st, struct error *err, const char *what)
{
    store_sql_error(st, err, what);
    return store_ctl_last_busy(st) ? STORE_CTL_BUSY : -1;
}

int store_ctl_last_busy(struct store *st)
{
    int code = sqlite3_errcode(st->db) & 0xff;
    return code == SQLITE_BUSY || code == SQLITE_LOCKED;
}

int store_ctl_prepare(struct store *st, const char *sql, sqlite3_stmt **q, struct error *err)
{
    if (sqlite3_prepare_v2(st->db, sql, -1, q, NULL) != SQLITE_OK)
        return store_ctl_fail(st, err, "prepare");
    return 0;
}

/* One column as JSON: *_at columns (epoch ms) as RFC 3339; value and
 * payload columns hold JSON text and are embedded as JSON. */
static json_t *column(sqlite3_stmt *q, int i)
{
    const char *name = sqlite3_column_name(q, i);
    size_t n = strlen(name);
    int type = sqlite3_column_type(q, i);
    char buf[40];

    if (type == SQLITE_NULL)
        return json_null();
    if (n > 3 && strcmp(name + n - 3, "_at") == 0 && type == SQLITE_INTEGER) {
        int64_t ms = sqlite3_column_int64(q, i);
        return ms > 0 ? json_string(timefmt_format_rfc3339(ms, buf, sizeof(buf))) : json_null();
    }
    if (type == SQLITE_INTEGER)
        return json_integer(sqlite3_column_int64(q, i));
    if (strcmp(name, "value") == 0 || strcmp(name, "payload") == 0) {
        json_t *v = json_loads((const char *)sqlite3_column_text(q, i), JSON_DECODE_ANY, NULL);
        if (v != NULL)
            return v;
    }
    return json_string((const char *)sqlite3_column_text(q, i));
}

static json_t *row_object(sqlite3_stmt *q)
{
    json_t *o = json_object();
    for (int i = 0; i < sqlite3_column_count(q); i++)
        json_object_set_new(o, sqlite3_column_name(q, i), column(q, i));
    return o;
}

/* Steps a bound statement to the end, collecting rows. Finalizes it. */
int store_ctl_collect(struct store *st, sqlite3_stmt *q, json_t **out, struct error *err)
{
    json_t *arr = json_array();
    int s;

    for (s = sqlite3_step(q); s == SQLITE_ROW; s = sqlite3_step(q))
        json_array_append_new(arr, row_object(q));
    if (s != SQLITE_DONE) {
        int rc = store_ctl_fail(st, err, "query");
        sqlite3_finalize(q);
        json_decref(arr);
        return rc;
    }
    sqlite3_finalize(q);
    *out = arr;
    return 0;
}

int store_ctl_exec_one(struct store *st, sqlite3_stmt *q, const char *what, struct error *err)
{
    int s = sqlite3_step(q);
    int rc = s == SQLITE_DONE || s == SQLITE_ROW ? 0 : store_ctl_fail(st, err, what);
    sqlite3_finalize(q);
    return rc;
}

/* --- opening ------------------------------------------------------------- */

enum store_probe store_ctl_probe(const char *path, int *version, struct error *err)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    struct stat sb;
    enum store_probe r = STORE_PROBE_UNREADABLE;
    int s;

    *version = 0;
    if (stat(path, &sb) != 0) {
        error_set(err, "no state database at %s (%s); has crmsyncd run with this configuration?",
                  path, strerror(errno));
        return errno == ENOENT ? STORE_PROBE_MISSING : STORE_PROBE_UNREADABLE;
    }
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        error_set(err, "cannot open the state database %s (permissions?)", path);
        goto out;
    }
    sqlite3_busy_timeout(db, 2000);
    s = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL);
    if (s == SQLITE_OK)
        s = sqlite3_step(q);
    if (s == SQLITE_ROW) {
        *version = sqlite3_column_int(q, 0);
        if (*version == 0) {
            r = STORE_PROBE_NOT_DB;
            error_set(err, "%s is not a crmsyncd state database (schema version 0)", path);
        } else if (*version > schema_latest_version()) {
            r = STORE_PROBE_NEWER;
            error_set(err,
                      "%s has schema version %d, newer than this crmsyncctl understands (%d); "
                      "use the crmsyncctl of the installed crmsyncd",
                      path, *version, schema_latest_version());
        } else if (*version < schema_latest_version()) {
            r = STORE_PROBE_OLDER;
            error_set(err,
                      "%s has schema version %d, older than this crmsyncctl (%d); restart "
                      "crmsyncd after an upgrade so it migrates the database",
                      path, *version, schema_latest_version());
        } else {
            r = STORE_PROBE_OK;
        }
        goto out;
    }
    switch (sqlite3_errcode(db) & 0xff) {
    case SQLITE_NOTADB:
        r = STORE_PROBE_NOT_DB;
        error_set(err, "%s is not a SQLite database", path);
        break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        r = STORE_PROBE_BUSY;
        error_set(err, "the state database %s is locked; try again", path);
        break;
    default:
        error_set(err, "cannot read the state database %s (permissions or I/O error)", path);
        break;
    }
out:
    sqlite3_finalize(q);
    sqlite3_close(db);
    return r;
}

/* --- operator action log ------------------------------------------------------- */

int store_ctl_log_action(struct store *st, const char *command, const char *detail,
                         struct error *err)
{
    sqlite3_stmt *q = NULL;
    int rc;

    rc = store_ctl_prepare(
        st, "INSERT INTO operator_actions(at, command, detail) VALUES (?1, ?2, ?3)", &q, err);
    if (rc != 0)
        return rc;
    sqlite3_bind_int64(q, 1, timefmt_now_ms());
    sqlite3_bind_text(q, 2, command, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, detail, -1, SQLITE_STATIC);
    return store_ctl_exec_one(st, q, "log operator action", err);
}
