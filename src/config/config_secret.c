/* Secret files: tokens and keys live in files, never in the config text.
 *
 * The same checks run at load (so --check-config catches a bad mode) and at
 * use (the file may have changed since): the path must open as a regular,
 * non-empty file owned by the daemon's own user (or root, as systemd's
 * LoadCredential= leaves them), its mode must give group and others nothing
 * (mode & 077 == 0), and no directory above it may be writable by group or
 * others without the sticky bit: whoever may write such a directory may
 * swap the file for one of their own between two reads. A secret that
 * leaked to other local users, or that another user controls, is refused
 * rather than used. Both check and read work on one open descriptor, so
 * what was checked is what is read; a 0-byte file (an empty token, or a
 * procfs file that reports no size) is refused. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Big enough for a PEM private key with its chain; a larger "secret" is
 * almost certainly the wrong file. */
#define SECRET_MAX_BYTES (64 * 1024)

char *config_secret_resolve(const char *value, const char *config_dir, char *why, size_t why_len)
{
    const char *base = NULL;
    char *path = NULL;
    size_t len = 0;

    if (value[0] == '/') {
        path = strdup(value);
        goto out;
    }
    /* systemd's LoadCredential= puts credentials there; it wins so the unit
     * file, not the config, decides where secrets come from. */
    base = getenv("CREDENTIALS_DIRECTORY");
    if (base == NULL || base[0] == '\0')
        base = config_dir;
    if (base == NULL) {
        snprintf(why, why_len,
                 "relative secret file %s needs $CREDENTIALS_DIRECTORY or an absolute path", value);
        return NULL;
    }
    len = strlen(base) + 1 + strlen(value) + 1;
    path = malloc(len);
    if (path != NULL)
        snprintf(path, len, "%s/%s", base, value);
out:
    if (path == NULL)
        snprintf(why, why_len, "out of memory");
    return path;
}

/* Tests set this to play another user: -1 is the real effective uid. */
static long secret_owner_uid = -1;

void config_secret_set_owner_uid(long uid)
{
    secret_owner_uid = uid;
}

static uid_t expected_owner(void)
{
    return secret_owner_uid >= 0 ? (uid_t)secret_owner_uid : geteuid();
}

/* Every directory above the file (after symlinks are resolved): one that
 * group or others may write, without the sticky bit, lets them rename the
 * secret away and put their own in its place. */
static int check_parents(const char *path, char *why, size_t why_len)
{
    char real[PATH_MAX];
    struct stat st;
    char *dir = NULL;

    if (realpath(path, real) == NULL) {
        snprintf(why, why_len, "cannot resolve secret file %s: %s", path, strerror(errno));
        return -1;
    }
    dir = dirname(real);
    for (;;) {
        if (stat(dir, &st) != 0) {
            snprintf(why, why_len, "cannot stat %s (above secret file %s): %s", dir, path,
                     strerror(errno));
            return -1;
        }
        if ((st.st_mode & 022) != 0 && (st.st_mode & S_ISVTX) == 0) {
            snprintf(why, why_len,
                     "secret file %s is in %s, which group or others may write (mode %04o, "
                     "no sticky bit); move the secret or chmod go-w the directory",
                     path, dir, (unsigned)(st.st_mode & 07777));
            return -1;
        }
        if (strcmp(dir, "/") == 0 || strcmp(dir, ".") == 0)
            break;
        dir = dirname(dir);
    }
    return 0;
}

/* Opens path and checks it; returns the descriptor or -1 with why set. */
static int secret_open(const char *path, struct stat *st, char *why, size_t why_len)
{
    int fd = -1;
    uid_t owner = expected_owner();

    /* O_NONBLOCK: a FIFO must be refused, not block the daemon on open. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        snprintf(why, why_len, "cannot open secret file %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, st) < 0) {
        snprintf(why, why_len, "cannot stat secret file %s: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st->st_mode)) {
        snprintf(why, why_len, "secret file %s is not a regular file", path);
        goto fail;
    }
    if ((st->st_mode & 077) != 0) {
        snprintf(why, why_len, "secret file %s is %s by group or others (mode %04o); chmod 600 it",
                 path,
                 (st->st_mode & 044) != 0 && (st->st_mode & 022) != 0 ? "readable and writable"
                 : (st->st_mode & 044) != 0                           ? "readable"
                 : (st->st_mode & 022) != 0                           ? "writable"
                                                                      : "accessible",
                 (unsigned)(st->st_mode & 07777));
        goto fail;
    }
    if (st->st_uid != owner && st->st_uid != 0) {
        snprintf(why, why_len,
                 "secret file %s belongs to uid %u, not to the daemon's user (uid %u) or root",
                 path, (unsigned)st->st_uid, (unsigned)owner);
        goto fail;
    }
    if (st->st_size == 0) {
        snprintf(why, why_len, "secret file %s is empty", path);
        goto fail;
    }
    if (check_parents(path, why, why_len) != 0)
        goto fail;
    if (st->st_size > SECRET_MAX_BYTES) {
        snprintf(why, why_len, "secret file %s is larger than %d bytes", path, SECRET_MAX_BYTES);
        goto fail;
    }
    return fd;
fail:
    close(fd);
    return -1;
}

int config_secret_check(const char *path, char *why, size_t why_len)
{
    struct stat st;
    int fd = secret_open(path, &st, why, why_len);

    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

char *config_secret_read(const char *path, struct error *err)
{
    char why[512];
    struct stat st;
    char *buf = NULL;
    char *result = NULL;
    size_t cap = 0;
    size_t len = 0;
    ssize_t n = 0;
    int fd = -1;

    fd = secret_open(path, &st, why, sizeof(why));
    if (fd < 0) {
        error_set(err, "%s", why);
        goto out;
    }
    /* One allocation sized from fstat (plus one byte to notice growth):
     * realloc would leave copies of the secret in freed memory. */
    cap = (size_t)st.st_size + 2;
    buf = malloc(cap);
    if (buf == NULL) {
        error_set(err, "out of memory reading secret file %s", path);
        goto out;
    }
    for (;;) {
        n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0) {
            error_set(err, "cannot read secret file %s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == cap - 1) {
            error_set(err, "secret file %s changed while being read", path);
            goto out;
        }
    }
    buf[len] = '\0';
    /* One trailing newline is how editors and `echo` end a file; it is not
     * part of the secret. A CRLF counts as one newline. */
    if (len > 0 && buf[len - 1] == '\n') {
        buf[--len] = '\0';
        if (len > 0 && buf[len - 1] == '\r')
            buf[--len] = '\0';
    }
    if (len == 0 || strlen(buf) != len) {
        error_set(err, "secret file %s is %s", path, len == 0 ? "empty" : "binary (holds NUL)");
        goto out;
    }
    result = buf;
    buf = NULL;
out:
    if (buf != NULL) {
        explicit_bzero(buf, cap);
        free(buf);
    }
    if (fd >= 0)
        close(fd);
    return result;
}

void config_secret_free(char *secret)
{
    if (secret == NULL)
        return;
    explicit_bzero(secret, strlen(secret));
    free(secret);
}
