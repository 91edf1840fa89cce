/* crmsim Salesforce: the CSV reader/writer of Bulk API 2.0 (pure; the sim
 * source is compiled in, see test_sim_fault.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../sim/csv.c"

static void parse_ok(const char *text, char delim, struct csv_table *t)
{
    char err[128] = "";

    if (csv_parse(text, strlen(text), delim, t, err, sizeof(err)) != 0)
        fail_msg("parse failed: %s", err);
}

static void quoted_fields_keep_delimiters_quotes_and_newlines(void **state)
{
    struct csv_table t;

    (void)state;
    parse_ok("Name,Note,Points\r\n"
             "\"Smith, Jo\",\"said \"\"hi\"\"\",10\r\n"
             "plain,\"two\nlines\",\r\n"
             "\"\",x,\"\"\n",
             ',', &t);
    assert_int_equal(t.nrows, 4);
    assert_int_equal(t.rows[0].n, 3);
    assert_string_equal(t.rows[1].fields[0], "Smith, Jo");
    assert_string_equal(t.rows[1].fields[1], "said \"hi\"");
    assert_string_equal(t.rows[1].fields[2], "10");
    assert_string_equal(t.rows[2].fields[1], "two\nlines");
    assert_int_equal(t.rows[2].n, 3);
    assert_string_equal(t.rows[2].fields[2], "");
    assert_int_equal(t.rows[3].line, 5); /* the embedded newline counts */
    assert_string_equal(t.rows[3].fields[0], "");
    assert_string_equal(t.rows[3].fields[2], "");
    csv_table_free(&t);
}

static void line_endings_blank_lines_and_other_delimiters(void **state)
{
    struct csv_table t;

    (void)state;
    parse_ok("a|b\n\n1|2", '|', &t); /* no final newline */
    assert_int_equal(t.nrows, 2);
    assert_string_equal(t.rows[1].fields[1], "2");
    assert_int_equal(t.rows[1].line, 3);
    csv_table_free(&t);
    parse_ok("", ',', &t);
    assert_int_equal(t.nrows, 0);
    csv_table_free(&t);
    parse_ok("a\rb,c\n", ',', &t); /* a lone CR is data */
    assert_string_equal(t.rows[0].fields[0], "a\rb");
    csv_table_free(&t);
}

static void malformed_input_is_reported_with_its_line(void **state)
{
    struct csv_table t;
    char err[128];

    (void)state;
    assert_int_equal(csv_parse("a,b\n\"open,x\n", 12, ',', &t, err, sizeof(err)), -1);
    assert_string_equal(err, "line 2: unterminated quoted field");
    assert_int_equal(t.nrows, 0);
    assert_int_equal(csv_parse("a,b\nx\"y,1\n", 10, ',', &t, err, sizeof(err)), -1);
    assert_string_equal(err, "line 2: quote inside an unquoted field");
    assert_int_equal(csv_parse("\"a\"b,1\n", 7, ',', &t, err, sizeof(err)), -1);
    assert_string_equal(err, "line 1: unexpected character after a closing quote");
}

static void writer_round_trips(void **state)
{
    struct csv_buf b = {0};
    struct csv_table t;

    (void)state;
    assert_int_equal(csv_put(&b, "sf__Id", ',', false), 0);
    assert_int_equal(csv_put(&b, "a \"q\", b\nc", ',', true), 0);
    assert_string_equal(b.data, "\"sf__Id\",\"a \"\"q\"\", b\nc\"\n");
    parse_ok(b.data, ',', &t);
    assert_int_equal(t.nrows, 1);
    assert_string_equal(t.rows[0].fields[1], "a \"q\", b\nc");
    csv_table_free(&t);
    csv_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quoted_fields_keep_delimiters_quotes_and_newlines),
        cmocka_unit_test(line_endings_blank_lines_and_other_delimiters),
        cmocka_unit_test(malformed_input_is_reported_with_its_line),
        cmocka_unit_test(writer_round_trips),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
