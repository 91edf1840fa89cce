/* The spool connector: the shop drops JSON-lines files into a directory
 * (docs/spool-format.md). A file is taken only when it is complete
 * (spool_watch.h: closed after writing or renamed in, else unchanged for
 * [connector] settle_time). Each scan lists the directory once; the ready
 * files are then read in name order, in pages of [state] txn_max_changes
 * lines: one page is one transaction through the pull sink and may hold
 * several small files, and the loop runs between pages so signals and the
 * watchdog are never starved by a large file. When a page is committed,
 * the files it finished move to done/ (or failed/, when more than
 * max_rejected lines were bad); bad lines are reported in failed/<file>.err
 * and filed as dead letters while the good lines are applied. The
 * directories are used through descriptors opened once (spool_dir.h).
 *
 * After a crash the file is still in the spool and is read again from its
 * first line: every event id is an idempotency key, so the lines committed
 * before the crash are duplicates that add nothing. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "spool_int.h"
#include "textesc.h"
#include "timefmt.h"

/* Most files in one transaction: bounds the moves done after a commit. */
#define FILES_PER_TXN 256

static const struct config_option spool_options[] = {
    {"dir", CONFIG_PATH, "/var/spool/crmsyncd", offsetof(struct spool_settings, dir), 0, 0, 0, NULL,
     "directory the shop drops *.jsonl files into"},
    {"scan_interval", CONFIG_DURATION_MS, "5s", offsetof(struct spool_settings, scan_interval_ms),
     0, 100, 86400000, NULL, "periodic rescan, besides file-system events"},
    {"settle_time", CONFIG_DURATION_MS, "2s", offsetof(struct spool_settings, settle_ms), 0, 0,
     3600000, NULL,
     "a file not seen closed (no inotify, found at start) is taken when its size and mtime have "
     "not changed for this long"},
    {"max_line", CONFIG_SIZE, "64k", offsetof(struct spool_settings, max_line), 0, 256,
     16 * 1024 * 1024, NULL, "longest accepted line; longer lines are rejected"},
    {"max_rejected", CONFIG_INT, "100", offsetof(struct spool_settings, max_rejected), 0, 1,
     1000000, NULL,
     "bad lines accepted per file; one more and the file is abandoned and moved to failed/"},
    {"keep_done", CONFIG_DURATION_MS, "3d", offsetof(struct spool_settings, keep_done_ms), 0, 0,
     315360000000L, NULL,
     "how long processed files stay in done/ (they hold the events as written, personal data "
     "included; an erasure removes the erased member's lines from them); 0: removed at the next "
     "scan"},
    {"purposes", CONFIG_STRING, "marketing,loyalty_programme,profiling",
     offsetof(struct spool_settings, purposes), 0, 0, 0, NULL, "accepted consent purposes"},
    {"channels", CONFIG_STRING, "email,sms,phone,post", offsetof(struct spool_settings, channels),
     0, 0, 0, NULL, "accepted consent channels"},
    {"attributes", CONFIG_STRING, "email,phone,first_name,last_name,birthday",
     offsetof(struct spool_settings, attributes), 0, 0, 0, NULL,
     "profile attributes accepted (keep to what the CRMs need)"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL},
};

static const struct config_table spool_config = {"spool", spool_options,
                                                 sizeof(struct spool_settings)};

static void schedule_work(struct spool *s, uint64_t delay_ms);

static void free_list(char **list)
{
    for (size_t i = 0; list != NULL && list[i] != NULL; i++)
        free(list[i]);
    free(list);
}

/* "a, b,c" -> {"a", "b", "c", NULL} */
static char **split_list(const char *text)
{
    size_t n = 1;
    char **out;
    const char *p = text;
    size_t k = 0;

    for (const char *q = text; *q; q++)
        n += *q == ',';
    out = calloc(n + 1, sizeof(*out));
    if (out == NULL)
        return NULL;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len > 0 && (*p == ' ' || *p == '\t'))
            p++, len--;
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len > 0) {
            out[k] = strndup(p, len);
            if (out[k] == NULL) {
                free_list(out);
                return NULL;
            }
            k++;
        }
        if (end == NULL)
            break;
        p = end + 1;
    }
    return out;
}

static void clear_queue(struct spool *s)
{
    spool_watch_free_list(s->queue, s->nqueue);
    s->queue = NULL;
    s->nqueue = s->qpos = 0;
}

/* Lists the spool once; the ready files become the queue. Returns 1 when
 * there is work. */
static int scan(struct spool *s)
{
    struct error err = {""};
    long wait_ms = -1;

    clear_queue(s);
    s->rescan = 0;
    if (spool_watch_scan(s->watch, s->dir.fd, timefmt_now_ms(), s->cfg->settle_ms, &s->queue,
                         &s->nqueue, &wait_ms, &err) != 0) {
        log_error("spool", s->conn->name, "%s", err.msg);
        return 0;
    }
    if (s->nqueue == 0 && wait_ms >= 0)
        schedule_work(s, (uint64_t)wait_ms + 1); /* a file settles then */
    return s->nqueue > 0;
}

/* The watermark of a page: where it ended, as JSON built by jansson (the
 * name is the shop's, and may hold quotes). */
static char *watermark(const struct spool *s)
{
    const struct spool_file *f = s->have_cur        ? &s->cur
                                 : s->nfinished > 0 ? &s->finished[s->nfinished - 1]
                                                    : NULL;
    json_t *o = NULL;
    char *text = NULL;

    if (f == NULL)
        return NULL;
    o = json_pack("{s:s,s:I}", "file", f->name, "line", (json_int_t)f->lineno);
    if (o != NULL)
        text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

/* One transaction: up to [state] txn_max_changes lines, of as many ready
 * files as they span (at most FILES_PER_TXN). */
static void work_cb(uv_timer_t *t)
{
    struct spool *s = t->data;
    struct pull_sink *sink = s->conn->sink;
    struct error err = {""};
    char *wm = NULL;
    long n = 0;
    int files = 0;

    if (s->closing || s->failing)
        return;
    if (!s->have_cur && s->qpos >= s->nqueue && !scan(s))
        return;
    s->conn->busy = 1;
    if (sink->begin(sink->ctx, s->conn, &err) != 0)
        goto fail;
    while (n < s->conn->page_max_changes) {
        long lines = 0;
        int r;

        if (!s->have_cur) {
            if (s->qpos >= s->nqueue || files >= FILES_PER_TXN)
                break;
            r = spool_file_start(s, s->queue[s->qpos++], &err);
            if (r < 0)
                goto fail_abort;
            if (r > 0)
                continue;
            files++;
        }
        r = spool_file_read(s, s->conn->page_max_changes - n, &lines, &err);
        n += lines;
        if (r < 0)
            goto fail_abort;
        if (r > 0 && spool_file_end(s, &err) != 0)
            goto fail_abort;
    }
    wm = watermark(s);
    if (sink->commit(sink->ctx, s->conn, wm, &err) != 0)
        goto fail;
    free(wm);
    s->conn->busy = 0;
    spool_file_move_finished(s);
    /* The next page after 1 ms, not 0: libuv before 1.48 (Debian 12 has
     * 1.44) runs a timer started with timeout 0 from its own callback again
     * in the same pass over the timers, without polling for I/O (libuv
     * issue 4245), so a whole file was read in one loop iteration and the
     * HubSpot requests in flight timed out behind a 1M-line file (the 10M
     * soak: 120-141 s). With 1 the loop polls between pages. */
    if (s->have_cur || s->qpos < s->nqueue || s->rescan)
        schedule_work(s, 1);
    return;
fail_abort:
    sink->abort(sink->ctx, s->conn);
fail:
    free(wm);
    s->conn->busy = 0;
    /* Nothing of this page was committed; its files stay in the spool and
     * are read again from their first line at the next scan. */
    log_error("spool", s->conn->name, "%s%s%s; will retry at the next scan",
              s->have_cur ? s->cur.shown : "", s->have_cur ? ": " : "", err.msg);
    spool_file_drop_all(s);
    clear_queue(s);
    s->failing = 1;
}

static void schedule_work(struct spool *s, uint64_t delay_ms)
{
    if (!s->closing)
        uv_timer_start(&s->work_timer, work_cb, delay_ms, 0);
}

/* Something may be new: scan now, or after the files being read. */
static void poke(struct spool *s)
{
    if (s->have_cur || s->qpos < s->nqueue)
        s->rescan = 1;
    else if (!s->failing && !s->conn->busy)
        schedule_work(s, 0);
}

/* done/ retention, at most once a minute (every scan when keep_done is
 * shorter), 1,000 files a round. */
static void prune_done(struct spool *s)
{
    int64_t now = timefmt_now_ms();
    int64_t every = s->cfg->keep_done_ms < 60000 ? 0 : 60000;
    struct error err = {""};
    long n;

    if (now - s->pruned_at < every)
        return;
    s->pruned_at = now;
    n = spool_dir_prune_done(&s->dir, s->cfg->keep_done_ms, now, 1000, &err);
    if (n < 0)
        log_warn("spool", s->conn->name, "keep_done: %s", err.msg);
    else if (n > 0)
        log_info("spool", s->conn->name,
                 "keep_done: %ld file(s) older than %ld s removed from done/", n,
                 s->cfg->keep_done_ms / 1000);
}

static void scan_cb(uv_timer_t *t)
{
    struct spool *s = t->data;
    s->failing = 0;
    prune_done(s);
    poke(s);
}

/* inotify: what was closed after writing or moved in may be complete;
 * what was written or created is not. */
static void inotify_cb(uv_poll_t *h, int status, int events)
{
    struct spool *s = h->data;
    char buf[16 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
    int any = 0;

    (void)events;
    if (status < 0) {
        log_warn("spool", s->conn->name, "inotify: %s", uv_strerror(status));
        return;
    }
    for (;;) {
        ssize_t len = read(s->inotify_fd, buf, sizeof(buf));
        if (len <= 0)
            break;
        for (char *p = buf; p < buf + len;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            /* Only what may make a file ready asks for a scan: a writer's
             * every write must not cost a listing of the spool. */
            if (ev->mask & IN_Q_OVERFLOW) {
                spool_watch_forget_all(s->watch);
                any = 1;
            } else if (ev->len > 0 && (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO))) {
                spool_watch_closed(s->watch, ev->name);
                any = 1;
            } else if (ev->len > 0 && (ev->mask & (IN_MODIFY | IN_CREATE))) {
                spool_watch_changed(s->watch, ev->name);
            }
            p += sizeof(struct inotify_event) + ev->len;
        }
    }
    if (any)
        poke(s);
}

/* Watches the spool we hold open (through /proc/self/fd, so the watch is
 * on that directory even if its path was swapped since). */
static void start_inotify(struct spool *s)
{
    char path[64];
    int r;

    s->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (s->inotify_fd < 0) {
        log_warn("spool", s->conn->name,
                 "no inotify (%s): files are taken once unchanged for settle_time",
                 strerror(errno));
        return;
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", s->dir.fd);
    if (inotify_add_watch(s->inotify_fd, path,
                          IN_CLOSE_WRITE | IN_MOVED_TO | IN_MODIFY | IN_CREATE | IN_ONLYDIR) < 0 &&
        inotify_add_watch(s->inotify_fd, s->cfg->dir,
                          IN_CLOSE_WRITE | IN_MOVED_TO | IN_MODIFY | IN_CREATE | IN_ONLYDIR |
                              IN_DONT_FOLLOW) < 0) {
        log_warn("spool", s->conn->name,
                 "cannot watch %s (%s): files are taken once unchanged for settle_time",
                 s->cfg->dir, strerror(errno));
        close(s->inotify_fd);
        s->inotify_fd = -1;
        return;
    }
    r = uv_poll_init(s->conn->loop, &s->poll, s->inotify_fd);
    if (r != 0) {
        log_warn("spool", s->conn->name, "cannot poll inotify: %s", uv_strerror(r));
        close(s->inotify_fd);
        s->inotify_fd = -1;
        return;
    }
    s->poll.data = s;
    s->handles_open++;
    uv_poll_start(&s->poll, UV_READABLE, inotify_cb);
}

static int spool_open(struct connector *conn, struct error *err)
{
    struct spool *s = calloc(1, sizeof(*s));
    int rc = -1;

    if (s == NULL)
        return error_set(err, "out of memory");
    conn->priv = s;
    s->conn = conn;
    s->cfg = conn->settings;
    s->inotify_fd = -1;
    s->dir.fd = s->dir.done_fd = s->dir.failed_fd = -1;
    for (int i = 0; i < 3; i++) {
        const char *text = i == 0   ? s->cfg->purposes
                           : i == 1 ? s->cfg->channels
                                    : s->cfg->attributes;
        s->lists[i] = split_list(text ? text : "");
        if (s->lists[i] == NULL) {
            error_set(err, "out of memory");
            goto out;
        }
    }
    s->vocab.purposes = (const char *const *)s->lists[0];
    s->vocab.channels = (const char *const *)s->lists[1];
    s->vocab.attributes = (const char *const *)s->lists[2];
    s->bufsize = (size_t)s->cfg->max_line + 2;
    s->buf = malloc(s->bufsize);
    s->watch = spool_watch_new();
    if (s->buf == NULL || s->watch == NULL) {
        error_set(err, "out of memory");
        goto out;
    }
    if (spool_dir_open(&s->dir, s->cfg->dir, err) != 0)
        goto out;
    uv_timer_init(conn->loop, &s->scan_timer);
    uv_timer_init(conn->loop, &s->work_timer);
    s->handles_open = 2;
    s->scan_timer.data = s->work_timer.data = s;
    start_inotify(s);
    uv_timer_start(&s->scan_timer, scan_cb, (uint64_t)s->cfg->scan_interval_ms,
                   (uint64_t)s->cfg->scan_interval_ms);
    log_info("spool", conn->name, "watching %s", s->cfg->dir);
    rc = 0;
out:
    return rc;
}

static void spool_pull(struct connector *conn)
{
    struct spool *s = conn->priv;
    s->failing = 0;
    poke(s);
}

static void free_spool(struct spool *s)
{
    for (int i = 0; i < 3; i++)
        free_list(s->lists[i]);
    clear_queue(s);
    free(s->finished);
    spool_watch_free(s->watch);
    spool_dir_close(&s->dir);
    if (s->inotify_fd >= 0)
        close(s->inotify_fd);
    free(s->buf);
    free(s);
}

static void handle_closed(uv_handle_t *h)
{
    struct spool *s = h->data;
    if (--s->handles_open == 0) {
        struct connector *conn = s->conn;
        void (*closed)(struct connector *) = s->closed;
        free_spool(s);
        conn->priv = NULL;
        if (closed != NULL)
            closed(conn);
    }
}

static void spool_close(struct connector *conn, void (*done)(struct connector *conn))
{
    struct spool *s = conn->priv;

    if (s == NULL) {
        if (done != NULL)
            done(conn);
        return;
    }
    s->closing = 1;
    s->closed = done;
    /* Pages are synchronous, so no transaction is open here: a file left
     * half-read is read again from the start next time, at no cost. */
    spool_file_drop_all(s);
    if (s->handles_open == 0) {
        free_spool(s);
        conn->priv = NULL;
        if (done != NULL)
            done(conn);
        return;
    }
    uv_close((uv_handle_t *)&s->scan_timer, handle_closed);
    uv_close((uv_handle_t *)&s->work_timer, handle_closed);
    if (s->inotify_fd >= 0)
        uv_close((uv_handle_t *)&s->poll, handle_closed);
}

static void spool_resync(struct connector *conn)
{
    /* The spool has no remote to re-read: a resync is a rescan. */
    spool_pull(conn);
}

const struct connector_ops spool_connector_ops = {
    .version = 1,
    .type = "spool",
    .max_batch = 0,
    .config = &spool_config,
    .open = spool_open,
    .pull = spool_pull,
    .close = spool_close,
    .resync = spool_resync,
};
