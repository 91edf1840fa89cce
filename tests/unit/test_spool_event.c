/* The spool event parser: every event type, and each kind of bad input gets
 * a reason that names the problem. */
#include "cmocka_setup.h"

#include <string.h>

#include "spool_event.h"

static int parse(const char *line, struct spool_event *ev, struct error *err)
{
    return spool_event_parse(line, strlen(line), &spool_default_vocab, "shop", "f.jsonl:1", ev,
                             err);
}

static void consent_event(void **state)
{
    struct spool_event ev;
    struct error err;
    (void)state;
    assert_int_equal(parse("{\"event_id\":\"e1\",\"type\":\"consent\",\"member\":\"M1\","
                           "\"occurred_at\":\"2026-11-24T10:00:00Z\",\"purpose\":\"marketing\","
                           "\"channel\":\"sms\",\"status\":\"denied\",\"source\":\"till\"}",
                           &ev, &err),
                     0);
    assert_int_equal(ev.n, 1);
    assert_string_equal(ev.changes[0].field, "consent/marketing/sms");
    assert_string_equal(ev.changes[0].idem_key, "shop:e1");
    assert_int_equal(ev.changes[0].consent.status, CONSENT_DENIED);
    assert_string_equal(ev.changes[0].value_json,
                        "{\"collected_at\":\"2026-11-24T10:00:00.000Z\",\"source\":\"till\","
                        "\"status\":\"denied\"}");
    spool_event_release(&ev);
}

static void points_event(void **state)
{
    struct spool_event ev;
    struct error err;
    (void)state;
    assert_int_equal(parse("{\"event_id\":\"e2\",\"type\":\"points\",\"member\":\"M1\","
                           "\"occurred_at\":\"2026-11-24T10:00:00Z\",\"txn_id\":\"T9\","
                           "\"delta\":-40,\"reason\":\"redeem\"}",
                           &ev, &err),
                     0);
    assert_int_equal(ev.changes[0].kind, CHANGE_POINTS);
    assert_string_equal(ev.changes[0].field, "points/T9");
    assert_int_equal(ev.changes[0].points.delta, -40);
    spool_event_release(&ev);
}

static void profile_event_yields_one_change_per_attribute(void **state)
{
    struct spool_event ev;
    struct error err;
    (void)state;
    assert_int_equal(parse("{\"event_id\":\"e3\",\"type\":\"profile\",\"member\":\"M1\","
                           "\"occurred_at\":\"2026-11-24T10:00:00Z\",\"attributes\":"
                           "{\"email\":\"a@b.example\",\"first_name\":null}}",
                           &ev, &err),
                     0);
    assert_int_equal(ev.n, 2);
    assert_string_equal(ev.changes[0].field, "profile/email");
    assert_string_equal(ev.changes[0].idem_key, "shop:e3#email");
    assert_string_equal(ev.changes[1].value_json, "{\"value\":null}");
    spool_event_release(&ev);
}

static void segment_and_erasure(void **state)
{
    struct spool_event ev;
    struct error err;
    (void)state;
    assert_int_equal(parse("{\"event_id\":\"e4\",\"type\":\"segment\",\"member\":\"M1\","
                           "\"occurred_at\":\"2026-11-24T10:00:00Z\",\"segment\":\"vip\","
                           "\"status\":\"in\"}",
                           &ev, &err),
                     0);
    assert_string_equal(ev.changes[0].value_json,
                        "{\"since\":\"2026-11-24T10:00:00.000Z\",\"status\":\"in\"}");
    spool_event_release(&ev);
    assert_int_equal(parse("{\"event_id\":\"e5\",\"type\":\"erasure\",\"member\":\"M1\","
                           "\"occurred_at\":\"2026-11-24T10:00:00Z\"}",
                           &ev, &err),
                     0);
    assert_int_equal(ev.changes[0].kind, CHANGE_ERASE);
    spool_event_release(&ev);
}

static void expect_error(const char *line, const char *needle)
{
    struct spool_event ev;
    struct error err = {""};
    assert_int_equal(parse(line, &ev, &err), -1);
    if (strstr(err.msg, needle) == NULL)
        fail_msg("error \"%s\" does not mention \"%s\"", err.msg, needle);
    spool_event_release(&ev);
}

static void bad_input_is_named(void **state)
{
    (void)state;
    expect_error("{not json", "invalid JSON");
    expect_error("[1,2]", "JSON object");
    expect_error("{\"type\":\"consent\"}", "\"event_id\"");
    expect_error("{\"event_id\":\"e\",\"type\":\"coupon\",\"member\":\"M\","
                 "\"occurred_at\":\"2026-11-24T10:00:00Z\"}",
                 "unknown event type \"coupon\"");
    expect_error("{\"event_id\":\"e\",\"type\":\"points\",\"member\":\"M\","
                 "\"occurred_at\":\"2026-11-24T10:00:00Z\",\"txn_id\":\"T\",\"delta\":-5,"
                 "\"reason\":\"earn\"}",
                 "earn must have a positive delta");
    expect_error("{\"event_id\":\"e\",\"type\":\"points\",\"member\":\"M\","
                 "\"occurred_at\":\"2026-11-24T10:00:00Z\",\"txn_id\":\"T\",\"delta\":5000000000,"
                 "\"reason\":\"earn\"}",
                 "beyond");
    expect_error("{\"event_id\":\"e\",\"type\":\"consent\",\"member\":\"M\","
                 "\"occurred_at\":\"2026-11-24\",\"purpose\":\"marketing\",\"channel\":\"email\","
                 "\"status\":\"denied\"}",
                 "RFC 3339");
    expect_error("{\"event_id\":\"e\",\"type\":\"consent\",\"member\":\"M\","
                 "\"occurred_at\":\"2026-11-24T10:00:00Z\",\"purpose\":\"marketing\","
                 "\"channel\":\"fax\",\"status\":\"denied\"}",
                 "unknown consent channel \"fax\"");
    expect_error("{\"event_id\":\"e\",\"type\":\"consent\",\"member\":\"M\","
                 "\"occurred_at\":\"2026-11-24T10:00:00Z\",\"purpose\":\"marketing\","
                 "\"channel\":\"email\",\"status\":\"granted\"}",
                 "legal_basis");
    expect_error("{\"event_id\":\"e\",\"type\":\"segment\",\"member\":\"M\","
                 "\"occurred_at\":\"2026-11-24T10:00:00Z\",\"segment\":\"vip\",\"status\":\"in\","
                 "\"stauts\":\"x\"}",
                 "unknown field \"stauts\"");
    expect_error("{\"event_id\":\"e\",\"event_id\":\"f\",\"type\":\"erasure\",\"member\":\"M\","
                 "\"occurred_at\":\"2026-11-24T10:00:00Z\"}",
                 "invalid JSON");
    expect_error("{\"event_id\":\"e\",\"type\":\"erasure\",\"member\":\"has space\","
                 "\"occurred_at\":\"2026-11-24T10:00:00Z\"}",
                 "\"member\"");
}

/* An HTTP ingest body's element, already parsed, gives the same changes
 * as its text (http_ingest_body.c no longer prints and re-parses it), and
 * ev keeps the value's reference until it is released, also on error. */
static void parsed_value_same_as_text(void **state)
{
    static const char *const lines[] = {
        "{\"event_id\":\"e2\",\"type\":\"points\",\"member\":\"M1\","
        "\"occurred_at\":\"2026-11-24T10:00:00Z\",\"txn_id\":\"T9\",\"delta\":120,"
        "\"reason\":\"earn\"}",
        "{\"event_id\":\"e3\",\"type\":\"profile\",\"member\":\"M1\","
        "\"occurred_at\":\"2026-11-24T10:00:00Z\",\"attributes\":{\"email\":\"a@b.c\","
        "\"first_name\":\"Ann\"}}",
    };
    (void)state;
    for (size_t k = 0; k < sizeof(lines) / sizeof(lines[0]); k++) {
        struct spool_event a, b;
        struct error err;
        json_t *v = json_loads(lines[k], 0, NULL);

        assert_non_null(v);
        assert_int_equal(parse(lines[k], &a, &err), 0);
        assert_int_equal(spool_event_from_json(json_incref(v), &spool_default_vocab, "shop",
                                               "f.jsonl:1", &b, &err),
                         0);
        assert_int_equal(a.n, b.n);
        for (size_t i = 0; i < a.n; i++) {
            assert_string_equal(a.changes[i].field, b.changes[i].field);
            assert_string_equal(a.changes[i].idem_key, b.changes[i].idem_key);
            assert_string_equal(a.changes[i].value_json, b.changes[i].value_json);
            assert_int_equal(a.changes[i].occurred_at, b.changes[i].occurred_at);
        }
        assert_ptr_equal(b.root, v);
        spool_event_release(&a);
        spool_event_release(&b);
        assert_int_equal(v->refcount, 1);
        json_decref(v);
    }
    {
        struct spool_event ev;
        struct error err;
        json_t *v = json_pack("[i]", 1);

        assert_int_equal(
            spool_event_from_json(json_incref(v), &spool_default_vocab, "shop", "x", &ev, &err),
            -1);
        assert_non_null(strstr(err.msg, "JSON object"));
        assert_ptr_equal(ev.root, v);
        spool_event_release(&ev);
        assert_int_equal(v->refcount, 1);
        json_decref(v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(consent_event),
        cmocka_unit_test(points_event),
        cmocka_unit_test(profile_event_yields_one_change_per_attribute),
        cmocka_unit_test(segment_and_erasure),
        cmocka_unit_test(bad_input_is_named),
        cmocka_unit_test(parsed_value_same_as_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
