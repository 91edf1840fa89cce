/* HubSpot record ids, merged ids and a member's contact fields
 * (connectors/hubspot_ids.c). */
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
        "member_key",   "loyalty_points",
        "loyalty_tier", "marketing=1001",
        NULL,           "email=email,first_name=firstname",
        "marketing",    NULL,
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

/* hs_merged_object_ids is ";"-separated; junk and repeats are dropped, and
 * no more than asked for is written. */
static void merged_ids_are_split(void **state)
{
    char ids[4][HS_ID_MAX];
    (void)state;
    assert_int_equal(hs_split_ids("101;202", ids, 4), 2);
    assert_string_equal(ids[0], "101");
    assert_string_equal(ids[1], "202");
    assert_int_equal(hs_split_ids("7; 8,x9;;7;123456789012345678901234567890123", ids, 4), 2);
    assert_string_equal(ids[0], "7");
    assert_string_equal(ids[1], "8");
    assert_int_equal(hs_split_ids("1;2;3;4;5", ids, 3), 3);
    assert_string_equal(ids[2], "3");
    assert_int_equal(hs_split_ids("", ids, 4), 0);
    assert_int_equal(hs_split_ids(NULL, ids, 4), 0);
}

/* The markers the identity map keeps for a gone contact are never taken
 * for a record id (they would be sent as one). */
static void markers_are_not_record_ids(void **state)
{
    (void)state;
    assert_true(hs_is_record_id("12345"));
    assert_false(hs_is_record_id("archived:12345"));
    assert_false(hs_is_record_id("merged:12"));
    assert_false(hs_is_record_id(""));
    assert_false(hs_is_record_id(NULL));
}

/* A marker as remote id: the contacts plan addresses the member by id
 * property only (remote_id NULL), a record id is kept. */
static void plan_ignores_markers(void **state)
{
    struct push_record recs[2] = {
        {1, "M1", CHANGE_PROFILE, "profile/first_name", "\"Ann\"", "archived:77", NULL},
        {2, "M2", CHANGE_PROFILE, "profile/first_name", "\"Bob\"", "78", NULL},
    };
    struct push_result res[2] = {0};
    struct crm_plan p;
    (void)state;
    push_results_clear(res, 2);
    memset(res, 0, sizeof(res));
    assert_int_equal(hs_plan_contacts(&map, recs, 2, res, 0, &p), 0);
    assert_int_equal(p.ng, 2);
    assert_null(p.g[p.rec_group[0]].remote_id);
    assert_string_equal(p.g[p.rec_group[1]].remote_id, "78");
    crm_plan_free(&p);
    push_results_clear(res, 2);
}

struct seen {
    char fields[32][64];
    enum change_kind kinds[32];
    size_t n;
};

static int collect(void *arg, enum change_kind kind, const char *field)
{
    struct seen *s = arg;
    if (s->n < 32) {
        snprintf(s->fields[s->n], sizeof(s->fields[0]), "%s", field);
        s->kinds[s->n++] = kind;
    }
    return 0;
}

/* Every field the contact holds, EMAIL consent excepted (it lives with the
 * address), the balance last. */
static void contact_fields(void **state)
{
    struct seen s;
    int has_sms = 0, has_email = 0, has_first = 0;
    (void)state;
    memset(&s, 0, sizeof(s));
    assert_int_equal(hs_contact_field_each(&map, collect, &s), 0);
    for (size_t i = 0; i < s.n; i++) {
        has_sms |= strcmp(s.fields[i], "consent/marketing/sms") == 0;
        has_email |= strcmp(s.fields[i], "consent/marketing/email") == 0;
        has_first |= strcmp(s.fields[i], "profile/first_name") == 0;
    }
    assert_true(has_sms);
    assert_false(has_email);
    assert_true(has_first);
    assert_string_equal(s.fields[s.n - 1], "points/balance");
    assert_int_equal(s.kinds[s.n - 1], CHANGE_POINTS);
    /* 2 attributes + 3 channels + tier + balance */
    assert_int_equal(s.n, 7);
}

/* The pull's search reads hs_merged_object_ids (it is not one of the
 * properties we create). */
static void search_reads_merged_ids(void **state)
{
    char *body = hs_search_body(&map, 0, 10, 0, 100);
    json_t *root = json_loads(body, 0, NULL);
    json_t *props = json_object_get(root, "properties"), *v, *mapped;
    size_t i;
    int found = 0;
    (void)state;
    json_array_foreach(props, i, v) found |= strcmp(json_string_value(v), HS_MERGED_PROPERTY) == 0;
    assert_true(found);
    mapped = hs_mapped_properties(&map);
    found = 0;
    json_array_foreach(mapped, i, v) found |= strcmp(json_string_value(v), HS_MERGED_PROPERTY) == 0;
    assert_false(found);
    json_decref(mapped);
    json_decref(root);
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(merged_ids_are_split),    cmocka_unit_test(markers_are_not_record_ids),
        cmocka_unit_test(plan_ignores_markers),    cmocka_unit_test(contact_fields),
        cmocka_unit_test(search_reads_merged_ids),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
