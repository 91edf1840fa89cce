/* Checkpoints off the event loop.
 *
 * In WAL mode a commit appends pages to state.db-wal; SQLite's automatic
 * checkpoint copies them back into the database inside whichever commit
 * crosses 1,000 frames: megabytes of writes and two fsyncs on the thread
 * that committed — the event loop's (bench_compact: a checkpoint round p50
 * 60 ms, up to 460 ms under load), during which no request is answered
 * and no push is planned. With a checkpointer the loop's connection never
 * checkpoints by itself: a commit that leaves at least min_frames in the
 * WAL calls the owner's due() hook, and the owner runs
 * store_checkpointer_run() on another thread, on a connection of its own
 * to the same file. SQLite lets a PASSIVE checkpoint run beside a writer:
 * it copies the frames committed before it began, waits for nobody, and
 * the writer restarts the WAL from its start once everything in it has
 * been copied. */
#ifndef CRMSYNC_STORE_CHECKPOINTER_H
#define CRMSYNC_STORE_CHECKPOINTER_H

#include "error.h"

struct store;
struct store_checkpointer;

/* Called on the committing thread, after a commit of st's that left
 * `frames` frames in the WAL (at least the checkpointer's min_frames).
 * It must not use the store; it hands the run to another thread. */
typedef void (*store_wal_due_fn)(void *arg, int frames);

/* Opens the second connection and switches st's commits from SQLite's
 * automatic checkpoint to due(), called once min_frames frames have been
 * committed since what the last run copied. A bound stays on the
 * committing thread: a commit that leaves 8 x min_frames in the WAL
 * checkpoints there, PASSIVE, as SQLite would have (it copies the tail the
 * runs left, so that the WAL starts again from its beginning).
 * Outside a transaction; not for a read-only store. */
int store_checkpointer_open(struct store *st, const char *path, int min_frames,
                            store_wal_due_fn due, void *arg, struct store_checkpointer **out,
                            struct error *err);

/* One PASSIVE checkpoint on the checkpointer's own connection. Any thread,
 * one run at a time; the store's thread keeps committing meanwhile. */
void store_checkpointer_run(struct store_checkpointer *ck);

/* The last run's result, read after it ended, on the store's thread (it
 * notes what the run copied, for the next due()): frames in the WAL and
 * frames copied into the database; 0, or -1 with the reason in err. Busy (another
 * checkpoint or a TRUNCATE after an erasure ran at the same time) is not
 * an error: copied is 0 and the next due() tries again. */
int store_checkpointer_result(const struct store_checkpointer *ck, int *wal_frames, int *copied,
                              double *ms, struct error *err);

/* Puts st back on SQLite's automatic checkpoint and closes the second
 * connection. Never while a run is in progress. */
void store_checkpointer_close(struct store *st, struct store_checkpointer *ck);

#endif
