/* crmsim fault picker and rate limiter (pure logic). The sim sources are
 * compiled in because tests/CMakeLists.txt links unit tests with the
 * crmsync library only (see tests/sim/CMakeLists.txt). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../sim/sim_fault.c"
#include "../sim/sim_ratelimit.c"
#include "../sim/sim_rng.c"

static void script_is_consumed_in_order_then_rates_apply(void **state)
{
    struct sim_fault_cfg cfg;
    struct sim_rng rng;
    char err[128];

    (void)state;
    sim_fault_clear(&cfg);
    sim_rng_seed(&rng, 1);
    assert_int_equal(sim_fault_parse_script(&cfg, "503,ok,drop", err, sizeof(err)), 0);
    assert_int_equal(sim_fault_pick(&cfg, &rng, "/a"), SIM_FAULT_503);
    assert_int_equal(sim_fault_pick(&cfg, &rng, "/a"), SIM_FAULT_NONE);
    assert_int_equal(sim_fault_pick(&cfg, &rng, "/a"), SIM_FAULT_DROP);
    assert_int_equal(sim_fault_pick(&cfg, &rng, "/a"), SIM_FAULT_NONE);
}

static void match_restricts_paths(void **state)
{
    struct sim_fault_cfg cfg;
    struct sim_rng rng;
    char err[128];

    (void)state;
    sim_fault_clear(&cfg);
    sim_rng_seed(&rng, 1);
    assert_int_equal(sim_fault_parse_script(&cfg, "500", err, sizeof(err)), 0);
    snprintf(cfg.match, sizeof(cfg.match), "/search");
    assert_int_equal(sim_fault_pick(&cfg, &rng, "/crm/objects/x"), SIM_FAULT_NONE);
    assert_int_equal(sim_fault_pick(&cfg, &rng, "/crm/objects/x/search"), SIM_FAULT_500);
}

static void rates_are_reproducible_and_roughly_right(void **state)
{
    struct sim_fault_cfg cfg;
    struct sim_rng a, b;
    char err[128];
    int n503 = 0;

    (void)state;
    sim_fault_clear(&cfg);
    assert_int_equal(sim_fault_parse_rates(&cfg, "503:0.25,slow:0.25", err, sizeof(err)), 0);
    sim_rng_seed(&a, 42);
    sim_rng_seed(&b, 42);
    for (int i = 0; i < 10000; i++) {
        enum sim_fault_kind x = sim_fault_pick(&cfg, &a, "/");

        assert_int_equal(x, sim_fault_pick(&cfg, &b, "/"));
        n503 += x == SIM_FAULT_503;
    }
    assert_in_range(n503, 2300, 2700);
}

static void bad_specs_are_rejected(void **state)
{
    struct sim_fault_cfg cfg;
    char err[128];

    (void)state;
    sim_fault_clear(&cfg);
    assert_int_equal(sim_fault_parse_rates(&cfg, "503:0.7,500:0.5", err, sizeof(err)), -1);
    assert_int_equal(sim_fault_parse_rates(&cfg, "504:0.1", err, sizeof(err)), -1);
    assert_int_equal(sim_fault_parse_rates(&cfg, "503", err, sizeof(err)), -1);
    assert_int_equal(sim_fault_parse_rates(&cfg, "503:x", err, sizeof(err)), -1);
    assert_int_equal(sim_fault_parse_script(&cfg, "503,nope", err, sizeof(err)), -1);
}

static void window_is_rolling(void **state)
{
    struct sim_window w;
    uint64_t rem;
    int64_t retry;

    (void)state;
    assert_int_equal(sim_window_init(&w, 3, 10000), 0);
    assert_true(sim_window_take(&w, 0, &rem, &retry));
    assert_true(sim_window_take(&w, 4000, &rem, &retry));
    assert_true(sim_window_take(&w, 5000, &rem, &retry));
    assert_int_equal(rem, 0);
    assert_false(sim_window_take(&w, 9999, &rem, &retry));
    assert_int_equal(retry, 1); /* the event at 0 leaves the window at 10000 */
    assert_true(sim_window_take(&w, 10000, &rem, &retry));
    assert_false(sim_window_take(&w, 13999, &rem, &retry));
    assert_true(sim_window_take(&w, 14000, &rem, &retry));
    sim_window_free(&w);
}

static void window_zero_is_unlimited(void **state)
{
    struct sim_window w;
    uint64_t rem;
    int64_t retry;

    (void)state;
    assert_int_equal(sim_window_init(&w, 0, 1000), 0);
    for (int i = 0; i < 1000; i++)
        assert_true(sim_window_take(&w, 0, &rem, &retry));
    sim_window_free(&w);
}

static void daily_resets_at_utc_midnight(void **state)
{
    struct sim_daily d;
    uint64_t rem;
    int64_t retry;
    int64_t day = 86400000LL * 20000;

    (void)state;
    sim_daily_init(&d, 2);
    assert_true(sim_daily_take(&d, day + 1, &rem, &retry));
    assert_true(sim_daily_take(&d, day + 2, &rem, &retry));
    assert_false(sim_daily_take(&d, day + 86399999, &rem, &retry));
    assert_int_equal(retry, 1);
    assert_true(sim_daily_take(&d, day + 86400000, &rem, &retry));
    assert_int_equal(rem, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(script_is_consumed_in_order_then_rates_apply),
        cmocka_unit_test(match_restricts_paths),
        cmocka_unit_test(rates_are_reproducible_and_roughly_right),
        cmocka_unit_test(bad_specs_are_rejected),
        cmocka_unit_test(window_is_rolling),
        cmocka_unit_test(window_zero_is_unlimited),
        cmocka_unit_test(daily_resets_at_utc_midnight),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
