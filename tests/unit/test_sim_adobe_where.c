/* crmsim Adobe Campaign: the XTK filter expression subset a queryDef
 * <condition expr="..."/> carries (pure; the sim source is compiled in, see
 * test_sim_fault.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../sim/adobe_where.c"

/* A row: path -> value pairs, NULL-terminated. */
struct row {
    const char *const *kv;
};

static const char *get(void *ctx, const char *path)
{
    const struct row *r = ctx;

    for (size_t i = 0; r->kv[i] != NULL; i += 2) {
        if (strcmp(r->kv[i], path) == 0)
            return r->kv[i + 1];
    }
    return NULL;
}

static const char *const row1[] = {"@email",
                                   "o'brien@example.com",
                                   "@lastName",
                                   "O'Brien",
                                   "@memberKey",
                                   "m-7",
                                   "@loyaltyPoints",
                                   "120",
                                   "@lastModified",
                                   "2026-12-07 10:00:00.500Z",
                                   "@id",
                                   "42",
                                   "service/@name",
                                   "newsletter",
                                   "@blackList",
                                   "0",
                                   "@empty",
                                   "",
                                   NULL};

static bool eval(const char *expr)
{
    struct aw_node *n = NULL;
    char err[256];
    struct row r = {row1};
    bool v;

    if (aw_parse(expr, &n, err, sizeof(err)) != 0)
        fail_msg("parse '%s': %s", expr, err);
    v = aw_eval(n, get, &r);
    aw_free(n);
    return v;
}

static void parse_fails(const char *expr, const char *what)
{
    struct aw_node *n = (struct aw_node *)1;
    char err[256] = "";

    assert_int_equal(aw_parse(expr, &n, err, sizeof(err)), -1);
    assert_null(n);
    if (strstr(err, what) == NULL)
        fail_msg("'%s': error '%s' does not say '%s'", expr, err, what);
}

static void comparisons_on_strings_numbers_and_ids(void **state)
{
    (void)state;
    assert_true(eval("@memberKey = 'm-7'"));
    assert_false(eval("@memberKey = 'M-7'")); /* case-sensitive, as PostgreSQL */
    assert_true(eval("@memberKey != 'm-8'"));
    assert_true(eval("@memberKey <> 'm-8'"));
    assert_true(eval("@loyaltyPoints > 100"));
    assert_true(eval("@loyaltyPoints >= 120"));
    assert_false(eval("@loyaltyPoints < 120"));
    assert_true(eval("@loyaltyPoints <= 120.0"));
    assert_true(eval("@id = 42 and @id > 9")); /* numeric, not text: "42" < "9" */
    assert_true(eval("@memberKey >= 'm' and @memberKey < 'm~'"));
}

static void quoted_literals_with_escapes(void **state)
{
    (void)state;
    /* What acc-js-sdk's escapeXtk makes of O'Brien. */
    assert_true(eval("@lastName = 'O\\'Brien'"));
    assert_true(eval("@lastName = \"O'Brien\""));
    assert_true(eval("@email = 'o\\'brien@example.com'"));
    assert_false(eval("@lastName = 'O\\\\Brien'"));
}

static void datetime_literals(void **state)
{
    (void)state;
    assert_true(eval("@lastModified > #2026-12-07 10:00:00.000Z#"));
    assert_true(eval("@lastModified = #2026-12-07 10:00:00.500Z#"));
    assert_true(eval("@lastModified < #2026-12-07T10:00:01Z#"));
    assert_true(eval("@lastModified >= #2026/12/07 10:00:00#"));
    assert_true(eval("@lastModified > #2026-12-06#"));
    assert_false(eval("@lastModified > #2026-12-08#"));
}

static void and_or_not_and_parentheses(void **state)
{
    (void)state;
    /* and binds tighter than or */
    assert_true(eval("@id = 1 or @id = 42 and @loyaltyPoints = 120"));
    assert_false(eval("(@id = 1 or @id = 42) and @loyaltyPoints = 7"));
    assert_true(eval("@lastModified > #2026-12-07 10:00:00.500Z# OR (@lastModified = "
                     "#2026-12-07 10:00:00.500Z# AND @id > 41)"));
    assert_true(eval("not @id = 1"));
    assert_true(eval("NOT (@id = 1 OR @id = 2)"));
}

static void null_tests_and_null_comparisons(void **state)
{
    (void)state;
    assert_true(eval("@email IS NOT NULL"));
    assert_true(eval("@phone IS NULL"));
    assert_true(eval("@empty IS NULL")); /* an empty value is NULL */
    assert_false(eval("@phone = ''"));
    assert_false(eval("@phone != 'x'")); /* NULL compares to nothing */
    assert_false(eval("@loyaltyPoints = 'abc' and @memberKey > 5"));
}

static void link_paths_and_brackets(void **state)
{
    (void)state;
    assert_true(eval("[service/@name] = 'newsletter'"));
    assert_true(eval("service/@name = 'newsletter'"));
    assert_true(eval("[@memberKey] = 'm-7'"));
    assert_true(eval("[@blackList] = 0"));
}

static int collect(void *ctx, const char *path)
{
    char *buf = ctx;
    size_t n = strlen(buf);

    snprintf(buf + n, 256 - n, "%s;", path);
    return 0;
}

static void fields_are_listed_normalised(void **state)
{
    struct aw_node *n = NULL;
    char err[128], seen[256] = "";

    (void)state;
    assert_int_equal(aw_parse("[@a-id] = 1 and ([link/@b] IS NOT NULL or @c < #2026-01-01#)", &n,
                              err, sizeof(err)),
                     0);
    assert_int_equal(aw_fields(n, collect, seen), 0);
    assert_string_equal(seen, "@a-id;link/@b;@c;");
    aw_free(n);
}

static void malformed_expressions_are_refused(void **state)
{
    (void)state;
    parse_fails("", "unexpected end");
    parse_fails("@email = 'x", "unterminated string");
    parse_fails("@email = ", "unexpected end");
    parse_fails("@a = 1 and", "unexpected end");
    parse_fails("@a = #2026-13-01#", "invalid #datetime#");
    parse_fails("@a = #2026-01-01", "unterminated #datetime#");
    parse_fails("(@a = 1", "expected ')'");
    parse_fails("@a = 1 @b = 2", "unexpected text");
    parse_fails("@a IS 1", "expected NULL");
    parse_fails("[@a = 1", "expected ']'");
    parse_fails("@a LIKE 'x%'", "expected a comparison");
    parse_fails("Lower(@a) = 'x'", "expected '/@field'");
}

static void datetimes_parse_to_epoch_ms(void **state)
{
    int64_t ms;

    (void)state;
    assert_int_equal(aw_parse_datetime("1970-01-01 00:00:01.250Z", 24, &ms), 0);
    assert_int_equal(ms, 1250);
    assert_int_equal(aw_parse_datetime("2026-12-07T10:00:00Z", 20, &ms), 0);
    assert_int_equal(ms, 1796637600000LL);
    assert_int_equal(aw_parse_datetime("2026-12-07", 10, &ms), 0);
    assert_int_equal(ms, 1796601600000LL);
    assert_int_equal(aw_parse_datetime("2026-12-07 10:00", 16, &ms), -1);
    assert_int_equal(aw_parse_datetime("yesterday", 9, &ms), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(comparisons_on_strings_numbers_and_ids),
        cmocka_unit_test(quoted_literals_with_escapes),
        cmocka_unit_test(datetime_literals),
        cmocka_unit_test(and_or_not_and_parentheses),
        cmocka_unit_test(null_tests_and_null_comparisons),
        cmocka_unit_test(link_paths_and_brackets),
        cmocka_unit_test(fields_are_listed_normalised),
        cmocka_unit_test(malformed_expressions_are_refused),
        cmocka_unit_test(datetimes_parse_to_epoch_ms),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
