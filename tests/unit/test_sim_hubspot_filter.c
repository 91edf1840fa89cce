/* crmsim HubSpot search parsing/limits and filter evaluation, plus the
 * route matcher and time parsing they rely on (pure logic; sim sources
 * compiled in, see test_sim_fault.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../sim/hubspot_filter.c"
#include "../sim/sim_route.c"
#include "../sim/sim_time.c"

static enum hs_type types(const char *prop, void *ctx)
{
    (void)ctx;
    return strcmp(prop, "lastmodifieddate") == 0 ? HS_T_DATETIME
           : strcmp(prop, "points") == 0         ? HS_T_NUMBER
                                                 : HS_T_STRING;
}

static int parse(const char *text, struct hs_search *q, json_t **body)
{
    char err[512];

    *body = json_loads(text, 0, NULL);
    assert_non_null(*body);
    return hs_search_parse(*body, q, err, sizeof(err));
}

static void limits_are_enforced(void **state)
{
    struct hs_search q;
    json_t *b;

    (void)state;
    assert_int_equal(parse("{\"limit\":200}", &q, &b), 0);
    json_decref(b);
    assert_int_equal(parse("{\"limit\":201}", &q, &b), -1);
    json_decref(b);
    assert_int_equal(parse("{\"limit\":200,\"after\":\"9800\"}", &q, &b), 0);
    json_decref(b);
    assert_int_equal(parse("{\"limit\":1,\"after\":\"10000\"}", &q, &b), -1);
    json_decref(b);
    assert_int_equal(parse("{\"filterGroups\":[{\"filters\":[]},{\"filters\":[]},{\"filters\":[]},"
                           "{\"filters\":[]},{\"filters\":[]},{\"filters\":[]}]}",
                           &q, &b),
                     -1);
    json_decref(b);
    assert_int_equal(parse("{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"a\",\"operator\":"
                           "\"BETWEEN\",\"value\":\"1\"}]}]}",
                           &q, &b),
                     -1);
    json_decref(b);
    assert_int_equal(parse("{\"sorts\":[\"a\",\"b\"]}", &q, &b), -1);
    json_decref(b);
}

static void filters_match_typed_values(void **state)
{
    struct hs_search q;
    json_t *b;
    json_t *props = json_pack("{s:s, s:s, s:s}", "lastmodifieddate", "2026-02-01T00:00:10.000Z",
                              "points", "90", "email", "Ann.Lee@Example.com");

    (void)state;
    assert_int_equal(
        parse("{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"lastmodifieddate\","
              "\"operator\":\"GT\",\"value\":\"1769904009999\"},{\"propertyName\":"
              "\"points\",\"operator\":\"BETWEEN\",\"value\":\"9\",\"highValue\":"
              "\"100\"}]}]}",
              &q, &b),
        0);
    /* Numbers compare as numbers (90 is between 9 and 100; as text it is not). */
    assert_true(hs_search_match(&q, props, types, NULL));
    json_decref(b);
    assert_int_equal(
        parse("{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"lastmodifieddate\","
              "\"operator\":\"LTE\",\"value\":\"2026-02-01T00:00:09Z\"}]},"
              "{\"filters\":[{\"propertyName\":\"email\",\"operator\":\"EQ\","
              "\"value\":\"ann.lee@example.com\"}]}]}",
              &q, &b),
        0);
    assert_true(hs_search_match(&q, props, types, NULL)); /* second group, case-insensitive */
    json_decref(b);
    assert_int_equal(parse("{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"phone\","
                           "\"operator\":\"HAS_PROPERTY\"}]}]}",
                           &q, &b),
                     0);
    assert_false(hs_search_match(&q, props, types, NULL));
    json_decref(b);
    assert_int_equal(parse("{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"email\","
                           "\"operator\":\"CONTAINS_TOKEN\",\"value\":\"lee\"}]}]}",
                           &q, &b),
                     0);
    assert_true(hs_search_match(&q, props, types, NULL));
    json_decref(b);
    json_decref(props);
}

static void routes_match_versions_and_captures(void **state)
{
    static const char *const v[] = {"2026-09", "2026-03", NULL};
    static const struct sim_version_family fams[] = {{"objects", v}, {NULL, NULL}};
    const char *caps[SIM_MAX_CAPS];
    size_t n;
    char buf[256];

    (void)state;
    assert_true(sim_route_match("/crm/objects/@objects/contacts/*",
                                "/crm/objects/2026-09/contacts/42", fams, buf, sizeof(buf), caps,
                                &n));
    assert_int_equal(n, 1);
    assert_string_equal(caps[0], "42");
    assert_false(sim_route_match("/crm/objects/@objects/contacts/*",
                                 "/crm/objects/2025-09/contacts/42", fams, buf, sizeof(buf), caps,
                                 &n));
    assert_false(sim_route_match("/crm/objects/@objects/contacts",
                                 "/crm/objects/2026-09/contacts/42", fams, buf, sizeof(buf), caps,
                                 &n));
    assert_true(sim_route_match("/crm/objects/@objects/contacts", "/crm/objects/2026-03/contacts/",
                                fams, buf, sizeof(buf), caps, &n));
}

static void time_parse_and_format(void **state)
{
    int64_t ms;
    char buf[40];

    (void)state;
    assert_int_equal(sim_time_parse("2026-11-24T10:00:00.123+01:00", &ms), 0);
    assert_string_equal(sim_time_format(ms, buf, sizeof(buf)), "2026-11-24T09:00:00.123Z");
    assert_int_equal(sim_time_parse("1769904000000", &ms), 0);
    assert_string_equal(sim_time_format(ms, buf, sizeof(buf)), "2026-02-01T00:00:00.000Z");
    assert_string_equal(sim_time_http_date(ms, buf, sizeof(buf)), "Sun, 01 Feb 2026 00:00:00 GMT");
    assert_int_equal(sim_time_parse("2026-13-01", &ms), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(limits_are_enforced),
        cmocka_unit_test(filters_match_typed_values),
        cmocka_unit_test(routes_match_versions_and_captures),
        cmocka_unit_test(time_parse_and_format),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
