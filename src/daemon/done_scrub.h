/* After an erasure, the erased members' lines leave the spool's done/
 * files (issue 19, "Erasure and what stays on disk": done/ kept the events
 * as the shop wrote them, the member's email included, until keep_done).
 *
 * The daemon calls done_scrub_poke() every few seconds with the number of
 * tombstones its connection knows. When that number changed, every regular
 * file in the done/ directory of every spool connector is read on libuv's
 * thread pool (a read-only state connection of its own), and each line
 * whose "member" is erased (a tombstone, so after the purge too) is
 * removed: the file is rewritten through a temporary file and a rename, or
 * removed when no line is left. A second round follows SECOND_ROUND_MS
 * later, for the file of the erasure itself, moved into done/ after the
 * erasure was applied. At start, one round when any member was ever erased
 * (erasures made while the daemon was stopped).
 *
 * A rewritten file's keep_done counts again from the rewrite (the rename
 * sets its ctime). Lines that are not JSON objects with a string "member"
 * are kept as they are. failed/ is left alone (the operator's). */
#ifndef CRMSYNC_DONE_SCRUB_H
#define CRMSYNC_DONE_SCRUB_H

#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "error.h"

struct done_scrub;

/* state_path is copied. NULL when out of memory. */
struct done_scrub *done_scrub_new(uv_loop_t *loop, const char *state_path, long busy_timeout_ms);
/* The spool connectors of cfg are read at the call (a reload is seen at the
 * next one); tombstones: store_tombstone_total() of the daemon's store. */
void done_scrub_poke(struct done_scrub *ds, const struct config *cfg, int64_t tombstones);
/* Freed once a round in flight has ended (the loop runs on until then).
 * NULL is ignored. */
void done_scrub_close(struct done_scrub *ds);

/* The work of one round on one spool directory, for tests: lines of erased
 * members removed from DIR/done/ and DIR/failed/ (erased(ctx, member) = 1),
 * each rewritten file keeping its times. Adds to *lines
 * and *files (rewritten or removed). 0, or -1 with err set. */
int done_scrub_dir(const char *dir, int (*erased)(void *ctx, const char *member), void *ctx,
                   long *lines, long *files, struct error *err);

#endif
