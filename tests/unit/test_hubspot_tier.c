/* The tier derived from the points balance (connectors/crm_tier.c) and
 * where it goes: the contacts upsert, the projection (shadow), the pull's
 * observation. */
#include "cmocka_setup.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "connector.h"
#include "hubspot.h"

static struct hs_map map;

static int setup(void **state)
{
    struct hs_map_config mc = {
        "member_key", "loyalty_points", "loyalty_tier", "",
        NULL,         "email=email",    "marketing",    "bronze:0, silver:1000, gold:5000",
    };
    struct error err = {""};
    (void)state;
    return hs_map_init(&map, &mc, &err);
}

static int teardown(void **state)
{
    (void)state;
    hs_map_free(&map);
    return 0;
}

static void thresholds_are_parsed_and_checked(void **state)
{
    struct crm_tiers t = {NULL, 9};
    struct error err = {""};
    (void)state;
    assert_int_equal(map.tiers.n, 3);
    assert_string_equal(map.tiers.t[1].name, "silver");
    assert_int_equal(map.tiers.t[1].min, 1000);
    assert_int_equal(crm_tiers_parse("", &t, &err), 0);
    assert_int_equal(t.n, 0);
    assert_int_equal(crm_tiers_parse(NULL, &t, &err), 0);
    assert_int_equal(t.n, 0);
    assert_int_equal(crm_tiers_parse("gold:5000,silver:1000", &t, &err), -1);
    assert_non_null(strstr(err.msg, "ascend"));
    assert_int_equal(crm_tiers_parse("gold", &t, &err), -1);
    assert_non_null(strstr(err.msg, "name:minimum"));
    assert_int_equal(crm_tiers_parse("gold:lots", &t, &err), -1);
    assert_int_equal(crm_tiers_parse(":5", &t, &err), -1);
    assert_int_equal(crm_tiers_parse("a:1,a2:1", &t, &err), -1);
    assert_int_equal(crm_tiers_parse("base:-100, top:100", &t, &err), 0);
    assert_int_equal(t.n, 2);
    assert_int_equal(t.t[0].min, -100);
    crm_tiers_free(&t);
}

/* The last tier whose minimum the balance reaches; none below the first. */
static void tier_of_a_balance(void **state)
{
    (void)state;
    assert_string_equal(crm_tier_of(&map.tiers, -1), "");
    assert_string_equal(crm_tier_of(&map.tiers, 0), "bronze");
    assert_string_equal(crm_tier_of(&map.tiers, 999), "bronze");
    assert_string_equal(crm_tier_of(&map.tiers, 1000), "silver");
    assert_string_equal(crm_tier_of(&map.tiers, 4999), "silver");
    assert_string_equal(crm_tier_of(&map.tiers, 5000), "gold");
    assert_string_equal(crm_tier_of(&map.tiers, 1000000), "gold");
}

/* The shadow covers balance and tier: a new threshold makes the same
 * balance project differently, so it is written again. */
static void projection_holds_the_tier(void **state)
{
    struct hs_map plain;
    struct hs_map_config mc = {NULL, NULL, NULL, "", NULL, "email=email", "", NULL};
    struct error err = {""};
    char out[64];
    (void)state;
    assert_int_equal(hs_project_balance(&map, "{\"balance\":1200}", out, sizeof(out)), 0);
    assert_string_equal(out, "1200|silver");
    assert_int_equal(hs_project_balance(&map, "{\"balance\":-5}", out, sizeof(out)), 0);
    assert_string_equal(out, "-5|");
    assert_int_equal(hs_project_balance(&map, "{\"balance\":\"x\"}", out, sizeof(out)), -1);
    assert_int_equal(hs_map_init(&plain, &mc, &err), 0);
    assert_int_equal(hs_project_balance(&plain, "{\"balance\":1200}", out, sizeof(out)), 0);
    assert_string_equal(out, "1200");
    hs_map_free(&plain);
}

/* A balance record sets both properties in the same upsert input. */
static void upsert_carries_the_tier(void **state)
{
    struct push_record recs[2] = {
        {1, "M1", CHANGE_POINTS, "points/balance", "{\"balance\":5000}", NULL, NULL},
        {2, "M2", CHANGE_POINTS, "points/balance", "{\"balance\":-3}", NULL, NULL},
    };
    struct push_result res[2] = {0};
    struct crm_plan p;
    (void)state;
    push_results_clear(res, 2);
    memset(res, 0, sizeof(res));
    assert_int_equal(hs_plan_contacts(&map, recs, 2, res, 1, &p), 0);
    assert_string_equal(
        json_string_value(json_object_get(p.g[p.rec_group[0]].fields, "loyalty_points")), "5000");
    assert_string_equal(
        json_string_value(json_object_get(p.g[p.rec_group[0]].fields, "loyalty_tier")), "gold");
    /* Below every minimum: the property is cleared ("" in HubSpot). */
    assert_string_equal(
        json_string_value(json_object_get(p.g[p.rec_group[1]].fields, "loyalty_tier")), "");
    crm_plan_free(&p);
    push_results_clear(res, 2);
}

struct observed {
    char points[64];
};

static int on_field(void *arg, const char *member, enum change_kind kind, const char *field,
                    const struct change *c, const char *projection)
{
    struct observed *o = arg;
    (void)member;
    (void)c;
    if (kind == CHANGE_POINTS && strcmp(field, "points/balance") == 0)
        snprintf(o->points, sizeof(o->points), "%s", projection);
    return 0;
}

/* The pull observes balance and tier as one projection: a tier edited in
 * HubSpot (balance untouched) differs from the local projection, and the
 * engine's drift repair writes both back. */
static void pull_observes_balance_and_tier(void **state)
{
    json_t *contact = json_pack("{s:s, s:{s:s, s:s, s:s, s:s}}", "id", "11", "properties",
                                "member_key", "M1", "lastmodifieddate", "2026-11-01T10:00:00Z",
                                "loyalty_points", "1200", "loyalty_tier", "gold");
    struct observed o = {""};
    char member[64], local[64];
    (void)state;
    assert_int_equal(
        hs_contact_fields(&map, "hs", contact, NULL, on_field, &o, member, sizeof(member)), 0);
    assert_string_equal(o.points, "1200|gold");
    assert_int_equal(hs_project_balance(&map, "{\"balance\":1200}", local, sizeof(local)), 0);
    assert_string_not_equal(o.points, local);
    json_decref(contact);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(thresholds_are_parsed_and_checked),
        cmocka_unit_test(tier_of_a_balance),
        cmocka_unit_test(projection_holds_the_tier),
        cmocka_unit_test(upsert_carries_the_tier),
        cmocka_unit_test(pull_observes_balance_and_tier),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
