/* Which spool files are complete: see spool_watch.h. */
#include "spool_watch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct seen {
    char *name;
    int known;   /* size/mtime below were read since the last event */
    int closed;  /* closed after writing (or moved in) and unchanged since */
    int watched; /* inotify has told about it: wait for its close */
    int64_t size;
    int64_t mtime_ns;
    int64_t ino;
    int64_t stable_since_ms;
    unsigned gen; /* the scan that last saw it; 0: only an event so far */
};

struct spool_watch {
    void *root; /* tsearch tree of struct seen, by name */
    unsigned gen;
};

int spool_name_wanted(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 6 && strcmp(name + n - 6, ".jsonl") == 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct seen *)a)->name, ((const struct seen *)b)->name);
}

static void free_seen(void *p)
{
    struct seen *e = p;
    free(e->name);
    free(e);
}

struct spool_watch *spool_watch_new(void)
{
    return calloc(1, sizeof(struct spool_watch));
}

void spool_watch_free(struct spool_watch *w)
{
    if (w == NULL)
        return;
    tdestroy(w->root, free_seen);
    free(w);
}

static struct seen *find(struct spool_watch *w, const char *name)
{
    struct seen key = {.name = (char *)name};
    void *hit = tfind(&key, &w->root, by_name);
    return hit != NULL ? *(struct seen **)hit : NULL;
}

static struct seen *find_or_add(struct spool_watch *w, const char *name)
{
    struct seen *e = find(w, name);
    void *slot = NULL;

    if (e != NULL)
        return e;
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    e->name = strdup(name);
    if (e->name == NULL) {
        free(e);
        return NULL;
    }
    slot = tsearch(e, &w->root, by_name);
    if (slot == NULL) {
        free_seen(e);
        return NULL;
    }
    return e;
}

/* An inotify event for name: watched from now on, its size and time read
 * again; closed: it was closed after writing or moved in (1), or written
 * and not closed since (0). */
static void mark(struct spool_watch *w, const char *name, int closed)
{
    struct seen *e = spool_name_wanted(name) ? find_or_add(w, name) : NULL;
    if (e != NULL) {
        e->closed = closed;
        e->watched = 1;
        e->known = 0;
    }
}

void spool_watch_closed(struct spool_watch *w, const char *name)
{
    mark(w, name, 1);
}

void spool_watch_changed(struct spool_watch *w, const char *name)
{
    mark(w, name, 0);
}

static void forget_one(const void *nodep, VISIT which, void *closure)
{
    struct seen *e = *(struct seen *const *)nodep;
    (void)closure;
    if (which == postorder || which == leaf) {
        e->closed = 0;
        e->watched = 0; /* events were lost: back to the settle time */
        e->known = 0;
    }
}

void spool_watch_forget_all(struct spool_watch *w)
{
    twalk_r(w->root, forget_one, NULL);
}

void spool_watch_forget(struct spool_watch *w, const char *name)
{
    struct seen *e = find(w, name);
    if (e != NULL) {
        tdelete(e, &w->root, by_name);
        free_seen(e);
    }
}

/* The last byte is a newline: the last line is complete. */
static int ends_with_newline(int dirfd, const char *name, int64_t size)
{
    char c = 0;
    int fd;
    ssize_t n;

    if (size <= 0)
        return 0;
    fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return 0;
    n = pread(fd, &c, 1, (off_t)(size - 1));
    close(fd);
    return n == 1 && c == '\n';
}

struct stale {
    unsigned gen;
    struct seen **list;
    size_t n, cap;
    int oom;
};

static void collect_stale(const void *nodep, VISIT which, void *closure)
{
    struct seen *e = *(struct seen *const *)nodep;
    struct stale *st = closure;

    if ((which != postorder && which != leaf) || e->gen == st->gen)
        return;
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 16;
        struct seen **list = realloc(st->list, cap * sizeof(*list));
        if (list == NULL) {
            st->oom = 1;
            return;
        }
        st->list = list;
        st->cap = cap;
    }
    st->list[st->n++] = e;
}

/* Forgets the names this scan did not see (gone since). */
static void drop_stale(struct spool_watch *w)
{
    struct stale st = {w->gen, NULL, 0, 0, 0};

    twalk_r(w->root, collect_stale, &st);
    for (size_t i = 0; i < st.n; i++) {
        tdelete(st.list[i], &w->root, by_name);
        free_seen(st.list[i]);
    }
    free(st.list);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void spool_watch_free_list(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

static int push(char ***list, size_t *n, size_t *cap, const char *name)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        char **l = realloc(*list, c * sizeof(*l));
        if (l == NULL)
            return -1;
        *list = l;
        *cap = c;
    }
    (*list)[*n] = strdup(name);
    if ((*list)[*n] == NULL)
        return -1;
    (*n)++;
    return 0;
}

/* A listing of the spool. fdopendir() owns what it is given: a fresh
 * descriptor of the spool, so that closedir() leaves dirfd open. */
static DIR *open_listing(int dirfd, struct error *err)
{
    DIR *d = NULL;
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0)
        d = fdopendir(fd);
    if (d == NULL) {
        error_set(err, "cannot list the spool: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    return d;
}

/* Takes in what stat says of a regular file: a size, mtime or inode other
 * than last time starts its settle time again. */
static void observe(struct seen *e, const struct stat *st, int64_t now_ms)
{
    int64_t mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;

    if (e->known && e->size == (int64_t)st->st_size && e->mtime_ns == mtime_ns &&
        e->ino == (int64_t)st->st_ino)
        return;
    /* Changed since we last looked, and no close seen since: wait. (An
     * event clears known, so a close after the change keeps closed set.) */
    if (e->known)
        e->closed = 0;
    e->known = 1;
    e->size = (int64_t)st->st_size;
    e->mtime_ns = mtime_ns;
    e->ino = (int64_t)st->st_ino;
    /* Unchanged since its mtime: a file found at start that nobody touched
     * for settle_time is ready at once (a clock set back or a future mtime
     * counts from now). */
    e->stable_since_ms = mtime_ns / 1000000 < now_ms ? mtime_ns / 1000000 : now_ms;
}

int spool_watch_scan(struct spool_watch *w, int dirfd, int64_t now_ms, long settle_ms,
                     char ***ready, size_t *n, long *wait_ms, struct error *err)
{
    DIR *d = NULL;
    struct dirent *de;
    size_t cap = 0;
    int rc = -1;

    *ready = NULL;
    *n = 0;
    *wait_ms = -1;
    w->gen = w->gen + 1 ? w->gen + 1 : 1;
    d = open_listing(dirfd, err);
    if (d == NULL)
        goto out;
    for (;;) {
        struct stat st;
        struct seen *e;

        de = readdir(d);
        if (de == NULL)
            break;
        if (!spool_name_wanted(de->d_name))
            continue;
        if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISDIR(st.st_mode))
            continue;
        e = find_or_add(w, de->d_name);
        if (e == NULL) {
            error_set(err, "out of memory");
            goto out;
        }
        e->gen = w->gen;
        if (!S_ISREG(st.st_mode)) { /* refused by the reader, moved aside */
            if (push(ready, n, &cap, de->d_name) != 0) {
                error_set(err, "out of memory");
                goto out;
            }
            continue;
        }
        observe(e, &st, now_ms);
        /* Closed and complete: now. Open for writing (an event said it
         * changed, no close since): not before its close, however long the
         * writer pauses. Otherwise (never heard of, or closed mid-line):
         * once unchanged for the settle time. */
        if ((e->closed && ends_with_newline(dirfd, de->d_name, e->size)) ||
            ((!e->watched || e->closed) && now_ms - e->stable_since_ms >= settle_ms)) {
            if (push(ready, n, &cap, de->d_name) != 0) {
                error_set(err, "out of memory");
                goto out;
            }
        } else if (!e->watched || e->closed) {
            long left = (long)(e->stable_since_ms + settle_ms - now_ms);
            if (*wait_ms < 0 || left < *wait_ms)
                *wait_ms = left;
        }
    }
    drop_stale(w);
    if (*n > 1)
        qsort(*ready, *n, sizeof(**ready), cmp_names);
    rc = 0;
out:
    if (d != NULL)
        closedir(d);
    if (rc != 0) {
        spool_watch_free_list(*ready, *n);
        *ready = NULL;
        *n = 0;
    }
    return rc;
}
