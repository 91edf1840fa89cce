/* One logging facade. Every line goes to stderr with a syslog priority prefix
 * ("<3>") so journald keeps the level, then the subsystem and, when there is
 * one, the connector: "<6>spool[shop]: ingested 12 events from a.jsonl".
 * When stderr is the journal, the same text goes to journald with
 * structured fields instead (src/base/log_journal.h): CODE_FILE, CODE_LINE and
 * CODE_FUNC say where a line was logged (issue 19: C function names in the
 * text were noise to operators), CRMSYNC_SUBSYSTEM and CRMSYNC_CONNECTOR
 * select lines.
 *
 * Never pass a secret or a token. Email addresses and phone numbers must go
 * through log_mask() first. */
#ifndef CRMSYNC_LOG_H
#define CRMSYNC_LOG_H

#include <stddef.h>
#include <stdint.h>

enum log_level {
    LOG_LVL_ERR = 3,
    LOG_LVL_WARNING = 4,
    LOG_LVL_NOTICE = 5,
    LOG_LVL_INFO = 6,
    LOG_LVL_DEBUG = 7,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error|warning|notice|info|debug"; returns -1 if unknown. */
int log_level_parse(const char *name, enum log_level *out);

/* Where: the source file, line and function of the call (journald fields
 * only; file and func may be NULL). */
struct log_where {
    const char *file;
    int line;
    const char *func;
};

void log_msg(enum log_level level, const char *subsys, const char *conn,
             const struct log_where *where, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* The same, about one member's change: under journald the entry also has
 * CRMSYNC_MEMBER and CRMSYNC_SEQ (seq <= 0: none), so that `journalctl
 * CRMSYNC_MEMBER=KEY` finds what happened to a member (issue 19). The text
 * is the caller's: it should name the member too, for stderr. */
void log_msg_member(enum log_level level, const char *subsys, const char *conn,
                    const struct log_where *where, const char *member, int64_t seq, const char *fmt,
                    ...) __attribute__((format(printf, 7, 8)));

#define LOG_WHERE (&(const struct log_where){__FILE__, __LINE__, __func__})
#define log_error(subsys, conn, ...) log_msg(LOG_LVL_ERR, subsys, conn, LOG_WHERE, __VA_ARGS__)
#define log_warn(subsys, conn, ...) log_msg(LOG_LVL_WARNING, subsys, conn, LOG_WHERE, __VA_ARGS__)
#define log_notice(subsys, conn, ...) log_msg(LOG_LVL_NOTICE, subsys, conn, LOG_WHERE, __VA_ARGS__)
#define log_info(subsys, conn, ...) log_msg(LOG_LVL_INFO, subsys, conn, LOG_WHERE, __VA_ARGS__)
#define log_debug(subsys, conn, ...) log_msg(LOG_LVL_DEBUG, subsys, conn, LOG_WHERE, __VA_ARGS__)
#define log_warn_member(subsys, conn, member, seq, ...)                                            \
    log_msg_member(LOG_LVL_WARNING, subsys, conn, LOG_WHERE, member, seq, __VA_ARGS__)
#define log_notice_member(subsys, conn, member, seq, ...)                                          \
    log_msg_member(LOG_LVL_NOTICE, subsys, conn, LOG_WHERE, member, seq, __VA_ARGS__)
#define log_info_member(subsys, conn, member, seq, ...)                                            \
    log_msg_member(LOG_LVL_INFO, subsys, conn, LOG_WHERE, member, seq, __VA_ARGS__)

/* Masks personal data for logs: an email keeps its first character and its
 * domain ("j***@example.com"); anything else that looks like a phone number or
 * an identifier keeps its first two and last two characters. Writes into buf
 * and returns it. */
const char *log_mask(const char *value, char *buf, size_t bufsize);

/* Masks every email address inside a free text (a vendor's error message, a
 * response body): each local part keeps its first character ("not
 * valid@example.org" -> "not v***@example.org"; a quoted local part keeps its
 * quotes). Writes at most outsize bytes (truncating, always terminated) and
 * returns out. log_msg() applies it to every line, and every text that comes
 * from outside goes through it before it is stored (dead-letter reasons). */
const char *log_mask_emails(const char *in, char *out, size_t outsize);

#endif
