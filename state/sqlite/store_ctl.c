/* Control-plane SQL (see store_ctl.h). crmsyncctl is short-lived, so these
 * statements are prepared per call rather than kept in struct store. */
#include "store_ctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "schema.h"
#include "store_audit_archive.h"
#include "store_internal.h"
#include "timefmt.h"

/* --- helpers ------------------------------------------------------------- */

static int fail(struct store *st, struct error *err, const char *what)
{
    store_sql_error(st, err, what);
    return store_ctl_last_busy(st) ? STORE_CTL_BUSY : -1;
}

int store_ctl_last_busy(struct store *st)
{
    int code = sqlite3_errcode(st->db) & 0xff;
    return code == SQLITE_BUSY || code == SQLITE_LOCKED;
}

static int prepare(struct store *st, const char *sql, sqlite3_stmt **q, struct error *err)
{
    if (sqlite3_prepare_v2(st->db, sql, -1, q, NULL) != SQLITE_OK)
        return fail(st, err, "prepare");
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
static int collect(struct store *st, sqlite3_stmt *q, json_t **out, struct error *err)
{
    json_t *arr = json_array();
    int s;

    for (s = sqlite3_step(q); s == SQLITE_ROW; s = sqlite3_step(q))
        json_array_append_new(arr, row_object(q));
    if (s != SQLITE_DONE) {
        int rc = fail(st, err, "query");
        sqlite3_finalize(q);
        json_decref(arr);
        return rc;
    }
    sqlite3_finalize(q);
    *out = arr;
    return 0;
}

static int exec_one(struct store *st, sqlite3_stmt *q, const char *what, struct error *err)
{
    int s = sqlite3_step(q);
    int rc = s == SQLITE_DONE || s == SQLITE_ROW ? 0 : fail(st, err, what);
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

/* --- resync requests --------------------------------------------------------- */

int store_resync_request(struct store *st, const char *connector, int64_t *id, struct error *err)
{
    sqlite3_stmt *q = NULL;
    int rc;

    rc = prepare(st, "INSERT INTO resync_requests(connector, requested_at) VALUES (?1, ?2)", &q,
                 err);
    if (rc != 0)
        return rc;
    if (connector != NULL)
        sqlite3_bind_text(q, 1, connector, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, timefmt_now_ms());
    rc = exec_one(st, q, "record resync request", err);
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
    rc = prepare(st, "SELECT started_at IS NOT NULL FROM resync_requests WHERE id = ?1", &q, err);
    if (rc != 0)
        return rc;
    sqlite3_bind_int64(q, 1, id);
    s = sqlite3_step(q);
    if (s == SQLITE_ROW)
        *started = sqlite3_column_int(q, 0);
    rc = s == SQLITE_ROW || s == SQLITE_DONE ? 0 : fail(st, err, "read resync request");
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
    if (prepare(st,
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
        if (prepare(st,
                    "UPDATE resync_requests SET started_at = ?1"
                    " WHERE started_at IS NULL AND id <= ?2",
                    &q, err) != 0)
            goto out;
        sqlite3_bind_int64(q, 1, timefmt_now_ms());
        sqlite3_bind_int64(q, 2, max_id);
        rc = exec_one(st, q, "mark resync requests", err);
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

    rc = prepare(st,
                 "UPDATE resync_requests SET finished_at = ?1"
                 " WHERE started_at IS NOT NULL AND finished_at IS NULL",
                 &q, err);
    if (rc != 0)
        return rc;
    sqlite3_bind_int64(q, 1, timefmt_now_ms());
    return exec_one(st, q, "finish resync requests", err);
}

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

    rc = prepare(st,
                 "SELECT id, destination, origin, member_key, field, reason, attempts,"
                 " first_failed_at, last_failed_at, retry_requested_at, source"
                 " FROM dead_letters" DL_WHERE " ORDER BY id LIMIT ?4",
                 &q, err);
    if (rc != 0)
        return rc;
    bind_filter(q, f);
    sqlite3_bind_int64(q, 4, f->limit > 0 ? f->limit : -1);
    return collect(st, q, out, err);
}

int store_ctl_dead_show(struct store *st, int64_t id, json_t **out, struct error *err)
{
    sqlite3_stmt *q = NULL;
    json_t *arr = NULL;
    int rc;

    rc = prepare(st,
                 "SELECT id, destination, seq, origin, member_key, field, payload, source,"
                 " reason, attempts, first_failed_at, last_failed_at, last_error,"
                 " retry_requested_at FROM dead_letters WHERE id = ?1",
                 &q, err);
    if (rc != 0)
        return rc;
    sqlite3_bind_int64(q, 1, id);
    rc = collect(st, q, &arr, err);
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
    rc = prepare(st, sql, &q, err);
    if (rc != 0)
        return rc;
    bind_filter(q, f);
    if (sqlite3_step(q) == SQLITE_ROW) {
        *n = sqlite3_column_int64(q, 0);
        rc = 0;
    } else {
        rc = fail(st, err, "count dead letters");
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
    rc = prepare(st,
                 "UPDATE dead_letters SET retry_requested_at = ?4" DL_WHERE
                 " AND destination <> 'ingest'",
                 &q, err);
    if (rc != 0)
        return rc;
    bind_filter(q, f);
    sqlite3_bind_int64(q, 4, timefmt_now_ms());
    rc = exec_one(st, q, "mark dead letters for retry", err);
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
    rc = prepare(st, "DELETE FROM dead_letters" DL_WHERE, &q, err);
    if (rc != 0)
        goto out;
    bind_filter(q, f);
    rc = exec_one(st, q, "drop dead letters", err);
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

/* --- members ------------------------------------------------------------------ */

int store_ctl_member_state(struct store *st, const char *member_key, int *known, int *erased,
                           struct error *err)
{
    sqlite3_stmt *q = NULL;
    char hash[65];
    int rc;

    *known = *erased = 0;
    store_member_hash(st, member_key, hash);
    rc = prepare(st,
                 "SELECT EXISTS(SELECT 1 FROM changes WHERE member_key = ?1),"
                 " EXISTS(SELECT 1 FROM tombstones WHERE member_hash = ?2)",
                 &q, err);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(q, 1, member_key, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, hash, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW) {
        *known = sqlite3_column_int(q, 0);
        *erased = sqlite3_column_int(q, 1);
        rc = 0;
    } else {
        rc = fail(st, err, "member lookup");
    }
    sqlite3_finalize(q);
    return rc;
}

/* Runs sql with ?1 = text and returns the rows. */
static int rows_for(struct store *st, const char *sql, const char *text, json_t **out,
                    struct error *err)
{
    sqlite3_stmt *q = NULL;
    int rc;

    rc = prepare(st, sql, &q, err);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(q, 1, text, -1, SQLITE_STATIC);
    return collect(st, q, out, err);
}

int store_ctl_member_export(struct store *st, const char *member_key, json_t **out,
                            struct error *err)
{
    /* Which systems acknowledged a change, and when (Art. 19). */
#define ACKS                                                                                       \
    "(SELECT json_group_array(json_object('system', system, 'acked_at',"                           \
    " strftime('%Y-%m-%dT%H:%M:%fZ', acked_at / 1000.0, 'unixepoch')))"                            \
    " FROM audit_acks k WHERE k.seq = x.seq) AS acknowledged_by"
    static const struct {
        const char *key;
        const char *sql;
        int by_hash;
    } parts[] = {
        {"current",
         "SELECT field, value, occurred_at, origin, seq FROM current WHERE member_key = ?1"
         " ORDER BY field",
         0},
        {"consent_events",
         "SELECT x.id AS audit_id, x.seq, x.field, x.payload, x.recorded_at, x.hash AS audit_hash,"
         " " ACKS " FROM audit x WHERE substr(x.member_hash, 1, 16) = substr(?1, 1, 16)"
         " AND +x.member_hash = ?1 ORDER BY x.id",
         1},
        {"points_ledger",
         "SELECT txn_id, delta, reason, occurred_at, expires_at, seq FROM points_ledger"
         " WHERE member_key = ?1 ORDER BY occurred_at, txn_id",
         0},
        {"changes",
         "SELECT x.seq, x.origin, x.kind, x.field, x.value, x.occurred_at, x.received_at,"
         " x.effective, " ACKS " FROM changes x WHERE x.member_key = ?1 ORDER BY x.seq",
         0},
        {"points_opening",
         "SELECT balance, txns AS transactions_folded, through_at, updated_at FROM points_opening"
         " WHERE member_key = ?1",
         0},
        {"identities",
         "SELECT system, remote_id, updated_at FROM identities WHERE member_key = ?1"
         " ORDER BY system",
         0},
        {"confirmed_by_crm",
         "SELECT destination, field, value_hash, updated_at AS confirmed_at FROM shadow"
         " WHERE member_key = ?1 AND value_hash <> '' ORDER BY destination, field",
         0},
        {"dead_letters",
         "SELECT id, destination, field, reason, first_failed_at, last_failed_at"
         " FROM dead_letters WHERE member_key = ?1 ORDER BY id",
         0},
    };
#undef ACKS
    json_t *doc = NULL;
    json_t *by_kind = NULL;
    char hash[65], buf[40];
    int known = 0, erased = 0;
    int64_t balance = 0;
    int rc;

    rc = store_ctl_member_state(st, member_key, &known, &erased, err);
    if (rc != 0)
        return rc;
    if (!known && !erased) {
        error_set(err, "no member with key '%s' in the state database", member_key);
        return STORE_CTL_NOT_FOUND;
    }
    store_member_hash(st, member_key, hash);
    doc = json_object();
    json_object_set_new(doc, "member_key", json_string(member_key));
    json_object_set_new(doc, "exported_at",
                        json_string(timefmt_format_rfc3339(timefmt_now_ms(), buf, sizeof(buf))));
    json_object_set_new(doc, "erased", json_boolean(erased));
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        json_t *part = NULL;
        rc = rows_for(st, parts[i].sql, parts[i].by_hash ? hash : member_key, &part, err);
        if (rc != 0)
            goto out;
        json_object_set_new(doc, parts[i].key, part);
    }
    /* acknowledged_by arrives as JSON text from json_group_array. */
    {
        const char *keys[] = {"consent_events", "changes"};
        for (size_t k = 0; k < 2; k++) {
            size_t i;
            json_t *row;
            json_array_foreach(json_object_get(doc, keys[k]), i, row)
            {
                json_t *t = json_object_get(row, "acknowledged_by");
                json_t *v = json_is_string(t) ? json_loads(json_string_value(t), 0, NULL) : NULL;
                json_object_set_new(row, "acknowledged_by", v ? v : json_array());
            }
        }
    }
    /* Consent events moved to the audit archive come first (oldest). */
    {
        json_t *all = json_array();
        rc = store_audit_archive_member(st, hash, all, err);
        if (rc != 0) {
            json_decref(all);
            goto out;
        }
        json_array_extend(all, json_object_get(doc, "consent_events"));
        json_object_set_new(doc, "consent_events", all);
    }
    /* The change-log split by kind: tier, segment and profile history. */
    by_kind = json_object();
    {
        size_t i;
        json_t *row;
        json_array_foreach(json_object_get(doc, "changes"), i, row)
        {
            const char *kind = json_string_value(json_object_get(row, "kind"));
            json_t *arr = json_object_get(by_kind, kind ? kind : "other");
            if (arr == NULL) {
                arr = json_array();
                json_object_set_new(by_kind, kind ? kind : "other", arr);
            }
            json_array_append(arr, row);
        }
    }
    json_object_set_new(doc, "history_by_kind", by_kind);
    rc = store_points_balance(st, member_key, timefmt_now_ms(), &balance, err);
    if (rc != 0)
        goto out;
    json_object_set_new(doc, "points_balance", json_integer(balance));
    *out = doc;
    doc = NULL;
    rc = 0;
out:
    json_decref(doc);
    return rc;
}

int store_ctl_erasures(struct store *st, const char *const *destinations, size_t n, json_t **out,
                       struct error *err)
{
    sqlite3_stmt *q = NULL;
    sqlite3_stmt *d = NULL;
    json_t *arr = json_array();
    int s;
    int rc;

    rc = prepare(st,
                 "SELECT seq, member_key, received_at FROM changes WHERE kind = 'erase'"
                 " ORDER BY seq DESC LIMIT 20",
                 &q, err);
    if (rc == 0)
        rc = prepare(st,
                     "SELECT EXISTS(SELECT 1 FROM audit_acks WHERE seq = ?1 AND system = ?2)"
                     " OR COALESCE((SELECT seq FROM push_cursors WHERE connector = ?2"
                     " AND lane = 0), 0) >= ?1",
                     &d, err);
    if (rc != 0)
        goto out;
    for (;;) {
        s = sqlite3_step(q);
        if (s != SQLITE_ROW)
            break;
        json_t *row = json_object();
        json_t *per = json_object();
        char buf[40];
        int64_t seq = sqlite3_column_int64(q, 0);
        int done = 1;

        json_object_set_new(row, "seq", json_integer(seq));
        json_object_set_new(row, "member_key",
                            json_string((const char *)sqlite3_column_text(q, 1)));
        json_object_set_new(
            row, "received_at",
            json_string(timefmt_format_rfc3339(sqlite3_column_int64(q, 2), buf, sizeof(buf))));
        for (size_t i = 0; i < n; i++) {
            int confirmed = 0;
            sqlite3_bind_int64(d, 1, seq);
            sqlite3_bind_text(d, 2, destinations[i], -1, SQLITE_STATIC);
            if (sqlite3_step(d) == SQLITE_ROW)
                confirmed = sqlite3_column_int(d, 0);
            sqlite3_reset(d);
            done = done && confirmed;
            json_object_set_new(per, destinations[i],
                                json_string(confirmed ? "confirmed" : "pending"));
        }
        json_object_set_new(row, "destinations", per);
        json_object_set_new(row, "complete", json_boolean(done));
        json_array_append_new(arr, row);
    }
    if (s != SQLITE_DONE) {
        rc = fail(st, err, "erasures");
        goto out;
    }
    *out = arr;
    arr = NULL;
    rc = 0;
out:
    sqlite3_finalize(q);
    sqlite3_finalize(d);
    json_decref(arr);
    return rc;
}

/* --- operator action log ------------------------------------------------------- */

int store_ctl_log_action(struct store *st, const char *command, const char *detail,
                         struct error *err)
{
    sqlite3_stmt *q = NULL;
    int rc;

    rc = prepare(st, "INSERT INTO operator_actions(at, command, detail) VALUES (?1, ?2, ?3)", &q,
                 err);
    if (rc != 0)
        return rc;
    sqlite3_bind_int64(q, 1, timefmt_now_ms());
    sqlite3_bind_text(q, 2, command, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, detail, -1, SQLITE_STATIC);
    return exec_one(st, q, "log operator action", err);
}
