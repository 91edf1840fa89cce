/* See retry.h. Full jitter (a uniform draw over the whole backoff window)
 * spreads the retries of many clients that failed together, where equal
 * waits would make them collide again. */
#include "retry.h"

#include <uv.h>

uint64_t retry_clock_now(const struct retry_clock *clock)
{
    if (clock != NULL && clock->now_ms != NULL)
        return clock->now_ms(clock->arg);
    return uv_hrtime() / 1000000u;
}

void retry_policy_defaults(struct retry_policy *p)
{
    p->base_ms = 500;
    p->cap_ms = 5L * 60 * 1000;
    p->max_attempts = 8;
    p->max_elapsed_ms = 3600L * 1000;
    p->random = NULL;
    p->random_arg = NULL;
}

void retry_state_init(struct retry_state *s)
{
    s->attempts = 0;
    s->first_ms = 0;
}

void retry_note_attempt(struct retry_state *s, uint64_t now_ms)
{
    if (s->attempts == 0)
        s->first_ms = now_ms;
    s->attempts++;
}

/* xorshift64*: jitter needs spread, not secrecy. */
static double default_random(void)
{
    static uint64_t x;

    if (x == 0)
        x = uv_hrtime() | 1;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

long retry_backoff_ms(const struct retry_policy *p, int n, double r)
{
    double window = (double)p->base_ms;
    int i = 0;

    for (i = 1; i < n && window < (double)p->cap_ms; i++)
        window *= 2;
    if (window > (double)p->cap_ms)
        window = (double)p->cap_ms;
    if (r < 0)
        r = 0;
    if (r >= 1)
        r = 0.999999;
    return (long)(window * r);
}

long retry_next_delay(const struct retry_policy *p, const struct retry_state *s,
                      long retry_after_ms, uint64_t now_ms)
{
    double r = p->random != NULL ? p->random(p->random_arg) : default_random();
    long delay = 0;

    if (p->max_attempts > 0 && s->attempts >= p->max_attempts)
        return -1;
    delay = retry_backoff_ms(p, s->attempts, r);
    if (retry_after_ms > delay)
        delay = retry_after_ms;
    if (p->max_elapsed_ms > 0 &&
        now_ms + (uint64_t)delay > s->first_ms + (uint64_t)p->max_elapsed_ms)
        return -1;
    return delay;
}

static void budget_refill(struct retry_budget *b, uint64_t now_ms)
{
    if (now_ms > b->last_ms) {
        b->tokens += b->floor * (double)(now_ms - b->last_ms) / 1000.0;
        if (b->tokens > b->max)
            b->tokens = b->max;
    }
    b->last_ms = now_ms;
}

void retry_budget_init(struct retry_budget *b, double ratio, double floor_per_sec, double max,
                       uint64_t now_ms)
{
    b->ratio = ratio;
    b->floor = floor_per_sec;
    b->max = max;
    b->tokens = max;
    b->last_ms = now_ms;
}

void retry_budget_deposit(struct retry_budget *b, uint64_t now_ms)
{
    budget_refill(b, now_ms);
    b->tokens += b->ratio;
    if (b->tokens > b->max)
        b->tokens = b->max;
}

int retry_budget_withdraw(struct retry_budget *b, uint64_t now_ms)
{
    budget_refill(b, now_ms);
    if (b->tokens < 1.0)
        return 0;
    b->tokens -= 1.0;
    return 1;
}
