/* Rate-limited log lines: a source that may repeat without bound (refused
 * connections, a client's errors, dead letters) writes at most `burst` lines
 * per interval (one unless set) and says, on the next line it writes, how
 * many it held back. Thread-safe. */
#ifndef CRMSYNC_LOG_THROTTLE_H
#define CRMSYNC_LOG_THROTTLE_H

#include <pthread.h>
#include <stdint.h>

struct log_throttle {
    pthread_mutex_t lock;
    int64_t interval_ms;
    int64_t next_ms; /* monotonic: no line before this */
    long held;       /* lines held back since the last one written */
    int burst;       /* lines allowed in one interval */
    int used;        /* lines written in the current interval */
};

void log_throttle_init(struct log_throttle *t, int64_t interval_ms);
/* The same, with up to burst lines in an interval (the interval starts at
 * its first line): a few whole lines before the count takes over. */
void log_throttle_init_burst(struct log_throttle *t, int64_t interval_ms, int burst);
void log_throttle_destroy(struct log_throttle *t);

/* 1 when a line may be written now, with *held set to how many were held
 * back before it; 0 when this one is held back (and counted). */
int log_throttle_allow(struct log_throttle *t, long *held);
/* The same, with the time given (ms, monotonic), for unit tests. */
int log_throttle_allow_at(struct log_throttle *t, int64_t now_ms, long *held);

/* Called now and then (a timer): 1 when the interval is over and lines were
 * held back, with *held their number, so the caller writes one summary line
 * and the count never waits for the next event to be told. */
int log_throttle_flush(struct log_throttle *t, long *held);
int log_throttle_flush_at(struct log_throttle *t, int64_t now_ms, long *held);
/* At the end (a stop): 1 when lines were held back, whatever the time, so
 * that the count is told before the process goes. */
int log_throttle_drain(struct log_throttle *t, long *held);

#endif
