/* Per-connector request rate limit: a token bucket with a share reserved for
 * the priority lane (consent withdrawals, erasures), adjusted from what the
 * vendor tells us.
 *
 * The bucket refills at `rate` requests/s up to `burst`. The bulk lane may
 * only take a token while more than `burst * priority_share` remain, and it
 * also draws on a second bucket refilled at (1 - priority_share) of the
 * rate: a saturating backfill uses at most that share of the vendor's
 * window, so the vendor's own window (which caps our bucket through its
 * rate-limit headers) always has room left for an opt-out, and the
 * priority lane may take the last token.
 *
 * Feedback:
 *   - a 429 halves the rate (down to min_rate), empties the bucket and holds
 *     everything until Retry-After; the rate then climbs back by 10 % of the
 *     configured rate per recover_ms without a 429 (AIMD);
 *   - HubSpot's X-HubSpot-RateLimit-Remaining/-Max/-Interval-Milliseconds:
 *     the bucket never holds more than the vendor says remain in its window;
 *   - Salesforce's Sforce-Limit-Info "api-usage=used/limit": past 80 % of the
 *     daily budget the rate shrinks linearly to min_rate at 100 %. */
#ifndef CRMSYNC_RATELIMIT_H
#define CRMSYNC_RATELIMIT_H

#include <stdint.h>

#include "http_result.h"

/* The most requests a sliding window of struct ratelimit counts (the
 * connectors' rate option goes up to 1000 a second). */
#define RATELIMIT_SPAN_MAX 1000

enum ratelimit_lane {
    RATELIMIT_PRIORITY = 0,
    RATELIMIT_BULK = 1,
};

struct ratelimit {
    double config_rate; /* requests/s as configured */
    double rate;        /* current, after feedback */
    double min_rate;
    double burst;
    double priority_share; /* of burst, in [0, 1) */
    double tokens;
    double bulk_tokens;  /* the bulk lane's own bucket: (1 - share) of the rate */
    double daily_factor; /* from Sforce-Limit-Info, 1.0 = no pressure */
    uint64_t last_ms;
    uint64_t hold_until_ms; /* after a 429: nothing before this */
    uint64_t last_429_ms;
    long recover_ms;
    /* The vendor's daily request budget as its headers last told it
     * (HubSpot X-HubSpot-RateLimit-Daily/-Daily-Remaining, Salesforce
     * Sforce-Limit-Info); quota_limit 0 = not seen. quota_changed is set
     * when either figure changes and cleared by whoever persists them (the
     * daemon, for crmsyncctl status). */
    long quota_remaining, quota_limit;
    int quota_changed;
    /* Told when a 429 moves the hold later (ms from now), so that whoever
     * set it keeps the hold across a restart. NULL: nobody. */
    void (*on_hold)(void *arg, long ms);
    void *hold_arg;
    /* ratelimit_set_window(): the last span_max send times, a ring (span_max
     * 0: no window). */
    int span_max;
    long span_ms;
    int span_n, span_next;
    uint64_t span_sent[RATELIMIT_SPAN_MAX];
};

/* rate: requests/s; burst: bucket size (>= 1); priority_share: fraction of
 * the bucket reserved for the priority lane (e.g. 0.2). */
void ratelimit_init(struct ratelimit *rl, double rate, double burst, double priority_share,
                    uint64_t now_ms);

/* A vendor that counts requests in a sliding window instead of refilling a
 * bucket (Adobe Campaign's TPS limit: calls per second, HTTP 429 past it)
 * is overrun by a bucket, which passes burst + rate requests in a second.
 * With a window set, the bucket also passes at most max requests in any
 * window_ms (the bulk lane at most max less the priority share of it), so
 * a saturating backfill provokes no 429 (whose hold would stop the
 * priority lane too) and an opt-out finds room in the vendor's window at
 * once. max is cut to 1..RATELIMIT_SPAN_MAX; max <= 0 or window_ms <= 0:
 * no window. */
void ratelimit_set_window(struct ratelimit *rl, int max, long window_ms);

/* Takes one token for lane. Returns 0 if the request may go now, else the
 * milliseconds to wait before asking again (no token taken). */
long ratelimit_acquire(struct ratelimit *rl, enum ratelimit_lane lane, uint64_t now_ms);

/* The vendor said 429 (retry_after_ms -1 when it did not say how long). */
void ratelimit_on_429(struct ratelimit *rl, long retry_after_ms, uint64_t now_ms);
/* A hold kept from before a restart: nothing before now + ms (no rate cut). */
void ratelimit_hold(struct ratelimit *rl, long ms, uint64_t now_ms);

/* Reads the vendor headers of any response (429 included). */
void ratelimit_observe(struct ratelimit *rl, const struct http_result *res, uint64_t now_ms);

/* Parses "api-usage=25/15000" (Salesforce). 0 or -1. */
int ratelimit_parse_sforce(const char *value, long *used, long *limit);

/* A sliding window: at most `max` requests in any `window_ms`, for a vendor
 * limit counted per window rather than refilled (HubSpot's search: 5 per
 * second, apart from the per-10-second budget). A token bucket cannot hold
 * that bound: a full bucket plus its refill can exceed it within one
 * window. Keeps the send times of the last `max` requests. */
#define RATELIMIT_WINDOW_MAX 16

struct ratelimit_window {
    int max; /* 1..RATELIMIT_WINDOW_MAX */
    long window_ms;
    uint64_t sent[RATELIMIT_WINDOW_MAX]; /* ring of the last max send times */
    int n, next;
    uint64_t hold_until_ms;              /* after a 429: nothing before this */
    void (*on_hold)(void *arg, long ms); /* as struct ratelimit's */
    void *hold_arg;
};

void ratelimit_window_init(struct ratelimit_window *w, int max, long window_ms);
/* 0: the request may go now (its time is recorded); else the milliseconds
 * to wait before asking again. */
long ratelimit_window_acquire(struct ratelimit_window *w, uint64_t now_ms);
/* The vendor said 429 for this window: nothing before now + ms. */
void ratelimit_window_hold(struct ratelimit_window *w, long ms, uint64_t now_ms);

#endif
