/* See store_ctl_delivery.h. A few statements per change and destination,
 * each on a primary key or index (the change's seq, the destination's
 * cursor of a lane, its dead letter of a seq): an export reads one member. */
#include "store_ctl_delivery.h"

#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

enum { D_LANE, D_CURSOR, D_DEAD, D_DESTS, D_COUNT };

static const char *const sql[D_COUNT] = {
    [D_LANE] = "SELECT lane FROM changes WHERE seq = ?1",
    [D_CURSOR] = "SELECT seq FROM push_cursors WHERE connector = ?1 AND lane = ?2",
    [D_DEAD] = "SELECT EXISTS(SELECT 1 FROM dead_letters WHERE destination = ?1 AND seq = ?2)",
    [D_DESTS] = "SELECT DISTINCT connector FROM push_cursors ORDER BY connector",
};

/* The single integer q answers (*v = dflt when no row); q is reset. */
static int one(struct store *st, sqlite3_stmt *q, int64_t dflt, int64_t *v, struct error *err)
{
    int s = sqlite3_step(q);

    *v = s == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL ? sqlite3_column_int64(q, 0)
                                                                     : dflt;
    sqlite3_reset(q);
    if (s != SQLITE_ROW && s != SQLITE_DONE)
        return store_sql_error(st, err, "member delivery");
    return 0;
}

static int acknowledged(json_t *row, const char *dest)
{
    size_t i;
    json_t *a;

    json_array_foreach(json_object_get(row, "acknowledged_by"), i, a)
    {
        const char *system = json_string_value(json_object_get(a, "system"));
        if (system != NULL && strcmp(system, dest) == 0)
            return 1;
    }
    return 0;
}

static int state_of(struct store *st, sqlite3_stmt **q, json_t *row, const char *dest, int64_t seq,
                    int64_t lane, const char **state, struct error *err)
{
    const char *origin = json_string_value(json_object_get(row, "origin"));
    int64_t cursor = 0, dead = 0;

    if (acknowledged(row, dest)) {
        *state = "acknowledged";
        return 0;
    }
    if (origin != NULL && strcmp(origin, dest) == 0) {
        *state = "origin";
        return 0;
    }
    sqlite3_bind_text(q[D_DEAD], 1, dest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q[D_DEAD], 2, seq);
    if (one(st, q[D_DEAD], 0, &dead, err) != 0)
        return -1;
    if (dead) {
        *state = "dead_letter";
        return 0;
    }
    sqlite3_bind_text(q[D_CURSOR], 1, dest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q[D_CURSOR], 2, lane);
    if (one(st, q[D_CURSOR], 0, &cursor, err) != 0)
        return -1;
    *state = cursor < seq ? "pending" : "passed";
    return 0;
}

int store_ctl_member_delivery(struct store *st, const char *const *dests, size_t n, json_t *changes,
                              struct error *err)
{
    sqlite3_stmt *q[D_COUNT] = {NULL};
    char **known = NULL;
    size_t n_known = 0, i;
    json_t *row;
    int rc = -1;

    for (int k = 0; k < D_COUNT; k++) {
        if (sqlite3_prepare_v2(st->db, sql[k], -1, &q[k], NULL) != SQLITE_OK) {
            store_sql_error(st, err, "prepare member delivery");
            goto out;
        }
    }
    if (n == 0) {
        /* No configuration: the destinations the daemon keeps cursors for. */
        for (int s = sqlite3_step(q[D_DESTS]); s == SQLITE_ROW; s = sqlite3_step(q[D_DESTS])) {
            char **grown = realloc(known, (n_known + 1) * sizeof(*known));
            if (grown == NULL) {
                error_set(err, "out of memory");
                goto out;
            }
            known = grown;
            known[n_known] = strdup((const char *)sqlite3_column_text(q[D_DESTS], 0));
            if (known[n_known] == NULL) {
                error_set(err, "out of memory");
                goto out;
            }
            n_known++;
        }
        dests = (const char *const *)known;
        n = n_known;
    }
    json_array_foreach(changes, i, row)
    {
        int64_t seq = json_integer_value(json_object_get(row, "seq")), lane = 0;
        json_t *delivery;

        if (!json_is_true(json_object_get(row, "effective")) &&
            json_integer_value(json_object_get(row, "effective")) == 0)
            continue; /* changed nothing: never sent */
        sqlite3_bind_int64(q[D_LANE], 1, seq);
        if (one(st, q[D_LANE], 0, &lane, err) != 0)
            goto out;
        delivery = json_object();
        json_object_set_new(row, "delivery", delivery);
        for (size_t d = 0; d < n; d++) {
            const char *state = NULL;
            if (state_of(st, q, row, dests[d], seq, lane, &state, err) != 0)
                goto out;
            json_object_set_new(delivery, dests[d], json_string(state));
        }
    }
    rc = 0;
out:
    for (int k = 0; k < D_COUNT; k++)
        sqlite3_finalize(q[k]);
    for (size_t k = 0; k < n_known; k++)
        free(known[k]);
    free(known);
    return rc;
}
