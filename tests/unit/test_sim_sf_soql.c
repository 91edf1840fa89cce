/* crmsim Salesforce: the SOQL subset parser and evaluator (pure; the sim
 * sources are compiled in, see test_sim_fault.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../sim/sim_time.c"
#include "../sim/soql.c"

/* A record for the evaluator: fields by name. */
struct rec {
    const char *id;
    int64_t stamp;
    const char *name; /* NULL = null */
    bool flag;
    double points;
};

static int get(void *ctx, int fi, const char *field, struct soql_value *out)
{
    const struct rec *r = ctx;

    (void)fi;
    memset(out, 0, sizeof(*out));
    if (strcasecmp(field, "Id") == 0) {
        out->type = SOQL_STRING;
        out->s = r->id;
        out->case_sensitive = true;
    } else if (strcasecmp(field, "SystemModstamp") == 0) {
        out->type = SOQL_DATETIME;
        out->ms = r->stamp;
    } else if (strcasecmp(field, "LastName") == 0) {
        out->type = r->name ? SOQL_STRING : SOQL_NULL;
        out->s = r->name;
    } else if (strcasecmp(field, "DoNotCall") == 0) {
        out->type = SOQL_BOOL;
        out->b = r->flag;
    } else if (strcasecmp(field, "Points__c") == 0) {
        out->type = SOQL_NUMBER;
        out->num = r->points;
    } else {
        return -1;
    }
    return 0;
}

static struct soql_query *parse_ok(const char *text)
{
    struct soql_query *q = NULL;
    char err[512] = "";

    if (soql_parse(text, &q, err, sizeof(err)) != 0)
        fail_msg("parse failed for %s: %s", text, err);
    return q;
}

static void parse_err(const char *text, const char *want)
{
    struct soql_query *q = NULL;
    char err[512] = "";

    assert_int_equal(soql_parse(text, &q, err, sizeof(err)), -1);
    assert_null(q);
    if (strstr(err, want) == NULL)
        fail_msg("for %s: expected '%s' in '%s'", text, want, err);
}

static void parses_the_connector_query(void **state)
{
    struct soql_query *q;

    (void)state;
    q = parse_ok("SELECT Id, LastName, SystemModstamp FROM Contact WHERE "
                 "(SystemModstamp > 2026-11-24T10:00:00Z OR (SystemModstamp = "
                 "2026-11-24T10:00:00Z AND Id > '003Sm0000000001')) "
                 "ORDER BY SystemModstamp, Id DESC NULLS FIRST LIMIT 200 OFFSET 5");
    assert_int_equal(q->nfields, 3);
    assert_string_equal(q->fields[2], "SystemModstamp");
    assert_string_equal(q->object, "Contact");
    assert_int_equal(q->where->kind, SOQL_OR);
    assert_int_equal(q->where->a->kind, SOQL_CMP);
    assert_int_equal(q->where->a->op, SOQL_GT);
    assert_int_equal(q->where->a->vals[0].type, SOQL_DATETIME);
    assert_true(q->where->a->vals[0].ms == 1795514400000LL);
    assert_int_equal(q->where->b->kind, SOQL_AND);
    assert_string_equal(q->where->b->b->vals[0].s, "003Sm0000000001");
    assert_int_equal(q->norder, 2);
    assert_false(q->order[0].desc);
    assert_true(q->order[1].desc);
    assert_false(q->order[1].nulls_last);
    assert_int_equal(q->limit, 200);
    assert_int_equal(q->offset, 5);
    soql_free(q);

    q = parse_ok("select id from contact where lastname not in ('a','b') and "
                 "DoNotCall = TRUE and Points__c >= -1.5 and LastName != null");
    assert_int_equal(q->where->kind, SOQL_AND);
    assert_int_equal(q->limit, -1);
    soql_free(q);
}

static void rejects_what_it_does_not_support(void **state)
{
    (void)state;
    parse_err("", "unexpected token: '<EOF>'");
    parse_err("SELECT FROM Contact", "Column:8\nunexpected token: 'FROM'");
    parse_err("SELECT Id FROM Contact WHERE", "unexpected token: '<EOF>'");
    parse_err("SELECT COUNT() FROM Contact", "unexpected token: '('");
    parse_err("SELECT Account.Name FROM Contact", "unexpected token: 'Account.Name'");
    parse_err("SELECT Id FROM Contact WHERE a = 1 AND b = 2 OR c = 3", "unexpected token: 'OR'");
    parse_err("SELECT Id FROM Contact WHERE CreatedDate = TODAY", "unexpected token: 'TODAY'");
    parse_err("SELECT Id FROM Contact WHERE SystemModstamp > 2026-11-24T10:00:00",
              "no viable alternative");
    /* SOQL dateTime literals have whole seconds (issue 12). */
    parse_err("SELECT Id FROM Contact WHERE SystemModstamp > 2026-11-24T10:00:00.000Z",
              "no viable alternative");
    parse_err("SELECT Id FROM Contact WHERE LastName = 'open", "unexpected token");
    parse_err("SELECT Id FROM Contact GROUP BY Id", "unexpected token: 'GROUP'");
    parse_err("SELECT Id FROM Contact LIMIT -1", "unexpected token: '-1'");
    parse_err("SELECT Id FROM Contact WHERE Id IN ()", "unexpected token: ')'");
}

static bool matches(const char *where, const struct rec *r)
{
    char text[512];
    struct soql_query *q;
    bool m;

    snprintf(text, sizeof(text), "SELECT Id FROM Contact WHERE %s", where);
    q = parse_ok(text);
    m = soql_eval(q->where, get, (void *)r);
    soql_free(q);
    return m;
}

static void evaluates_typed_comparisons(void **state)
{
    struct rec r = {"003Sm0000000005", 1795514400000LL, "O'Brien", true, 10};
    struct rec nul = {"003Sm0000000006", 1795514400000LL, NULL, false, 0};

    (void)state;
    assert_true(matches("SystemModstamp = 2026-11-24T10:00:00Z", &r));
    assert_true(matches("SystemModstamp >= 2026-11-24T11:00:00+01:00", &r));
    assert_false(matches("SystemModstamp > 2026-11-24T10:00:00Z", &r));
    /* The cursor form: a tie on the stamp is decided by the id. */
    assert_true(matches("(SystemModstamp > 2026-11-24T10:00:00Z OR (SystemModstamp = "
                        "2026-11-24T10:00:00Z AND Id > '003Sm0000000004'))",
                        &r));
    assert_false(matches("(SystemModstamp > 2026-11-24T10:00:00Z OR (SystemModstamp = "
                         "2026-11-24T10:00:00Z AND Id > '003Sm0000000005'))",
                         &r));
    /* Ids are case-sensitive, other strings are not. */
    assert_false(matches("Id = '003SM0000000005'", &r));
    assert_true(matches("LastName = 'o\\'brien'", &r));
    assert_true(matches("LastName LIKE 'o%ri_n'", &r));
    assert_false(matches("LastName LIKE 'o%x'", &r));
    assert_true(matches("LastName IN ('x', 'O\\'BRIEN')", &r));
    assert_false(matches("LastName NOT IN ('x', 'O\\'BRIEN')", &r));
    assert_true(matches("DoNotCall = true AND Points__c > 9.5 AND NOT Points__c > 10", &r));
    /* null compares only with = null / != null. */
    assert_true(matches("LastName = null", &nul));
    assert_false(matches("LastName = null", &r));
    assert_true(matches("LastName != null", &r));
    assert_false(matches("LastName < 'z'", &nul));
    assert_true(matches("LastName != 'x'", &nul));
}

static void orders_values(void **state)
{
    struct soql_value a = {.type = SOQL_STRING, .s = "abc"};
    struct soql_value b = {.type = SOQL_STRING, .s = "ABD"};
    struct soql_value n = {.type = SOQL_NULL};
    struct soql_value d1 = {.type = SOQL_DATETIME, .ms = 1};
    struct soql_value d2 = {.type = SOQL_DATETIME, .ms = 2};

    (void)state;
    assert_true(soql_value_cmp(&a, &b) < 0);
    assert_true(soql_value_cmp(&d2, &d1) > 0);
    assert_true(soql_value_cmp(&n, &d1) < 0);
    assert_true(soql_like("", "%"));
    assert_false(soql_like("", "_"));
    assert_true(soql_like("abcabc", "%abc"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_the_connector_query),
        cmocka_unit_test(rejects_what_it_does_not_support),
        cmocka_unit_test(evaluates_typed_comparisons),
        cmocka_unit_test(orders_values),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
