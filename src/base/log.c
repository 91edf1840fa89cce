#include "log.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log_journal.h"

static enum log_level current_level = LOG_LVL_INFO;

void log_set_level(enum log_level level)
{
    current_level = level;
}

enum log_level log_get_level(void)
{
    return current_level;
}

int log_level_parse(const char *name, enum log_level *out)
{
    static const struct {
        const char *name;
        enum log_level level;
    } names[] = {
        {"error", LOG_LVL_ERR}, {"warning", LOG_LVL_WARNING}, {"notice", LOG_LVL_NOTICE},
        {"info", LOG_LVL_INFO}, {"debug", LOG_LVL_DEBUG},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(name, names[i].name) == 0) {
            *out = names[i].level;
            return 0;
        }
    }
    return -1;
}

/* Not part of an email's local part when unquoted: where scanning back from
 * the '@' stops. */
static int local_char(char c)
{
    return c != '\0' && !isspace((unsigned char)c) && strchr("\"'<>()[],;:\\=/`", c) == NULL;
}

static int domain_char(char c)
{
    return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_' ||
           (unsigned char)c >= 0x80;
}

struct bounded {
    char *out;
    size_t size, len;
};

static void put(struct bounded *b, const char *s, size_t n)
{
    if (b->size == 0)
        return;
    if (n > b->size - 1 - b->len)
        n = b->size - 1 - b->len;
    memcpy(b->out + b->len, s, n);
    b->len += n;
    b->out[b->len] = '\0';
}

const char *log_mask_emails(const char *in, char *out, size_t outsize)
{
    struct bounded b = {out, outsize, 0};
    const char *copied = in;

    if (outsize == 0)
        return out;
    out[0] = '\0';
    if (in == NULL)
        return out;
    for (const char *p = strchr(in, '@'); p != NULL; p = strchr(p + 1, '@')) {
        const char *s = p, *resume = p;
        size_t keep = 1;

        if (!domain_char(p[1]))
            continue;
        if (p - 1 > copied && p[-1] == '"') {
            /* "quoted local part"@domain: keep the quotes and one character. */
            const char *q = p - 2;
            while (q >= copied && *q != '"')
                q--;
            if (q < copied || q + 1 == p - 1)
                continue;
            s = q;
            keep = 2;
            resume = p - 1;
        } else {
            while (s > copied && local_char(s[-1]))
                s--;
            if (s == p)
                continue;
        }
        put(&b, copied, (size_t)(s - copied));
        put(&b, s, keep);
        put(&b, "***", 3);
        copied = resume;
    }
    put(&b, copied, strlen(copied));
    return out;
}

static void vlog(enum log_level level, const char *subsys, const char *conn,
                 const struct log_where *where, const char *member, int64_t seq, const char *fmt,
                 va_list ap)
{
    char line[2048], msg[2048];
    size_t off = 0;
    int n;

    /* Build the whole line first and write it with one call, so lines from
     * helper threads (the admin endpoint) never interleave. */
    n = snprintf(line, sizeof(line), "<%d>%s", (int)level, subsys ? subsys : "crmsyncd");
    off = n > 0 ? (size_t)n : 0;
    if (conn != NULL && off < sizeof(line)) {
        n = snprintf(line + off, sizeof(line) - off, "[%s]", conn);
        off += n > 0 ? (size_t)n : 0;
    }
    if (off < sizeof(line)) {
        n = snprintf(line + off, sizeof(line) - off, ": ");
        off += n > 0 ? (size_t)n : 0;
    }
    if (off < sizeof(line)) {
        /* Texts from outside (a vendor's error message) may hold email
         * addresses: no line shows one whole. */
        vsnprintf(msg, sizeof(msg), fmt, ap);
        if (strchr(msg, '@') != NULL)
            log_mask_emails(msg, line + off, sizeof(line) - off);
        else
            snprintf(line + off, sizeof(line) - off, "%s", msg);
        off += strlen(line + off);
    }
    if (off >= sizeof(line) - 1)
        off = sizeof(line) - 2;
    /* A value that contained a newline must not forge a second log line. */
    for (size_t i = 0; i < off; i++) {
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    }
    line[off] = '\0';
    /* Under journald: the text without its "<N>" prefix, and the fields. */
    if (log_journal_enabled()) {
        const char *text = strchr(line, '>');
        struct log_journal_entry e = {
            .priority = (int)level,
            .subsys = subsys,
            .conn = conn,
            .file = where ? where->file : NULL,
            .line = where ? where->line : 0,
            .func = where ? where->func : NULL,
            .member = member,
            .seq = seq,
        };
        if (log_journal_send(&e, text != NULL ? text + 1 : line) == 0)
            return;
    }
    line[off++] = '\n';
    fwrite(line, 1, off, stderr);
}

void log_msg(enum log_level level, const char *subsys, const char *conn,
             const struct log_where *where, const char *fmt, ...)
{
    va_list ap;

    if (level > current_level)
        return;
    va_start(ap, fmt);
    vlog(level, subsys, conn, where, NULL, 0, fmt, ap);
    va_end(ap);
}

void log_msg_member(enum log_level level, const char *subsys, const char *conn,
                    const struct log_where *where, const char *member, int64_t seq, const char *fmt,
                    ...)
{
    va_list ap;

    if (level > current_level)
        return;
    va_start(ap, fmt);
    vlog(level, subsys, conn, where, member, seq, fmt, ap);
    va_end(ap);
}

const char *log_mask(const char *value, char *buf, size_t bufsize)
{
    const char *at;
    size_t len;

    if (bufsize == 0)
        return buf;
    if (value == NULL) {
        snprintf(buf, bufsize, "(null)");
        return buf;
    }
    len = strlen(value);
    at = strchr(value, '@');
    if (at != NULL && at != value) {
        snprintf(buf, bufsize, "%c***%s", value[0], at);
    } else if (len <= 4) {
        snprintf(buf, bufsize, "***");
    } else {
        snprintf(buf, bufsize, "%.2s***%s", value, value + len - 2);
    }
    return buf;
}
