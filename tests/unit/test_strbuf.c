#include "cmocka_setup.h"

#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

static void builds_within_the_bound(void **state)
{
    struct strbuf b;
    char *s;
    (void)state;
    strbuf_init(&b, 64);
    assert_string_equal(strbuf_str(&b), "");
    assert_int_equal(strbuf_add(&b, "/services/data/"), 0);
    assert_int_equal(strbuf_addf(&b, "%s/query?q=%d", "v66.0", 42), 0);
    assert_int_equal(strbuf_addn(&b, "xyz", 2), 0);
    assert_string_equal(strbuf_str(&b), "/services/data/v66.0/query?q=42xy");
    s = strbuf_take(&b);
    assert_string_equal(s, "/services/data/v66.0/query?q=42xy");
    free(s);
    strbuf_free(&b);
}

/* A string one byte longer than the bound fails the buffer for good: no
 * cut string ever comes out (STYLE.md 13). */
static void past_the_bound_fails_and_stays_failed(void **state)
{
    struct strbuf b;
    char big[200];
    (void)state;
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    strbuf_init(&b, 10);
    assert_int_equal(strbuf_add(&b, "0123456789"), 0);
    assert_string_equal(strbuf_str(&b), "0123456789");
    assert_int_equal(strbuf_add(&b, "x"), -1);
    assert_null(strbuf_str(&b));
    assert_int_equal(strbuf_add(&b, ""), -1);
    assert_null(strbuf_take(&b));
    strbuf_free(&b);

    strbuf_init(&b, 150);
    assert_int_equal(strbuf_addf(&b, "%s", big), -1);
    assert_null(strbuf_take(&b));
    strbuf_free(&b);
}

static void grows_past_its_first_allocation(void **state)
{
    struct strbuf b;
    (void)state;
    strbuf_init(&b, 100000);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(strbuf_addf(&b, "%04d", i % 10000), 0);
    assert_int_equal(strlen(strbuf_str(&b)), 40000);
    assert_memory_equal(strbuf_str(&b) + 39996, "9999", 4);
    strbuf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(builds_within_the_bound),
        cmocka_unit_test(past_the_bound_fails_and_stays_failed),
        cmocka_unit_test(grows_past_its_first_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
