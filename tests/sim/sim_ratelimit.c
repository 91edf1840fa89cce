#include "sim_ratelimit.h"

#include <stdlib.h>

#define DAY_MS 86400000LL

int sim_window_init(struct sim_window *w, uint64_t max, int64_t window_ms)
{
    w->ts = NULL;
    w->max = max;
    w->window_ms = window_ms;
    w->head = 0;
    w->count = 0;
    if (max == 0)
        return 0;
    w->ts = calloc((size_t)max, sizeof(*w->ts));
    return w->ts == NULL ? -1 : 0;
}

void sim_window_free(struct sim_window *w)
{
    free(w->ts);
    w->ts = NULL;
}

int sim_window_take(struct sim_window *w, int64_t now, uint64_t *remaining, int64_t *retry_ms)
{
    size_t tail;

    *retry_ms = 0;
    if (w->max == 0) {
        *remaining = UINT64_MAX;
        return 1;
    }
    /* Forget events that left the window; the oldest sits at the tail. */
    while (w->count > 0) {
        tail = (w->head + (size_t)w->max - w->count) % (size_t)w->max;
        if (w->ts[tail] > now - w->window_ms)
            break;
        w->count--;
    }
    if (w->count >= w->max) {
        tail = (w->head + (size_t)w->max - w->count) % (size_t)w->max;
        *retry_ms = w->ts[tail] + w->window_ms - now;
        if (*retry_ms < 1)
            *retry_ms = 1;
        *remaining = 0;
        return 0;
    }
    w->ts[w->head] = now;
    w->head = (w->head + 1) % (size_t)w->max;
    w->count++;
    *remaining = w->max - w->count;
    return 1;
}

void sim_daily_init(struct sim_daily *d, uint64_t max)
{
    d->max = max;
    d->used = 0;
    d->day = 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

int sim_daily_take(struct sim_daily *d, int64_t now, uint64_t *remaining, int64_t *retry_ms)
{
    int64_t day = floor_div(now, DAY_MS);

    *retry_ms = (day + 1) * DAY_MS - now;
    if (d->max == 0) {
        *remaining = UINT64_MAX;
        return 1;
    }
    if (day != d->day) {
        d->day = day;
        d->used = 0;
    }
    if (d->used >= d->max) {
        *remaining = 0;
        return 0;
    }
    d->used++;
    *remaining = d->max - d->used;
    return 1;
}
