#include "store_checkpointer.h"

#include <stdio.h>
#include <stdlib.h>

#include "store_internal.h"

/* A commit that leaves this many times min_frames in the WAL checkpoints
 * on its own thread: with the default 1,000 frames, 32 MB of WAL. Why the
 * WAL passes min_frames at all: only a writer starts the WAL again from
 * its beginning, and only when a checkpoint has copied all of it; a run
 * beside a busy writer copies what was there when it began, and the
 * writer has appended more meanwhile. Runs again right after each other to
 * catch up cost two fsyncs each and copy hot pages again (+25 % daemon CPU
 * per event in bench/http_ingest.sh); instead a run is due per min_frames
 * new frames, and this bound, where the writer copies the small tail left
 * itself (so the WAL restarts), comes once per 8 x min_frames. */
#define HARD_BOUND_FACTOR 8

struct store_checkpointer {
    sqlite3 *db;
    struct store *st; /* whose wal_base a finished run moves (loop thread) */
    /* The last run (store_checkpointer_result()). */
    int rc;
    int wal_frames;
    int copied;
    double ms;
    char msg[160];
};

/* The WAL hook of the store's connection while a checkpointer is open: it
 * replaces SQLite's automatic checkpoint (sqlite3_wal_autocheckpoint()
 * installs a hook of its own; a connection has one). */
static int on_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
    struct store *st = arg;
    int log = 0, done = 0;

    st->wal_frames = frames;
    if (frames < st->wal_base)
        st->wal_base = 0; /* the WAL started again from its beginning */
    /* While the worker's runs fail (a full disk: the database cannot grow
     * by the copy), the WAL must not run on to the hard bound: on a small
     * disk it takes the space the copy needs (chaos disk-full, a 16 MiB
     * tmpfs). The writer copies at the due threshold until a run works. */
    if (frames >= st->wal_due_frames * (st->wal_fallback ? 1 : HARD_BOUND_FACTOR)) {
        /* Busy means the worker is copying right now: the next commit
         * tries again. */
        if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &log, &done) ==
                SQLITE_OK &&
            done >= 0)
            st->wal_base = done;
        return SQLITE_OK;
    }
    if (frames - st->wal_base >= st->wal_due_frames)
        st->wal_due(st->wal_due_arg, frames);
    return SQLITE_OK;
}

int store_checkpointer_open(struct store *st, const char *path, int min_frames,
                            store_wal_due_fn due, void *arg, struct store_checkpointer **out,
                            struct error *err)
{
    struct store_checkpointer *ck;

    *out = NULL;
    if (st->readonly || st->in_txn || min_frames <= 0 || due == NULL)
        return error_set(err, "state: a checkpointer needs a writable store outside a transaction");
    ck = calloc(1, sizeof(*ck));
    if (ck == NULL)
        return error_set(err, "state: out of memory");
    /* NOMUTEX: the connection is used by one thread at a time, handed over
     * by the owner's queue (which orders the accesses). */
    if (sqlite3_open_v2(path, &ck->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        error_set(err, "state: checkpointer: cannot open %s: %s", path,
                  ck->db ? sqlite3_errmsg(ck->db) : "out of memory");
        sqlite3_close(ck->db);
        free(ck);
        return -1;
    }
    /* The checkpoint syncs the database file as the store's commits sync
     * the WAL: FULL unless the store was configured NORMAL. */
    if (sqlite3_exec(ck->db,
                     st->sync_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
                     NULL, NULL, NULL) != SQLITE_OK) {
        error_set(err, "state: checkpointer: %s", sqlite3_errmsg(ck->db));
        sqlite3_close(ck->db);
        free(ck);
        return -1;
    }
    ck->st = st;
    st->wal_base = 0;
    st->wal_due = due;
    st->wal_due_arg = arg;
    st->wal_due_frames = min_frames;
    sqlite3_wal_hook(st->db, on_commit, st);
    *out = ck;
    return 0;
}

void store_checkpointer_run(struct store_checkpointer *ck)
{
    int64_t t0 = store_mono_ns();
    int log = 0, done = 0, rc;

    ck->rc = 0;
    ck->msg[0] = '\0';
    /* After a commit failed on a full disk, the whole WAL is copied and
     * the file cut to nothing: a WAL restarted from its beginning keeps its
     * size, and with the database grown by the copy it no longer fits (chaos
     * disk-full filled its 16 MiB again). Tried again until it succeeds. */
    int truncate = atomic_exchange(&ck->st->wal_truncate, 0);

    rc = sqlite3_wal_checkpoint_v2(
        ck->db, NULL, truncate ? SQLITE_CHECKPOINT_TRUNCATE : SQLITE_CHECKPOINT_PASSIVE, &log,
        &done);
    if (truncate && rc != SQLITE_OK)
        atomic_store(&ck->st->wal_truncate, 1);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
        log = done = 0;
    } else if (rc != SQLITE_OK) {
        ck->rc = -1;
        snprintf(ck->msg, sizeof(ck->msg), "%s", sqlite3_errmsg(ck->db));
    }
    ck->wal_frames = log > 0 ? log : 0;
    ck->copied = done > 0 ? done : 0;
    ck->ms = (double)(store_mono_ns() - t0) / 1e6;
}

int store_checkpointer_result(const struct store_checkpointer *ck, int *wal_frames, int *copied,
                              double *ms, struct error *err)
{
    *wal_frames = ck->wal_frames;
    *copied = ck->copied;
    *ms = ck->ms;
    /* The next run is due once min_frames more have been committed. */
    if (ck->rc == 0 && ck->copied > ck->st->wal_base)
        ck->st->wal_base = ck->copied;
    ck->st->wal_fallback = ck->rc != 0;
    if (ck->rc != 0)
        return error_set(err, "state: WAL checkpoint: %s", ck->msg);
    return 0;
}

void store_checkpointer_close(struct store *st, struct store_checkpointer *ck)
{
    if (ck == NULL)
        return;
    if (st != NULL && st->wal_due != NULL) {
        st->wal_due = NULL;
        st->wal_due_arg = NULL;
        /* SQLite's default again (its hook replaces ours). */
        sqlite3_wal_autocheckpoint(st->db, 1000);
    }
    sqlite3_close(ck->db);
    free(ck);
}
