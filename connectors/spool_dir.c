/* The spool directories, opened once and used by descriptor: see
 * spool_dir.h for the threat and the rules. */
#include "spool_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "textesc.h"

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/* The spool itself: ours, not world-writable. */
static int check_spool(int fd, const char *path, struct error *err)
{
    struct stat st;

    if (fstat(fd, &st) != 0)
        return error_set(err, "cannot stat spool %s: %s", path, strerror(errno));
    if (st.st_uid != geteuid())
        return error_set(err,
                         "spool %s belongs to uid %u, not to the daemon's user (uid %u): the "
                         "daemon must own the directory it moves files out of",
                         path, (unsigned)st.st_uid, (unsigned)geteuid());
    if ((st.st_mode & S_IWOTH) != 0)
        return error_set(err,
                         "spool %s is world-writable (mode %04o): refused; make it 3770 with "
                         "the writers' group (systemd/crmsyncd.tmpfiles)",
                         path, (unsigned)(st.st_mode & 07777));
    if ((st.st_mode & S_IWGRP) != 0 && (st.st_mode & S_ISVTX) == 0)
        log_warn("spool", NULL,
                 "spool %s is group-writable without the sticky bit (mode %04o): a writer can "
                 "rename or remove another's files; chmod +t it",
                 path, (unsigned)(st.st_mode & 07777));
    return 0;
}

/* done/ or failed/: a real directory of ours that only we may write. */
static int open_sub(int parent, const char *path, const char *sub, int *out, struct error *err)
{
    struct stat st;
    int fd = -1;

    if (mkdirat(parent, sub, 0750) != 0 && errno != EEXIST)
        return error_set(err, "cannot create %s/%s: %s", path, sub, strerror(errno));
    fd = openat(parent, sub, DIR_FLAGS);
    if (fd < 0)
        return error_set(err, "cannot open %s/%s: %s%s", path, sub, strerror(errno),
                         errno == ELOOP || errno == ENOTDIR ? " (not a directory: refused)" : "");
    if (fstat(fd, &st) != 0) {
        error_set(err, "cannot stat %s/%s: %s", path, sub, strerror(errno));
        goto fail;
    }
    if (st.st_uid != geteuid()) {
        error_set(err, "%s/%s belongs to uid %u, not to the daemon's user (uid %u): refused", path,
                  sub, (unsigned)st.st_uid, (unsigned)geteuid());
        goto fail;
    }
    if ((st.st_mode & 022) != 0) {
        mode_t mode = st.st_mode & 07755;
        if (fchmod(fd, mode) != 0) {
            error_set(err, "cannot chmod %s/%s: %s", path, sub, strerror(errno));
            goto fail;
        }
        log_notice("spool", NULL, "%s/%s was writable by group or others (mode %04o): now %04o",
                   path, sub, (unsigned)(st.st_mode & 07777), (unsigned)mode);
    }
    *out = fd;
    return 0;
fail:
    close(fd);
    return -1;
}

int spool_dir_open(struct spool_dir *sd, const char *path, struct error *err)
{
    sd->fd = sd->done_fd = sd->failed_fd = -1;
    sd->path = strdup(path);
    if (sd->path == NULL)
        return error_set(err, "out of memory");
    if (mkdir(path, 0750) != 0 && errno != EEXIST) {
        error_set(err, "cannot create %s: %s", path, strerror(errno));
        goto fail;
    }
    sd->fd = open(path, DIR_FLAGS);
    if (sd->fd < 0) {
        error_set(err, "cannot open spool %s: %s%s", path, strerror(errno),
                  errno == ELOOP || errno == ENOTDIR ? " (a symlink or not a directory: refused)"
                                                     : "");
        goto fail;
    }
    if (check_spool(sd->fd, path, err) != 0)
        goto fail;
    if (open_sub(sd->fd, path, "done", &sd->done_fd, err) != 0)
        goto fail;
    if (open_sub(sd->fd, path, "failed", &sd->failed_fd, err) != 0)
        goto fail;
    return 0;
fail:
    spool_dir_close(sd);
    return -1;
}

void spool_dir_close(struct spool_dir *sd)
{
    if (sd->fd >= 0)
        close(sd->fd);
    if (sd->done_fd >= 0)
        close(sd->done_fd);
    if (sd->failed_fd >= 0)
        close(sd->failed_fd);
    sd->fd = sd->done_fd = sd->failed_fd = -1;
    free(sd->path);
    sd->path = NULL;
}

int spool_dir_open_input(const struct spool_dir *sd, const char *name, struct stat *st, int *refuse,
                         struct error *err)
{
    char shown[256];
    int fd;

    *refuse = 0;
    text_escape(name, shown, sizeof(shown));
    /* O_NONBLOCK: a FIFO must not block the loop on open. */
    fd = openat(sd->fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        *refuse = errno == ELOOP;
        error_set(err, "cannot read %s: %s%s", shown, strerror(errno),
                  errno == ELOOP ? " (a symlink: refused)" : "");
        return -1;
    }
    if (fstat(fd, st) != 0) {
        error_set(err, "cannot stat %s: %s", shown, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st->st_mode)) {
        *refuse = 1;
        error_set(err, "%s is not a regular file: refused", shown);
        goto fail;
    }
    /* A second name elsewhere could be a file the writer may not read
     * (a hard link to the state database): never read through it. */
    if (st->st_nlink != 1) {
        *refuse = 1;
        error_set(err, "%s has %ju links: refused", shown, (uintmax_t)st->st_nlink);
        goto fail;
    }
    if (fcntl(fd, F_SETFL, O_RDONLY) != 0) { /* back to blocking reads */
        error_set(err, "cannot read %s: %s", shown, strerror(errno));
        goto fail;
    }
    return fd;
fail:
    close(fd);
    return -1;
}

int spool_dir_create_report(const struct spool_dir *sd, char *tmp, size_t tmp_size,
                            struct error *err)
{
    for (int attempt = 0; attempt < 8; attempt++) {
        uint64_t r = 0;
        int fd;

        if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
            return error_set(err, "getrandom: %s", strerror(errno));
        snprintf(tmp, tmp_size, ".report-%016" PRIx64 ".tmp", r);
        fd = openat(sd->failed_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0)
            return fd;
        if (errno != EEXIST)
            return error_set(err, "cannot create a report in %s/failed: %s", sd->path,
                             strerror(errno));
    }
    return error_set(err, "cannot create a report in %s/failed: names taken", sd->path);
}

int spool_dir_publish_report(const struct spool_dir *sd, const char *tmp, const char *final,
                             struct error *err)
{
    char shown[256];

    if (renameat(sd->failed_fd, tmp, sd->failed_fd, final) != 0)
        return error_set(err, "cannot move error report to %s/failed/%s: %s", sd->path,
                         text_escape(final, shown, sizeof(shown)), strerror(errno));
    return 0;
}

/* renameat2(RENAME_NOREPLACE), or a check and renameat() where the file
 * system lacks it (only the daemon writes done/ and failed/). */
static int move_noreplace(int from, const char *name, int to, const char *target)
{
    struct stat st;

    if (renameat2(from, name, to, target, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    if (fstatat(to, target, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        errno = EEXIST;
        return -1;
    }
    return renameat(from, name, to, target);
}

/* The file's mtime becomes the time it entered done/ or failed/: that is
 * the age keep_done counts, and a rewrite by the erasure scrub (a new inode,
 * a new ctime) keeps it. Not being able to set it is not a reason to fail
 * the move (the age then counts from the shop's write). */
static void stamp_entry(int dirfd, const char *name)
{
    utimensat(dirfd, name, NULL, AT_SYMLINK_NOFOLLOW);
}

static int64_t ms_of(struct timespec t)
{
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int spool_dir_move(const struct spool_dir *sd, const char *name, int to_failed, int64_t now_ms,
                   struct error *err)
{
    int to = to_failed ? sd->failed_fd : sd->done_fd;
    char other[512], shown[256];

    /* A shop that reuses a name must not overwrite yesterday's file. */
    if (move_noreplace(sd->fd, name, to, name) == 0) {
        stamp_entry(to, name);
        return 0;
    }
    if (errno == EEXIST) {
        snprintf(other, sizeof(other), "%s.%" PRId64, name, now_ms);
        if (move_noreplace(sd->fd, name, to, other) == 0) {
            stamp_entry(to, other);
            return 0;
        }
    }
    return error_set(err, "cannot move %s to %s/: %s", text_escape(name, shown, sizeof(shown)),
                     to_failed ? "failed" : "done", strerror(errno));
}

void spool_dir_sync(const struct spool_dir *sd)
{
    fsync(sd->done_fd);
    fsync(sd->failed_fd);
    fsync(sd->fd);
}

/* done/ keeps the events as the shop wrote them, personal data included:
 * kept for keep_done, then removed. A file's age counts from the earlier of
 * its mtime (set when it entered done/, kept by the erasure scrub's
 * rewrite) and its ctime (the rename into done/; files moved there by an
 * older version have only that). */
long spool_dir_prune_done(const struct spool_dir *sd, int64_t keep_ms, int64_t now_ms, long max,
                          struct error *err)
{
    int fd = dup(sd->done_fd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;
    long removed = 0;

    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return error_set(err, "cannot list %s/done: %s", sd->path, strerror(errno));
    }
    rewinddir(d);
    for (e = readdir(d); e != NULL && removed < max; e = readdir(d)) {
        struct stat st;
        int64_t at;
        if (e->d_name[0] == '.' || fstatat(sd->done_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode))
            continue;
        at = ms_of(st.st_ctim) < ms_of(st.st_mtim) ? ms_of(st.st_ctim) : ms_of(st.st_mtim);
        if (now_ms - at < keep_ms)
            continue;
        if (unlinkat(sd->done_fd, e->d_name, 0) == 0) {
            removed++;
        } else if (errno != ENOENT) {
            char shown[256];
            log_warn("spool", NULL, "cannot remove %s/done/%s: %s", sd->path,
                     text_escape(e->d_name, shown, sizeof(shown)), strerror(errno));
        }
    }
    closedir(d);
    return removed;
}
