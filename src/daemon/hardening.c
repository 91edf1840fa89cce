/* Process hardening at start: see hardening.h. */
#include "hardening.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* The core limit the process had before the first call, so that allowing
 * dumps again gives back what the operator set (ulimit -c, LimitCORE=). */
static struct rlimit saved_core;
static int saved_core_valid;

void hardening_umask(void)
{
    umask(077);
}

static int save_core_limit(struct error *err)
{
    if (!saved_core_valid) {
        if (getrlimit(RLIMIT_CORE, &saved_core) != 0)
            return error_set(err, "getrlimit(RLIMIT_CORE): %s", strerror(errno));
        saved_core_valid = 1;
    }
    return 0;
}

int hardening_core_dumps_early(struct error *err)
{
    struct rlimit soft_off;

    if (save_core_limit(err) != 0)
        return -1;
    /* The hard limit stays: lowering it cannot be undone without privilege,
     * and allow_core_dumps is not known yet. */
    soft_off.rlim_cur = 0;
    soft_off.rlim_max = saved_core.rlim_max;
    if (setrlimit(RLIMIT_CORE, &soft_off) != 0)
        return error_set(err, "setrlimit(RLIMIT_CORE, 0): %s", strerror(errno));
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        return error_set(err, "prctl(PR_SET_DUMPABLE, 0): %s", strerror(errno));
    return 0;
}

int hardening_core_dumps(int allow, struct error *err)
{
    struct rlimit none = {0, 0};

    if (save_core_limit(err) != 0)
        return -1;
    if (allow) {
        if (setrlimit(RLIMIT_CORE, &saved_core) != 0)
            log_warn("daemon", NULL, "cannot restore the core file limit: %s", strerror(errno));
        if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0)
            return error_set(err, "prctl(PR_SET_DUMPABLE, 1): %s", strerror(errno));
        log_warn("daemon", NULL,
                 "core dumps allowed ([daemon] allow_core_dumps): a core file holds tokens and "
                 "member data");
        return 0;
    }
    /* Lowering the soft and the hard limit is always permitted. */
    if (setrlimit(RLIMIT_CORE, &none) != 0)
        return error_set(err, "setrlimit(RLIMIT_CORE, 0): %s", strerror(errno));
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        return error_set(err, "prctl(PR_SET_DUMPABLE, 0): %s", strerror(errno));
    return 0;
}

int hardening_check_state_dir(const char *dir, struct error *err)
{
    struct stat st;

    if (stat(dir, &st) != 0)
        return error_set(err, "cannot stat state directory %s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return error_set(err, "state directory %s is not a directory", dir);
    if ((st.st_mode & 007) != 0)
        return error_set(err,
                         "state directory %s is open to others (mode %04o): it holds member "
                         "data and tokens; chmod o-rwx it (0700 is usual)",
                         dir, (unsigned)(st.st_mode & 07777));
    return 0;
}

/* One state file: opened without following a symlink, created 0600 when
 * create is set, its group and other bits taken off. A missing file that
 * is not to be created is fine. */
static int tighten(const char *path, int create, struct error *err)
{
    struct stat st;
    int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    int fd = -1;
    int rc = -1;

    if (create)
        flags = O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    fd = open(path, flags, 0600);
    if (fd < 0 && errno == ENOENT && !create)
        return 0;
    if (fd < 0) {
        error_set(err, "cannot open state file %s: %s%s", path, strerror(errno),
                  errno == ELOOP ? " (a symlink: refused)" : "");
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        error_set(err, "cannot stat state file %s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        error_set(err, "state file %s is not a regular file", path);
        goto out;
    }
    if (st.st_uid != geteuid()) {
        error_set(err, "state file %s belongs to uid %u, not to the daemon's user (uid %u)", path,
                  (unsigned)st.st_uid, (unsigned)geteuid());
        goto out;
    }
    if ((st.st_mode & 077) != 0) {
        if (fchmod(fd, st.st_mode & 0700) != 0) {
            error_set(err, "cannot chmod state file %s: %s", path, strerror(errno));
            goto out;
        }
        log_notice("daemon", NULL,
                   "state file %s was open to group or others (mode %04o): now %04o", path,
                   (unsigned)(st.st_mode & 07777), (unsigned)(st.st_mode & 0700));
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

int hardening_state_files(const char *db_path, struct error *err)
{
    static const char *const suffixes[] = {"-wal", "-shm", "-journal"};
    char path[4096];

    if (tighten(db_path, 1, err) != 0)
        return -1;
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        int n = snprintf(path, sizeof(path), "%s%s", db_path, suffixes[i]);
        if (n < 0 || (size_t)n >= sizeof(path))
            return error_set(err, "state path too long: %s", db_path);
        if (tighten(path, 0, err) != 0)
            return -1;
    }
    return 0;
}
