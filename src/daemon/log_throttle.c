#include "log_throttle.h"

#include <time.h>

void log_throttle_init_burst(struct log_throttle *t, int64_t interval_ms, int burst)
{
    pthread_mutex_init(&t->lock, NULL);
    t->interval_ms = interval_ms;
    t->next_ms = 0;
    t->held = 0;
    t->burst = burst > 0 ? burst : 1;
    t->used = 0;
}

void log_throttle_init(struct log_throttle *t, int64_t interval_ms)
{
    log_throttle_init_burst(t, interval_ms, 1);
}

void log_throttle_destroy(struct log_throttle *t)
{
    pthread_mutex_destroy(&t->lock);
}

int log_throttle_allow_at(struct log_throttle *t, int64_t now_ms, long *held)
{
    int allow;

    pthread_mutex_lock(&t->lock);
    allow = t->next_ms == 0 || now_ms >= t->next_ms;
    if (allow) {
        *held = t->held;
        t->held = 0;
        t->used = 1;
        t->next_ms = now_ms + t->interval_ms;
        if (t->next_ms == 0)
            t->next_ms = 1;
    } else if (t->used < t->burst) {
        allow = 1;
        t->used++;
        *held = 0;
    } else {
        *held = 0;
        t->held++;
    }
    pthread_mutex_unlock(&t->lock);
    return allow;
}

int log_throttle_flush_at(struct log_throttle *t, int64_t now_ms, long *held)
{
    int due;

    pthread_mutex_lock(&t->lock);
    due = t->held > 0 && now_ms >= t->next_ms;
    *held = due ? t->held : 0;
    if (due) {
        /* The summary line is the new interval's first. */
        t->held = 0;
        t->used = 1;
        t->next_ms = now_ms + t->interval_ms;
    }
    pthread_mutex_unlock(&t->lock);
    return due;
}

int log_throttle_drain(struct log_throttle *t, long *held)
{
    pthread_mutex_lock(&t->lock);
    *held = t->held;
    t->held = 0;
    pthread_mutex_unlock(&t->lock);
    return *held > 0;
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int log_throttle_allow(struct log_throttle *t, long *held)
{
    return log_throttle_allow_at(t, mono_ms(), held);
}

int log_throttle_flush(struct log_throttle *t, long *held)
{
    return log_throttle_flush_at(t, mono_ms(), held);
}
