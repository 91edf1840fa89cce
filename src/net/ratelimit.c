/* See ratelimit.h. */
#include "ratelimit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RATELIMIT_RECOVER_MS 10000L

static double effective_rate(const struct ratelimit *rl)
{
    double r = rl->rate * rl->daily_factor;
    return r < rl->min_rate ? rl->min_rate : r;
}

static double bulk_burst(const struct ratelimit *rl)
{
    double b = rl->burst * (1.0 - rl->priority_share);
    return b < 1.0 ? 1.0 : b;
}

static void refill(struct ratelimit *rl, uint64_t now_ms)
{
    if (now_ms <= rl->last_ms)
        return;
    /* Additive increase: every recover_ms without a 429 gives back 10 % of
     * the configured rate. */
    if (rl->rate < rl->config_rate && now_ms >= rl->last_429_ms + (uint64_t)rl->recover_ms) {
        uint64_t steps = (now_ms - rl->last_429_ms) / (uint64_t)rl->recover_ms;
        uint64_t done = (rl->last_ms > rl->last_429_ms
                             ? (rl->last_ms - rl->last_429_ms) / (uint64_t)rl->recover_ms
                             : 0);
        if (steps > done) {
            rl->rate += 0.1 * rl->config_rate * (double)(steps - done);
            if (rl->rate > rl->config_rate)
                rl->rate = rl->config_rate;
        }
    }
    rl->tokens += effective_rate(rl) * (double)(now_ms - rl->last_ms) / 1000.0;
    if (rl->tokens > rl->burst)
        rl->tokens = rl->burst;
    rl->bulk_tokens +=
        effective_rate(rl) * (1.0 - rl->priority_share) * (double)(now_ms - rl->last_ms) / 1000.0;
    if (rl->bulk_tokens > bulk_burst(rl))
        rl->bulk_tokens = bulk_burst(rl);
    rl->last_ms = now_ms;
}

void ratelimit_init(struct ratelimit *rl, double rate, double burst, double priority_share,
                    uint64_t now_ms)
{
    memset(rl, 0, sizeof(*rl));
    rl->config_rate = rate;
    rl->rate = rate;
    rl->min_rate = rate / 64.0;
    rl->burst = burst < 1.0 ? 1.0 : burst;
    rl->priority_share = priority_share < 0 ? 0 : (priority_share >= 1 ? 0.99 : priority_share);
    rl->tokens = rl->burst;
    rl->bulk_tokens = bulk_burst(rl);
    rl->daily_factor = 1.0;
    rl->last_ms = now_ms;
    rl->recover_ms = RATELIMIT_RECOVER_MS;
}

void ratelimit_set_window(struct ratelimit *rl, int max, long window_ms)
{
    rl->span_max =
        max < 0 || window_ms <= 0 ? 0 : (max > RATELIMIT_SPAN_MAX ? RATELIMIT_SPAN_MAX : max);
    rl->span_ms = window_ms;
    rl->span_n = 0;
    rl->span_next = 0;
}

/* The milliseconds until the k-th most recent send (any lane) is older
 * than ms, 0 when it is (or there is none). */
static long span_kth_wait(const struct ratelimit *rl, int k, long ms, uint64_t now_ms)
{
    uint64_t kth;

    if (rl->span_n < k)
        return 0;
    kth = rl->span_sent[(rl->span_next + rl->span_max - k) % rl->span_max];
    return now_ms >= kth + (uint64_t)ms ? 0 : (long)(kth + (uint64_t)ms - now_ms);
}

/* The milliseconds until lane may send within the window, 0 now. The
 * bulk lane counts every send of the window against max less the priority
 * share (at least one request is its), so an opt-out finds that share
 * free, and takes the slots bulk leaves as they free up. The bulk lane is
 * also paced: at most k sends in k/limit of the window (k a 40th of its
 * limit, at least 1), so slots free up evenly. A bucket full of bulk
 * tokens took the whole window at once and then nothing until that burst
 * left it, and an opt-out beyond the share waited for the next burst
 * (about 300 ms in bench/adobe.sh; 100 ms with slices of a tenth). */
static long span_wait(const struct ratelimit *rl, enum ratelimit_lane lane, uint64_t now_ms)
{
    int limit = rl->span_max, k;
    long wait, paced;

    if (rl->span_max == 0)
        return 0;
    if (lane == RATELIMIT_PRIORITY)
        return span_kth_wait(rl, limit, rl->span_ms, now_ms);
    limit -= (int)((double)rl->span_max * rl->priority_share + 0.5);
    if (limit < 1)
        limit = 1;
    k = (limit + 39) / 40;
    wait = span_kth_wait(rl, limit, rl->span_ms, now_ms);
    paced = span_kth_wait(rl, k, rl->span_ms * k / limit, now_ms);
    return paced > wait ? paced : wait;
}

static void span_note(struct ratelimit *rl, uint64_t now_ms)
{
    if (rl->span_max == 0)
        return;
    rl->span_sent[rl->span_next] = now_ms;
    rl->span_next = (rl->span_next + 1) % rl->span_max;
    if (rl->span_n < rl->span_max)
        rl->span_n++;
}

long ratelimit_acquire(struct ratelimit *rl, enum ratelimit_lane lane, uint64_t now_ms)
{
    double floor = lane == RATELIMIT_PRIORITY ? 0.0 : rl->burst * rl->priority_share;
    double missing = 0;
    long wait = 0;

    if (now_ms < rl->hold_until_ms)
        return (long)(rl->hold_until_ms - now_ms);
    refill(rl, now_ms);
    wait = span_wait(rl, lane, now_ms);
    if (wait > 0)
        return wait;
    if (lane == RATELIMIT_PRIORITY && rl->tokens >= 1.0) {
        rl->tokens -= 1.0;
        span_note(rl, now_ms);
        return 0;
    }
    if (lane != RATELIMIT_PRIORITY && rl->tokens >= floor + 1.0 && rl->bulk_tokens >= 1.0) {
        rl->tokens -= 1.0;
        rl->bulk_tokens -= 1.0;
        span_note(rl, now_ms);
        return 0;
    }
    missing = floor + 1.0 - rl->tokens;
    wait = missing > 0 ? (long)(missing * 1000.0 / effective_rate(rl)) + 1 : 0;
    if (lane != RATELIMIT_PRIORITY && rl->bulk_tokens < 1.0) {
        long w2 = (long)((1.0 - rl->bulk_tokens) * 1000.0 /
                         (effective_rate(rl) * (1.0 - rl->priority_share))) +
                  1;
        if (w2 > wait)
            wait = w2;
    }
    return wait > 0 ? wait : 1;
}

/* No hold is longer than [daemon] max_retry_after (issue 14 item 10), a
 * daily budget's included (HubSpot's DAILY 429 asked for the time left to
 * UTC midnight, capped only when a restart read the kept hold back): a hold
 * is no quota governor; if the budget is still spent after it, the next
 * request is refused again and holds again. */
static long cap_hold(long ms)
{
    long cap = http_retry_after_cap();
    return ms > cap ? cap : ms;
}

void ratelimit_on_429(struct ratelimit *rl, long retry_after_ms, uint64_t now_ms)
{
    retry_after_ms = cap_hold(retry_after_ms);
    refill(rl, now_ms);
    rl->rate /= 2.0;
    if (rl->rate < rl->min_rate)
        rl->rate = rl->min_rate;
    rl->tokens = 0;
    rl->bulk_tokens = 0;
    rl->last_429_ms = now_ms;
    if (retry_after_ms > 0 && now_ms + (uint64_t)retry_after_ms > rl->hold_until_ms) {
        rl->hold_until_ms = now_ms + (uint64_t)retry_after_ms;
        if (rl->on_hold != NULL)
            rl->on_hold(rl->hold_arg, retry_after_ms);
    }
    /* The bucket refills from the end of the hold, not during it: no burst
     * the moment the vendor lets us in again. */
    if (rl->hold_until_ms > rl->last_ms)
        rl->last_ms = rl->hold_until_ms;
}

int ratelimit_parse_sforce(const char *value, long *used, long *limit)
{
    const char *p = strstr(value, "api-usage=");
    char *end = NULL;

    if (p == NULL)
        return -1;
    p += strlen("api-usage=");
    *used = strtol(p, &end, 10);
    if (end == p || *end != '/')
        return -1;
    p = end + 1;
    *limit = strtol(p, &end, 10);
    if (end == p || *limit <= 0 || *used < 0)
        return -1;
    return 0;
}

static void note_quota(struct ratelimit *rl, long remaining, long limit)
{
    if (remaining != rl->quota_remaining || limit != rl->quota_limit) {
        rl->quota_remaining = remaining;
        rl->quota_limit = limit;
        rl->quota_changed = 1;
    }
}

void ratelimit_observe(struct ratelimit *rl, const struct http_result *res, uint64_t now_ms)
{
    const char *rem = http_result_header(res, "X-HubSpot-RateLimit-Remaining");
    const char *day = http_result_header(res, "X-HubSpot-RateLimit-Daily");
    const char *day_rem = http_result_header(res, "X-HubSpot-RateLimit-Daily-Remaining");
    const char *sf = http_result_header(res, "Sforce-Limit-Info");
    long used = 0, limit = 0;

    refill(rl, now_ms);
    if (res->status == 429)
        ratelimit_on_429(rl, res->retry_after_ms, now_ms);
    if (rem != NULL) {
        char *end = NULL;
        long n = strtol(rem, &end, 10);
        /* The vendor's count is the truth for its window. */
        if (end != rem && n >= 0 && (double)n < rl->tokens)
            rl->tokens = (double)n;
    }
    if (day != NULL && day_rem != NULL) {
        char *e1 = NULL, *e2 = NULL;
        long max = strtol(day, &e1, 10), left = strtol(day_rem, &e2, 10);
        if (e1 != day && e2 != day_rem && max > 0 && left >= 0)
            note_quota(rl, left, max);
    }
    if (sf != NULL && ratelimit_parse_sforce(sf, &used, &limit) == 0) {
        double u = (double)used / (double)limit;
        note_quota(rl, limit > used ? limit - used : 0, limit);
        if (u <= 0.8)
            rl->daily_factor = 1.0;
        else if (u >= 1.0)
            rl->daily_factor = 0.0;
        else
            rl->daily_factor = (1.0 - u) / 0.2;
    }
}

void ratelimit_window_init(struct ratelimit_window *w, int max, long window_ms)
{
    memset(w, 0, sizeof(*w));
    w->max = max < 1 ? 1 : (max > RATELIMIT_WINDOW_MAX ? RATELIMIT_WINDOW_MAX : max);
    w->window_ms = window_ms > 0 ? window_ms : 1000;
}

long ratelimit_window_acquire(struct ratelimit_window *w, uint64_t now_ms)
{
    uint64_t oldest;

    if (now_ms < w->hold_until_ms)
        return (long)(w->hold_until_ms - now_ms);
    if (w->n < w->max) {
        w->sent[w->next] = now_ms;
        w->next = (w->next + 1) % w->max;
        w->n++;
        return 0;
    }
    /* Full ring: sent[next] is the oldest of the last max requests. The
     * next one may go once that one has left the window. */
    oldest = w->sent[w->next];
    if (now_ms >= oldest + (uint64_t)w->window_ms) {
        w->sent[w->next] = now_ms;
        w->next = (w->next + 1) % w->max;
        return 0;
    }
    return (long)(oldest + (uint64_t)w->window_ms - now_ms);
}

void ratelimit_window_hold(struct ratelimit_window *w, long ms, uint64_t now_ms)
{
    ms = cap_hold(ms);
    if (ms > 0 && now_ms + (uint64_t)ms > w->hold_until_ms) {
        w->hold_until_ms = now_ms + (uint64_t)ms;
        if (w->on_hold != NULL)
            w->on_hold(w->hold_arg, ms);
    }
}

void ratelimit_hold(struct ratelimit *rl, long ms, uint64_t now_ms)
{
    ms = cap_hold(ms);
    if (ms > 0 && now_ms + (uint64_t)ms > rl->hold_until_ms) {
        rl->hold_until_ms = now_ms + (uint64_t)ms;
        if (rl->hold_until_ms > rl->last_ms)
            rl->last_ms = rl->hold_until_ms;
    }
}
