/* HubSpot response parsing (connectors/hubspot_parse.c), on bodies shaped
 * like HubSpot's (and the simulator's) answers. */
#include "cmocka_setup.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "connector.h"
#include "hubspot.h"

static struct hs_map map;

static int setup(void **state)
{
    struct hs_map_config mc = {"member_key",
                               "loyalty_points",
                               "loyalty_tier",
                               "marketing=1001,loyalty_programme=1002",
                               "consent=CONSENT_WITH_NOTICE,contract=PERFORMANCE_OF_CONTRACT",
                               "email=email,first_name=firstname",
                               "marketing",
                               NULL};
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

/* Results come in any order: matched by the id property, not position. */
static void upsert_results_matched_by_key(void **state)
{
    const char *body = "{\"status\":\"COMPLETE\",\"results\":["
                       "{\"id\":\"502\",\"new\":true,\"properties\":{\"member_key\":\"M2\"}},"
                       "{\"id\":\"501\",\"new\":false,\"properties\":{\"member_key\":\"M1\"}}]}";
    const char *keys[] = {"M1", "M2", "M3"};
    struct hs_outcome out[3] = {0};
    (void)state;
    assert_int_equal(hs_parse_batch_result(body, "member_key", keys, 3, out), 0);
    assert_int_equal(out[0].state, HS_OK);
    assert_string_equal(out[0].id, "501");
    assert_int_equal(out[1].state, HS_OK);
    assert_string_equal(out[1].id, "502");
    assert_int_equal(out[2].state, HS_NONE);
}

static void multi_status_207(void **state)
{
    const char *body =
        "{\"status\":\"COMPLETE\",\"results\":[{\"id\":\"501\",\"properties\":{\"member_key\":"
        "\"M1\"}}],\"numErrors\":1,\"errors\":[{\"status\":\"error\",\"category\":"
        "\"OBJECT_NOT_FOUND\",\"message\":\"Could not get some CONTACT objects\",\"context\":{"
        "\"ids\":[\"M2\"]}}]}";
    const char *keys[] = {"M1", "M2"};
    struct hs_outcome out[2] = {0};
    (void)state;
    assert_int_equal(hs_parse_batch_result(body, "member_key", keys, 2, out), 0);
    assert_int_equal(out[0].state, HS_OK);
    assert_int_equal(out[1].state, HS_REJECT);
    assert_non_null(strstr(out[1].reason, "Could not get"));
}

/* An answer that is not a whole, valid JSON document is unreadable (-1,
 * nothing matched), wherever the fault is: the results are read without
 * building the document (issue 17), and a fault after them or in a
 * property nobody reads still counts. A result without the id property
 * (the simulator's upsert answer) matches nothing. */
static void unreadable_batch_answers(void **state)
{
    static const char *const bad[] = {
        "{\"results\":[{\"id\":\"501\",\"properties\":{\"member_key\":\"M1\"}}]",
        "{\"results\":[{\"id\":\"501\",\"properties\":{\"member_key\":\"M1\"}}]} x",
        "{\"results\":[{\"id\":\"501\",\"properties\":{\"member_key\":\"M1\","
        "\"email\":\"a\xff@b\"}}]}",
        "{\"results\":[{\"id\":\"501\",\"properties\":{\"member_key\":\"M1\"}},]}",
        "{\"results\":{\"id\":\"501\"}}",
        "[{\"id\":\"501\",\"properties\":{\"member_key\":\"M1\"}}]",
        "<html>proxy</html>"};
    const char *keys[] = {"M1", "M2"};
    struct hs_outcome out[2];
    json_t *inputs =
        json_loads("[{\"subscriberIdString\":\"a@b.example\",\"subscriptionId\":1}]", 0, NULL);
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(out, 0, sizeof(out));
        if (hs_parse_batch_result(bad[i], "member_key", keys, 2, out) != -1)
            fail_msg("read as an answer: %s", bad[i]);
        assert_int_equal(out[0].state, HS_NONE);
    }
    assert_int_equal(hs_parse_status_write("{\"results\":[{\"subscriberIdString\":"
                                           "\"a@b.example\",\"subscriptionId\":1}],\"x\":[1,]}",
                                           inputs, out),
                     -1);
    assert_int_equal(out[0].state, HS_NONE);
    memset(out, 0, sizeof(out));
    assert_int_equal(hs_parse_batch_result("{\"status\":\"COMPLETE\",\"results\":[{\"id\":"
                                           "\"501\",\"properties\":{\"createdate\":\"x\","
                                           "\"hs_object_id\":\"501\"}}],\"errors\":[]}",
                                           "member_key", keys, 2, out),
                     0);
    assert_int_equal(out[0].state, HS_NONE);
    assert_int_equal(out[1].state, HS_NONE);
    json_decref(inputs);
}

static json_t *props(const char *json)
{
    return json_loads(json, 0, NULL);
}

/* 400 "Property values were not valid": pinned by the value in the
 * message. */
static void invalid_value_attributed(void **state)
{
    const char *body =
        "{\"status\":\"error\",\"category\":\"VALIDATION_ERROR\",\"message\":\"Property values "
        "were not valid: [{\\\"isValid\\\":false,\\\"message\\\":\\\"Email address "
        "bad@@x is invalid\\\",\\\"error\\\":\\\"INVALID_EMAIL\\\",\\\"name\\\":\\\"email\\\"}]\"}";
    json_t *p[3] = {props("{\"email\":\"a@b.example\"}"), props("{\"email\":\"bad@@x\"}"),
                    props("{\"loyalty_points\":\"3\"}")};
    const char *rid[3] = {NULL, NULL, NULL};
    int blame[3];
    char reason[256];
    (void)state;
    assert_int_equal(
        hs_attribute_error(body, "member_key", p, rid, 3, blame, reason, sizeof(reason)), 1);
    assert_int_equal(blame[0], 0);
    assert_int_equal(blame[1], 1);
    assert_int_equal(blame[2], 0);
    assert_non_null(strstr(reason, "Property values were not valid"));
    for (int i = 0; i < 3; i++)
        json_decref(p[i]);
}

/* A property that does not exist fails every input that carries it. */
static void missing_property_attributed(void **state)
{
    const char *body =
        "{\"status\":\"error\",\"message\":\"Property values were not valid: "
        "[{\\\"isValid\\\":false,\\\"message\\\":\\\"Property \\\\\\\"loyalty_tier\\\\\\\" does "
        "not exist\\\",\\\"error\\\":\\\"PROPERTY_DOESNT_EXIST\\\",\\\"name\\\":\\\"loyalty_"
        "tier\\\"}]\"}";
    json_t *p[2] = {props("{\"loyalty_tier\":\"gold\"}"), props("{\"loyalty_points\":\"3\"}")};
    const char *rid[2] = {NULL, NULL};
    int blame[2];
    char reason[256];
    (void)state;
    assert_int_equal(
        hs_attribute_error(body, "member_key", p, rid, 2, blame, reason, sizeof(reason)), 1);
    assert_int_equal(blame[0], 1);
    assert_int_equal(blame[1], 0);
    json_decref(p[0]);
    json_decref(p[1]);
}

/* 409 unique clash: the one input holding the value whose record is not the
 * holder; two candidates cannot be told apart (the caller splits). */
static void conflict_attributed(void **state)
{
    const char *body = "{\"status\":\"error\",\"category\":\"CONFLICT\",\"message\":\"Contact "
                       "already exists. Existing ID: 77\"}";
    json_t *p[3] = {props("{\"email\":\"x@y.example\"}"), props("{\"loyalty_points\":\"1\"}"),
                    props("{\"email\":\"z@y.example\"}")};
    const char *rid[3] = {NULL, NULL, "77"};
    int blame[3];
    char reason[256];
    (void)state;
    assert_int_equal(
        hs_attribute_error(body, "member_key", p, rid, 3, blame, reason, sizeof(reason)), 1);
    assert_int_equal(blame[0], 1);
    assert_int_equal(blame[2], 0);
    assert_string_equal(reason, "Contact already exists. Existing ID: 77");
    rid[2] = NULL;
    assert_int_equal(
        hs_attribute_error(body, "member_key", p, rid, 3, blame, reason, sizeof(reason)), 0);
    for (int i = 0; i < 3; i++)
        json_decref(p[i]);
}

static void duplicate_in_batch_attributed(void **state)
{
    const char *body = "{\"status\":\"error\",\"message\":\"Duplicate value for unique property "
                       "email in batch input\"}";
    json_t *p[3] = {props("{\"email\":\"x@y.example\"}"), props("{\"email\":\"q@y.example\"}"),
                    props("{\"email\":\"X@y.example\"}")};
    const char *rid[3] = {NULL, NULL, NULL};
    int blame[3];
    char reason[256];
    (void)state;
    assert_int_equal(
        hs_attribute_error(body, "member_key", p, rid, 3, blame, reason, sizeof(reason)), 1);
    assert_int_equal(blame[0], 0);
    assert_int_equal(blame[2], 1);
    for (int i = 0; i < 3; i++)
        json_decref(p[i]);
}

static void status_write_207(void **state)
{
    json_t *inputs = json_loads("[{\"subscriberIdString\":\"a@b.example\",\"subscriptionId\":1001},"
                                "{\"subscriberIdString\":\"c@d.example\",\"subscriptionId\":1001},"
                                "{\"subscriberIdString\":\"a@b.example\",\"subscriptionId\":999}]",
                                0, NULL);
    const char *body =
        "{\"status\":\"COMPLETE\",\"results\":[{\"subscriberIdString\":\"a@b.example\","
        "\"subscriptionId\":1001,\"status\":\"SUBSCRIBED\"}],\"errors\":["
        "{\"status\":\"error\",\"category\":\"VALIDATION_ERROR\",\"message\":\"legalBasis is "
        "required\",\"context\":{\"subscriberIdString\":[\"c@d.example\"]}},"
        "{\"status\":\"error\",\"category\":\"OBJECT_NOT_FOUND\",\"message\":\"Subscription "
        "definition not found\",\"context\":{\"subscriptionId\":[\"999\"]}}]}";
    struct hs_outcome out[3] = {0};
    (void)state;
    assert_int_equal(hs_parse_status_write(body, inputs, out), 0);
    assert_int_equal(out[0].state, HS_OK);
    assert_int_equal(out[1].state, HS_REJECT);
    assert_string_equal(out[1].reason, "legalBasis is required");
    assert_int_equal(out[2].state, HS_REJECT);
    assert_string_equal(out[2].reason, "Subscription definition not found");
    json_decref(inputs);
}

static void small_answers(void **state)
{
    char buf[64];
    json_t *m;
    (void)state;
    assert_int_equal(
        hs_parse_list_id("{\"list\":{\"listId\":\"7\",\"name\":\"x\"}}", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "7");
    m = hs_parse_missing("{\"recordIdsMissing\":[\"5\"],\"recordIdsAdded\":[]}");
    assert_int_equal(json_array_size(m), 1);
    json_decref(m);
    hs_policy_name("{\"status\":\"error\",\"errorType\":\"RATE_LIMIT\",\"policyName\":\"DAILY\"}",
                   buf, sizeof(buf));
    assert_string_equal(buf, "DAILY");
    hs_error_message("{\"message\":\"nope\"}", buf, sizeof(buf));
    assert_string_equal(buf, "nope");
}

/* --- a search page into canonical changes --- */

struct seen {
    char field[64][64];
    char proj[64][64];
    char value[64][512];
    char idem[64][256];
    int64_t occurred[64];
    int has_change[64];
    int n;
};

static int collect(void *arg, const char *member, enum change_kind kind, const char *field,
                   const struct change *c, const char *projection)
{
    struct seen *s = arg;
    (void)kind;
    assert_string_equal(member, "M1");
    snprintf(s->field[s->n], sizeof(s->field[0]), "%s", field);
    snprintf(s->proj[s->n], sizeof(s->proj[0]), "%s", projection);
    s->has_change[s->n] = c != NULL;
    if (c != NULL) {
        assert_string_equal(c->origin, "hs");
        assert_string_equal(c->member_key, "M1");
        snprintf(s->value[s->n], sizeof(s->value[0]), "%s", c->value_json);
        snprintf(s->idem[s->n], sizeof(s->idem[0]), "%s", c->idem_key);
        s->occurred[s->n] = c->occurred_at;
    }
    s->n++;
    return 0;
}

static int find(const struct seen *s, const char *field)
{
    for (int i = 0; i < s->n; i++) {
        if (strcmp(s->field[i], field) == 0)
            return i;
    }
    return -1;
}

static void search_page_to_changes(void **state)
{
    const char *page =
        "{\"total\":2,\"results\":[{\"id\":\"501\",\"properties\":{\"member_key\":\"M1\","
        "\"email\":\"Ann@Example.com\",\"firstname\":\"Ann\",\"lastmodifieddate\":"
        "\"2026-11-20T10:00:00.000Z\",\"loyalty_points\":\"120\",\"consent_marketing_sms\":"
        "\"denied\",\"consent_marketing_sms_date\":\"2026-11-19T08:00:00.000Z\","
        "\"consent_marketing_sms_source\":\"sms_stop\",\"consent_marketing_post\":null}},"
        "{\"id\":\"502\",\"properties\":{\"email\":\"other@example.com\",\"lastmodifieddate\":"
        "\"2026-11-20T10:00:01.000Z\"}}],\"paging\":{\"next\":{\"after\":\"100\"}}}";
    const char *statuses_body =
        "{\"results\":[{\"subscriberIdString\":\"ann@example.com\",\"statuses\":["
        "{\"channel\":\"EMAIL\",\"subscriberIdString\":\"ann@example.com\","
        "\"subscriptionId\":1001,\"status\":\"UNSUBSCRIBED\",\"source\":\"Public API\","
        "\"timestamp\":\"2026-11-19T09:00:00.000Z\",\"legalBasis\":\"CONSENT_WITH_NOTICE\","
        "\"legalBasisExplanation\":\"source=email_footer; proof=none\"},"
        "{\"channel\":\"EMAIL\",\"subscriberIdString\":\"ann@example.com\","
        "\"subscriptionId\":1002,\"status\":\"NOT_SPECIFIED\",\"source\":\"x\","
        "\"timestamp\":\"2026-11-01T00:00:00.000Z\"}]}]}";
    json_t *root, *results, *statuses;
    char after[32], member[64];
    struct seen s = {0};
    int i;
    (void)state;

    assert_int_equal(hs_parse_search(page, &root, &results, after, sizeof(after)), 0);
    assert_string_equal(after, "100");
    assert_int_equal(json_array_size(results), 2);
    statuses = hs_parse_statuses(statuses_body);
    assert_non_null(json_object_get(statuses, "ann@example.com"));
    assert_int_equal(hs_contact_fields(&map, "hs", json_array_get(results, 0),
                                       json_object_get(statuses, "ann@example.com"), collect, &s,
                                       member, sizeof(member)),
                     0);
    assert_string_equal(member, "M1");

    i = find(&s, "consent/marketing/sms");
    assert_true(i >= 0 && s.has_change[i]);
    assert_string_equal(s.proj[i], "denied");
    assert_string_equal(s.value[i], "{\"collected_at\":\"2026-11-19T08:00:00.000Z\",\"source\":"
                                    "\"sms_stop\",\"status\":\"denied\"}");
    assert_string_equal(s.idem[i], "hs:501:consent/marketing/sms:1795168800000");

    i = find(&s, "consent/marketing/email");
    assert_true(i >= 0 && s.has_change[i]);
    assert_string_equal(s.proj[i], "UNSUBSCRIBED");
    assert_string_equal(s.value[i],
                        "{\"collected_at\":\"2026-11-19T09:00:00.000Z\",\"legal_basis\":"
                        "\"consent\",\"source\":\"email_footer\",\"status\":\"denied\"}");
    assert_string_equal(s.idem[i], "hs:501:consent/marketing/email:1795078800000");

    /* NOT_SPECIFIED has no act to record: observed only. */
    i = find(&s, "consent/loyalty_programme/email");
    assert_true(i >= 0 && !s.has_change[i]);
    assert_string_equal(s.proj[i], "NOT_SPECIFIED");

    /* HubSpot is no source of points: observed, never a change. */
    i = find(&s, "points/balance");
    assert_true(i >= 0 && !s.has_change[i]);
    assert_string_equal(s.proj[i], "120");

    i = find(&s, "profile/first_name");
    assert_true(i >= 0 && s.has_change[i]);
    assert_string_equal(s.value[i], "{\"value\":\"Ann\"}");
    assert_true(find(&s, "consent/marketing/post") < 0);

    /* The second contact has no member key: not one of ours. */
    s.n = 0;
    assert_int_equal(hs_contact_fields(&map, "hs", json_array_get(results, 1), NULL, collect, &s,
                                       member, sizeof(member)),
                     0);
    assert_string_equal(member, "");
    assert_int_equal(s.n, 0);
    json_decref(statuses);
    json_decref(root);
}

/* An older grant must not overwrite a newer unsubscription in HubSpot. */
static void newer_withdrawal_blocks_older_grant(void **state)
{
    json_t *st =
        hs_parse_statuses("{\"results\":[{\"subscriberIdString\":\"Ann@Example.com\",\"statuses\":["
                          "{\"subscriptionId\":1001,\"status\":\"UNSUBSCRIBED\",\"timestamp\":"
                          "\"2026-11-19T09:00:00.000Z\",\"source\":\"Unsubscribe link\"}]}]}");
    (void)state;
    /* grant collected before the withdrawal: blocked */
    assert_int_equal(hs_newer_withdrawal(st, "ann@example.com", 1001, 1795000000000), 1);
    /* grant collected after it (a re-subscription): written */
    assert_int_equal(hs_newer_withdrawal(st, "ann@example.com", 1001, 1795100000000), 0);
    assert_int_equal(hs_newer_withdrawal(st, "ann@example.com", 1002, 1795000000000), 0);
    assert_int_equal(hs_newer_withdrawal(st, "bob@example.com", 1001, 1795000000000), 0);
    json_decref(st);
}

/* The grant guard's reading keeps only withdrawals (issue 17) and gives
 * the same verdicts as the whole answer read by hs_parse_statuses: the
 * latest result of an address counts, an upper-case address is found, a
 * subscriptionId that is not an integer or a timestamp that is not a
 * string blocks nothing. An unreadable answer knows nothing. */
static void withdrawals_as_the_whole_answer(void **state)
{
    static const char *const bodies[] = {
        "{\"status\":\"COMPLETE\",\"results\":[{\"subscriberIdString\":\"Ann@Example.com\","
        "\"statuses\":[{\"subscriptionId\":1001,\"name\":\"m\",\"status\":\"UNSUBSCRIBED\","
        "\"timestamp\":\"2026-11-19T09:00:00.000Z\",\"legalBasis\":null},{\"subscriptionId\":"
        "1002,\"status\":\"SUBSCRIBED\",\"timestamp\":\"2026-11-19T09:00:00.000Z\"}]},"
        "{\"statuses\":[],\"subscriberIdString\":\"bob@example.com\"},"
        "{\"subscriberIdString\":\"cy@example.com\",\"statuses\":[{\"subscriptionId\":\"1001\","
        "\"status\":\"UNSUBSCRIBED\",\"timestamp\":\"2026-11-19T09:00:00.000Z\"},"
        "{\"subscriptionId\":1002,\"status\":\"UNSUBSCRIBED\",\"timestamp\":1795050000000}]}]}",
        /* a later result for ann without the withdrawal replaces it */
        "{\"results\":[{\"subscriberIdString\":\"ann@example.com\",\"statuses\":[{"
        "\"subscriptionId\":1001,\"status\":\"UNSUBSCRIBED\",\"timestamp\":"
        "\"2026-11-19T09:00:00.000Z\"}]},{\"subscriberIdString\":\"ANN@example.com\","
        "\"statuses\":[{\"subscriptionId\":1001,\"status\":\"SUBSCRIBED\"}]}]}",
        "{\"results\":[{\"subscriberIdString\":\"ann@example.com\",\"statuses\":[{"
        "\"subscriptionId\":1001,\"status\":\"UNSUBSCRIBED\",\"timestamp\":"
        "\"2026-11-19T09:00:00.000Z\"}]}],\"errors\":[1,]}",
        "{\"results\":{\"subscriberIdString\":\"ann@example.com\"}}"};
    static const char *const emails[] = {"ann@example.com", "bob@example.com", "cy@example.com"};
    static const long long sids[] = {1001, 1002, 0};
    static const int64_t at[] = {1795000000000, 1795100000000};
    (void)state;
    for (size_t b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++) {
        json_t *all = hs_parse_statuses(bodies[b]), *w = hs_parse_withdrawals(bodies[b]);
        assert_non_null(w);
        for (size_t e = 0; e < 3; e++) {
            for (size_t i = 0; i < 3; i++) {
                for (size_t t = 0; t < 2; t++) {
                    if (hs_newer_withdrawal(all, emails[e], sids[i], at[t]) !=
                        hs_newer_withdrawal(w, emails[e], sids[i], at[t]))
                        fail_msg("body %zu, %s, %lld, %lld: verdicts differ", b, emails[e], sids[i],
                                 (long long)at[t]);
                }
            }
        }
        json_decref(all);
        json_decref(w);
    }
    {
        json_t *w = hs_parse_withdrawals(bodies[0]);
        /* ann and cy have withdrawals, bob none: not kept; cy's block
         * nothing (a string subscriptionId, a numeric timestamp) */
        assert_int_equal(json_object_size(w), 2);
        assert_int_equal(hs_newer_withdrawal(w, "ANN@example.com", 1001, at[0]), 1);
        assert_int_equal(hs_newer_withdrawal(w, "ann@example.com", 1001, at[1]), 0);
        assert_int_equal(hs_newer_withdrawal(w, "cy@example.com", 1002, at[0]), 0);
        assert_int_equal(hs_newer_withdrawal(w, "cy@example.com", 1001, at[0]), 0);
        json_decref(w);
        w = hs_parse_withdrawals(bodies[1]);
        assert_int_equal(json_object_size(w), 0);
        json_decref(w);
    }
}

/* A paging cursor is followed only when it is a number past the page read:
 * strtol made "abc" 0 and the pull read page 1 2,240 times. */
static void paging_cursor_must_advance(void **state)
{
    long long v = -7;
    (void)state;
    assert_int_equal(hs_next_after("", 0, &v), 1);
    assert_int_equal(hs_next_after(NULL, 0, &v), 1);
    assert_int_equal(hs_next_after("100", 0, &v), 0);
    assert_int_equal(v, 100);
    assert_int_equal(hs_next_after("200", 100, &v), 0);
    assert_int_equal(v, 200);
    assert_int_equal(hs_next_after("100", 100, &v), -1); /* the same page again */
    assert_int_equal(hs_next_after("50", 100, &v), -1);  /* backwards */
    assert_int_equal(hs_next_after("abc", 0, &v), -1);   /* strtol said 0 */
    assert_int_equal(hs_next_after("12abc", 0, &v), -1);
    assert_int_equal(hs_next_after("-5", -1, &v), -1);
    assert_int_equal(hs_next_after(" 5", -1, &v), -1);
    assert_int_equal(hs_next_after("99999999999999999999999", 0, &v), -1);
    assert_int_equal(hs_next_after("0", -1, &v), 0); /* a listing's first cursor may be 0 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(upsert_results_matched_by_key),
        cmocka_unit_test(multi_status_207),
        cmocka_unit_test(unreadable_batch_answers),
        cmocka_unit_test(invalid_value_attributed),
        cmocka_unit_test(missing_property_attributed),
        cmocka_unit_test(conflict_attributed),
        cmocka_unit_test(duplicate_in_batch_attributed),
        cmocka_unit_test(status_write_207),
        cmocka_unit_test(small_answers),
        cmocka_unit_test(search_page_to_changes),
        cmocka_unit_test(newer_withdrawal_blocks_older_grant),
        cmocka_unit_test(withdrawals_as_the_whole_answer),
        cmocka_unit_test(paging_cursor_must_advance),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
