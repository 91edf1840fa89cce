/* See store_purge.h.
 *
 * Why wait for every destination: the erasure is propagated by member key
 * (a CRM finds the member's record by it), so the key must stay until each
 * CRM has done it. A dead-lettered erasure keeps the key (an operator may
 * retry it). Why also wait for the member's other changes to be behind
 * every cursor: the engine reads the change-log by cursor; a change of the
 * member ahead of a cursor with the key replaced would be read as another
 * member's. A destination added after the purge gets the erasure under the
 * hash, which finds nothing there: the key is gone, as the design asks. */
#include "store_purge.h"

#include <stdio.h>
#include <string.h>

#include "store_internal.h"

#define N_LANES 3 /* enum change_lane */

enum {
    Q_CURSOR,  /* push cursor of (dest, lane) */
    Q_ERASES,  /* erasures in (from, upto] of the urgent lane */
    Q_DEAD,    /* a dead letter of (dest, seq) */
    Q_AHEAD,   /* a change of the member in lane after a cursor */
    Q_CHANGES, /* the key in the change-log */
    Q_IDS,     /* identities */
    Q_SHADOW,  /* shadows */
    Q_DEADMEM, /* dead letters of the member */
    Q_COUNT,
};

static const char *const sql[Q_COUNT] = {
    [Q_CURSOR] = "SELECT seq FROM push_cursors WHERE connector = ?1 AND lane = ?2",
    [Q_ERASES] = "SELECT seq, member_key FROM changes WHERE lane = 0 AND effective = 1"
                 " AND seq > ?1 AND seq <= ?2 AND kind = 'erase' ORDER BY seq",
    [Q_DEAD] = "SELECT EXISTS(SELECT 1 FROM dead_letters WHERE destination = ?1 AND seq = ?2)",
    /* By the member (changes_member: member_key, then seq as the rowid),
     * never by the lane: `+lane` keeps SQLite from choosing changes_push
     * (lane, seq), which walked every change of the lane after a cursor,
     * per erasure and lane, on the event loop (issue 15 soak: a bulk lane
     * 1M changes behind took the loop for seconds every 5 s). */
    [Q_AHEAD] = "SELECT EXISTS(SELECT 1 FROM changes WHERE member_key = ?1 AND +lane = ?2"
                " AND seq > ?3 AND effective = 1)",
    [Q_CHANGES] = "UPDATE changes SET member_key = ?2, idem_key = CASE WHEN instr(idem_key, ?1)"
                  " > 0 THEN 'erased:' || seq ELSE idem_key END WHERE member_key = ?1",
    [Q_IDS] = "DELETE FROM identities WHERE member_key = ?1",
    [Q_SHADOW] = "DELETE FROM shadow WHERE member_key = ?1",
    [Q_DEADMEM] = "DELETE FROM dead_letters WHERE member_key = ?1",
};

struct purge {
    struct store *st;
    sqlite3_stmt *q[Q_COUNT];
};

static int step_int(struct purge *p, int which, int64_t *out, int *found, struct error *err)
{
    sqlite3_stmt *q = p->q[which];
    int s = sqlite3_step(q);

    *found = s == SQLITE_ROW;
    if (*found)
        *out = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    if (s != SQLITE_ROW && s != SQLITE_DONE)
        return store_sql_error(p->st, err, "erasure purge");
    return 0;
}

static int cursor_of(struct purge *p, const char *dest, int lane, int64_t *seq, struct error *err)
{
    int found = 0;

    sqlite3_bind_text(p->q[Q_CURSOR], 1, dest, -1, SQLITE_STATIC);
    sqlite3_bind_int(p->q[Q_CURSOR], 2, lane);
    if (step_int(p, Q_CURSOR, seq, &found, err) != 0)
        return -1;
    if (!found)
        *seq = 0;
    return 0;
}

/* 1 when every destination has confirmed erasure seq of key and nothing of
 * key is ahead of any cursor; 0 when not yet; -1 on error. */
static int confirmed(struct purge *p, const char *const *dests, size_t n, int64_t seq,
                     const char *key, struct error *err)
{
    for (size_t i = 0; i < n; i++) {
        int64_t v = 0;
        int found = 0;

        sqlite3_bind_text(p->q[Q_DEAD], 1, dests[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(p->q[Q_DEAD], 2, seq);
        if (step_int(p, Q_DEAD, &v, &found, err) != 0)
            return -1;
        if (v != 0)
            return 0;
        for (int lane = 0; lane < N_LANES; lane++) {
            int64_t cur = 0;
            if (cursor_of(p, dests[i], lane, &cur, err) != 0)
                return -1;
            if (lane == 0 && cur < seq)
                return 0;
            sqlite3_bind_text(p->q[Q_AHEAD], 1, key, -1, SQLITE_STATIC);
            sqlite3_bind_int(p->q[Q_AHEAD], 2, lane);
            sqlite3_bind_int64(p->q[Q_AHEAD], 3, cur);
            if (step_int(p, Q_AHEAD, &v, &found, err) != 0)
                return -1;
            if (v != 0)
                return 0;
        }
    }
    return 1;
}

static int run(struct purge *p, int which, const char *key, const char *replacement,
               struct error *err)
{
    sqlite3_stmt *q = p->q[which];
    int s;

    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    if (replacement != NULL)
        sqlite3_bind_text(q, 2, replacement, -1, SQLITE_STATIC);
    s = sqlite3_step(q);
    sqlite3_reset(q);
    return s == SQLITE_DONE ? 0 : store_sql_error(p->st, err, "erasure purge");
}

static int purge_member(struct purge *p, const char *key, struct error *err)
{
    char hash[65], replacement[80];

    store_member_hash(p->st, key, hash);
    snprintf(replacement, sizeof(replacement), "erased:%s", hash);
    if (store_begin(p->st, err) != 0)
        return -1;
    if (run(p, Q_CHANGES, key, replacement, err) != 0 || run(p, Q_IDS, key, NULL, err) != 0 ||
        run(p, Q_SHADOW, key, NULL, err) != 0 || run(p, Q_DEADMEM, key, NULL, err) != 0) {
        store_rollback(p->st);
        return -1;
    }
    return store_commit(p->st, err);
}

/* The erasures of (from, upto] in seq order, 64 at a time: each one every
 * destination confirmed is purged; *from_seq moves past those purged (or
 * already purged) until one is not confirmed yet. */
static int purge_between(struct purge *p, const char *const *dests, size_t n, int64_t from,
                         int64_t upto, int64_t *from_seq, int64_t *purged, struct error *err)
{
    struct {
        int64_t seq;
        char key[256];
    } todo[64];
    size_t nt = 0;
    int more = 0, blocked = 0, s;

    sqlite3_bind_int64(p->q[Q_ERASES], 1, from);
    sqlite3_bind_int64(p->q[Q_ERASES], 2, upto);
    /* Collect first: the purge writes the rows this query reads. */
    for (;;) {
        s = sqlite3_step(p->q[Q_ERASES]);
        if (s != SQLITE_ROW)
            break;
        const char *key = (const char *)sqlite3_column_text(p->q[Q_ERASES], 1);
        if (nt == sizeof(todo) / sizeof(todo[0])) {
            more = 1;
            break;
        }
        todo[nt].seq = sqlite3_column_int64(p->q[Q_ERASES], 0);
        snprintf(todo[nt].key, sizeof(todo[nt].key), "%s", key ? key : "");
        nt++;
    }
    sqlite3_reset(p->q[Q_ERASES]);
    if (s != SQLITE_ROW && s != SQLITE_DONE)
        return store_sql_error(p->st, err, "erasure purge");
    for (size_t k = 0; k < nt; k++) {
        int ok = 1;
        if (strncmp(todo[k].key, "erased:", 7) != 0) {
            ok = confirmed(p, dests, n, todo[k].seq, todo[k].key, err);
            if (ok < 0)
                return -1;
            if (ok == 1) {
                if (purge_member(p, todo[k].key, err) != 0)
                    return -1;
                (*purged)++;
            }
        }
        if (ok == 0)
            blocked = 1;
        if (!blocked)
            *from_seq = todo[k].seq;
    }
    if (!blocked && !more)
        *from_seq = upto;
    return 0;
}

int store_erasure_purge(struct store *st, const char *const *dests, size_t n, int64_t *from_seq,
                        int64_t *purged, struct error *err)
{
    struct purge p = {st, {NULL}};
    int64_t upto = INT64_MAX, from = *from_seq;
    int rc = -1;

    *purged = 0;
    if (n == 0)
        return 0;
    for (int i = 0; i < Q_COUNT; i++) {
        if (sqlite3_prepare_v2(st->db, sql[i], -1, &p.q[i], NULL) != SQLITE_OK) {
            store_sql_error(st, err, "prepare erasure purge");
            goto out;
        }
    }
    /* Only erasures every urgent-lane cursor has passed can be confirmed. */
    for (size_t i = 0; i < n; i++) {
        int64_t cur = 0;
        if (cursor_of(&p, dests[i], 0, &cur, err) != 0)
            goto out;
        if (cur < upto)
            upto = cur;
    }
    if (upto > from && purge_between(&p, dests, n, from, upto, from_seq, purged, err) != 0)
        goto out;
    rc = 0;
out:
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(p.q[i]);
    return rc;
}

const char *store_purge_statement(size_t i)
{
    return i < Q_COUNT ? sql[i] : NULL;
}
