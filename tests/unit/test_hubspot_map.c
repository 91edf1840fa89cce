/* HubSpot mapping and request composition (connectors/hubspot_map.c). */
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
        "member_key",
        "loyalty_points",
        "loyalty_tier",
        "marketing=1001, loyalty_programme=1002",
        "consent=CONSENT_WITH_NOTICE,contract=PERFORMANCE_OF_CONTRACT,"
        "legitimate_interest=LEGITIMATE_INTEREST_OTHER",
        "email=email,phone=phone,first_name=firstname,last_name=lastname,birthday=date_of_birth",
        "marketing,loyalty_programme",
        NULL,
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

static void option_table_is_valid(void **state)
{
    const struct connector_ops *ops = connector_find_type("hubspot");
    struct error err = {""};
    (void)state;
    assert_non_null(ops);
    assert_int_equal(ops->max_batch, 100);
    assert_int_equal(ops->points_as_balance, 1);
    assert_int_equal(config_table_validate(ops->config, &err), 0);
}

static void bad_pairs_are_refused(void **state)
{
    struct hs_map m;
    struct error err = {""};
    struct hs_map_config mc = {NULL, NULL, NULL, "marketing", NULL, NULL, NULL, NULL};
    (void)state;
    assert_int_equal(hs_map_init(&m, &mc, &err), -1);
    assert_non_null(strstr(err.msg, "subscriptions"));
    mc.subscriptions = "marketing=abc";
    assert_int_equal(hs_map_init(&m, &mc, &err), -1);
    assert_non_null(strstr(err.msg, "subscription type id"));
}

static void batch_classes(void **state)
{
    char out[64];
    struct push_record r = {0};
    (void)state;
    r.kind = CHANGE_CONSENT;
    r.field = "consent/marketing/email";
    hs_batch_class(&r, out, sizeof(out));
    assert_string_equal(out, "subscriptions");
    r.field = "consent/marketing/sms";
    hs_batch_class(&r, out, sizeof(out));
    assert_string_equal(out, "contacts");
    r.kind = CHANGE_SEGMENT;
    r.field = "segment/vip";
    hs_batch_class(&r, out, sizeof(out));
    assert_string_equal(out, "list:vip");
    r.kind = CHANGE_ERASE;
    r.field = "erase";
    hs_batch_class(&r, out, sizeof(out));
    assert_string_equal(out, "erase");
    r.kind = CHANGE_POINTS;
    r.field = "points/balance";
    hs_batch_class(&r, out, sizeof(out));
    assert_string_equal(out, "contacts");
}

/* Timestamps, sources and proofs are not what HubSpot compares: a value
 * that differs only there projects the same (no push). */
static void projection(void **state)
{
    char out[128];
    (void)state;
    assert_int_equal(hs_project(CHANGE_CONSENT, "consent/marketing/email",
                                "{\"collected_at\":\"2026-11-01T10:00:00.000Z\",\"legal_basis\":"
                                "\"consent\",\"source\":\"web\",\"status\":\"granted\"}",
                                out, sizeof(out)),
                     0);
    assert_string_equal(out, "SUBSCRIBED");
    assert_int_equal(hs_project(CHANGE_CONSENT, "consent/marketing/email",
                                "{\"collected_at\":\"2026-11-02T10:00:00.000Z\",\"status\":"
                                "\"denied\"}",
                                out, sizeof(out)),
                     0);
    /* PublicStatusRequest.statusState (2026-09) has no NOT_SUBSCRIBED. */
    assert_string_equal(out, "UNSUBSCRIBED");
    assert_int_equal(hs_project(CHANGE_CONSENT, "consent/marketing/sms",
                                "{\"collected_at\":\"2026-11-02T10:00:00.000Z\",\"status\":"
                                "\"denied\"}",
                                out, sizeof(out)),
                     0);
    assert_string_equal(out, "denied");
    assert_int_equal(
        hs_project(CHANGE_POINTS, "points/balance", "{\"balance\":120}", out, sizeof(out)), 0);
    assert_string_equal(out, "120");
    assert_int_equal(hs_project(CHANGE_SEGMENT, "segment/vip",
                                "{\"since\":\"2026-11-01T10:00:00.000Z\",\"status\":\"in\"}", out,
                                sizeof(out)),
                     0);
    assert_string_equal(out, "in");
    assert_int_equal(hs_project(CHANGE_PROFILE, "profile/email", "{\"value\":\"a@b.example\"}", out,
                                sizeof(out)),
                     0);
    assert_string_equal(out, "a@b.example");
    assert_int_equal(
        hs_project(CHANGE_PROFILE, "profile/phone", "{\"value\":null}", out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(hs_project(CHANGE_ERASE, "erase", "{}", out, sizeof(out)), 0);
    assert_string_equal(out, "erased");
    assert_int_equal(hs_project(CHANGE_POINTS, "points/balance", "{\"x\":1}", out, sizeof(out)),
                     -1);
}

/* Several records of one member become one input with all properties. */
static void one_input_per_member(void **state)
{
    struct push_record recs[] = {
        {1, "M1", CHANGE_CONSENT, "consent/marketing/sms",
         "{\"collected_at\":\"2026-11-01T10:00:00.000Z\",\"legal_basis\":\"consent\","
         "\"source\":\"till\",\"status\":\"granted\"}",
         NULL, NULL},
        {2, "M2", CHANGE_POINTS, "points/balance", "{\"balance\":50}", "901", NULL},
        {3, "M1", CHANGE_POINTS, "points/balance", "{\"balance\":120}", NULL, NULL},
        {4, "M1", CHANGE_PROFILE, "profile/first_name", "{\"value\":\"Ann\"}", NULL, NULL},
        {5, "M1", CHANGE_PROFILE, "profile/shoe_size", "{\"value\":\"42\"}", NULL, NULL},
    };
    struct push_result res[5] = {0};
    struct crm_plan p;
    size_t sel[2] = {0, 1};
    char *body;
    json_t *root, *inputs, *m1;
    (void)state;

    assert_int_equal(hs_plan_contacts(&map, recs, 5, res, 1, &p), 0);
    assert_int_equal(p.ng, 2);
    assert_int_equal(p.rec_group[0], 0);
    assert_int_equal(p.rec_group[1], 1);
    assert_int_equal(p.rec_group[2], 0);
    assert_int_equal(p.rec_group[3], 0);
    assert_true(p.rec_group[4] == SIZE_MAX);
    assert_int_equal(res[4].outcome, PUSH_REJECT);
    assert_non_null(strstr(res[4].reason, "shoe_size"));
    assert_string_equal(p.g[1].remote_id, "901");
    body = hs_upsert_body(&map, &p, sel, 2);
    root = json_loads(body, 0, NULL);
    inputs = json_object_get(root, "inputs");
    assert_int_equal(json_array_size(inputs), 2);
    m1 = json_array_get(inputs, 0);
    assert_string_equal(json_string_value(json_object_get(m1, "idProperty")), "member_key");
    assert_string_equal(json_string_value(json_object_get(m1, "id")), "M1");
    m1 = json_object_get(m1, "properties");
    assert_int_equal(json_object_size(m1), 5);
    assert_string_equal(json_string_value(json_object_get(m1, "consent_marketing_sms")), "granted");
    assert_string_equal(json_string_value(json_object_get(m1, "consent_marketing_sms_date")),
                        "2026-11-01T10:00:00.000Z");
    assert_string_equal(json_string_value(json_object_get(m1, "consent_marketing_sms_source")),
                        "till");
    assert_string_equal(json_string_value(json_object_get(m1, "loyalty_points")), "120");
    assert_string_equal(json_string_value(json_object_get(m1, "firstname")), "Ann");
    json_decref(root);
    free(body);
    crm_plan_free(&p);
    push_results_clear(res, 5);
}

static void profile_null_clears_with_empty_string(void **state)
{
    struct push_record r = {1,    "M1", CHANGE_PROFILE, "profile/phone", "{\"value\":null}",
                            NULL, NULL};
    struct push_result res = {0};
    struct crm_plan p;
    (void)state;
    assert_int_equal(hs_plan_contacts(&map, &r, 1, &res, 1, &p), 0);
    assert_string_equal(json_string_value(json_object_get(p.g[0].fields, "phone")), "");
    crm_plan_free(&p);
    push_results_clear(&res, 1);
}

static void subscription_input_shape(void **state)
{
    struct push_record r = {7,
                            "M1",
                            CHANGE_CONSENT,
                            "consent/loyalty_programme/email",
                            "{\"collected_at\":\"2026-11-01T10:00:00.000Z\",\"legal_basis\":"
                            "\"contract\",\"proof\":\"notice-v3\",\"source\":\"web_form\","
                            "\"status\":\"granted\"}",
                            NULL,
                            NULL};
    char reason[256];
    json_t *in = NULL;
    (void)state;
    assert_int_equal(hs_status_input(&map, &r, "ann@example.com", &in, reason, sizeof(reason)), 0);
    assert_string_equal(json_string_value(json_object_get(in, "subscriberIdString")),
                        "ann@example.com");
    assert_int_equal(json_integer_value(json_object_get(in, "subscriptionId")), 1002);
    assert_string_equal(json_string_value(json_object_get(in, "statusState")), "SUBSCRIBED");
    assert_string_equal(json_string_value(json_object_get(in, "channel")), "EMAIL");
    assert_string_equal(json_string_value(json_object_get(in, "legalBasis")),
                        "PERFORMANCE_OF_CONTRACT");
    assert_string_equal(json_string_value(json_object_get(in, "legalBasisExplanation")),
                        "source=web_form; proof=notice-v3");
    json_decref(in);
}

/* A withdrawal without a basis of its own is filed under "consent". */
static void legal_basis_map(void **state)
{
    struct push_record r = {7,
                            "M1",
                            CHANGE_CONSENT,
                            "consent/marketing/email",
                            "{\"collected_at\":\"2026-11-01T10:00:00.000Z\",\"source\":\"footer\","
                            "\"status\":\"denied\"}",
                            NULL,
                            NULL};
    char reason[256];
    json_t *in = NULL;
    (void)state;
    assert_int_equal(hs_status_input(&map, &r, "a@b.example", &in, reason, sizeof(reason)), 0);
    assert_string_equal(json_string_value(json_object_get(in, "statusState")), "UNSUBSCRIBED");
    assert_string_equal(json_string_value(json_object_get(in, "legalBasis")),
                        "CONSENT_WITH_NOTICE");
    json_decref(in);
    r.value_json = "{\"collected_at\":\"2026-11-01T10:00:00.000Z\",\"legal_basis\":\"vital\","
                   "\"source\":\"x\",\"status\":\"granted\"}";
    assert_int_equal(hs_status_input(&map, &r, "a@b.example", &in, reason, sizeof(reason)), -1);
    assert_non_null(strstr(reason, "vital"));
    r.field = "consent/profiling/email";
    assert_int_equal(hs_status_input(&map, &r, "a@b.example", &in, reason, sizeof(reason)), -1);
    assert_non_null(strstr(reason, "\"profiling\""));
}

static void email_of_profile(void **state)
{
    char *e;
    (void)state;
    e = hs_email_of("{\"value\":\"ann@example.com\"}");
    assert_string_equal(e, "ann@example.com");
    free(e);
    assert_null(hs_email_of("{\"value\":null}"));
    assert_null(hs_email_of(NULL));
}

static void search_body(void **state)
{
    char *body = hs_search_body(&map, 1000, 5000, 200, 100);
    json_t *root = json_loads(body, 0, NULL);
    json_t *f =
        json_object_get(json_array_get(json_object_get(root, "filterGroups"), 0), "filters");
    json_t *props = json_object_get(root, "properties");
    int has_consent = 0;
    size_t i;
    json_t *v;
    (void)state;
    assert_string_equal(json_string_value(json_object_get(json_array_get(f, 0), "operator")),
                        "GTE");
    assert_string_equal(json_string_value(json_object_get(json_array_get(f, 0), "value")), "1000");
    assert_string_equal(json_string_value(json_object_get(json_array_get(f, 1), "operator")), "LT");
    assert_string_equal(json_string_value(json_object_get(root, "after")), "200");
    assert_int_equal(json_integer_value(json_object_get(root, "limit")), 100);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(root, "sorts"), 0), "direction")),
                        "ASCENDING");
    json_array_foreach(props, i, v)
    {
        has_consent |= strcmp(json_string_value(v), "consent_loyalty_programme_post_date") == 0;
    }
    assert_true(has_consent);
    json_decref(root);
    free(body);
}

static void list_bodies(void **state)
{
    const char *add[] = {"11", "12"};
    const char *rem[] = {"13"};
    char *b = hs_list_create_body("vip");
    (void)state;
    assert_string_equal(b, "{\"name\":\"crmsyncd vip\",\"objectTypeId\":\"0-1\","
                           "\"processingType\":\"MANUAL\"}");
    free(b);
    b = hs_memberships_body(add, 2, rem, 1);
    assert_string_equal(b, "{\"recordIdsToAdd\":[\"11\",\"12\"],\"recordIdsToRemove\":[\"13\"]}");
    free(b);
}

/* BatchReadInputSimplePublicObjectId requires propertiesWithHistory. */
static void read_by_key_body(void **state)
{
    json_t *b = hs_read_by_key_body(&map, json_pack("[{s:s}]", "id", "M1"));
    (void)state;
    assert_non_null(b);
    assert_string_equal(json_string_value(json_object_get(b, "idProperty")), "member_key");
    assert_true(json_is_array(json_object_get(b, "propertiesWithHistory")));
    assert_int_equal(json_array_size(json_object_get(b, "propertiesWithHistory")), 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(b, "properties"), 0)),
                        "member_key");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(b, "inputs"), 0), "id")),
        "M1");
    json_decref(b);
}

/* A statuses batch input per email consent record; one per member else. */
static void record_cost_by_inputs(void **state)
{
    struct push_record email = {1,    "M1", CHANGE_CONSENT, "consent/marketing/email", "{}",
                                NULL, NULL};
    struct push_record sms = {2, "M1", CHANGE_CONSENT, "consent/marketing/sms", "{}", NULL, NULL};
    struct push_record seg = {3, "M1", CHANGE_SEGMENT, "segment/vip", "{}", NULL, NULL};
    (void)state;
    assert_int_equal(hs_record_cost(&email, 1), 1);
    assert_int_equal(hs_record_cost(&email, 0), 1);
    assert_int_equal(hs_record_cost(&sms, 1), 1);
    assert_int_equal(hs_record_cost(&sms, 0), 0);
    assert_int_equal(hs_record_cost(&seg, 0), 0);
}

/* The grant guard reads each address once (202 inputs, 104 duplicates,
 * were seen), and only for grants. */
static void grant_guard_reads_each_address_once(void **state)
{
    json_t *inputs = json_pack("[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}, {s:s, s:s}]",
                               "subscriberIdString", "a@example.com", "statusState", "SUBSCRIBED",
                               "subscriberIdString", "A@Example.com", "statusState", "SUBSCRIBED",
                               "subscriberIdString", "b@example.com", "statusState", "UNSUBSCRIBED",
                               "subscriberIdString", "c@example.com", "statusState", "SUBSCRIBED");
    json_t *emails = hs_distinct_subscribers(inputs, "SUBSCRIBED");
    (void)state;
    assert_int_equal(json_array_size(emails), 2);
    assert_string_equal(json_string_value(json_array_get(emails, 0)), "a@example.com");
    assert_string_equal(json_string_value(json_array_get(emails, 1)), "c@example.com");
    json_decref(emails);
    json_decref(inputs);
}

/* Request paths are built with a bounded growable string: a long version
 * or tail (an id_property of 600 characters in the archived sweep's query)
 * is kept whole (the 256/400/512-byte buffers cut it silently), and a path
 * past the bound fails instead of being cut (issue 14 item 13). */
static void long_path_is_not_cut(void **state)
{
    char version[700], prop[1500];
    struct strbuf b;
    const char *s;
    (void)state;

    memset(version, 'v', sizeof(version) - 1);
    version[sizeof(version) - 1] = '\0';
    memset(prop, 'p', sizeof(prop) - 1);
    prop[sizeof(prop) - 1] = '\0';
    strbuf_init(&b, HS_PATH_MAX);
    assert_int_equal(hs_api_path(&b, HS_V_OBJECTS, version,
                                 "?archived=true&limit=100&properties=%s&after=%s", prop, "12345"),
                     0);
    s = strbuf_str(&b);
    assert_non_null(s);
    assert_int_equal(strlen(s), strlen("/crm/objects//contacts?archived=true&limit=100&properties="
                                       "&after=12345") +
                                    strlen(version) + strlen(prop));
    assert_memory_equal(s + strlen(s) - strlen("&after=12345"), "&after=12345", 12);
    strbuf_free(&b);

    strbuf_init(&b, 1000);
    assert_int_equal(hs_api_path(&b, HS_V_LISTS, version, "/%s", prop), -1);
    assert_null(strbuf_str(&b));
    strbuf_free(&b);

    strbuf_init(&b, HS_PATH_MAX);
    assert_int_equal(hs_api_path(&b, HS_V_PREFS, "2026-09", "%s", "/statuses/batch/read"), 0);
    assert_string_equal(strbuf_str(&b), "/communication-preferences/2026-09/statuses/batch/read");
    strbuf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(option_table_is_valid),
        cmocka_unit_test(bad_pairs_are_refused),
        cmocka_unit_test(batch_classes),
        cmocka_unit_test(projection),
        cmocka_unit_test(one_input_per_member),
        cmocka_unit_test(profile_null_clears_with_empty_string),
        cmocka_unit_test(subscription_input_shape),
        cmocka_unit_test(legal_basis_map),
        cmocka_unit_test(email_of_profile),
        cmocka_unit_test(search_body),
        cmocka_unit_test(list_bodies),
        cmocka_unit_test(read_by_key_body),
        cmocka_unit_test(record_cost_by_inputs),
        cmocka_unit_test(grant_guard_reads_each_address_once),
        cmocka_unit_test(long_path_is_not_cut),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
