/* Process hardening at start (issue 14 items 8 and 12): a strict umask,
 * no core dumps unless asked for, and the state files kept to the daemon's
 * own user. */
#ifndef CRMSYNC_HARDENING_H
#define CRMSYNC_HARDENING_H

#include "error.h"

/* umask 077: whatever the daemon creates (the state database, its WAL and
 * shared-memory files, the lock, spool reports) is its own user's only. */
void hardening_umask(void);

/* First thing at start, before the configuration (and its secrets) is
 * read: not dumpable and a soft core limit of 0, both reversible. */
int hardening_core_dumps_early(struct error *err);

/* Once the configuration is known. allow = 0: the process is not dumpable
 * (PR_SET_DUMPABLE 0: no core file, no ptrace by other processes of the
 * same user, /proc/PID owned by root) and RLIMIT_CORE is 0, soft and hard.
 * allow = 1 ([daemon] allow_core_dumps, for debugging): dumpable again with
 * the core limit the daemon was started with. Returns 0 or -1 with err. */
int hardening_core_dumps(int allow, struct error *err);

/* The state directory must give others nothing (mode & 007 == 0): the
 * database holds member data and OAuth refresh tokens. */
int hardening_check_state_dir(const char *dir, struct error *err);

/* Creates the database file 0600 if it is missing (SQLite gives its -wal
 * and -shm files the database's mode), and takes group and other bits off
 * an existing database and its -wal/-shm files (a database made before
 * this check under umask 022). The files must be regular files owned by
 * the daemon's user; a symlink is refused. */
int hardening_state_files(const char *db_path, struct error *err);

#endif
