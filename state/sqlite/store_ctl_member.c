/* crmsyncctl member and erasures: a member's state and export, the
 * erasures and where they stand (issue 18: split out of store_ctl.c; see
 * store_ctl.h). */
#include "store_ctl.h"

#include <stdlib.h>
#include <string.h>

#include "store_audit_archive.h"
#include "store_ctl_internal.h"
#include "store_internal.h"
#include "timefmt.h"

/* --- members ------------------------------------------------------------------ */

int store_ctl_member_state(struct store *st, const char *member_key, int *known, int *erased,
                           struct error *err)
{
    sqlite3_stmt *q = NULL;
    char hash[65];
    int rc;

    *known = *erased = 0;
    store_member_hash(st, member_key, hash);
    rc = store_ctl_prepare(st,
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
        rc = store_ctl_fail(st, err, "member lookup");
    }
    sqlite3_finalize(q);
    return rc;
}

/* Runs sql with ?1 = text (a hash: its 32 bytes, as the audit stores it)
 * and returns the rows. */
static int rows_for(struct store *st, const char *sql, const char *text, int is_hash, json_t **out,
                    struct error *err)
{
    sqlite3_stmt *q = NULL;
    int rc;

    rc = store_ctl_prepare(st, sql, &q, err);
    if (rc != 0)
        return rc;
    if (is_hash)
        store_bind_hash(q, 1, text);
    else
        sqlite3_bind_text(q, 1, text, -1, SQLITE_STATIC);
    return store_ctl_collect(st, q, out, err);
}

/* Which systems acknowledged a change, and when (Art. 19). */
#define ACKS                                                                                       \
    "(SELECT json_group_array(json_object('system', system, 'acked_at',"                           \
    " strftime('%Y-%m-%dT%H:%M:%fZ', acked_at / 1000.0, 'unixepoch')))"                            \
    " FROM audit_acks k WHERE k.seq = x.seq) AS acknowledged_by"

/* The parts of a member export, each one query: ?1 is the member key, or
 * its hash where by_hash. */
static const struct {
    const char *key;
    const char *sql;
    int by_hash;
} export_parts[] = {
    {"current",
     "SELECT field, value, occurred_at, origin, seq FROM current WHERE member_key = ?1"
     " ORDER BY field",
     0},
    {"consent_events",
     "SELECT x.id AS audit_id, x.seq, x.field, x.payload, x.recorded_at,"
     " lower(hex(x.hash)) AS audit_hash, " ACKS " FROM audit x"
     " WHERE substr(x.member_hash, 1, 8) = substr(?1, 1, 8)"
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

/* acknowledged_by arrives as JSON text from json_group_array. */
static void parse_acks(json_t *doc)
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
static int prepend_archived_consent(struct store *st, const char *hash, json_t *doc,
                                    struct error *err)
{
    json_t *all = json_array();
    int rc = store_audit_archive_member(st, hash, all, err);

    if (rc != 0) {
        json_decref(all);
        return rc;
    }
    json_array_extend(all, json_object_get(doc, "consent_events"));
    json_object_set_new(doc, "consent_events", all);
    return 0;
}

/* The change-log split by kind: tier, segment and profile history. */
static json_t *history_by_kind(json_t *doc)
{
    json_t *by_kind = json_object();
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
    return by_kind;
}

int store_ctl_member_export(struct store *st, const char *member_key, json_t **out,
                            struct error *err)
{
    json_t *doc = NULL;
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
    for (size_t i = 0; i < sizeof(export_parts) / sizeof(export_parts[0]); i++) {
        json_t *part = NULL;
        rc = rows_for(st, export_parts[i].sql, export_parts[i].by_hash ? hash : member_key,
                      export_parts[i].by_hash, &part, err);
        if (rc != 0)
            goto out;
        json_object_set_new(doc, export_parts[i].key, part);
    }
    parse_acks(doc);
    rc = prepend_archived_consent(st, hash, doc, err);
    if (rc != 0)
        goto out;
    json_object_set_new(doc, "history_by_kind", history_by_kind(doc));
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

    rc = store_ctl_prepare(st,
                           "SELECT seq, member_key, received_at FROM changes WHERE kind = 'erase'"
                           " ORDER BY seq DESC LIMIT 20",
                           &q, err);
    if (rc == 0)
        rc = store_ctl_prepare(
            st,
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
        rc = store_ctl_fail(st, err, "erasures");
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
