#include "lockfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int lockfile_acquire(const char *state_dir, struct error *err)
{
    char path[PATH_MAX], pid[32] = "";
    int fd;
    ssize_t n;

    snprintf(path, sizeof(path), "%s/crmsyncd.lock", state_dir);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return error_set(err, "cannot open lock file %s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        n = pread(fd, pid, sizeof(pid) - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(fd);
        if (e == EWOULDBLOCK)
            return error_set(err,
                             "another crmsyncd (pid %s) is running on state directory %s; "
                             "only one writer is allowed",
                             pid[0] ? pid : "unknown", state_dir);
        return error_set(err, "cannot lock %s: %s", path, strerror(e));
    }
    n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        /* The lock holds without the pid; it only makes the message nicer. */
    }
    return fd;
}

void lockfile_release(int fd)
{
    if (fd >= 0)
        close(fd);
}
