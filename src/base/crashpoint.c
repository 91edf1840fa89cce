/* Crash points for the chaos harness (see crashpoint.h). Compiled to nothing
 * unless CRMSYNC_CRASHPOINTS is defined. */
#include "crashpoint.h"

#ifdef CRMSYNC_CRASHPOINTS

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The daemon is single-threaded where it reaches crash points (the loop
 * thread), so plain statics are enough. */
static int initialised;
static long crash_at; /* 0: never */
static long reached;
static int log_fd = -1;

static void init(void)
{
    const char *at = getenv("CRMSYNC_CRASH_AT");
    const char *path = getenv("CRMSYNC_CRASH_LOG");

    initialised = 1;
    if (at != NULL && at[0] != '\0')
        crash_at = strtol(at, NULL, 10);
    if (path != NULL && path[0] != '\0')
        log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

void crashpoint(const char *name)
{
    if (!initialised)
        init();
    reached++;
    if (log_fd >= 0) {
        char line[160];
        int n = snprintf(line, sizeof(line), "%ld %s\n", reached, name);
        /* One write(2) with O_APPEND: the line is in the file before a kill. */
        if (n > 0 && write(log_fd, line, (size_t)n) < 0) {
            /* the log is best effort; the crash below is what matters */
        }
    }
    if (crash_at > 0 && reached == crash_at)
        raise(SIGKILL);
}

void crashpoint_every(const char *name, long i, long k)
{
    if (k > 0 && i % k == 0)
        crashpoint(name);
}

#else
/* ISO C forbids an empty translation unit. */
typedef int crashpoint_unused;
#endif
