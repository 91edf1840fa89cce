/* crmsyncctl resync: the requests the daemon takes (issue 18: split out of
 * store_ctl.c; see store_ctl.h). */
#include "store_ctl.h"

#include <stdlib.h>
#include <string.h>

#include "store_audit_archive.h"
#include "store_ctl_internal.h"
#include "store_internal.h"
#include "timefmt.h"

/* --- resync requests --------------------------------------------------------- */

int store_resync_request(struct store *st, const char *connector, int64_t *id, struct error *err)
{
    sqlite3_stmt *q = NULL;
    int rc;

    rc = store_ctl_prepare(
        st, "INSERT INTO resync_requests(connector, requested_at) VALUES (?1, ?2)", &q, err);
    if (rc != 0)
        return rc;
    if (connector != NULL)
        sqlite3_bind_text(q, 1, connector, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, timefmt_now_ms());
    rc = store_ctl_exec_one(st, q, "record resync request", err);
    if (rc == 0)
        *id = sqlite3_last_insert_rowid(st->db);
    return rc;
}

int store_resync_started(struct store *st, int64_t id, int *started, struct error *err)
{
    sqlite3_stmt *q = NULL;
    int s;
    int rc;

    *started = 0;
    rc = store_ctl_prepare(st, "SELECT started_at IS NOT NULL FROM resync_requests WHERE id = ?1",
                           &q, err);
    if (rc != 0)
        return rc;
    sqlite3_bind_int64(q, 1, id);
    s = sqlite3_step(q);
    if (s == SQLITE_ROW)
        *started = sqlite3_column_int(q, 0);
    rc = s == SQLITE_ROW || s == SQLITE_DONE ? 0 : store_ctl_fail(st, err, "read resync request");
    sqlite3_finalize(q);
    return rc;
}

int store_resync_take(struct store *st, struct store_resync_taken *out, struct error *err)
{
    sqlite3_stmt *q = NULL;
    int64_t max_id = 0;
    int s;
    int rc = -1;

    store_resync_taken_free(out);
    if (store_begin(st, err) != 0)
        return store_ctl_last_busy(st) ? STORE_CTL_BUSY : -1;
    if (store_ctl_prepare(st,
                          "SELECT id, connector FROM resync_requests WHERE started_at IS NULL"
                          " ORDER BY id",
                          &q, err) != 0)
        goto out;
    for (;;) {
        s = sqlite3_step(q);
        if (s != SQLITE_ROW)
            break;
        const char *c = (const char *)sqlite3_column_text(q, 1);
        max_id = sqlite3_column_int64(q, 0);
        if (c == NULL) {
            out->all = 1;
        } else if (!store_resync_taken_has(out, c)) {
            char **grown = realloc(out->connectors, (out->n + 1) * sizeof(*grown));
            if (grown != NULL) {
                out->connectors = grown;
                grown[out->n] = strdup(c);
            }
            if (grown == NULL || grown[out->n] == NULL) {
                error_set(err, "state: out of memory");
                goto out;
            }
            out->connectors = grown;
            out->n++;
        }
    }
    if (s != SQLITE_DONE) {
        store_sql_error(st, err, "read resync requests");
        goto out;
    }
    sqlite3_finalize(q);
    q = NULL;
    if (max_id > 0) {
        if (store_ctl_prepare(st,
                              "UPDATE resync_requests SET started_at = ?1"
                              " WHERE started_at IS NULL AND id <= ?2",
                              &q, err) != 0)
            goto out;
        sqlite3_bind_int64(q, 1, timefmt_now_ms());
        sqlite3_bind_int64(q, 2, max_id);
        rc = store_ctl_exec_one(st, q, "mark resync requests", err);
        q = NULL;
        if (rc != 0)
            goto out;
        rc = -1;
    }
    if (store_commit(st, err) != 0)
        goto out;
    rc = 0;
out:
    sqlite3_finalize(q);
    if (rc != 0) {
        if (st->in_txn)
            store_rollback(st);
        store_resync_taken_free(out);
    }
    return rc;
}

int store_resync_taken_has(const struct store_resync_taken *t, const char *connector)
{
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->connectors[i], connector) == 0)
            return 1;
    }
    return 0;
}

void store_resync_taken_free(struct store_resync_taken *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->connectors[i]);
    free(t->connectors);
    *t = (struct store_resync_taken){0};
}

int store_resync_finish_started(struct store *st, struct error *err)
{
    sqlite3_stmt *q = NULL;
    int rc;

    rc = store_ctl_prepare(st,
                           "UPDATE resync_requests SET finished_at = ?1"
                           " WHERE started_at IS NOT NULL AND finished_at IS NULL",
                           &q, err);
    if (rc != 0)
        return rc;
    sqlite3_bind_int64(q, 1, timefmt_now_ms());
    return store_ctl_exec_one(st, q, "finish resync requests", err);
}
