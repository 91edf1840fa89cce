/* One writer per state directory: an flock(2) on <dir>/crmsyncd.lock, held
 * for the life of the process and released by the kernel on any exit,
 * SIGKILL included, so a crash never leaves a stale lock behind. */
#ifndef CRMSYNC_LOCKFILE_H
#define CRMSYNC_LOCKFILE_H

#include "error.h"

/* Returns the locked fd (>= 0), or -1 with a message naming the holder. */
int lockfile_acquire(const char *state_dir, struct error *err);
void lockfile_release(int fd);

#endif
