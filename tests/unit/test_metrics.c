/* The Prometheus text exposition of the metrics registry, and the health
 * registry's raise/clear bookkeeping. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmocka_setup.h"
#include "health.h"
#include "metrics.h"

static char *render(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);

    assert_non_null(out);
    metrics_write(out);
    fclose(out);
    return buf;
}

static int setup(void **state)
{
    (void)state;
    return metrics_init();
}

static int teardown(void **state)
{
    (void)state;
    metrics_shutdown();
    return 0;
}

static void has_line(const char *text, const char *line)
{
    char *want = malloc(strlen(line) + 3);
    int found;

    sprintf(want, "\n%s\n", line);
    found = strstr(text, want) != NULL;
    if (!found)
        fail_msg("missing line: %s\n--- got:\n%s", line, text);
    free(want);
}

static void test_counter_help_type_and_labels(void **state)
{
    char *text;

    (void)state;
    metrics_counter_add(METRIC_RECORDS_PUSHED, (const char *[]){"hubspot", "ok"}, 3);
    metrics_counter_add(METRIC_RECORDS_PUSHED, (const char *[]){"hubspot", "ok"}, 2);
    metrics_counter_add(METRIC_RECORDS_PUSHED, (const char *[]){"hubspot", "reject"}, 1);
    text = render();
    has_line(text, "# HELP crmsyncd_records_pushed_total Records sent to a CRM, by connector and "
                   "per-record result (ok, retry, reject).");
    has_line(text, "# TYPE crmsyncd_records_pushed_total counter");
    has_line(text, "crmsyncd_records_pushed_total{connector=\"hubspot\",result=\"ok\"} 5");
    has_line(text, "crmsyncd_records_pushed_total{connector=\"hubspot\",result=\"reject\"} 1");
    has_line(text, "# TYPE crmsyncd_build_info gauge");
    has_line(text, "crmsyncd_build_info{version=\"" CRMSYNC_VERSION "\"} 1");
    free(text);
}

static void test_label_values_escaped(void **state)
{
    char *text;

    (void)state;
    metrics_counter_add(METRIC_RESYNCS, (const char *[]){"a\"b\\c\nd"}, 1);
    text = render();
    has_line(text, "crmsyncd_resyncs_total{connector=\"a\\\"b\\\\c\\nd\"} 1");
    free(text);
}

static void test_histogram_cumulative_buckets(void **state)
{
    char *text;

    (void)state;
    metrics_observe(METRIC_PUSH_BATCH_DURATION, (const char *[]){"sf"}, 0.003);
    metrics_observe(METRIC_PUSH_BATCH_DURATION, (const char *[]){"sf"}, 0.2);
    metrics_observe(METRIC_PUSH_BATCH_DURATION, (const char *[]){"sf"}, 100);
    text = render();
    has_line(text, "# TYPE crmsyncd_push_batch_duration_seconds histogram");
    has_line(text, "crmsyncd_push_batch_duration_seconds_bucket{connector=\"sf\",le=\"0.005\"} 1");
    has_line(text, "crmsyncd_push_batch_duration_seconds_bucket{connector=\"sf\",le=\"0.1\"} 1");
    has_line(text, "crmsyncd_push_batch_duration_seconds_bucket{connector=\"sf\",le=\"0.25\"} 2");
    has_line(text, "crmsyncd_push_batch_duration_seconds_bucket{connector=\"sf\",le=\"30\"} 2");
    has_line(text, "crmsyncd_push_batch_duration_seconds_bucket{connector=\"sf\",le=\"+Inf\"} 3");
    has_line(text, "crmsyncd_push_batch_duration_seconds_sum{connector=\"sf\"} 100.203");
    has_line(text, "crmsyncd_push_batch_duration_seconds_count{connector=\"sf\"} 3");
    free(text);
}

/* Issue 19: every request with its code and endpoint (three labels). */
static void test_request_duration_has_code_and_endpoint(void **state)
{
    char *text;

    (void)state;
    metrics_observe(METRIC_REQUEST_DURATION,
                    (const char *[]){"hs", "200", "/crm/{id}/objects/contacts/batch/upsert"}, 0.02);
    text = render();
    has_line(text, "crmsyncd_request_duration_seconds_count{connector=\"hs\",code=\"200\","
                   "endpoint=\"/crm/{id}/objects/contacts/batch/upsert\"} 1");
    free(text);
}

/* Issue 19: a connector's series exist at 0 before their first event. */
static void test_declared_connector_series_start_at_zero(void **state)
{
    char *text;

    (void)state;
    metrics_declare_connector("hs", 1, 1);
    metrics_declare_connector("shop", 0, 0);
    text = render();
    has_line(text, "crmsyncd_records_pushed_total{connector=\"hs\",result=\"ok\"} 0");
    has_line(text, "crmsyncd_records_pushed_total{connector=\"hs\",result=\"reject\"} 0");
    has_line(text, "crmsyncd_push_retries_total{connector=\"hs\"} 0");
    has_line(text, "crmsyncd_dead_letters_total{connector=\"hs\"} 0");
    has_line(text, "crmsyncd_destination_pauses_total{connector=\"hs\"} 0");
    has_line(text, "crmsyncd_http_errors_total{connector=\"hs\",class=\"transport\"} 0");
    has_line(text, "crmsyncd_ingest_records_total{connector=\"shop\",result=\"invalid\"} 0");
    has_line(text, "crmsyncd_connector_up{connector=\"hs\"} 1");
    has_line(text, "crmsyncd_connector_up{connector=\"shop\"} 0");
    has_line(text,
             "crmsyncd_last_success_timestamp_seconds{connector=\"hs\",direction=\"push\"} 0");
    has_line(text,
             "crmsyncd_last_success_timestamp_seconds{connector=\"shop\",direction=\"pull\"} 0");
    assert_null(strstr(text, "crmsyncd_records_pushed_total{connector=\"shop\""));
    assert_non_null(strstr(text, "\nprocess_start_time_seconds "));
    free(text);
}

static void test_endpoint_label_is_bounded(void **state)
{
    char out[64];

    (void)state;
    metrics_endpoint_of("https://api.hubapi.com/crm/objects/2026-09/contacts/batch/upsert?x=1", out,
                        sizeof(out));
    assert_string_equal(out, "/crm/objects/{id}/contacts/batch/upsert");
    metrics_endpoint_of("http://127.0.0.1:8080/communication-preferences/v4/statuses/a%40b.example",
                        out, sizeof(out));
    assert_string_equal(out, "/communication-preferences/{id}/statuses/{id}");
    metrics_endpoint_of("http://h/services/data/v60.0/sobjects/Contact/003xx000004TmiQAAS", out,
                        sizeof(out));
    assert_string_equal(out, "/services/data/{id}/sobjects/Contact/{id}");
    metrics_endpoint_of("http://h", out, sizeof(out));
    assert_string_equal(out, "/");
    metrics_endpoint_of("http://h/nl/jsp/soaprouter.jsp", out, 12);
    assert_string_equal(out, "/nl/jsp");
}

static void test_gauge_and_values(void **state)
{
    char buf[64];
    char *text;

    (void)state;
    metrics_gauge_set(METRIC_QUOTA_REMAINING, (const char *[]){"sf"}, 14999);
    metrics_gauge_set(METRIC_QUOTA_REMAINING, (const char *[]){"sf"}, 14998);
    text = render();
    has_line(text, "# TYPE crmsyncd_quota_remaining gauge");
    has_line(text, "crmsyncd_quota_remaining{connector=\"sf\"} 14998");
    free(text);
    metrics_format_value(buf, sizeof(buf), 0.0 / 0.0);
    assert_string_equal(buf, "NaN");
    metrics_format_value(buf, sizeof(buf), 1.0 / 0.0);
    assert_string_equal(buf, "+Inf");
    metrics_format_value(buf, sizeof(buf), 0.25);
    assert_string_equal(buf, "0.25");
}

static void test_type_mismatch_ignored_and_slots_bounded(void **state)
{
    char name[32];
    char *text;

    (void)state;
    /* A counter call on a gauge family does nothing (no crash, no value). */
    metrics_counter_add(METRIC_QUOTA_REMAINING, (const char *[]){"x"}, 5);
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof(name), "c%d", i);
        metrics_counter_add(METRIC_PUSH_RETRIES, (const char *[]){name}, 1);
    }
    text = render();
    has_line(text, "crmsyncd_push_retries_total{connector=\"c255\"} 1");
    assert_null(strstr(text, "connector=\"c256\""));
    has_line(text, "crmsyncd_metrics_series_dropped_total 44");
    assert_null(strstr(text, "crmsyncd_quota_remaining{connector=\"x\"}"));
    free(text);
}

static void test_calls_before_init_are_noops(void **state)
{
    (void)state;
    metrics_shutdown();
    metrics_counter_add(METRIC_RELOADS, (const char *[]){"ok"}, 1);
    assert_int_equal(metrics_init(), 0);
}

static void test_health_raise_clear(void **state)
{
    struct health_snapshot *snap = calloc(1, sizeof(*snap));
    struct health_connector list[] = {{"hub", "hubspot", 1}, {"shop", "spool", 0}};
    json_t *p;

    (void)state;
    health_reset();
    health_set_connectors(list, 2);
    health_raise(HEALTH_AUTH_FAILING, "hub", "401 from %s", "token endpoint");
    health_raise(HEALTH_AUTH_FAILING, "hub", "401 again");
    health_raise(HEALTH_STATE_NOT_WRITABLE, NULL, "database is locked");
    health_set_backlog_bound("hub", 1000);
    assert_int_equal(health_snapshot(snap), 0);
    assert_int_equal(json_array_size(snap->problems), 2);
    p = json_array_get(snap->problems, 0);
    assert_string_equal(json_string_value(json_object_get(p, "reason")), "auth_failing");
    assert_string_equal(json_string_value(json_object_get(p, "connector")), "hub");
    assert_string_equal(json_string_value(json_object_get(p, "detail")), "401 again");
    assert_true(json_is_null(json_object_get(json_array_get(snap->problems, 1), "connector")));
    assert_int_equal(snap->n_connectors, 2);
    assert_int_equal(snap->connectors[0].backlog_bound, 1000);
    assert_int_equal(snap->connectors[0].destination, 1);
    json_decref(snap->problems);

    /* A reload that drops "hub" forgets its problems; the bound of a kept
     * connector survives. */
    health_set_backlog_bound("shop", 5);
    health_set_connectors(list + 1, 1);
    health_clear(HEALTH_STATE_NOT_WRITABLE, NULL);
    assert_int_equal(health_snapshot(snap), 0);
    assert_int_equal(json_array_size(snap->problems), 0);
    assert_int_equal(snap->connectors[0].backlog_bound, 5);
    json_decref(snap->problems);
    free(snap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_counter_help_type_and_labels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_label_values_escaped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_histogram_cumulative_buckets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gauge_and_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_duration_has_code_and_endpoint, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_declared_connector_series_start_at_zero, setup,
                                        teardown),
        cmocka_unit_test(test_endpoint_label_is_bounded),
        cmocka_unit_test_setup_teardown(test_type_mismatch_ignored_and_slots_bounded, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_calls_before_init_are_noops, setup, teardown),
        cmocka_unit_test(test_health_raise_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
