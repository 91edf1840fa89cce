/* Log lines to journald with structured fields (issue 19), through the
 * journal's native protocol (https://systemd.io/JOURNAL_NATIVE_PROTOCOL/):
 * one datagram per entry to /run/systemd/journal/socket, "FIELD=value"
 * lines. Used instead of stderr when stderr is the journal (systemd sets
 * $JOURNAL_STREAM to its device:inode), as sd_journal_send() would; written
 * here so that the socket can be pointed elsewhere by a test.
 *
 * Fields: MESSAGE (the line as stderr shows it, without the priority
 * prefix), PRIORITY, SYSLOG_IDENTIFIER=crmsyncd, CODE_FILE, CODE_LINE,
 * CODE_FUNC (where the line was logged: `journalctl -o verbose`, never in
 * the text an operator reads), CRMSYNC_SUBSYSTEM, and CRMSYNC_CONNECTOR
 * when the line is about one connector (`journalctl CRMSYNC_CONNECTOR=hs`),
 * CRMSYNC_MEMBER and CRMSYNC_SEQ when it is about one member's change
 * (log_msg_member(): `journalctl CRMSYNC_MEMBER=KEY`). */
#ifndef CRMSYNC_LOG_JOURNAL_H
#define CRMSYNC_LOG_JOURNAL_H

#include <stdint.h>

/* 1 when entries go to the journal (decided once, at the first call). */
int log_journal_enabled(void);

/* What an entry says besides its message; NULL/0 members are left out. */
struct log_journal_entry {
    int priority;
    const char *subsys;
    const char *conn;
    const char *file;
    int line;
    const char *func;
    const char *member; /* CRMSYNC_MEMBER: the member key the line is about */
    int64_t seq;        /* CRMSYNC_SEQ: the change's seq (> 0) */
};

/* Sends one entry; 0, or -1 (the caller writes the line to stderr). */
int log_journal_send(const struct log_journal_entry *e, const char *message);

/* Tests: the socket to send to, and whether to use it whatever stderr is
 * (NULL: back to detection at the next call). Not thread-safe; call
 * before logging starts. */
void log_journal_override(const char *socket_path);

#endif
