/* See store_ledger.h. Why the fold keeps each member's newest transaction:
 * the engine offers a destination a member's points through the changes
 * of its ledger rows (state/store_push.c); a member whose every row was
 * folded would have no points change in the snapshot, and a resync or a
 * destination added later would never be sent the balance. Why only
 * transactions whose contribution is final: a transaction that expires
 * later counts now and not then; folded, the balance could not follow. */
#include "store_ledger.h"

#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

enum { L_FROM_GET, L_FROM_SET, L_MEMBERS, L_ROWS, L_OPENING_PUT, L_DELETE, L_COUNT };

static const char *const sql[L_COUNT] = {
    [L_FROM_GET] = "SELECT value FROM meta WHERE key = 'ledger_fold_from'",
    [L_FROM_SET] = "INSERT INTO meta(key, value) VALUES ('ledger_fold_from', ?1)"
                   " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [L_MEMBERS] = "SELECT DISTINCT member_key FROM points_ledger WHERE member_key > ?1"
                  " ORDER BY member_key LIMIT ?2",
    [L_ROWS] = "SELECT txn_id, delta, occurred_at, expires_at, seq FROM points_ledger"
               " WHERE member_key = ?1 ORDER BY seq DESC",
    [L_OPENING_PUT] =
        "INSERT INTO points_opening(member_key, balance, txns, through_at, updated_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(member_key) DO UPDATE SET"
        " balance = balance + excluded.balance, txns = txns + excluded.txns,"
        " through_at = MAX(through_at, excluded.through_at),"
        " updated_at = excluded.updated_at",
    [L_DELETE] = "DELETE FROM points_ledger WHERE txn_id = ?1",
};

struct fold {
    struct store *st;
    sqlite3_stmt *q[L_COUNT];
    int64_t cutoff, now;
};

/* A member's transactions due for the fold, and what they add up to. */
struct due {
    char **txn;
    int64_t *seqs;
    size_t k, cap;
    int64_t balance, through, count;
};

static int due_add(struct due *d, const char *txn_id, int64_t seq, struct error *err)
{
    if (d->k == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 16;
        char **t = realloc(d->txn, nc * sizeof(*t));
        int64_t *q = t ? realloc(d->seqs, nc * sizeof(*q)) : NULL;
        if (t != NULL)
            d->txn = t;
        if (q == NULL)
            return error_set(err, "ledger fold: out of memory");
        d->seqs = q;
        d->cap = nc;
    }
    d->txn[d->k] = strdup(txn_id);
    if (d->txn[d->k] == NULL)
        return error_set(err, "ledger fold: out of memory");
    d->seqs[d->k++] = seq;
    return 0;
}

static void due_free(struct due *d)
{
    for (size_t i = 0; i < d->k; i++)
        free(d->txn[i]);
    free(d->txn);
    free(d->seqs);
}

/* Reads the member's transactions, newest first: all but the newest whose
 * contribution is final (older than the cutoff, not expiring later). */
static int collect_due(struct fold *f, const char *member, struct due *d, struct error *err)
{
    sqlite3_stmt *rows = f->q[L_ROWS];
    int s, first = 1, rc = -1;

    sqlite3_bind_text(rows, 1, member, -1, SQLITE_STATIC);
    for (;;) {
        int64_t delta, at, exp;
        s = sqlite3_step(rows);
        if (s != SQLITE_ROW)
            break;
        if (first) { /* the newest stays */
            first = 0;
            continue;
        }
        delta = sqlite3_column_int64(rows, 1);
        at = sqlite3_column_int64(rows, 2);
        exp = sqlite3_column_int64(rows, 3);
        if (at >= f->cutoff || (exp != 0 && exp > f->now))
            continue;
        if (due_add(d, (const char *)sqlite3_column_text(rows, 0), sqlite3_column_int64(rows, 4),
                    err) != 0)
            goto out;
        if (exp == 0)
            d->balance += delta;
        if (at > d->through)
            d->through = at;
        d->count++;
    }
    if (s != SQLITE_DONE) {
        store_sql_error(f->st, err, "ledger fold: read");
        goto out;
    }
    rc = 0;
out:
    sqlite3_reset(rows);
    return rc;
}

/* Folds one member's due transactions; *n: how many. */
static int fold_member(struct fold *f, const char *member, int64_t *n, struct error *err)
{
    struct due d = {0};
    int s, rc = -1;

    *n = 0;
    if (collect_due(f, member, &d, err) != 0)
        goto out;
    if (d.k == 0) {
        rc = 0;
        goto out;
    }
    sqlite3_bind_text(f->q[L_OPENING_PUT], 1, member, -1, SQLITE_STATIC);
    sqlite3_bind_int64(f->q[L_OPENING_PUT], 2, d.balance);
    sqlite3_bind_int64(f->q[L_OPENING_PUT], 3, d.count);
    sqlite3_bind_int64(f->q[L_OPENING_PUT], 4, d.through);
    sqlite3_bind_int64(f->q[L_OPENING_PUT], 5, f->now);
    s = sqlite3_step(f->q[L_OPENING_PUT]);
    sqlite3_reset(f->q[L_OPENING_PUT]);
    if (s != SQLITE_DONE) {
        store_sql_error(f->st, err, "ledger fold: opening balance");
        goto out;
    }
    for (size_t i = 0; i < d.k; i++) {
        sqlite3_bind_text(f->q[L_DELETE], 1, d.txn[i], -1, SQLITE_STATIC);
        s = sqlite3_step(f->q[L_DELETE]);
        sqlite3_reset(f->q[L_DELETE]);
        /* Its change stops being part of the snapshot. */
        if (s != SQLITE_DONE || store_change_superseded(f->st, d.seqs[i], err) != 0) {
            if (s != SQLITE_DONE)
                store_sql_error(f->st, err, "ledger fold: delete");
            goto out;
        }
    }
    *n = (int64_t)d.k;
    rc = 0;
out:
    due_free(&d);
    return rc;
}

static int fold_step(struct fold *f, int64_t *folded, int *more, struct error *err)
{
    sqlite3_stmt *m = f->q[L_MEMBERS];
    char *from = NULL, *last = NULL;
    int members = 0, s, rc = -1;

    s = sqlite3_step(f->q[L_FROM_GET]);
    if (s == SQLITE_ROW)
        from = strdup((const char *)sqlite3_column_text(f->q[L_FROM_GET], 0));
    sqlite3_reset(f->q[L_FROM_GET]);
    sqlite3_bind_text(m, 1, from != NULL ? from : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(m, 2, STORE_LEDGER_STEP);
    /* The member list is read whole first: folding writes the table it
     * walks. */
    {
        char **keys = calloc(STORE_LEDGER_STEP, sizeof(*keys));
        if (keys == NULL) {
            error_set(err, "ledger fold: out of memory");
            goto out;
        }
        for (;;) {
            s = sqlite3_step(m);
            if (s != SQLITE_ROW)
                break;
            keys[members] = strdup((const char *)sqlite3_column_text(m, 0));
            if (keys[members] == NULL)
                break;
            members++;
        }
        sqlite3_reset(m);
        rc = s == SQLITE_DONE || s == SQLITE_ROW ? 0 : store_sql_error(f->st, err, "ledger fold");
        for (int i = 0; rc == 0 && i < members; i++) {
            int64_t n = 0;
            rc = fold_member(f, keys[i], &n, err);
            *folded += n;
        }
        if (members > 0)
            last = strdup(keys[members - 1]);
        for (int i = 0; i < members; i++)
            free(keys[i]);
        free(keys);
    }
    if (rc != 0)
        goto out;
    rc = -1;
    /* A full step: go on after its last member; else the pass is over and
     * the next one starts from the beginning. */
    *more = members == STORE_LEDGER_STEP;
    sqlite3_bind_text(f->q[L_FROM_SET], 1, *more && last != NULL ? last : "", -1, SQLITE_TRANSIENT);
    s = sqlite3_step(f->q[L_FROM_SET]);
    sqlite3_reset(f->q[L_FROM_SET]);
    if (s != SQLITE_DONE) {
        store_sql_error(f->st, err, "ledger fold: position");
        goto out;
    }
    rc = 0;
out:
    free(from);
    free(last);
    return rc;
}

int store_ledger_fold_step(struct store *st, int64_t retention_ms, int64_t now_ms, int64_t *folded,
                           int *more, struct error *err)
{
    struct fold f = {st, {NULL}, now_ms - retention_ms, now_ms};
    int rc = -1;

    *folded = 0;
    *more = 0;
    if (retention_ms <= 0 || store_in_txn(st) || st->readonly)
        return 0;
    for (int i = 0; i < L_COUNT; i++) {
        if (sqlite3_prepare_v2(st->db, sql[i], -1, &f.q[i], NULL) != SQLITE_OK) {
            store_sql_error(st, err, "prepare ledger fold");
            goto out;
        }
    }
    if (store_begin_relaxed(st, err) != 0)
        goto out;
    if (fold_step(&f, folded, more, err) != 0) {
        store_rollback(st);
        *folded = 0;
        *more = 0;
        goto out;
    }
    if (store_commit_deferring_checkpoint(st, err) != 0) {
        *folded = 0;
        *more = 0;
        goto out;
    }
    rc = 0;
out:
    for (int i = 0; i < L_COUNT; i++)
        sqlite3_finalize(f.q[i]);
    return rc;
}
