/* crmsim HubSpot search order (hubspot_order.c): the first after + limit
 * hits it selects are, in order, the prefix of the full sort the search
 * always made (qsort_r by the typed value, records without it last, then
 * id), with ties, missing values, unparsable values and both directions
 * (pure logic; sim sources compiled in, see test_sim_fault.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../sim/hubspot_filter.c"
#include "../sim/hubspot_order.c"
#include "../sim/sim_time.c"

#define N 3000

static const char *const datetimes[] = {
    "2026-12-08T01:00:00.000Z",
    "2026-12-08T01:00:00.001Z",
    "2026-12-08T01:00:00Z",
    "2026-12-07T23:59:59.999Z",
    "1796000000000",
    "2026-12-08T01:00:00.000+01:00",
};
static const char *const numbers[] = {"10", "9", "-1", "0.5", "1e3", "10.0", "007"};
static const char *const texts[] = {"b", "B", "a", "ab", "Abc", "", "z"};
/* Unparsable values that sort as text between typed values whose text and
 * typed orders disagree ("10" < "5x" < "9" but 9 < 10): the comparison is
 * not transitive over them. */
static const char *const untyped[] = {"2026-12-08T00:45", "5x", "2026-12-08T00:30:00.000Z",
                                      "2026-12-08T01:00:00.000+01:00"};

/* A value for hit i: mostly typed, some missing, some text if `mixed`. */
static const char *value_of(unsigned r, enum hs_type type, bool mixed)
{
    if (r % 13 == 0)
        return NULL;
    if (mixed && r % 7 == 0)
        return untyped[(r / 7) % 4];
    if (type == HS_T_DATETIME)
        return datetimes[r % 6];
    if (type == HS_T_NUMBER)
        return numbers[r % 7];
    return texts[r % 7];
}

static void fill(struct hs_hit *h, size_t n, const struct hs_order *o, unsigned seed, bool mixed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        h[i].rec = NULL;
        h[i].view = NULL;
        h[i].id = i + 1;
        hs_hit_key(o, &h[i], value_of(seed >> 8, o->type, mixed));
    }
}

static int cmp_full(const void *a, const void *b, void *arg)
{
    return hs_hit_cmp(a, b, arg);
}

/* What the search did before: sort every hit. */
static void check(const struct hs_order *o, size_t n, size_t first, unsigned seed, bool mixed)
{
    static struct hs_hit a[N], b[N];
    size_t k = first < n ? first : n;

    fill(a, n, o, seed, mixed);
    fill(b, n, o, seed, mixed);
    qsort_r(a, n, sizeof(*a), cmp_full, (void *)o);
    hs_hits_order(b, n, first, o);
    for (size_t i = 0; i < k; i++)
        assert_int_equal(a[i].id, b[i].id);
}

static void prefix_is_the_full_sort(void **state)
{
    static const size_t firsts[] = {0, 1, 10, 100, 2999, 3000, 10000};
    static const enum hs_type types[] = {HS_T_DATETIME, HS_T_NUMBER, HS_T_STRING};

    (void)state;
    for (size_t t = 0; t < 3; t++) {
        for (int desc = 0; desc < 2; desc++) {
            for (int mixed = 0; mixed < 2; mixed++) {
                struct hs_order o = {true, types[t], desc};

                for (size_t f = 0; f < sizeof(firsts) / sizeof(firsts[0]); f++)
                    check(&o, N, firsts[f], 7 + (unsigned)f, mixed);
            }
        }
    }
}

static void by_id_without_a_sort(void **state)
{
    struct hs_order o = {false, HS_T_STRING, false};
    static struct hs_hit h[N];

    (void)state;
    fill(h, N, &o, 3, false);
    for (size_t i = 0; i < N / 2; i++) {
        struct hs_hit t = h[i];

        h[i] = h[N - 1 - i];
        h[N - 1 - i] = t;
    }
    hs_hits_order(h, N, 200, &o);
    for (size_t i = 0; i < 200; i++)
        assert_int_equal(h[i].id, i + 1);
}

/* hs_hit_cmp() is hs_value_cmp() on parsed keys: the same sign for every
 * pair of values, parsed or not. */
static void keys_compare_as_the_values(void **state)
{
    static const enum hs_type types[] = {HS_T_DATETIME, HS_T_NUMBER, HS_T_STRING};
    const char
        *all[sizeof(datetimes) / sizeof(datetimes[0]) + sizeof(numbers) / sizeof(numbers[0]) +
             sizeof(texts) / sizeof(texts[0]) + sizeof(untyped) / sizeof(untyped[0]) + 1];
    size_t n = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(datetimes) / sizeof(datetimes[0]); i++)
        all[n++] = datetimes[i];
    for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
        all[n++] = numbers[i];
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        all[n++] = texts[i];
    for (size_t i = 0; i < sizeof(untyped) / sizeof(untyped[0]); i++)
        all[n++] = untyped[i];
    all[n++] = "nan";
    for (size_t t = 0; t < 3; t++) {
        struct hs_order o = {true, types[t], false};

        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < n; j++) {
                struct hs_hit x = {0}, y = {0};
                int want = hs_value_cmp(types[t], all[i], all[j]);
                int got;

                x.id = y.id = 1;
                hs_hit_key(&o, &x, all[i]);
                hs_hit_key(&o, &y, all[j]);
                got = hs_hit_cmp(&x, &y, &o);
                assert_int_equal((want > 0) - (want < 0), (got > 0) - (got < 0));
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prefix_is_the_full_sort),
        cmocka_unit_test(by_id_without_a_sort),
        cmocka_unit_test(keys_compare_as_the_values),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
