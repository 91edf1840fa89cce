/* Retry-After holds kept across restarts: see store_holds.h. Rare writes
 * and one read per connector start: statements are prepared per call. */
#include "store_holds.h"

#include <sqlite3.h>

#include "store_internal.h"
#include "timefmt.h"

int store_hold_save(struct store *st, const char *connector, const char *family, int64_t until_ms,
                    long ms, struct error *err)
{
    sqlite3_stmt *q = NULL;
    int rc;

    /* Only ever later: an earlier hold answered after a later one must not
     * shorten it. */
    if (sqlite3_prepare_v2(
            st->db,
            "INSERT INTO rate_holds(connector, family, until_ms, ms)"
            " VALUES (?1, ?2, ?3, ?4) ON CONFLICT(connector, family) DO UPDATE SET"
            " ms = CASE WHEN excluded.until_ms > until_ms THEN excluded.ms ELSE ms END,"
            " until_ms = MAX(until_ms, excluded.until_ms)",
            -1, &q, NULL) != SQLITE_OK)
        return store_sql_error(st, err, "prepare hold");
    sqlite3_bind_text(q, 1, connector, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, family, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, until_ms);
    sqlite3_bind_int64(q, 4, ms);
    rc = sqlite3_step(q) == SQLITE_DONE ? 0 : store_sql_error(st, err, "save hold");
    sqlite3_finalize(q);
    return rc;
}

/* The kept hold's end and length (0, 0 when none). */
static int load(struct store *st, const char *connector, const char *family, int64_t *until_ms,
                int64_t *ms, struct error *err)
{
    sqlite3_stmt *q = NULL;
    int s;

    *until_ms = *ms = 0;
    if (sqlite3_prepare_v2(
            st->db, "SELECT until_ms, ms FROM rate_holds WHERE connector = ?1 AND family = ?2", -1,
            &q, NULL) != SQLITE_OK)
        return store_sql_error(st, err, "prepare hold");
    sqlite3_bind_text(q, 1, connector, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, family, -1, SQLITE_STATIC);
    s = sqlite3_step(q);
    if (s == SQLITE_ROW) {
        *until_ms = sqlite3_column_int64(q, 0);
        *ms = sqlite3_column_int64(q, 1);
    }
    sqlite3_finalize(q);
    return s == SQLITE_ROW || s == SQLITE_DONE ? 0 : store_sql_error(st, err, "read hold");
}

int store_hold_load(struct store *st, const char *connector, const char *family, int64_t *until_ms,
                    struct error *err)
{
    int64_t ms;

    return load(st, connector, family, until_ms, &ms, err);
}

long store_hold_left(struct store *st, const char *connector, const char *family, int64_t now_ms,
                     struct error *err)
{
    int64_t until = 0, ms = 0, left;

    if (load(st, connector, family, &until, &ms, err) != 0 || until <= now_ms)
        return 0;
    left = until - now_ms;
    if (left > ms)
        left = ms;
    return left > 25LL * 3600 * 1000 ? 25L * 3600 * 1000 : (long)left;
}

int store_holds_list(struct store *st, int64_t now_ms, json_t **out, struct error *err)
{
    sqlite3_stmt *q = NULL;
    json_t *arr = json_array();
    int s;
    int rc = -1;

    *out = NULL;
    if (arr == NULL)
        return error_set(err, "state: out of memory");
    if (sqlite3_prepare_v2(st->db,
                           "SELECT connector, family, until_ms, ms FROM rate_holds"
                           " WHERE until_ms > ?1 ORDER BY connector, family",
                           -1, &q, NULL) != SQLITE_OK) {
        store_sql_error(st, err, "prepare holds");
        goto out;
    }
    sqlite3_bind_int64(q, 1, now_ms);
    for (s = sqlite3_step(q); s == SQLITE_ROW; s = sqlite3_step(q)) {
        int64_t until = sqlite3_column_int64(q, 2), ms = sqlite3_column_int64(q, 3);
        int64_t left = until - now_ms;
        char at[40];

        /* As store_hold_left() restores it: never longer than given. */
        if (ms > 0 && left > ms)
            left = ms;
        timefmt_format_rfc3339(now_ms + left, at, sizeof(at));
        json_array_append_new(arr,
                              json_pack("{s:s,s:s,s:s,s:I,s:I}", "connector",
                                        (const char *)sqlite3_column_text(q, 0), "family",
                                        (const char *)sqlite3_column_text(q, 1), "until", at,
                                        "left_ms", (json_int_t)left, "given_ms", (json_int_t)ms));
    }
    if (s != SQLITE_DONE) {
        store_sql_error(st, err, "read holds");
        goto out;
    }
    *out = arr;
    arr = NULL;
    rc = 0;
out:
    sqlite3_finalize(q);
    json_decref(arr);
    return rc;
}

int store_holds_clear(struct store *st, const char *connector, const char *family, int64_t *n,
                      struct error *err)
{
    sqlite3_stmt *q = NULL;
    int rc;

    *n = 0;
    if (sqlite3_prepare_v2(st->db,
                           "DELETE FROM rate_holds WHERE (?1 IS NULL OR connector = ?1)"
                           " AND (?2 IS NULL OR family = ?2)",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sql_error(st, err, "prepare holds clear");
    if (connector != NULL)
        sqlite3_bind_text(q, 1, connector, -1, SQLITE_STATIC);
    if (family != NULL)
        sqlite3_bind_text(q, 2, family, -1, SQLITE_STATIC);
    rc = sqlite3_step(q) == SQLITE_DONE ? 0 : store_sql_error(st, err, "clear holds");
    if (rc == 0)
        *n = sqlite3_changes(st->db);
    sqlite3_finalize(q);
    return rc;
}
