/* Rate-limit primitives with the clock passed in (pure, unit-tested).
 *
 * A sliding window admits at most `max` events in any `window_ms` span: it
 * remembers the times of the last `max` admitted events in a ring, which is
 * exact (HubSpot's "TEN_SECONDLY_ROLLING" is a rolling window) and O(1)
 * amortised. A daily budget counts events per UTC day. max == 0 means
 * unlimited for both. */
#ifndef CRMSIM_RATELIMIT_H
#define CRMSIM_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

struct sim_window {
    int64_t *ts; /* ring of admitted event times, capacity max */
    uint64_t max;
    int64_t window_ms;
    size_t head; /* next write slot */
    size_t count;
};

/* Returns 0, or -1 if the ring cannot be allocated. */
int sim_window_init(struct sim_window *w, uint64_t max, int64_t window_ms);
void sim_window_free(struct sim_window *w);
/* Admits one event at `now` if the window has room: returns 1 and records it,
 * else returns 0 and sets *retry_ms (time until a slot frees). *remaining is
 * the room left after this call. */
int sim_window_take(struct sim_window *w, int64_t now, uint64_t *remaining, int64_t *retry_ms);

struct sim_daily {
    uint64_t max;
    uint64_t used;
    int64_t day; /* UTC day number of `used` */
};

void sim_daily_init(struct sim_daily *d, uint64_t max);
/* Returns 1 and counts the event, or 0 when today's budget is spent.
 * *remaining is what is left today after this call; *retry_ms is the time
 * to the next UTC midnight (the budget's reset). */
int sim_daily_take(struct sim_daily *d, int64_t now, uint64_t *remaining, int64_t *retry_ms);

#endif
