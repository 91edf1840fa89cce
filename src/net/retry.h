/* Retry policy: when to try again after a retryable failure.
 *
 * Capped exponential backoff with full jitter: the n-th retry waits a
 * uniformly random time in [0, min(cap, base * 2^(n-1))], and never less than
 * the server's Retry-After. All times are on the monotonic clock, which is
 * injectable (struct retry_clock) so tests run on a fake clock.
 *
 * Two budgets stop retries from piling up:
 *   - per operation (struct retry_state): at most max_attempts sends and no
 *     retry that would start after max_elapsed_ms since the first send;
 *   - per connector (struct retry_budget): retries may add at most `ratio`
 *     of the first attempts (plus a small floor), so a failing vendor sees
 *     a bounded extra load instead of a retry storm. */
#ifndef CRMSYNC_RETRY_H
#define CRMSYNC_RETRY_H

#include <stdint.h>

/* A monotonic clock in milliseconds. now_ms NULL: the real one (uv_hrtime). */
struct retry_clock {
    uint64_t (*now_ms)(void *arg);
    void *arg;
};

uint64_t retry_clock_now(const struct retry_clock *clock);

struct retry_policy {
    long base_ms;        /* first retry waits up to this; default 500 ms */
    long cap_ms;         /* no wait above this (Retry-After aside); default 5 min */
    int max_attempts;    /* sends in total, first one included; default 8;
                            0: no limit (give up by max_elapsed_ms alone) */
    long max_elapsed_ms; /* no retry later than this after the first send;
                            default 1 h; 0: unbounded */
    /* Random source in [0, 1) for the jitter; NULL: a per-process xorshift
     * seeded from the clock. Tests pass a fixed one. */
    double (*random)(void *arg);
    void *random_arg;
};

void retry_policy_defaults(struct retry_policy *p);

/* One operation's retry history. Zero it (or retry_state_init) before the
 * first send. */
struct retry_state {
    int attempts;      /* sends so far */
    uint64_t first_ms; /* clock at the first send */
};

void retry_state_init(struct retry_state *s);

/* Records a send at now (call before each send). */
void retry_note_attempt(struct retry_state *s, uint64_t now_ms);

/* The wait before the next send after a retryable failure, honouring
 * retry_after_ms (-1: none). Returns -1 when the operation's budget is
 * spent (give up: dead-letter or report). */
long retry_next_delay(const struct retry_policy *p, const struct retry_state *s,
                      long retry_after_ms, uint64_t now_ms);

/* The jittered backoff alone for the n-th retry (n >= 1), given r in [0,1). */
long retry_backoff_ms(const struct retry_policy *p, int n, double r);

/* Per-connector retry budget (a token bucket of retries). */
struct retry_budget {
    double ratio; /* retries allowed per first attempt; default 0.2 */
    double floor; /* retries always allowed per second; default 1 */
    double max;   /* bucket size; default 50 */
    double tokens;
    uint64_t last_ms;
};

void retry_budget_init(struct retry_budget *b, double ratio, double floor_per_sec, double max,
                       uint64_t now_ms);
/* A first attempt was sent: deposits ratio. */
void retry_budget_deposit(struct retry_budget *b, uint64_t now_ms);
/* Asks for one retry: 1 (allowed, withdrawn) or 0 (over budget). */
int retry_budget_withdraw(struct retry_budget *b, uint64_t now_ms);

#endif
