/* Applying one canonical change: the merge decision (pure, state/merge.c)
 * between reading what is stored and writing the outcome. The caller owns the
 * transaction, so a page of changes and its watermark commit together. */
#include "schema.h"
#include "store_internal.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "change_json.h"
#include "hash.h"
#include "timefmt.h"

static int step_done(struct store *st, sqlite3_stmt *q, struct error *err, const char *what)
{
    int s = sqlite3_step(q);
    sqlite3_reset(q);
    if (s != SQLITE_DONE)
        return store_sql_error(st, err, what);
    return 0;
}

static int is_tombstoned(struct store *st, const char *member_key, int *yes, struct error *err)
{
    char h[65];
    int s;

    *yes = 0;
    if (st->tombstone_count == 0)
        return 0;
    store_member_hash(st, member_key, h);
    sqlite3_bind_text(st->get_tomb, 1, h, -1, SQLITE_TRANSIENT);
    s = sqlite3_step(st->get_tomb);
    sqlite3_reset(st->get_tomb);
    if (s == SQLITE_ROW)
        *yes = 1;
    else if (s != SQLITE_DONE)
        return store_sql_error(st, err, "read tombstone");
    return 0;
}

int64_t store_body_hash(const char *member_key, const char *kind, const char *field,
                        const char *value_json, int64_t occurred_at)
{
    const char *parts[4] = {member_key, kind, field, value_json};
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char at[24];
    uint64_t h = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    if (ctx == NULL || EVP_DigestInit_ex(ctx, sha256_md(), NULL) != 1)
        goto out;
    /* Each part with its NUL, so that ("ab", "c") and ("a", "bc") differ. */
    for (size_t i = 0; i < 4; i++) {
        const char *p = parts[i] != NULL ? parts[i] : "";
        if (EVP_DigestUpdate(ctx, p, strlen(p) + 1) != 1)
            goto out;
    }
    snprintf(at, sizeof(at), "%" PRId64, occurred_at);
    if (EVP_DigestUpdate(ctx, at, strlen(at)) != 1 || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 ||
        mdlen < 8)
        goto out;
    for (int i = 0; i < 8; i++)
        h = (h << 8) | md[i];
out:
    EVP_MD_CTX_free(ctx);
    return (int64_t)h;
}

static void sql_body_hash(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    sqlite3_result_int64(ctx, store_body_hash((const char *)sqlite3_value_text(argv[0]),
                                              (const char *)sqlite3_value_text(argv[1]),
                                              (const char *)sqlite3_value_text(argv[2]),
                                              (const char *)sqlite3_value_text(argv[3]),
                                              sqlite3_value_int64(argv[4])));
}

/* crmsync_sha256(text): its SHA-256 in hex (NULL for NULL), for the
 * erasure that blanks an audit payload and keeps its hash for the chain. */
static void sql_sha256(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const unsigned char *text = sqlite3_value_text(argv[0]);
    char hex[65];

    (void)argc;
    if (text == NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    store_sha256_hex(text, (size_t)sqlite3_value_bytes(argv[0]), hex);
    sqlite3_result_text(ctx, hex, 64, SQLITE_TRANSIENT);
}

/* crmsync_hash_blob(text): a SHA-256 in hex as its 32 bytes, for the v16
 * migration (SQLite 3.40 has no unhex()); anything else is returned as it
 * is, so that a damaged hash stays for verification to report. */
static void sql_hash_blob(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const char *text = (const char *)sqlite3_value_text(argv[0]);
    unsigned char b[32];

    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_TEXT && store_hash_bytes(text, b) == 0)
        sqlite3_result_blob(ctx, b, sizeof(b), SQLITE_TRANSIENT);
    else
        sqlite3_result_value(ctx, argv[0]);
}

int store_register_functions(sqlite3 *db)
{
    int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY;

    return sqlite3_create_function(db, "crmsync_body_hash", 5, flags, NULL, sql_body_hash, NULL,
                                   NULL) == SQLITE_OK &&
                   sqlite3_create_function(db, "crmsync_sha256", 1, flags, NULL, sql_sha256, NULL,
                                           NULL) == SQLITE_OK &&
                   sqlite3_create_function(db, "crmsync_hash_blob", 1, flags, NULL, sql_hash_blob,
                                           NULL, NULL) == SQLITE_OK
               ? 0
               : -1;
}

/* The idempotency key of c (DESIGN.md §3, issue 14 item 2): *seen = 0 the
 * first time (the key is recorded with the body's hash), 1 when it came
 * before with the same body (a duplicate), 2 when it came before with
 * another body (a conflict: an event id reused for something else must not
 * be dropped as a duplicate). */
static int check_idem(struct store *st, const struct change *c, int64_t now, int *seen,
                      struct error *err)
{
    int64_t h = store_body_hash(c->member_key, change_kind_name(c->kind), c->field, c->value_json,
                                c->occurred_at);
    sqlite3_stmt *q = st->get_idem;
    int s;

    *seen = 0;
    sqlite3_bind_text(q, 1, c->idem_key, -1, SQLITE_STATIC);
    s = sqlite3_step(q);
    if (s == SQLITE_ROW)
        *seen = sqlite3_column_int64(q, 0) == h ? 1 : 2;
    sqlite3_reset(q);
    if (s != SQLITE_ROW && s != SQLITE_DONE)
        return store_sql_error(st, err, "read idempotency key");
    if (*seen)
        return 0;
    q = st->ins_idem;
    sqlite3_bind_text(q, 1, c->idem_key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, h);
    sqlite3_bind_int64(q, 3, now);
    return step_done(st, q, err, "insert idempotency key");
}

/* Inserts the change-log row. check_idem() decided it is new; *dup = 1
 * only when a unique index of the change-log refuses it all the same (an
 * origin named like the rows of state/store_push.c's repairs). */
static int insert_change(struct store *st, const struct change *c, int effective,
                         int64_t received_at, int64_t *seq, int *dup, struct error *err)
{
    sqlite3_stmt *q = st->ins_change;

    sqlite3_bind_text(q, 1, c->origin, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, c->member_key, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, change_kind_name(c->kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, c->field, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, c->value_json, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 6, c->occurred_at);
    sqlite3_bind_int64(q, 7, received_at);
    sqlite3_bind_text(q, 8, c->idem_key, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 9, effective);
    sqlite3_bind_int(q, 10, (int)change_lane_of(c));
    if (step_done(st, q, err, "insert change") != 0)
        return -1;
    *dup = sqlite3_changes(st->db) == 0;
    *seq = *dup ? 0 : sqlite3_last_insert_rowid(st->db);
    return 0;
}

static int put_current(struct store *st, const struct change *c, int64_t seq, struct error *err)
{
    sqlite3_stmt *q = st->put_current;

    sqlite3_bind_text(q, 1, c->member_key, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, c->field, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, c->value_json, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, c->occurred_at);
    sqlite3_bind_text(q, 5, c->origin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 6, seq);
    return step_done(st, q, err, "update current");
}

int store_change_superseded(struct store *st, int64_t old_seq, struct error *err)
{
    if (old_seq <= 0 || old_seq > st->compact_from)
        return 0;
    sqlite3_bind_int64(st->del_change, 1, old_seq);
    return step_done(st, st->del_change, err, "delete superseded change");
}

/* Decides a consent or generic change against `current`; *old_seq: the
 * change that holds the value now (0: none). */
static int decide_current(struct store *st, const struct change *c,
                          const struct merge_policy *policy, enum merge_decision *d,
                          int64_t *old_seq, char *reason, size_t rsize, struct error *err)
{
    sqlite3_stmt *q = st->get_current;
    json_t *holder = NULL;
    int s;
    int rc = -1;

    sqlite3_bind_text(q, 1, c->member_key, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, c->field, -1, SQLITE_STATIC);
    s = sqlite3_step(q);
    if (s == SQLITE_DONE) {
        *d = c->kind == CHANGE_CONSENT ? merge_consent(NULL, NULL, c, policy, reason, rsize)
                                       : merge_generic(NULL, c, policy, reason, rsize);
    } else if (s == SQLITE_ROW) {
        const char *value = (const char *)sqlite3_column_text(q, 0);
        const char *origin = (const char *)sqlite3_column_text(q, 2);
        *old_seq = sqlite3_column_int64(q, 3);
        if (c->kind == CHANGE_CONSENT) {
            struct consent_value cur;
            if (consent_value_from_json(value, &cur, &holder) != 0) {
                error_set(err, "state: stored consent for %s is not valid JSON", c->field);
                goto out;
            }
            *d = merge_consent(&cur, origin, c, policy, reason, rsize);
        } else {
            struct merge_current cur = {value, sqlite3_column_int64(q, 1), origin};
            *d = merge_generic(&cur, c, policy, reason, rsize);
        }
    } else {
        store_sql_error(st, err, "read current");
        goto out;
    }
    rc = 0;
out:
    json_decref(holder);
    sqlite3_reset(q);
    return rc;
}

/* A transaction not in the ledger that occurred at or before the member's
 * folded transactions (state/store_ledger.h) may be one of them replayed:
 * its txn_id is gone, so it is refused rather than counted twice. */
static int before_opening(struct store *st, const struct change *c, char *reason, size_t rsize,
                          struct error *err, enum merge_decision *d)
{
    sqlite3_stmt *q = st->get_opening;
    int s;

    sqlite3_bind_text(q, 1, c->member_key, -1, SQLITE_STATIC);
    s = sqlite3_step(q);
    if (s == SQLITE_ROW && c->points.occurred_at <= sqlite3_column_int64(q, 0)) {
        *d = MERGE_REJECT;
        snprintf(reason, rsize,
                 "points transaction %s occurred before the member's opening balance (older "
                 "transactions were folded; a replay of one cannot be told apart)",
                 c->points.txn_id);
    }
    sqlite3_reset(q);
    if (s != SQLITE_ROW && s != SQLITE_DONE)
        return store_sql_error(st, err, "read opening balance");
    return 0;
}

static int decide_points(struct store *st, const struct change *c,
                         const struct merge_policy *policy, enum merge_decision *d, char *reason,
                         size_t rsize, struct error *err)
{
    sqlite3_stmt *q = st->get_txn;
    int s;
    int rc = -1;

    sqlite3_bind_text(q, 1, c->points.txn_id, -1, SQLITE_STATIC);
    s = sqlite3_step(q);
    if (s == SQLITE_DONE) {
        *d = merge_points(NULL, NULL, c, policy, reason, rsize);
        if (*d == MERGE_APPLY && before_opening(st, c, reason, rsize, err, d) != 0)
            goto out;
    } else if (s == SQLITE_ROW) {
        struct points_txn cur = {
            .txn_id = c->points.txn_id,
            .delta = sqlite3_column_int64(q, 1),
            .reason = (const char *)sqlite3_column_text(q, 2),
            .occurred_at = sqlite3_column_int64(q, 3),
            .expires_at = sqlite3_column_int64(q, 4),
        };
        *d = merge_points(&cur, (const char *)sqlite3_column_text(q, 0), c, policy, reason, rsize);
    } else {
        store_sql_error(st, err, "read ledger");
        goto out;
    }
    rc = 0;
out:
    sqlite3_reset(q);
    return rc;
}

static int insert_txn(struct store *st, const struct change *c, int64_t seq, struct error *err)
{
    sqlite3_stmt *q = st->ins_txn;

    sqlite3_bind_text(q, 1, c->points.txn_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, c->member_key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, c->points.delta);
    sqlite3_bind_text(q, 4, c->points.reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, c->points.occurred_at);
    sqlite3_bind_int64(q, 6, c->points.expires_at);
    sqlite3_bind_int64(q, 7, seq);
    return step_done(st, q, err, "insert ledger");
}

/* seq 0: the change is not in the change-log (a conflict); idem: NULL, or
 * the dead letter's own key (a re-read of the input files it once). */
static int dead_letter_change(struct store *st, const struct change *c, int64_t seq,
                              const char *reason, const char *idem, struct error *err)
{
    sqlite3_stmt *q = st->ins_dead;

    sqlite3_bind_text(q, 1, "ingest", -1, SQLITE_STATIC);
    if (seq > 0)
        sqlite3_bind_int64(q, 2, seq);
    else
        sqlite3_bind_null(q, 2);
    if (idem != NULL)
        sqlite3_bind_text(q, 10, idem, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, c->origin, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, c->member_key, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, c->field, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 6, c->value_json, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 7, c->source_ref, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 8, reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 9, timefmt_now_ms());
    if (step_done(st, q, err, "insert dead letter") != 0)
        return -1;
    sqlite3_clear_bindings(q);
    return 0;
}

static int audit_consent(struct store *st, const struct change *c, int64_t seq, int effective,
                         int64_t now, struct error *err)
{
    char *payload = audit_payload_to_json(c->origin, effective, c->source_ref, c->value_json);
    int rc;

    if (payload == NULL)
        return error_set(err, "state: cannot build audit payload for seq %" PRId64, seq);
    rc = store_audit_append(st, seq, c->member_key, c->field, payload, now, err);
    free(payload);
    return rc;
}

static int bind_key_step(struct store *st, sqlite3_stmt *q, const char *key, struct error *err,
                         const char *what)
{
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    return step_done(st, q, err, what);
}

/* Erasure: tombstone the key, drop its data, redact history. The erase change
 * itself stays with the key so the engine can propagate it. */
static int erase_member(struct store *st, const struct change *c, int64_t seq, int64_t now,
                        struct error *err)
{
    char h[65];

    store_member_hash(st, c->member_key, h);
    sqlite3_bind_text(st->ins_tomb, 1, h, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st->ins_tomb, 2, now);
    if (step_done(st, st->ins_tomb, err, "insert tombstone") != 0)
        return -1;
    st->tombstone_count++;
    if (bind_key_step(st, st->erase_current, c->member_key, err, "erase current") != 0 ||
        bind_key_step(st, st->erase_ledger, c->member_key, err, "erase ledger") != 0 ||
        bind_key_step(st, st->erase_opening, c->member_key, err, "erase opening balance") != 0 ||
        bind_key_step(st, st->erase_shadow, c->member_key, err, "erase shadow") != 0)
        return -1;
    sqlite3_bind_text(st->redact_changes, 1, c->member_key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st->redact_changes, 2, seq);
    if (step_done(st, st->redact_changes, err, "redact changes") != 0)
        return -1;
    /* What compaction has passed is never examined again: go now. */
    sqlite3_bind_text(st->del_member_changes, 1, c->member_key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st->del_member_changes, 2, st->compact_from);
    if (step_done(st, st->del_member_changes, err, "delete erased changes") != 0)
        return -1;
    store_bind_hash(st->redact_audit, 1, h);
    if (step_done(st, st->redact_audit, err, "redact audit") != 0)
        return -1;
    /* Rows already archived are blanked by the next retention step. */
    sqlite3_bind_text(st->redact_archive, 1, h, -1, SQLITE_TRANSIENT);
    return step_done(st, st->redact_archive, err, "queue archive erasure");
}

/* The same idempotency key with another body: a dead letter naming where
 * it came from, and the change is not applied (the points rule of DESIGN.md
 * §3 for every event). The dead letter's own key holds the body's hash, so
 * re-reading the input files it once. */
static int conflict(struct store *st, const struct change *c, enum apply_result *res,
                    struct error *err)
{
    const char *reason = "idempotency key reused with a different body (conflict)";
    int64_t h = store_body_hash(c->member_key, change_kind_name(c->kind), c->field, c->value_json,
                                c->occurred_at);
    size_t n = strlen(c->idem_key) + 48;
    char *idem = malloc(n);

    if (idem == NULL)
        return error_set(err, "state: out of memory");
    snprintf(idem, n, "conflict:%016" PRIx64 ":%s", (uint64_t)h, c->idem_key);
    if (dead_letter_change(st, c, 0, reason, idem, err) != 0) {
        free(idem);
        return -1;
    }
    free(idem);
    error_set(err, "%s: member %s field %s: event id %s: %s",
              c->source_ref ? c->source_ref : c->idem_key, c->member_key, c->field, c->idem_key,
              reason);
    *res = APPLY_REJECTED;
    return 0;
}

int store_apply(struct store *st, const struct change *c, const struct merge_policy *policy,
                enum apply_result *res, struct error *err)
{
    enum merge_decision d = MERGE_APPLY;
    char reason[256] = "";
    int64_t now = timefmt_now_ms();
    int64_t seq = 0;
    int64_t old_seq = 0;
    int dup = 0, erased = 0, seen = 0;

    if (is_tombstoned(st, c->member_key, &erased, err) != 0)
        return -1;
    if (erased && c->kind != CHANGE_ERASE) {
        *res = APPLY_ERASED;
        return 0;
    }
    if (check_idem(st, c, now, &seen, err) != 0)
        return -1;
    if (seen == 1) {
        *res = APPLY_DUPLICATE;
        return 0;
    }
    if (seen == 2)
        return conflict(st, c, res, err);
    if (c->kind == CHANGE_POINTS) {
        if (decide_points(st, c, policy, &d, reason, sizeof(reason), err) != 0)
            return -1;
    } else if (c->kind != CHANGE_ERASE) {
        if (decide_current(st, c, policy, &d, &old_seq, reason, sizeof(reason), err) != 0)
            return -1;
    }
    if (insert_change(st, c, d == MERGE_APPLY, now, &seq, &dup, err) != 0)
        return -1;
    if (dup) {
        *res = APPLY_DUPLICATE;
        return 0;
    }
    if (d == MERGE_REJECT) {
        if (dead_letter_change(st, c, seq, reason, NULL, err) != 0)
            return -1;
        error_set(err, "%s: member %s field %s: %s", c->source_ref ? c->source_ref : c->idem_key,
                  c->member_key, c->field, reason);
        *res = APPLY_REJECTED;
        return 0;
    }
    if (c->kind == CHANGE_CONSENT && audit_consent(st, c, seq, d == MERGE_APPLY, now, err) != 0)
        return -1;
    if (d == MERGE_KEEP) {
        *res = APPLY_UNCHANGED;
        return 0;
    }
    if (c->kind == CHANGE_POINTS) {
        if (insert_txn(st, c, seq, err) != 0)
            return -1;
    } else if (c->kind == CHANGE_ERASE) {
        st->erased_since_checkpoint = 1;
        if (erase_member(st, c, seq, now, err) != 0)
            return -1;
    } else if (put_current(st, c, seq, err) != 0 ||
               store_change_superseded(st, old_seq, err) != 0) {
        return -1;
    }
    *res = APPLY_APPLIED;
    return 0;
}
