#include "log_journal.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "strbuf.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"
/* An entry is a log line (2 KiB at most) and a few short fields. */
#define ENTRY_MAX 4096

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int fd = -1;
static struct sockaddr_un addr;
static char override_path[sizeof(addr.sun_path)];

/* systemd sets JOURNAL_STREAM=<dev>:<ino> of the stream it connected to
 * stderr (systemd.exec(5)); a shell redirect or a pipe does not match. */
static int stderr_is_journal(void)
{
    const char *e = getenv("JOURNAL_STREAM");
    unsigned long long dev = 0, ino = 0;
    struct stat st;

    if (e == NULL || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
        return 0;
    if (fstat(STDERR_FILENO, &st) != 0)
        return 0;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static void setup(void)
{
    const char *path = override_path[0] != '\0' ? override_path : JOURNAL_SOCKET;

    if (override_path[0] == '\0' && !stderr_is_journal())
        return;
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
}

int log_journal_enabled(void)
{
    pthread_once(&once, setup);
    return fd >= 0;
}

void log_journal_override(const char *socket_path)
{
    static const pthread_once_t fresh = PTHREAD_ONCE_INIT;

    if (fd >= 0)
        close(fd);
    fd = -1;
    snprintf(override_path, sizeof(override_path), "%s", socket_path ? socket_path : "");
    once = fresh;
}

/* "NAME=value\n" with the value on one line (newlines were replaced before;
 * any left would end the field, so they become spaces here too). */
static void field(struct strbuf *b, const char *name, const char *value)
{
    size_t start;

    strbuf_addf(b, "%s=", name);
    start = b->len;
    strbuf_add(b, value);
    for (size_t i = start; b->s != NULL && i < b->len; i++) {
        if (b->s[i] == '\n')
            b->s[i] = ' ';
    }
    strbuf_add(b, "\n");
}

int log_journal_send(const struct log_journal_entry *e, const char *message)
{
    struct strbuf b;
    char num[24];
    int rc = -1;

    if (!log_journal_enabled())
        return -1;
    strbuf_init(&b, ENTRY_MAX);
    field(&b, "MESSAGE", message);
    snprintf(num, sizeof(num), "%d", e->priority);
    field(&b, "PRIORITY", num);
    field(&b, "SYSLOG_IDENTIFIER", "crmsyncd");
    if (e->file != NULL) {
        field(&b, "CODE_FILE", e->file);
        snprintf(num, sizeof(num), "%d", e->line);
        field(&b, "CODE_LINE", num);
    }
    if (e->func != NULL)
        field(&b, "CODE_FUNC", e->func);
    field(&b, "CRMSYNC_SUBSYSTEM", e->subsys != NULL ? e->subsys : "crmsyncd");
    if (e->conn != NULL)
        field(&b, "CRMSYNC_CONNECTOR", e->conn);
    if (e->member != NULL && e->member[0] != '\0')
        field(&b, "CRMSYNC_MEMBER", e->member);
    if (e->seq > 0) {
        snprintf(num, sizeof(num), "%" PRId64, e->seq);
        field(&b, "CRMSYNC_SEQ", num);
    }
    if (strbuf_str(&b) != NULL &&
        sendto(fd, b.s, b.len, MSG_NOSIGNAL, (const struct sockaddr *)&addr, sizeof(addr)) ==
            (ssize_t)b.len)
        rc = 0;
    strbuf_free(&b);
    return rc;
}
