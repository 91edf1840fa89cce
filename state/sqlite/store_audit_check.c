#include "store_audit_check.h"

#include <sqlite3.h>

#include "store_internal.h"

int store_audit_verify_snapshot(struct store *st, int64_t *rows, int64_t *bad_id, struct error *err)
{
    int rc;

    /* Deferred: the snapshot starts at the first read (the archive's head
     * in meta) and holds for the table's rows; no lock is taken. */
    if (sqlite3_exec(st->db, "BEGIN DEFERRED", NULL, NULL, NULL) != SQLITE_OK)
        return store_sql_error(st, err, "begin audit verification");
    rc = store_audit_verify(st, rows, bad_id, err);
    sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
    return rc;
}
