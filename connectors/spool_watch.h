/* Which spool files are complete (issue 14 item 1).
 *
 * A producer may write a file in place instead of writing a hidden name
 * and renaming it. Such a file is taken only when it is quiescent:
 * - closed after writing (IN_CLOSE_WRITE) or renamed into the spool
 *   (IN_MOVED_TO), unchanged since, and ending with a newline; never while
 *   inotify says it was written and not closed since, however long the
 *   writer pauses (a writer that dies is closed by the kernel); or
 * - its size and mtime unchanged for the settle time, counted from its
 *   mtime, when inotify told nothing about it (files found at start, a
 *   platform without inotify, an inotify queue overflow) or it was closed
 *   with a last line that has no newline.
 * A symlink or any other non-regular entry is "ready" at once: the
 * connector refuses it and moves it aside.
 *
 * This module keeps what it knows per name (events, last size and mtime)
 * and lists the directory once per scan. It does no inotify itself: the
 * connector feeds it events, so that the rules can be tested with any
 * clock. */
#ifndef CRMSYNC_SPOOL_WATCH_H
#define CRMSYNC_SPOOL_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct spool_watch;

/* A name the spool takes: ends in ".jsonl", does not start with a dot. */
int spool_name_wanted(const char *name);

struct spool_watch *spool_watch_new(void);
void spool_watch_free(struct spool_watch *w);

/* Events: name was closed after writing or moved in / was written or
 * created / everything known may be stale (queue overflow). */
void spool_watch_closed(struct spool_watch *w, const char *name);
void spool_watch_changed(struct spool_watch *w, const char *name);
void spool_watch_forget_all(struct spool_watch *w);
/* name left the spool (the connector moved it). */
void spool_watch_forget(struct spool_watch *w, const char *name);

/* Lists dirfd once. *ready gets the names ready now in name order (a
 * malloc'd array of malloc'd strings, *n of them; free with
 * spool_watch_free_list()); *wait_ms the time until the next file that is
 * not ready yet may be (-1: none waiting). Returns 0 or -1 with err. */
int spool_watch_scan(struct spool_watch *w, int dirfd, int64_t now_ms, long settle_ms,
                     char ***ready, size_t *n, long *wait_ms, struct error *err);
void spool_watch_free_list(char **list, size_t n);

#endif
