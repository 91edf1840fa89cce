#include "done_scrub.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "store_tombstone.h"
#include "timefmt.h"

/* The erasure's own file reaches done/ after the erasure was applied. */
#define SECOND_ROUND_MS 10000
/* A round that failed (a file it cannot write): again, not at every poke. */
#define RETRY_MS 60000
/* In done/, never a spool file's name (prune_done skips dot files too). */
#define TMP_NAME ".crmsyncd-scrub.tmp"

struct done_scrub {
    uv_loop_t *loop;
    uv_work_t work;
    char *state_path;
    long busy_timeout_ms;
    int64_t seen; /* tombstones at the last poke; -1: none yet */
    int rounds;   /* rounds still due for the last change */
    int64_t due_ms;
    int working;
    int closing;
    /* The round's input (loop) and results (thread pool). */
    char **dirs;
    size_t n_dirs;
    struct store *st;
    long lines, files;
    int failed;
    struct error err;
};

/* 1 when the line is a JSON object whose "member" is erased. */
static int line_erased(const char *line, size_t len, int (*erased)(void *ctx, const char *member),
                       void *ctx)
{
    json_t *doc = json_loadb(line, len, 0, NULL);
    json_t *m = json_object_get(doc, "member");
    int yes = json_is_string(m) && erased(ctx, json_string_value(m));

    json_decref(doc);
    return yes;
}

/* First pass: is there anything to remove? Most files hold no erased
 * member and are only read. */
static int any_erased(FILE *in, char **line, size_t *cap,
                      int (*erased)(void *ctx, const char *member), void *ctx)
{
    ssize_t len;

    for (len = getline(line, cap, in); len > 0; len = getline(line, cap, in)) {
        if (line_erased(*line, (size_t)len, erased, ctx))
            return 1;
    }
    return 0;
}

/* Second pass: the lines kept, copied to out; returns how many, and
 * *dropped how many were left out. */
static long copy_kept(FILE *in, FILE *out, char **line, size_t *cap,
                      int (*erased)(void *ctx, const char *member), void *ctx, long *dropped)
{
    ssize_t len;
    long kept = 0;

    for (len = getline(line, cap, in); len > 0; len = getline(line, cap, in)) {
        if (line_erased(*line, (size_t)len, erased, ctx)) {
            (*dropped)++;
            continue;
        }
        if (fwrite(*line, 1, (size_t)len, out) != (size_t)len)
            break;
        kept++;
    }
    return kept;
}

/* Rewrites sub/name (sub: "done" or "failed") without the erased members'
 * lines (removes it when none is left). *dropped: lines removed, 0 when the
 * file had none. The rewrite keeps the file's times: done/ is pruned by its
 * age (spool_dir_prune_done), and an erasure must not restart keep_done. */
static int scrub_file(int done_fd, const char *dir, const char *sub, const char *name,
                      int (*erased)(void *ctx, const char *member), void *ctx, long *dropped,
                      struct error *err)
{
    int fd = openat(done_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    FILE *in = fd >= 0 ? fdopen(fd, "r") : NULL;
    FILE *out = NULL;
    struct stat st;
    char *line = NULL;
    size_t cap = 0;
    long kept = 0;
    int rc = -1;

    *dropped = 0;
    if (in == NULL) {
        if (fd >= 0)
            close(fd);
        if (errno == ENOENT)
            return 0; /* removed meanwhile (keep_done) */
        return error_set(err, "cannot read %s/%s/%s: %s", dir, sub, name, strerror(errno));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(in);
        return 0;
    }
    if (!any_erased(in, &line, &cap, erased, ctx)) {
        rc = 0;
        goto out;
    }
    rewind(in);
    {
        int tfd = openat(done_fd, TMP_NAME, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                         st.st_mode & 0777);
        out = tfd >= 0 ? fdopen(tfd, "w") : NULL;
        if (out == NULL) {
            if (tfd >= 0)
                close(tfd);
            error_set(err, "cannot write %s/%s/%s: %s", dir, sub, TMP_NAME, strerror(errno));
            goto out;
        }
    }
    kept = copy_kept(in, out, &line, &cap, erased, ctx, dropped);
    if (ferror(in) || ferror(out) || fflush(out) != 0 ||
        futimens(fileno(out), (const struct timespec[2]){st.st_atim, st.st_mtim}) != 0 ||
        fsync(fileno(out)) != 0) {
        error_set(err, "cannot rewrite %s/%s/%s: %s", dir, sub, name, strerror(errno));
        goto out;
    }
    fclose(out);
    out = NULL;
    if (kept == 0) {
        unlinkat(done_fd, TMP_NAME, 0);
        if (unlinkat(done_fd, name, 0) != 0 && errno != ENOENT) {
            error_set(err, "cannot remove %s/%s/%s: %s", dir, sub, name, strerror(errno));
            goto out;
        }
    } else if (renameat(done_fd, TMP_NAME, done_fd, name) != 0) {
        error_set(err, "cannot replace %s/%s/%s: %s", dir, sub, name, strerror(errno));
        goto out;
    }
    fsync(done_fd);
    rc = 0;
out:
    if (out != NULL) {
        fclose(out);
        unlinkat(done_fd, TMP_NAME, 0);
    }
    free(line);
    fclose(in);
    return rc;
}

static int scrub_sub(const char *dir, const char *sub, int (*erased)(void *ctx, const char *member),
                     void *ctx, long *lines, long *files, struct error *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int done_fd = fd >= 0 ? openat(fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
    int list_fd = done_fd >= 0 ? dup(done_fd) : -1;
    DIR *d = list_fd >= 0 ? fdopendir(list_fd) : NULL;
    struct dirent *e;
    int rc = 0;

    if (fd >= 0)
        close(fd);
    if (d == NULL) {
        int was = errno;
        if (list_fd >= 0)
            close(list_fd);
        if (done_fd >= 0)
            close(done_fd);
        if (was == ENOENT)
            return 0; /* no done/ yet */
        return error_set(err, "cannot list %s/%s: %s", dir, sub, strerror(was));
    }
    unlinkat(done_fd, TMP_NAME, 0); /* left by a crash */
    for (e = readdir(d); e != NULL; e = readdir(d)) {
        long dropped = 0;
        if (e->d_name[0] == '.')
            continue;
        if (scrub_file(done_fd, dir, sub, e->d_name, erased, ctx, &dropped, err) != 0) {
            rc = -1;
            break;
        }
        if (dropped > 0) {
            *lines += dropped;
            (*files)++;
        }
    }
    closedir(d);
    close(done_fd);
    return rc;
}

/* done/ (the events as the shop wrote them) and failed/ (files set aside
 * for the operator to fix and send again: an erased member's lines must not
 * come back that way either). */
int done_scrub_dir(const char *dir, int (*erased)(void *ctx, const char *member), void *ctx,
                   long *lines, long *files, struct error *err)
{
    if (scrub_sub(dir, "done", erased, ctx, lines, files, err) != 0)
        return -1;
    return scrub_sub(dir, "failed", erased, ctx, lines, files, err);
}

static int store_erased(void *ctx, const char *member)
{
    struct done_scrub *ds = ctx;
    struct error err = {""};
    int yes = 0;

    /* An unreadable tombstone keeps the line: the next round tries again. */
    if (store_member_erased(ds->st, member, &yes, &err) != 0)
        return 0;
    return yes;
}

static void free_dirs(struct done_scrub *ds)
{
    for (size_t i = 0; i < ds->n_dirs; i++)
        free(ds->dirs[i]);
    free(ds->dirs);
    ds->dirs = NULL;
    ds->n_dirs = 0;
}

/* Thread pool. */
static void scrub(uv_work_t *w)
{
    struct done_scrub *ds = w->data;
    struct store_options so = {0};

    ds->failed = 1;
    ds->lines = ds->files = 0;
    memset(&ds->err, 0, sizeof(ds->err));
    so.path = ds->state_path;
    so.busy_timeout_ms = ds->busy_timeout_ms;
    so.readonly = 1;
    ds->st = NULL;
    if (store_open(&so, &ds->st, &ds->err) != 0)
        return;
    ds->failed = 0;
    for (size_t i = 0; i < ds->n_dirs && !ds->failed; i++) {
        if (done_scrub_dir(ds->dirs[i], store_erased, ds, &ds->lines, &ds->files, &ds->err) != 0)
            ds->failed = 1;
    }
    store_close(ds->st);
    ds->st = NULL;
}

static void maybe_free(struct done_scrub *ds)
{
    if (!ds->closing || ds->working)
        return;
    free_dirs(ds);
    free(ds->state_path);
    free(ds);
}

static void after_scrub(uv_work_t *w, int status)
{
    struct done_scrub *ds = w->data;

    ds->working = 0;
    if (status == 0 && ds->failed) {
        log_warn("spool", NULL,
                 "erasure: done/ and failed/ files not rewritten: %s (tried again in a minute)",
                 ds->err.msg);
        ds->due_ms = timefmt_now_ms() + RETRY_MS;
    } else if (status == 0) {
        if (ds->lines > 0)
            log_info("spool", NULL,
                     "erasure: %ld line(s) of erased members removed from %ld file(s) in done/ and "
                     "failed/",
                     ds->lines, ds->files);
        ds->rounds--;
        ds->due_ms = timefmt_now_ms() + SECOND_ROUND_MS;
    }
    free_dirs(ds);
    maybe_free(ds);
}

struct done_scrub *done_scrub_new(uv_loop_t *loop, const char *state_path, long busy_timeout_ms)
{
    struct done_scrub *ds = calloc(1, sizeof(*ds));

    if (ds == NULL)
        return NULL;
    ds->state_path = strdup(state_path);
    if (ds->state_path == NULL) {
        free(ds);
        return NULL;
    }
    ds->loop = loop;
    ds->busy_timeout_ms = busy_timeout_ms;
    ds->seen = -1;
    return ds;
}

/* The dir option of every spool connector, copied for the thread pool. */
static int collect_dirs(struct done_scrub *ds, const struct config *cfg)
{
    ds->dirs = calloc(cfg->n_connectors + 1, sizeof(*ds->dirs));
    if (ds->dirs == NULL)
        return -1;
    for (size_t i = 0; i < cfg->n_connectors; i++) {
        const struct connector_config *cc = &cfg->connectors[i];
        const struct config_option *o = config_option_find(cc->table, "dir");
        const char *dir;
        if (cc->type == NULL || strcmp(cc->type, "spool") != 0 || o == NULL ||
            (o->type != CONFIG_STRING && o->type != CONFIG_PATH))
            continue;
        dir = *(char *const *)((const char *)cc->settings + o->offset);
        if (dir == NULL || dir[0] == '\0')
            continue;
        ds->dirs[ds->n_dirs] = strdup(dir);
        if (ds->dirs[ds->n_dirs] == NULL)
            return -1;
        ds->n_dirs++;
    }
    return 0;
}

void done_scrub_poke(struct done_scrub *ds, const struct config *cfg, int64_t tombstones)
{
    int64_t now = timefmt_now_ms();

    if (ds == NULL || ds->closing)
        return;
    if (tombstones != ds->seen) {
        ds->seen = tombstones;
        if (tombstones > 0) {
            ds->rounds = 2;
            ds->due_ms = now;
        }
    }
    if (ds->working || ds->rounds <= 0 || now < ds->due_ms)
        return;
    if (collect_dirs(ds, cfg) != 0) {
        free_dirs(ds);
        log_warn("spool", NULL, "erasure: out of memory; done/ rewritten later");
        return;
    }
    if (ds->n_dirs == 0) {
        free_dirs(ds);
        ds->rounds = 0;
        return;
    }
    ds->working = 1;
    ds->work.data = ds;
    if (uv_queue_work(ds->loop, &ds->work, scrub, after_scrub) != 0) {
        ds->working = 0;
        free_dirs(ds);
    }
}

void done_scrub_close(struct done_scrub *ds)
{
    if (ds == NULL || ds->closing)
        return;
    ds->closing = 1;
    maybe_free(ds);
}
