/* One spool file: its lines into the open transaction, its bad lines into
 * a report in failed/ and dead letters, and its move out of the spool once
 * the transaction is durable (docs/spool-format.md). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crashpoint.h"
#include "log.h"
#include "spool_int.h"
#include "textesc.h"
#include "timefmt.h"

static void close_file(struct spool *s, struct spool_file *f)
{
    if (f->in != NULL)
        fclose(f->in);
    f->in = NULL;
    if (f->errf != NULL) {
        fclose(f->errf);
        unlinkat(s->dir.failed_fd, f->errtmp, 0);
    }
    f->errf = NULL;
}

/* An entry that must never be read (symlink, FIFO, hard link, a name that
 * is not UTF-8) leaves the spool for failed/ at once. */
static void refuse(struct spool *s, const char *name, const char *why)
{
    struct error err = {""};

    log_warn("spool", s->conn->name, "%s; moving it to failed/", why);
    if (spool_dir_move(&s->dir, name, 1, timefmt_now_ms(), &err) != 0)
        log_error("spool", s->conn->name, "%s", err.msg);
    spool_watch_forget(s->watch, name);
}

int spool_file_start(struct spool *s, const char *name, struct error *err)
{
    struct spool_file *f = &s->cur;
    struct pull_sink *sink = s->conn->sink;
    struct error oerr = {""};
    struct stat st;
    int refused = 0;
    int fd;

    memset(f, 0, sizeof(*f));
    snprintf(f->name, sizeof(f->name), "%s", name);
    text_escape(name, f->shown, sizeof(f->shown));
    if (!text_is_utf8(name)) {
        char why[sizeof(f->shown) + 64];
        snprintf(why, sizeof(why), "%s: the file name is not UTF-8: refused", f->shown);
        refuse(s, name, why);
        return 1;
    }
    fd = spool_dir_open_input(&s->dir, name, &st, &refused, &oerr);
    if (fd < 0) {
        if (refused)
            refuse(s, name, oerr.msg);
        else if (errno != ENOENT)
            log_error("spool", s->conn->name, "%s", oerr.msg);
        return 1;
    }
    f->in = fdopen(fd, "r");
    if (f->in == NULL) {
        close(fd);
        log_error("spool", s->conn->name, "cannot read %s: %s", f->shown, strerror(errno));
        return 1;
    }
    if (sink->file_begin(sink->ctx, s->conn, name, &f->file_id, err) != 0) {
        close_file(s, f);
        return -1;
    }
    s->have_cur = 1;
    log_info("spool", s->conn->name, "ingesting %s", f->shown);
    return 0;
}

/* The file's report in failed/, created on first use (NULL if it cannot
 * be: logged). */
static FILE *report(struct spool *s, struct spool_file *f)
{
    struct error err = {""};
    int fd;

    if (f->errf != NULL)
        return f->errf;
    fd = spool_dir_create_report(&s->dir, f->errtmp, sizeof(f->errtmp), &err);
    if (fd < 0) {
        log_error("spool", s->conn->name, "%s", err.msg);
        return NULL;
    }
    f->errf = fdopen(fd, "w");
    if (f->errf == NULL) {
        close(fd);
        unlinkat(s->dir.failed_fd, f->errtmp, 0);
        log_error("spool", s->conn->name, "cannot write a report: %s", strerror(errno));
    }
    return f->errf;
}

/* Writes one line of the file's report. */
static void report_line(struct spool *s, struct spool_file *f, const char *reason)
{
    char shown[1024];
    FILE *out = report(s, f);

    if (out != NULL)
        fprintf(out, "%s:%ld: %s\n", f->shown, f->lineno,
                text_escape(reason, shown, sizeof(shown)));
}

/* Counts a bad line; past max_rejected the file is abandoned (returns 1):
 * a file of garbage must not become thousands of dead letters. */
static int count_rejected(struct spool *s, struct spool_file *f)
{
    f->stats.rejected++;
    if (f->stats.rejected <= s->cfg->max_rejected)
        return 0;
    f->stats.rejected--;
    f->abandoned = 1;
    return 1;
}

static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h;
}

static int reject_line(struct spool *s, struct spool_file *f, const char *line, size_t len,
                       const char *reason, struct error *err)
{
    char source[NAME_MAX + 32], idem[NAME_MAX + 128], shown[512];
    struct dead_letter_in dl = {0};

    if (count_rejected(s, f))
        return 0;
    log_warn("spool", s->conn->name, "%s:%ld: %s", f->shown, f->lineno,
             text_escape(reason, shown, sizeof(shown)));
    snprintf(source, sizeof(source), "%s:%ld", f->name, f->lineno);
    snprintf(idem, sizeof(idem), "%s:%s:%ld:%016" PRIx64, s->conn->name, f->name, f->lineno,
             fnv1a(line, len));
    dl.destination = "ingest";
    dl.origin = s->conn->name;
    dl.payload = line;
    dl.source = source;
    dl.reason = reason;
    dl.idem_key = idem;
    report_line(s, f, reason);
    return s->conn->sink->reject(s->conn->sink->ctx, s->conn, &dl, err);
}

static int ingest_line(struct spool *s, struct spool_file *f, size_t len, struct error *err)
{
    struct spool_event ev;
    struct error perr;
    char source[NAME_MAX + 32];
    int rc = -1;

    snprintf(source, sizeof(source), "%s:%ld", f->name, f->lineno);
    if (spool_event_parse(s->buf, len, &s->vocab, s->conn->name, source, &ev, &perr) != 0) {
        rc = reject_line(s, f, s->buf, len, perr.msg, err);
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
            f->stats.applied++;
            break;
        case APPLY_UNCHANGED:
        case APPLY_ERASED:
            f->stats.unchanged++;
            break;
        case APPLY_DUPLICATE:
            f->stats.duplicates++;
            break;
        case APPLY_REJECTED: /* the store filed the dead letter */
            f->stats.rejected++;
            log_warn("spool", s->conn->name, "%s", aerr.msg);
            report_line(s, f, aerr.msg);
            if (f->stats.rejected > s->cfg->max_rejected)
                f->abandoned = 1;
            break;
        }
    }
    rc = 0;
out:
    spool_event_release(&ev);
    return rc;
}

enum line_kind { LINE_EOF, LINE_OK, LINE_TOO_LONG, LINE_INCOMPLETE, LINE_ERROR };

/* Reads the next line into s->buf. A line over max_line is consumed up to
 * its newline without being kept. A last line without a newline is never
 * complete: the file may still be growing (then it is read again once it
 * has grown), or its writer stopped mid-line. */
static enum line_kind read_line(struct spool *s, struct spool_file *f, size_t *len)
{
    struct stat st;
    off_t start;

    for (;;) {
        if (fgets(s->buf, (int)s->bufsize, f->in) == NULL) {
            if (ferror(f->in))
                return LINE_ERROR;
            /* Grown since it was found quiescent: read on. */
            if (fstat(fileno(f->in), &st) == 0 && st.st_size > ftello(f->in)) {
                clearerr(f->in);
                continue;
            }
            return LINE_EOF;
        }
        *len = strlen(s->buf);
        if (*len > 0 && s->buf[*len - 1] == '\n')
            break;
        if (!feof(f->in)) {
            int c;
            do
                c = getc(f->in);
            while (c != EOF && c != '\n');
            if (c == EOF)
                return LINE_INCOMPLETE;
            return LINE_TOO_LONG;
        }
        /* The line started len bytes back (ftello only here: it may cost
         * a system call, and this is every file's last line at most). */
        start = ftello(f->in) - (off_t)*len;
        if (start >= 0 && fstat(fileno(f->in), &st) == 0 && st.st_size > start + (off_t)*len) {
            clearerr(f->in);
            fseeko(f->in, start, SEEK_SET);
            continue;
        }
        return LINE_INCOMPLETE;
    }
    s->buf[--*len] = '\0';
    if (*len > 0 && s->buf[*len - 1] == '\r')
        s->buf[--*len] = '\0';
    if (*len > (size_t)s->cfg->max_line)
        return LINE_TOO_LONG;
    return LINE_OK;
}

int spool_file_read(struct spool *s, long max, long *lines, struct error *err)
{
    struct spool_file *f = &s->cur;
    char reason[96];

    *lines = 0;
    while (*lines < max) {
        size_t len = 0;
        enum line_kind k = read_line(s, f, &len);

        if (k == LINE_ERROR)
            return error_set(err, "read error in %s: %s", f->shown, strerror(errno));
        if (k == LINE_EOF)
            return 1;
        f->lineno++;
        f->stats.lines++;
        (*lines)++;
        crashpoint_every("spool.mid_page", *lines, 7); /* inside the open page */
        if (k == LINE_TOO_LONG) {
            snprintf(reason, sizeof(reason), "line longer than max_line (%ld bytes)",
                     s->cfg->max_line);
            if (reject_line(s, f, "", 0, reason, err) != 0)
                return -1;
        } else if (k == LINE_INCOMPLETE) {
            if (reject_line(s, f, s->buf, strlen(s->buf),
                            "incomplete last line (no newline at the end of the file): not "
                            "ingested",
                            err) != 0)
                return -1;
        } else if (len > 0 && strspn(s->buf, " \t") != len) {
            if (ingest_line(s, f, len, err) != 0)
                return -1;
        }
        if (f->abandoned)
            return 1;
    }
    return 0;
}

int spool_file_end(struct spool *s, struct error *err)
{
    struct spool_file *f = &s->cur;
    struct pull_sink *sink = s->conn->sink;

    if (f->abandoned) {
        FILE *out = report(s, f);
        f->status = "failed";
        if (out != NULL)
            fprintf(out,
                    "%s:%ld: more than %ld rejected lines ([connector] max_rejected): file "
                    "abandoned here, the lines after it were not read; fix the file and drop it "
                    "again (lines already applied are duplicates then)\n",
                    f->shown, f->lineno, s->cfg->max_rejected);
    } else if (f->stats.lines == 0) {
        f->status = "empty";
    } else {
        f->status = f->stats.rejected ? "done_with_errors" : "done";
    }
    if (sink->file_finish(sink->ctx, s->conn, f->file_id, &f->stats, f->status, err) != 0)
        return -1;
    if (s->nfinished == s->finished_cap) {
        size_t cap = s->finished_cap ? s->finished_cap * 2 : 16;
        struct spool_file *l = realloc(s->finished, cap * sizeof(*l));
        if (l == NULL)
            return error_set(err, "out of memory");
        s->finished = l;
        s->finished_cap = cap;
    }
    if (f->in != NULL)
        fclose(f->in);
    f->in = NULL;
    s->finished[s->nfinished++] = *f;
    memset(f, 0, sizeof(*f));
    s->have_cur = 0;
    return 0;
}

static void move_one(struct spool *s, struct spool_file *f, int64_t now)
{
    struct pull_sink *sink = s->conn->sink;
    struct error err = {""};
    int failed = strcmp(f->status, "failed") == 0;

    if (f->errf != NULL) {
        char final[NAME_MAX + 8];
        snprintf(final, sizeof(final), "%s.err", f->name);
        fflush(f->errf);
        fsync(fileno(f->errf));
        fclose(f->errf);
        f->errf = NULL;
        if (spool_dir_publish_report(&s->dir, f->errtmp, final, &err) != 0)
            log_error("spool", s->conn->name, "%s", err.msg);
    }
    crashpoint("spool.before_done");
    if (spool_dir_move(&s->dir, f->name, failed, now, &err) != 0) {
        log_error("spool", s->conn->name, "%s", err.msg);
        if (sink->file_finish(sink->ctx, s->conn, f->file_id, &f->stats, "not_moved", &err) != 0)
            log_error("spool", s->conn->name, "%s", err.msg);
    }
    spool_watch_forget(s->watch, f->name);
    if (failed)
        log_error("spool", s->conn->name,
                  "%s: more than %ld rejected lines: abandoned at line %ld and moved to failed/; "
                  "changes: %ld applied, %ld unchanged, %ld duplicate",
                  f->shown, s->cfg->max_rejected, f->lineno, f->stats.applied, f->stats.unchanged,
                  f->stats.duplicates);
    else if (f->stats.lines == 0)
        log_warn("spool", s->conn->name, "%s: empty file (0 lines): nothing ingested", f->shown);
    else
        log_info("spool", s->conn->name,
                 "%s: %ld lines; changes: %ld applied, %ld unchanged, %ld duplicate; %ld "
                 "rejected%s",
                 f->shown, f->stats.lines, f->stats.applied, f->stats.unchanged,
                 f->stats.duplicates, f->stats.rejected,
                 f->stats.rejected ? " (see failed/ and dead letters)" : "");
}

void spool_file_move_finished(struct spool *s)
{
    int64_t now = timefmt_now_ms();

    for (size_t i = 0; i < s->nfinished; i++)
        move_one(s, &s->finished[i], now);
    if (s->nfinished > 0)
        spool_dir_sync(&s->dir);
    s->nfinished = 0;
}

void spool_file_drop_all(struct spool *s)
{
    for (size_t i = 0; i < s->nfinished; i++)
        close_file(s, &s->finished[i]);
    s->nfinished = 0;
    if (s->have_cur)
        close_file(s, &s->cur);
    s->have_cur = 0;
}
