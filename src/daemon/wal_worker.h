/* The daemon's side of state/store_checkpointer.h: the WAL is copied back
 * into the database on libuv's thread pool, one run at a time, so that no
 * checkpoint (megabytes of writes and two fsyncs) runs on the event loop
 * between an ingest commit and the next request. */
#ifndef CRMSYNC_WAL_WORKER_H
#define CRMSYNC_WAL_WORKER_H

#include <uv.h>

#include "store.h"

struct wal_worker;

/* Due once the WAL holds this many frames: SQLite's own automatic
 * threshold, so the WAL stays as large as it was (4 MB). */
#define WAL_WORKER_FRAMES 1000

/* NULL when the second connection cannot be opened (logged): the store
 * keeps SQLite's automatic checkpoint. Outside a transaction. */
struct wal_worker *wal_worker_start(uv_loop_t *loop, struct store *st, const char *path);

/* After the loop has run dry (no run in progress): the store back on
 * SQLite's automatic checkpoint, the connection closed. */
void wal_worker_stop(struct wal_worker *w, struct store *st);

#endif
