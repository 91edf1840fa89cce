/* The spool directory and its done/ and failed/ subdirectories, opened once
 * and used only through their descriptors (issue 14 item 6).
 *
 * Anyone who may write the spool (the shop's writers, group crmsyncd-spool)
 * can plant names in it. So: each directory is opened with
 * O_DIRECTORY|O_NOFOLLOW and must belong to the daemon's user; the spool
 * may not be world-writable (a group-writable one should be sticky, as
 * systemd/crmsyncd.tmpfiles makes it); done/ and failed/ are written by the
 * daemon only (group/other write bits are taken off). Files are opened
 * with openat(O_NOFOLLOW), only regular files with one link are read, and
 * reports are created with openat(O_CREAT|O_EXCL|O_NOFOLLOW, 0600) under
 * a random name, then renamed into place. */
#ifndef CRMSYNC_SPOOL_DIR_H
#define CRMSYNC_SPOOL_DIR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "error.h"

struct spool_dir {
    int fd;        /* the spool */
    int done_fd;   /* done/ */
    int failed_fd; /* failed/ */
    char *path;    /* for messages */
};

/* Creates the spool and its subdirectories when missing, opens and checks
 * them. Returns 0, or -1 with err set (nothing left open). */
int spool_dir_open(struct spool_dir *sd, const char *path, struct error *err);
void spool_dir_close(struct spool_dir *sd);

/* Removes the regular files of done/ moved there (ctime) more than keep_ms
 * before now_ms, at most max of them per call (the loop is not held up).
 * Returns how many were removed, or -1 with err set. */
long spool_dir_prune_done(const struct spool_dir *sd, int64_t keep_ms, int64_t now_ms, long max,
                          struct error *err);

/* Opens name in the spool for reading. Returns the descriptor, or -1 with
 * err set; *refuse is set when the entry must never be read (a symlink, a
 * FIFO or device, a file with several links): the caller moves it aside. */
int spool_dir_open_input(const struct spool_dir *sd, const char *name, struct stat *st, int *refuse,
                         struct error *err);

/* Creates a new file in failed/ under a random hidden name (written to tmp,
 * size >= 32). Returns the descriptor or -1 with err set. */
int spool_dir_create_report(const struct spool_dir *sd, char *tmp, size_t tmp_size,
                            struct error *err);

/* Renames failed/tmp to failed/final (replacing an older report). */
int spool_dir_publish_report(const struct spool_dir *sd, const char *tmp, const char *final,
                             struct error *err);

/* Moves name from the spool into done/ (to_failed = 0) or failed/, never
 * over an existing file: a name already there gets ".<ms>" appended.
 * Returns 0 or -1 with err set. */
int spool_dir_move(const struct spool_dir *sd, const char *name, int to_failed, int64_t now_ms,
                   struct error *err);

/* fsync of the spool and the subdirectory files were moved to. */
void spool_dir_sync(const struct spool_dir *sd);

#endif
