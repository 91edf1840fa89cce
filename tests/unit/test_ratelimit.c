/* Token bucket: the priority lane keeps its reserve under a bulk flood, 429s
 * shrink and hold, vendor headers are obeyed. Fake clock throughout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ratelimit.h"

static void bulk_cannot_take_the_reserve(void **state)
{
    struct ratelimit rl;
    int bulk = 0;
    int prio = 0;
    int i = 0;

    (void)state;
    ratelimit_init(&rl, 10.0, 10.0, 0.2, 0);
    for (i = 0; i < 100; i++)
        bulk += ratelimit_acquire(&rl, RATELIMIT_BULK, 0) == 0;
    assert_int_equal(bulk, 8);
    for (i = 0; i < 100; i++)
        prio += ratelimit_acquire(&rl, RATELIMIT_PRIORITY, 0) == 0;
    assert_int_equal(prio, 2);
    /* Empty: the wait is the refill time of one token (100 ms at 10/s). */
    assert_in_range(ratelimit_acquire(&rl, RATELIMIT_PRIORITY, 0), 100, 101);
    /* Bulk must wait for the reserve to refill too: 3 tokens, 300 ms. */
    assert_in_range(ratelimit_acquire(&rl, RATELIMIT_BULK, 0), 300, 301);
    assert_int_equal(ratelimit_acquire(&rl, RATELIMIT_PRIORITY, 100), 0);
}

static void sustained_flood_leaves_priority_a_token(void **state)
{
    struct ratelimit rl;
    uint64_t t = 0;
    int bulk = 0;

    (void)state;
    ratelimit_init(&rl, 10.0, 10.0, 0.2, 0);
    /* A bulk lane asking every 10 ms for 10 s gets about its share (80 %)
     * of the rate plus its initial bucket... */
    for (t = 0; t < 10000; t += 10)
        bulk += ratelimit_acquire(&rl, RATELIMIT_BULK, t) == 0;
    assert_in_range(bulk, 80, 90);
    /* ...and an opt-out arriving now still goes at once. */
    assert_int_equal(ratelimit_acquire(&rl, RATELIMIT_PRIORITY, t), 0);
    assert_int_equal(ratelimit_acquire(&rl, RATELIMIT_PRIORITY, t), 0);
}

/* A backfill pulling as fast as it may for 60 s uses at most (1 - share) of
 * the rate, so the vendor's window keeps room for opt-outs. */
static void bulk_uses_at_most_its_share_of_the_rate(void **state)
{
    struct ratelimit rl;
    uint64_t t = 0;
    long bulk = 0;
    (void)state;
    ratelimit_init(&rl, 10.0, 10.0, 0.2, t);
    for (t = 0; t <= 60000; t += 10) {
        while (ratelimit_acquire(&rl, RATELIMIT_BULK, t) == 0)
            bulk++;
    }
    /* 0.8 x 10/s x 60 s = 480, plus the initial bucket of 8. */
    assert_true(bulk <= 480 + 8 + 1);
    assert_true(bulk >= 470);
    /* And the priority lane finds a token at once. */
    assert_int_equal(ratelimit_acquire(&rl, RATELIMIT_PRIORITY, t), 0);
}

static void on_429_halves_holds_and_recovers(void **state)
{
    struct ratelimit rl;

    (void)state;
    ratelimit_init(&rl, 10.0, 10.0, 0.0, 0);
    ratelimit_on_429(&rl, 2000, 1000);
    assert_true(rl.rate == 5.0);
    assert_int_equal(ratelimit_acquire(&rl, RATELIMIT_PRIORITY, 1500), 1500);
    /* No burst when the hold ends: the bucket refills from then, at the
     * halved rate (one token per 200 ms). */
    assert_in_range(ratelimit_acquire(&rl, RATELIMIT_PRIORITY, 3000), 200, 201);
    assert_int_equal(ratelimit_acquire(&rl, RATELIMIT_PRIORITY, 4000), 0);
    assert_true(rl.tokens > 3.9 && rl.tokens < 4.1);
    /* 10 s without a 429: +10 % of configured rate per 10 s. */
    ratelimit_acquire(&rl, RATELIMIT_PRIORITY, 11000);
    assert_true(rl.rate > 5.9 && rl.rate < 6.1);
    ratelimit_acquire(&rl, RATELIMIT_PRIORITY, 200000);
    assert_true(rl.rate == 10.0);
}

static void hubspot_remaining_caps_tokens(void **state)
{
    struct ratelimit rl;
    struct http_result res;
    char hdr[] = "X-HubSpot-RateLimit-Remaining: 2\0X-HubSpot-RateLimit-Max: 100";

    (void)state;
    memset(&res, 0, sizeof(res));
    res.status = 200;
    res.retry_after_ms = -1;
    res.hdr_buf = hdr;
    res.hdr_len = sizeof(hdr);
    ratelimit_init(&rl, 10.0, 10.0, 0.0, 0);
    ratelimit_observe(&rl, &res, 0);
    assert_int_equal(ratelimit_acquire(&rl, RATELIMIT_BULK, 0), 0);
    assert_int_equal(ratelimit_acquire(&rl, RATELIMIT_BULK, 0), 0);
    assert_true(ratelimit_acquire(&rl, RATELIMIT_BULK, 0) > 0);
}

static void sforce_daily_budget_slows_down(void **state)
{
    struct ratelimit rl;
    struct http_result res;
    char hdr[] = "Sforce-Limit-Info: api-usage=14250/15000";
    long used = 0, limit = 0;

    (void)state;
    assert_int_equal(ratelimit_parse_sforce("api-usage=25/15000", &used, &limit), 0);
    assert_int_equal(used, 25);
    assert_int_equal(limit, 15000);
    assert_int_equal(ratelimit_parse_sforce("api-usage=x", &used, &limit), -1);
    memset(&res, 0, sizeof(res));
    res.status = 200;
    res.hdr_buf = hdr;
    res.hdr_len = sizeof(hdr);
    ratelimit_init(&rl, 10.0, 1.0, 0.0, 0);
    ratelimit_observe(&rl, &res, 0);
    /* 95 % used: a quarter of the rate left, 2.5/s: 400 ms per token. */
    assert_true(rl.daily_factor > 0.249 && rl.daily_factor < 0.251);
    assert_int_equal(ratelimit_acquire(&rl, RATELIMIT_BULK, 0), 0);
    assert_in_range(ratelimit_acquire(&rl, RATELIMIT_BULK, 0), 400, 401);
}

static void a_429_response_is_observed(void **state)
{
    struct ratelimit rl;
    struct http_result res;

    (void)state;
    memset(&res, 0, sizeof(res));
    res.status = 429;
    res.retry_after_ms = 3000;
    ratelimit_init(&rl, 10.0, 10.0, 0.0, 0);
    ratelimit_observe(&rl, &res, 0);
    assert_int_equal(ratelimit_acquire(&rl, RATELIMIT_PRIORITY, 0), 3000);
}

/* The daily budget is kept for crmsyncctl status: HubSpot's Daily headers
 * and Salesforce's api-usage, flagged changed only when a figure moves. */
static void daily_quota_is_recorded(void **state)
{
    struct ratelimit rl;
    struct http_result res;
    char hs[] = "X-HubSpot-RateLimit-Daily: 250000\0X-HubSpot-RateLimit-Daily-Remaining: 249990";
    char sf[] = "Sforce-Limit-Info: api-usage=14250/15000";

    (void)state;
    memset(&res, 0, sizeof(res));
    res.status = 200;
    res.retry_after_ms = -1;
    ratelimit_init(&rl, 10.0, 10.0, 0.0, 0);
    assert_int_equal(rl.quota_limit, 0);
    assert_int_equal(rl.quota_changed, 0);
    res.hdr_buf = hs;
    res.hdr_len = sizeof(hs);
    ratelimit_observe(&rl, &res, 0);
    assert_int_equal(rl.quota_remaining, 249990);
    assert_int_equal(rl.quota_limit, 250000);
    assert_int_equal(rl.quota_changed, 1);
    rl.quota_changed = 0;
    ratelimit_observe(&rl, &res, 0);
    assert_int_equal(rl.quota_changed, 0);
    res.hdr_buf = sf;
    res.hdr_len = sizeof(sf);
    ratelimit_observe(&rl, &res, 0);
    assert_int_equal(rl.quota_remaining, 750);
    assert_int_equal(rl.quota_limit, 15000);
    assert_int_equal(rl.quota_changed, 1);
}

/* HubSpot's search limit (5 per second): asked as often as possible for
 * 5 s, the window lets through at most 5 in any second, and does let 5
 * through (no needless wait). A bucket of rate 5 and burst 5 would pass 10
 * in the first second. */
static void window_never_exceeds_its_max(void **state)
{
    struct ratelimit_window w;
    uint64_t sent[64];
    size_t n = 0;

    (void)state;
    ratelimit_window_init(&w, 5, 1000);
    for (uint64_t now = 0; now < 5000; now++) {
        if (ratelimit_window_acquire(&w, now) == 0) {
            assert_true(n < 64);
            sent[n++] = now;
        }
    }
    assert_int_equal(n, 25);
    for (size_t i = 0; i + 5 < n; i++)
        assert_true(sent[i + 5] - sent[i] >= 1000);
    /* The wait it answers is exact: asking again then succeeds. */
    {
        long wait = ratelimit_window_acquire(&w, 4500);
        assert_int_equal(wait, 500);
        assert_int_not_equal(ratelimit_window_acquire(&w, 4999), 0);
        assert_int_equal(ratelimit_window_acquire(&w, 5000), 0);
    }
}

/* A bucket with a window (Adobe's TPS: rate 100, burst 100, at most 100
 * calls in any 1000 ms): a bulk lane asking every millisecond for 5 s never
 * has more than 80 in a window (the priority share, 20, is left), spread
 * over it, and an opt-out then still finds room at once, up to the
 * window's 100. Without the window the bucket passed 180 in the first
 * second. */
static void bucket_window_caps_bulk_and_keeps_the_reserve(void **state)
{
    static uint64_t sent[1000];
    struct ratelimit rl;
    size_t n = 0, prio = 0;
    uint64_t now = 0;

    (void)state;
    ratelimit_init(&rl, 100.0, 100.0, 0.2, 0);
    ratelimit_set_window(&rl, 100, 1000);
    for (now = 0; now < 5000; now++) {
        while (ratelimit_acquire(&rl, RATELIMIT_BULK, now) == 0) {
            assert_true(n < 1000);
            sent[n++] = now;
        }
    }
    assert_in_range(n, 390, 400);
    for (size_t i = 0; i + 80 < n; i++)
        assert_true(sent[i + 80] - sent[i] >= 1000);
    /* Spread over the window, not all at its start: at most 2 in 25 ms. */
    for (size_t i = 0; i + 2 < n; i++)
        assert_true(sent[i + 2] - sent[i] >= 25);
    /* The last window (its 80 bulk calls went at 4000) still counts at 4999. */
    while (ratelimit_acquire(&rl, RATELIMIT_PRIORITY, 4999) == 0)
        prio++;
    assert_int_equal(prio, 20);
    /* The wait answered is until the oldest call of the window leaves it. */
    assert_int_equal(ratelimit_acquire(&rl, RATELIMIT_PRIORITY, 4999), 1);
    assert_int_equal(ratelimit_acquire(&rl, RATELIMIT_PRIORITY, 5000), 0);
}

static void window_hold_after_429(void **state)
{
    struct ratelimit_window w;

    (void)state;
    ratelimit_window_init(&w, 5, 1000);
    assert_int_equal(ratelimit_window_acquire(&w, 0), 0);
    ratelimit_window_hold(&w, 1000, 10);
    assert_int_equal(ratelimit_window_acquire(&w, 10), 1000);
    assert_int_equal(ratelimit_window_acquire(&w, 1009), 1);
    assert_int_equal(ratelimit_window_acquire(&w, 1010), 0);
    /* A shorter hold does not shorten a longer one. */
    ratelimit_window_hold(&w, 5000, 1010);
    ratelimit_window_hold(&w, 10, 1010);
    assert_int_equal(ratelimit_window_acquire(&w, 1010), 5000);
}

/* Whoever keeps holds across restarts hears of each 429 that moves the hold
 * later, and of no other; a kept hold restored at start holds requests. */
static long told_ms;
static int told;
static void tell(void *arg, long ms)
{
    (void)arg;
    told++;
    told_ms = ms;
}

static void holds_are_told_and_restored(void **state)
{
    struct ratelimit rl;
    struct ratelimit_window w;

    (void)state;
    told = 0;
    ratelimit_init(&rl, 10, 10, 0.2, 1000);
    rl.on_hold = tell;
    ratelimit_on_429(&rl, 5000, 1000);
    assert_int_equal(told, 1);
    assert_int_equal(told_ms, 5000);
    ratelimit_on_429(&rl, 1000, 2000); /* ends before the current hold */
    assert_int_equal(told, 1);
    ratelimit_on_429(&rl, -1, 2000); /* no Retry-After */
    assert_int_equal(told, 1);
    ratelimit_window_init(&w, 5, 1000);
    w.on_hold = tell;
    ratelimit_window_hold(&w, 3000, 1000);
    assert_int_equal(told, 2);
    assert_int_equal(told_ms, 3000);

    ratelimit_init(&rl, 10, 10, 0.2, 1000);
    ratelimit_hold(&rl, 4000, 1000); /* kept from the previous process */
    assert_true(ratelimit_acquire(&rl, RATELIMIT_PRIORITY, 1000) >= 4000 - 1);
    assert_true(ratelimit_acquire(&rl, RATELIMIT_PRIORITY, 4999) > 0);
    assert_int_equal(ratelimit_acquire(&rl, RATELIMIT_PRIORITY, 5000), 0);
    assert_int_equal(told, 2); /* restoring is not a new hold to keep */
}

/* A hold is capped by [daemon] max_retry_after when it is set, whatever
 * asked for it (HubSpot's DAILY 429 asks for the time left to UTC
 * midnight), and what is kept across restarts is the capped length. */
static void holds_are_capped_when_set(void **state)
{
    struct ratelimit rl;
    struct ratelimit_window w;
    long day = 86400000L, cap = 600000L;

    (void)state;
    told = 0;
    http_retry_after_cap_set(cap);
    ratelimit_init(&rl, 10, 10, 0.2, 1000);
    rl.on_hold = tell;
    ratelimit_on_429(&rl, day, 1000);
    assert_int_equal(told, 1);
    assert_int_equal(told_ms, cap);
    assert_int_equal(rl.hold_until_ms, 1000 + cap);
    ratelimit_window_init(&w, 5, 1000);
    w.on_hold = tell;
    ratelimit_window_hold(&w, day, 1000);
    assert_int_equal(told_ms, cap);
    assert_int_equal(ratelimit_window_acquire(&w, 1000), cap);
    ratelimit_init(&rl, 10, 10, 0.2, 1000);
    ratelimit_hold(&rl, day, 1000);
    assert_int_equal(ratelimit_acquire(&rl, RATELIMIT_PRIORITY, 1000 + cap), 0);
    http_retry_after_cap_set(0); /* back to the compiled-in bound */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bulk_cannot_take_the_reserve),
        cmocka_unit_test(sustained_flood_leaves_priority_a_token),
        cmocka_unit_test(on_429_halves_holds_and_recovers),
        cmocka_unit_test(bulk_uses_at_most_its_share_of_the_rate),
        cmocka_unit_test(hubspot_remaining_caps_tokens),
        cmocka_unit_test(sforce_daily_budget_slows_down),
        cmocka_unit_test(a_429_response_is_observed),
        cmocka_unit_test(daily_quota_is_recorded),
        cmocka_unit_test(window_never_exceeds_its_max),
        cmocka_unit_test(window_hold_after_429),
        cmocka_unit_test(bucket_window_caps_bulk_and_keeps_the_reserve),
        cmocka_unit_test(holds_are_told_and_restored),
        cmocka_unit_test(holds_are_capped_when_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
