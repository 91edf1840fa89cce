/* crmsyncctl dead-letters: list, show, retry, drop (issue 18: split out of
 * store_ctl.c; see store_ctl.h). */
#include "store_ctl.h"

#include <stdlib.h>
#include <string.h>

#include "store_audit_archive.h"
#include "store_ctl_internal.h"
#include "store_internal.h"
#include "timefmt.h"

/* --- dead letters ------------------------------------------------------------ */

#define DL_WHERE                                                                                   \
    " WHERE (?1 = 0 OR id = ?1) AND (?2 IS NULL OR destination = ?2)"                              \
    " AND (?3 = 0 OR first_failed_at < ?3) AND (?5 IS NULL OR member_key = ?5)"

static void bind_filter(sqlite3_stmt *q, const struct store_dl_filter *f)
{
    sqlite3_bind_int64(q, 1, f->id);
    if (f->destination != NULL)
        sqlite3_bind_text(q, 2, f->destination, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, f->failed_before_ms);
    if (f->member_key != NULL)
        sqlite3_bind_text(q, 5, f->member_key, -1, SQLITE_STATIC);
}

int store_ctl_dead_list(struct store *st, const struct store_dl_filter *f, json_t **out,
                        struct error *err)
{
    sqlite3_stmt *q = NULL;
    int rc;

    rc = store_ctl_prepare(st,
                           "SELECT id, destination, origin, member_key, field, reason, attempts,"
                           " first_failed_at, last_failed_at, retry_requested_at, source"
                           " FROM dead_letters" DL_WHERE " ORDER BY id LIMIT ?4",
                           &q, err);
    if (rc != 0)
        return rc;
    bind_filter(q, f);
    sqlite3_bind_int64(q, 4, f->limit > 0 ? f->limit : -1);
    return store_ctl_collect(st, q, out, err);
}

int store_ctl_dead_show(struct store *st, int64_t id, json_t **out, struct error *err)
{
    sqlite3_stmt *q = NULL;
    json_t *arr = NULL;
    int rc;

    rc =
        store_ctl_prepare(st,
                          "SELECT id, destination, seq, origin, member_key, field, payload, source,"
                          " reason, attempts, first_failed_at, last_failed_at, last_error,"
                          " retry_requested_at FROM dead_letters WHERE id = ?1",
                          &q, err);
    if (rc != 0)
        return rc;
    sqlite3_bind_int64(q, 1, id);
    rc = store_ctl_collect(st, q, &arr, err);
    if (rc != 0)
        return rc;
    if (json_array_size(arr) == 0) {
        json_decref(arr);
        error_set(err, "no dead letter with id %lld", (long long)id);
        return STORE_CTL_NOT_FOUND;
    }
    *out = json_incref(json_array_get(arr, 0));
    json_decref(arr);
    return 0;
}

static int count_matching(struct store *st, const struct store_dl_filter *f, const char *extra,
                          int64_t *n, struct error *err)
{
    char sql[512];
    sqlite3_stmt *q = NULL;
    int rc;

    /* extra is one of two fixed literals below, never input. */
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM dead_letters" DL_WHERE "%s", extra);
    rc = store_ctl_prepare(st, sql, &q, err);
    if (rc != 0)
        return rc;
    bind_filter(q, f);
    if (sqlite3_step(q) == SQLITE_ROW) {
        *n = sqlite3_column_int64(q, 0);
        rc = 0;
    } else {
        rc = store_ctl_fail(st, err, "count dead letters");
    }
    sqlite3_finalize(q);
    return rc;
}

int store_ctl_dead_retry(struct store *st, const struct store_dl_filter *f, int64_t *n,
                         int64_t *skipped_ingest, struct error *err)
{
    sqlite3_stmt *q = NULL;
    int rc;

    *n = *skipped_ingest = 0;
    rc = count_matching(st, f, " AND destination = 'ingest'", skipped_ingest, err);
    if (rc != 0)
        return rc;
    rc = store_ctl_prepare(st,
                           "UPDATE dead_letters SET retry_requested_at = ?4" DL_WHERE
                           " AND destination <> 'ingest'",
                           &q, err);
    if (rc != 0)
        return rc;
    bind_filter(q, f);
    sqlite3_bind_int64(q, 4, timefmt_now_ms());
    rc = store_ctl_exec_one(st, q, "mark dead letters for retry", err);
    if (rc != 0)
        return rc;
    *n = sqlite3_changes(st->db);
    return 0;
}

int store_ctl_dead_drop(struct store *st, const struct store_dl_filter *f, const char *detail,
                        int64_t *n, struct error *err)
{
    sqlite3_stmt *q = NULL;
    int rc;

    *n = 0;
    if (store_begin(st, err) != 0)
        return store_ctl_last_busy(st) ? STORE_CTL_BUSY : -1;
    rc = store_ctl_prepare(st, "DELETE FROM dead_letters" DL_WHERE, &q, err);
    if (rc != 0)
        goto out;
    bind_filter(q, f);
    rc = store_ctl_exec_one(st, q, "drop dead letters", err);
    if (rc != 0)
        goto out;
    *n = sqlite3_changes(st->db);
    if (*n > 0) {
        char line[600];
        snprintf(line, sizeof(line), "%lld dropped: %s", (long long)*n, detail);
        rc = store_ctl_log_action(st, "dead-letters drop", line, err);
        if (rc != 0)
            goto out;
    }
    rc = store_commit(st, err) == 0 ? 0 : -1;
    return rc;
out:
    store_rollback(st);
    return rc;
}
