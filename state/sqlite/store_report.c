#include "store_report.h"

#include <sqlite3.h>
#include <stdint.h>
#include <string.h>

#include "schema.h"
#include "store_internal.h"
#include "timefmt.h"

static json_t *time_or_null(sqlite3_stmt *q, int col)
{
    char buf[40];
    if (sqlite3_column_type(q, col) == SQLITE_NULL)
        return json_null();
    return json_string(timefmt_format_rfc3339(sqlite3_column_int64(q, col), buf, sizeof(buf)));
}

static json_t *column_json(sqlite3_stmt *q, int col)
{
    switch (sqlite3_column_type(q, col)) {
    case SQLITE_INTEGER:
        return json_integer(sqlite3_column_int64(q, col));
    case SQLITE_NULL:
        return json_null();
    default:
        return json_string((const char *)sqlite3_column_text(q, col));
    }
}

/* Runs a query (?1 bound to name when name is not NULL) and turns each row
 * into an object keyed by column name; columns named *_at are epoch ms
 * rendered as RFC 3339. */
static int rows_named(struct store *st, const char *sql, const char *name, json_t **out,
                      struct error *err)
{
    sqlite3_stmt *q = NULL;
    json_t *arr = json_array();
    int s;
    int rc = -1;

    if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK) {
        store_sql_error(st, err, "status query");
        goto out;
    }
    if (name != NULL)
        sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    for (;;) {
        s = sqlite3_step(q);
        if (s != SQLITE_ROW)
            break;
        json_t *row = json_object();
        for (int i = 0; i < sqlite3_column_count(q); i++) {
            const char *col = sqlite3_column_name(q, i);
            size_t n = strlen(col);
            int is_time = n > 3 && strcmp(col + n - 3, "_at") == 0;
            json_object_set_new(row, col, is_time ? time_or_null(q, i) : column_json(q, i));
        }
        json_array_append_new(arr, row);
    }
    if (s != SQLITE_DONE) {
        store_sql_error(st, err, "status query");
        goto out;
    }
    *out = arr;
    arr = NULL;
    rc = 0;
out:
    json_decref(arr);
    sqlite3_finalize(q);
    return rc;
}

static int rows(struct store *st, const char *sql, json_t **out, struct error *err)
{
    return rows_named(st, sql, NULL, out, err);
}

int store_report_status(struct store *st, json_t **out, struct error *err)
{
    static const struct {
        const char *key;
        const char *sql;
    } parts[] = {
        {"changelog", "SELECT COUNT(*) AS changes, COALESCE(SUM(effective), 0) AS effective,"
                      " COALESCE(MAX(seq), 0) AS last_seq, MAX(received_at) AS last_received_at"
                      " FROM changes"},
        {"changes_by_origin",
         "SELECT origin, kind, COUNT(*) AS changes, SUM(effective) AS effective"
         " FROM changes GROUP BY origin, kind ORDER BY origin, kind"},
        {"cursors", "SELECT connector, pull_watermark, updated_at FROM cursors ORDER BY connector"},
        {"push_cursors",
         "SELECT connector, lane, seq, updated_at FROM push_cursors ORDER BY connector, lane"},
        {"dead_letters",
         "SELECT destination, origin, COUNT(*) AS count, MIN(first_failed_at) AS oldest_at,"
         " MAX(last_failed_at) AS newest_at FROM dead_letters GROUP BY destination, origin"
         " ORDER BY destination, origin"},
        {"recent_files",
         "SELECT connector, name, status, lines, applied, unchanged, duplicates, rejected,"
         " started_at, finished_at FROM ingest_files ORDER BY id DESC LIMIT 10"},
        {"pending_resyncs",
         "SELECT connector, requested_at FROM resync_requests WHERE finished_at IS NULL"
         " ORDER BY id"},
        {"members", "SELECT (SELECT COUNT(DISTINCT member_key) FROM current) AS with_state,"
                    " (SELECT COUNT(*) FROM points_ledger) AS points_transactions,"
                    " (SELECT COUNT(*) FROM tombstones) AS erased"},
    };
    json_t *doc = json_object();
    int rc = -1;

    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        json_t *part = NULL;
        if (rows(st, parts[i].sql, &part, err) != 0)
            goto out;
        /* Single-row summaries read better as an object. */
        if (i == 0 || i == 7) {
            json_t *one = json_incref(json_array_get(part, 0));
            json_decref(part);
            part = one;
        }
        json_object_set_new(doc, parts[i].key, part);
    }
    json_object_set_new(doc, "schema_version", json_integer(schema_latest_version()));
    *out = doc;
    doc = NULL;
    rc = 0;
out:
    json_decref(doc);
    return rc;
}

int store_report_connector(struct store *st, const char *name, json_t **out, struct error *err)
{
    static const struct {
        const char *key;
        const char *sql;
        int single;
    } parts[] = {
        {"pull", "SELECT pull_watermark AS watermark, updated_at FROM cursors WHERE connector = ?1",
         1},
        {"push_cursors",
         "SELECT lane, seq, updated_at FROM push_cursors WHERE connector = ?1 ORDER BY lane", 0},
        {"last_success",
         "SELECT name, status, finished_at FROM ingest_files WHERE connector = ?1"
         " AND status IN ('done', 'done_with_errors') ORDER BY id DESC LIMIT 1",
         1},
        {"last_error",
         "SELECT name, status, finished_at FROM ingest_files WHERE connector = ?1"
         " AND status NOT IN ('done', 'running') ORDER BY id DESC LIMIT 1",
         1},
        {"dead_letters",
         "SELECT (SELECT COUNT(*) FROM dead_letters WHERE destination = ?1) AS as_destination,"
         " (SELECT COUNT(*) FROM dead_letters WHERE origin = ?1) AS from_origin",
         1},
    };
    json_t *doc = json_object();
    int rc = -1;

    json_object_set_new(doc, "name", json_string(name));
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        json_t *part = NULL;
        if (rows_named(st, parts[i].sql, name, &part, err) != 0)
            goto out;
        if (parts[i].single) {
            json_t *one =
                json_array_size(part) ? json_incref(json_array_get(part, 0)) : json_null();
            json_decref(part);
            part = one;
        }
        json_object_set_new(doc, parts[i].key, part);
    }
    *out = doc;
    doc = NULL;
    rc = 0;
out:
    json_decref(doc);
    return rc;
}

int store_report_known_connectors(struct store *st, json_t **out, struct error *err)
{
    return rows(st,
                "SELECT connector FROM cursors UNION SELECT connector FROM push_cursors"
                " UNION SELECT connector FROM ingest_files ORDER BY 1",
                out, err);
}
