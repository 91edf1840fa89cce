/* The spool connector: the shop drops JSON-lines files into a directory
 * (docs/spool-format.md). Files are taken in name order, one at a time, and
 * read in pages of [state] txn_max_changes lines; each page is one transaction through
 * the pull sink, and the loop runs between pages so signals and the watchdog
 * are never starved by a large file. When the last page is committed the
 * file moves to done/; bad lines are reported in failed/<file>.err and filed
 * as dead letters while the good lines are applied.
 *
 * After a crash the file is still in the spool and is read again from its
 * first line: every event id is an idempotency key, so the lines committed
 * before the crash are duplicates that add nothing. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connector.h"
#include "crashpoint.h"
#include "log.h"
#include "spool_event.h"
#include "timefmt.h"

struct spool_settings {
    char *dir;
    long scan_interval_ms;
    long max_line;
    char *purposes;
    char *channels;
    char *attributes;
};

static const struct config_option spool_options[] = {
    {"dir", CONFIG_PATH, "/var/spool/crmsyncd", offsetof(struct spool_settings, dir), 0, 0, 0, NULL,
     "directory the shop drops *.jsonl files into"},
    {"scan_interval", CONFIG_DURATION_MS, "5s", offsetof(struct spool_settings, scan_interval_ms),
     0, 100, 86400000, NULL, "periodic rescan, besides file-system events"},
    {"max_line", CONFIG_SIZE, "64k", offsetof(struct spool_settings, max_line), 0, 256,
     16 * 1024 * 1024, NULL, "longest accepted line; longer lines are rejected"},
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

struct spool {
    struct connector *conn;
    const struct spool_settings *cfg;
    uv_fs_event_t watch;
    uv_timer_t scan_timer;
    uv_timer_t work_timer;
    int handles_open;
    int closing;
    void (*closed)(struct connector *conn);

    char **lists[3]; /* purposes, channels, attributes: NULL-terminated */
    struct spool_vocab vocab;

    /* The file being ingested. */
    FILE *in;
    char name[NAME_MAX + 1];
    char errtmp[PATH_MAX];
    FILE *errf;
    long lineno;
    int64_t file_id;
    struct ingest_stats stats;
    char *buf;
    size_t bufsize;
    int failing; /* a database error: wait for the next scan tick */
};

static void schedule_work(struct spool *s);

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

static int make_dir(const char *path, struct error *err)
{
    if (mkdir(path, 0750) != 0 && errno != EEXIST)
        return error_set(err, "cannot create %s: %s", path, strerror(errno));
    return 0;
}

static int fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc;

    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

/* A file is taken when its name ends in .jsonl and does not start with a
 * dot: the shop writes ".name.tmp" (or "name.jsonl.tmp") and renames. */
static int wanted(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 6 && strcmp(name + n - 6, ".jsonl") == 0;
}

static int pick_next_file(struct spool *s, char *name, size_t size)
{
    DIR *d = opendir(s->cfg->dir);
    struct dirent *e;
    int found = 0;

    if (d == NULL) {
        log_error("spool", s->conn->name, "cannot open spool directory %s: %s", s->cfg->dir,
                  strerror(errno));
        return 0;
    }
    for (;;) {
        e = readdir(d);
        if (e == NULL)
            break;
        if (!wanted(e->d_name) || strlen(e->d_name) >= size)
            continue;
        if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN)
            continue;
        if (!found || strcmp(e->d_name, name) < 0) {
            snprintf(name, size, "%s", e->d_name);
            found = 1;
        }
    }
    closedir(d);
    return found;
}

static void close_current(struct spool *s)
{
    if (s->in != NULL)
        fclose(s->in);
    s->in = NULL;
    if (s->errf != NULL) {
        fclose(s->errf);
        unlink(s->errtmp);
    }
    s->errf = NULL;
    s->name[0] = '\0';
}

static int start_file(struct spool *s, const char *name)
{
    char path[PATH_MAX];
    struct error err;

    snprintf(path, sizeof(path), "%s/%s", s->cfg->dir, name);
    s->in = fopen(path, "re");
    if (s->in == NULL) {
        log_error("spool", s->conn->name, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->lineno = 0;
    memset(&s->stats, 0, sizeof(s->stats));
    s->file_id = 0;
    if (s->conn->sink->file_begin(s->conn->sink->ctx, s->conn, name, &s->file_id, &err) != 0) {
        log_error("spool", s->conn->name, "%s", err.msg);
        close_current(s);
        return -1;
    }
    log_info("spool", s->conn->name, "ingesting %s", name);
    return 0;
}

/* Writes one line of the file's error report, opening it on first use. */
static void report_bad_line(struct spool *s, const char *reason)
{
    if (s->errf == NULL) {
        snprintf(s->errtmp, sizeof(s->errtmp), "%s/failed/.%s.err.tmp", s->cfg->dir, s->name);
        s->errf = fopen(s->errtmp, "we");
        if (s->errf == NULL) {
            log_error("spool", s->conn->name, "cannot write %s: %s", s->errtmp, strerror(errno));
            return;
        }
    }
    fprintf(s->errf, "%s:%ld: %s\n", s->name, s->lineno, reason);
}

/* Reads the next line into s->buf. Returns 1 with a line, 0 at end of file,
 * -1 on a read error. *too_long is set for a line over max_line, which is
 * consumed up to its newline without being kept. */
static int read_line(struct spool *s, size_t *len, int *too_long)
{
    *too_long = 0;
    if (fgets(s->buf, (int)s->bufsize, s->in) == NULL)
        return ferror(s->in) ? -1 : 0;
    *len = strlen(s->buf);
    if (*len > 0 && s->buf[*len - 1] == '\n') {
        s->buf[--*len] = '\0';
    } else if (!feof(s->in)) {
        int c;
        *too_long = 1;
        do
            c = getc(s->in);
        while (c != EOF && c != '\n');
        return 1;
    }
    if (*len > 0 && s->buf[*len - 1] == '\r')
        s->buf[--*len] = '\0';
    if (*len > (size_t)s->cfg->max_line)
        *too_long = 1;
    return 1;
}

static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h;
}

static int reject_line(struct spool *s, const char *line, size_t len, const char *reason,
                       struct error *err)
{
    char source[NAME_MAX + 32], idem[NAME_MAX + 128];
    struct dead_letter_in dl = {0};

    snprintf(source, sizeof(source), "%s:%ld", s->name, s->lineno);
    snprintf(idem, sizeof(idem), "%s:%s:%ld:%016" PRIx64, s->conn->name, s->name, s->lineno,
             fnv1a(line, len));
    dl.destination = "ingest";
    dl.origin = s->conn->name;
    dl.payload = line;
    dl.source = source;
    dl.reason = reason;
    dl.idem_key = idem;
    s->stats.rejected++;
    report_bad_line(s, reason);
    return s->conn->sink->reject(s->conn->sink->ctx, s->conn, &dl, err);
}

static int ingest_line(struct spool *s, size_t len, struct error *err)
{
    struct spool_event ev;
    struct error perr;
    char source[NAME_MAX + 32];
    int rc = -1;

    snprintf(source, sizeof(source), "%s:%ld", s->name, s->lineno);
    if (spool_event_parse(s->buf, len, &s->vocab, s->conn->name, source, &ev, &perr) != 0) {
        log_warn("spool", s->conn->name, "%s: %s", source, perr.msg);
        rc = reject_line(s, s->buf, len, perr.msg, err);
        goto out;
    }
    for (size_t i = 0; i < ev.n; i++) {
        enum apply_result res;
        struct error aerr = {""};
        if (s->conn->sink->change(s->conn->sink->ctx, s->conn, &ev.changes[i], &res, &aerr) != 0) {
            *err = aerr;
            goto out;
        }
        switch (res) {
        case APPLY_APPLIED:
            s->stats.applied++;
            break;
        case APPLY_UNCHANGED:
        case APPLY_ERASED:
            s->stats.unchanged++;
            break;
        case APPLY_DUPLICATE:
            s->stats.duplicates++;
            break;
        case APPLY_REJECTED:
            s->stats.rejected++;
            log_warn("spool", s->conn->name, "%s", aerr.msg);
            report_bad_line(s, aerr.msg);
            break;
        }
    }
    rc = 0;
out:
    spool_event_release(&ev);
    return rc;
}

static void finish_file(struct spool *s)
{
    char from[PATH_MAX], to[PATH_MAX], errpath[PATH_MAX], donedir[PATH_MAX];
    struct stat stbuf;
    struct error err;
    const char *status = s->stats.rejected ? "done_with_errors" : "done";

    snprintf(from, sizeof(from), "%s/%s", s->cfg->dir, s->name);
    snprintf(donedir, sizeof(donedir), "%s/done", s->cfg->dir);
    snprintf(to, sizeof(to), "%s/%s", donedir, s->name);
    /* A shop that reuses a name must not overwrite yesterday's file. */
    if (stat(to, &stbuf) == 0)
        snprintf(to, sizeof(to), "%s/%s.%" PRId64, donedir, s->name, timefmt_now_ms());
    if (s->errf != NULL) {
        snprintf(errpath, sizeof(errpath), "%s/failed/%s.err", s->cfg->dir, s->name);
        fflush(s->errf);
        fsync(fileno(s->errf));
        fclose(s->errf);
        s->errf = NULL;
        if (rename(s->errtmp, errpath) != 0)
            log_error("spool", s->conn->name, "cannot move error report to %s: %s", errpath,
                      strerror(errno));
    }
    crashpoint("spool.before_done");
    if (rename(from, to) != 0) {
        log_error("spool", s->conn->name, "cannot move %s to done/: %s", from, strerror(errno));
        status = "not_moved";
    }
    fsync_dir(donedir);
    fsync_dir(s->cfg->dir);
    if (s->conn->sink->file_finish(s->conn->sink->ctx, s->conn, s->file_id, &s->stats, status,
                                   &err) != 0)
        log_error("spool", s->conn->name, "%s", err.msg);
    log_info("spool", s->conn->name,
             "%s: %ld lines; changes: %ld applied, %ld unchanged, %ld duplicate; %ld rejected%s",
             s->name, s->stats.lines, s->stats.applied, s->stats.unchanged, s->stats.duplicates,
             s->stats.rejected, s->stats.rejected ? " (see failed/ and dead letters)" : "");
    close_current(s);
}

/* One page: up to [state] txn_max_changes lines in one transaction with the
 * watermark. */
static void work_cb(uv_timer_t *t)
{
    struct spool *s = t->data;
    struct pull_sink *sink = s->conn->sink;
    struct error err = {""};
    char wm[NAME_MAX + 64];
    int eof = 0;
    long n = 0;

    if (s->closing || s->failing)
        return;
    if (s->in == NULL) {
        char name[NAME_MAX + 1];
        if (!pick_next_file(s, name, sizeof(name)) || start_file(s, name) != 0)
            return;
    }
    s->conn->busy = 1;
    if (sink->begin(sink->ctx, s->conn, &err) != 0)
        goto fail;
    while (n < s->conn->page_max_changes) {
        size_t len = 0;
        int too_long = 0;
        int r = read_line(s, &len, &too_long);
        if (r < 0) {
            error_set(&err, "read error in %s: %s", s->name, strerror(errno));
            goto fail_abort;
        }
        if (r == 0) {
            eof = 1;
            break;
        }
        s->lineno++;
        s->stats.lines++;
        n++;
        crashpoint_every("spool.mid_page", n, 7); /* inside the open page */
        if (too_long) {
            char reason[96];
            snprintf(reason, sizeof(reason), "line longer than max_line (%ld bytes)",
                     s->cfg->max_line);
            log_warn("spool", s->conn->name, "%s:%ld: %s", s->name, s->lineno, reason);
            if (reject_line(s, "", 0, reason, &err) != 0)
                goto fail_abort;
            continue;
        }
        if (len == 0 || strspn(s->buf, " \t") == len)
            continue;
        if (ingest_line(s, len, &err) != 0)
            goto fail_abort;
    }
    snprintf(wm, sizeof(wm), "{\"file\":\"%s\",\"line\":%ld}", s->name, s->lineno);
    if (sink->commit(sink->ctx, s->conn, wm, &err) != 0)
        goto fail;
    s->conn->busy = 0;
    if (eof)
        finish_file(s);
    schedule_work(s);
    return;
fail_abort:
    sink->abort(sink->ctx, s->conn);
fail:
    s->conn->busy = 0;
    /* Nothing of this page was committed; the file stays in the spool and is
     * read again from its first line at the next scan. */
    log_error("spool", s->conn->name, "%s%s%s; will retry at the next scan", s->name,
              s->name[0] ? ": " : "", err.msg);
    close_current(s);
    s->failing = 1;
}

static void schedule_work(struct spool *s)
{
    if (!s->closing)
        uv_timer_start(&s->work_timer, work_cb, 0, 0);
}

static void scan_cb(uv_timer_t *t)
{
    struct spool *s = t->data;
    s->failing = 0;
    if (s->in == NULL)
        schedule_work(s);
}

static void watch_cb(uv_fs_event_t *h, const char *filename, int events, int status)
{
    struct spool *s = h->data;
    (void)filename;
    (void)events;
    if (status < 0) {
        log_warn("spool", s->conn->name, "watch error: %s", uv_strerror(status));
        return;
    }
    if (s->in == NULL && !s->failing)
        schedule_work(s);
}

static int spool_open(struct connector *conn, struct error *err)
{
    struct spool *s = calloc(1, sizeof(*s));
    char path[PATH_MAX];
    int rc = -1;
    int r;

    if (s == NULL)
        return error_set(err, "out of memory");
    conn->priv = s;
    s->conn = conn;
    s->cfg = conn->settings;
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
    if (s->buf == NULL) {
        error_set(err, "out of memory");
        goto out;
    }
    if (make_dir(s->cfg->dir, err) != 0)
        goto out;
    snprintf(path, sizeof(path), "%s/done", s->cfg->dir);
    if (make_dir(path, err) != 0)
        goto out;
    snprintf(path, sizeof(path), "%s/failed", s->cfg->dir);
    if (make_dir(path, err) != 0)
        goto out;
    uv_timer_init(conn->loop, &s->scan_timer);
    uv_timer_init(conn->loop, &s->work_timer);
    uv_fs_event_init(conn->loop, &s->watch);
    s->handles_open = 3;
    s->scan_timer.data = s->work_timer.data = s->watch.data = s;
    r = uv_fs_event_start(&s->watch, watch_cb, s->cfg->dir, 0);
    if (r != 0)
        log_warn("spool", conn->name, "cannot watch %s (%s); relying on the periodic scan",
                 s->cfg->dir, uv_strerror(r));
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
    if (s->in == NULL)
        schedule_work(s);
}

static void free_spool(struct spool *s)
{
    for (int i = 0; i < 3; i++)
        free_list(s->lists[i]);
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
    close_current(s);
    if (s->handles_open == 0) {
        free_spool(s);
        conn->priv = NULL;
        if (done != NULL)
            done(conn);
        return;
    }
    uv_close((uv_handle_t *)&s->scan_timer, handle_closed);
    uv_close((uv_handle_t *)&s->work_timer, handle_closed);
    uv_close((uv_handle_t *)&s->watch, handle_closed);
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
