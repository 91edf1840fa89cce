/* The shared CRM connector runtime (connectors/crm_*.c): option group,
 * pair maps and lists, push jobs, the pull page's echo rule, URL joins. */
#include "cmocka_setup.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "connector.h"
#include "crm_job.h"
#include "crm_options.h"
#include "crm_pairs.h"
#include "crm_plan.h"
#include "crm_pull_page.h"
#include "crm_request.h"
#include "crm_value.h"

/* --- options --- */

struct test_settings {
    char *base_url;
    struct crm_common_settings common;
};

static const struct config_option test_options[] = {
    CRM_OPT(struct test_settings, "base_url", CONFIG_STRING, "https://x", base_url, 0, 0, "root"),
    CRM_COMMON_OPTIONS(struct test_settings, "7", "9", "2m", "re-read this much", "45s"),
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL},
};
static const struct config_table test_table = {"test", test_options, sizeof(struct test_settings)};

static void common_group_is_declared_once_with_its_defaults(void **state)
{
    struct error err = {""};
    struct test_settings s;
    struct connector conn;
    struct http_options ho;
    char why[256];
    (void)state;
    assert_int_equal(config_table_validate(&test_table, &err), 0);
    memset(&s, 0, sizeof(s));
    assert_int_equal(config_apply_defaults(&test_table, NULL, &s, why, sizeof(why)), 0);
    assert_int_equal(s.common.rate, 7);
    assert_int_equal(s.common.burst, 9);
    assert_int_equal(s.common.lookback_ms, 120000);
    assert_int_equal(s.common.request_timeout_ms, 45000);
    assert_int_equal(s.common.pull_interval_ms, 30000);
    assert_int_equal(s.common.max_inflight, 4);
    assert_int_equal(s.common.allow_loopback_http, 0);
    assert_non_null(config_option_find(&test_table, "allow_loopback_http"));
    assert_non_null(config_option_find(&test_table, "ca_file"));
    memset(&conn, 0, sizeof(conn));
    crm_common_apply(&conn, &s.common);
    assert_int_equal(conn.max_inflight, 4);
    assert_int_equal(conn.pull_interval_ms, 30000);
    assert_true(conn.rate == 7.0 && conn.burst == 9.0);
    crm_common_http(&s.common, &ho);
    assert_int_equal(ho.limits.timeout_ms, 45000);
    config_settings_release(&test_table, &s);
}

/* --- pairs and lists --- */

static void pairs_parse_trim_and_refuse(void **state)
{
    struct crm_pairs ps;
    struct error err = {""};
    (void)state;
    assert_int_equal(crm_pairs_parse(" a = b ,, c=d e,", "opt", &ps, &err), 0);
    assert_int_equal(ps.n, 2);
    assert_string_equal(crm_pairs_get(&ps, "a"), "b");
    assert_string_equal(crm_pairs_get(&ps, "c"), "d e");
    assert_string_equal(crm_pairs_key_of(&ps, "d e"), "c");
    assert_null(crm_pairs_get(&ps, "x"));
    crm_pairs_free(&ps);
    assert_int_equal(crm_pairs_parse("", "opt", &ps, &err), 0);
    assert_int_equal(ps.n, 0);
    assert_int_equal(crm_pairs_parse("a=b,novalue", "services", &ps, &err), -1);
    assert_non_null(strstr(err.msg, "services"));
    assert_int_equal(ps.n, 0);
    assert_int_equal(crm_pairs_parse("a=", "opt", &ps, &err), -1);
    assert_int_equal(crm_pairs_parse("=b", "opt", &ps, &err), -1);
}

static void lists_parse(void **state)
{
    struct crm_list l;
    struct error err = {""};
    (void)state;
    assert_int_equal(crm_list_parse(" email, sms ,,post", &l, &err), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.v[1], "sms");
    assert_true(crm_list_has(&l, "post"));
    assert_false(crm_list_has(&l, "phone"));
    crm_list_free(&l);
}

/* --- push jobs --- */

static int batches_done;

static void batch_done(struct push_batch *pb)
{
    (void)pb;
    batches_done++;
}

struct my_job {
    struct crm_job base;
    int *released;
};

static void my_release(struct crm_job *job)
{
    struct my_job *mj = (struct my_job *)job;
    (*mj->released)++;
    free(mj);
}

static void job_results_first_stands_and_done_is_deferred(void **state)
{
    uv_loop_t loop;
    struct crm_jobs q;
    struct push_record recs[3];
    struct push_result res[3] = {0};
    struct push_batch pb;
    struct my_job *mj = calloc(1, sizeof(*mj));
    int released = 0;
    (void)state;
    uv_loop_init(&loop);
    memset(recs, 0, sizeof(recs));
    push_results_clear(res, 3);
    memset(res, 0, sizeof(res));
    memset(&pb, 0, sizeof(pb));
    pb.n = 3;
    pb.records = recs;
    pb.results = res;
    pb.done = batch_done;
    snprintf(pb.class_key, sizeof(pb.class_key), "recipients");
    crm_jobs_init(&q, &loop, NULL, "test", "t");
    mj->released = &released;
    assert_int_equal(crm_job_init(&mj->base, &q, &pb, my_release), 0);
    crm_job_result(&mj->base, 0, PUSH_OK, NULL, -1, 0, "4711");
    crm_job_result(&mj->base, 0, PUSH_REJECT, "late", -1, 0, NULL);
    assert_true(crm_job_has_result(&mj->base, 0));
    assert_false(crm_job_has_result(&mj->base, 1));
    crm_job_result(&mj->base, 1, PUSH_REJECT, "bad email", -1, 0, "");
    batches_done = 0;
    crm_job_done(&mj->base, "no answer for this record");
    assert_int_equal(batches_done, 0); /* never from inside */
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(batches_done, 1);
    assert_int_equal(released, 1);
    assert_int_equal(res[0].outcome, PUSH_OK);
    assert_string_equal(res[0].remote_id, "4711");
    assert_int_equal(res[1].outcome, PUSH_REJECT);
    assert_string_equal(res[1].reason, "bad email");
    assert_string_equal(res[1].remote_id, "");
    assert_int_equal(res[2].outcome, PUSH_RETRY);
    assert_int_equal(res[2].not_record_fault, 0);
    assert_string_equal(res[2].reason, "no answer for this record");
    crm_jobs_close(&q, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    push_results_clear(res, 3);
}

/* A batch no job could be made for (out of memory) is answered RETRY, not
 * the records' fault, from the defer timer, never from push(). */
static void orphan_is_answered_later(void **state)
{
    uv_loop_t loop;
    struct crm_jobs q;
    struct push_record recs[2];
    struct push_result res[2] = {0};
    struct push_batch pb;
    (void)state;
    uv_loop_init(&loop);
    memset(recs, 0, sizeof(recs));
    push_results_clear(res, 2);
    memset(res, 0, sizeof(res));
    memset(&pb, 0, sizeof(pb));
    pb.n = 2;
    pb.records = recs;
    pb.results = res;
    pb.done = batch_done;
    crm_jobs_init(&q, &loop, NULL, "test", "t");
    batches_done = 0;
    crm_jobs_orphan(&q, &pb);
    assert_int_equal(batches_done, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(batches_done, 1);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(res[i].outcome, PUSH_RETRY);
        assert_int_equal(res[i].not_record_fault, 1);
        assert_string_equal(res[i].reason, "out of memory");
    }
    crm_jobs_close(&q, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    push_results_clear(res, 2);
}

/* Issue 17: a result carries no fixed reason array (most records are
 * answered OK): a reason is allocated when set, replaced, cut at 255 bytes
 * like the array was, and freed by push_results_clear(). */
static void result_reason_is_allocated_only_when_set(void **state)
{
    struct push_result r[2] = {0};
    char long_reason[400];
    (void)state;
    assert_true(sizeof(struct push_result) <= 128);
    assert_null(r[0].reason);
    assert_string_equal(push_result_reason(&r[0]), "");
    push_result_set_reason(&r[0], "%s: %d", "INVALID_EMAIL", 7);
    assert_string_equal(r[0].reason, "INVALID_EMAIL: 7");
    /* The old reason may be an argument of the new one. */
    push_result_set_reason(&r[0], "gave up: %s", r[0].reason);
    assert_string_equal(push_result_reason(&r[0]), "gave up: INVALID_EMAIL: 7");
    memset(long_reason, 'x', sizeof(long_reason) - 1);
    long_reason[sizeof(long_reason) - 1] = '\0';
    push_result_set_reason(&r[1], "%s", long_reason);
    assert_int_equal(strlen(r[1].reason), 255);
    push_result_set_reason(&r[1], "%s", "");
    assert_null(r[1].reason);
    push_results_clear(r, 2);
    assert_null(r[0].reason);
    push_results_clear(NULL, 0);
}

/* --- values --- */

static void value_text_by_flags(void **state)
{
    char out[64];
    int is_null = 5;
    (void)state;
    assert_int_equal(crm_value_text("{\"value\":\"Ann\"}", 0, out, sizeof(out), &is_null), 0);
    assert_string_equal(out, "Ann");
    assert_int_equal(is_null, 0);
    assert_int_equal(crm_value_text("{\"value\":null}", 0, out, sizeof(out), &is_null), 0);
    assert_string_equal(out, "");
    assert_int_equal(is_null, 1);
    assert_int_equal(crm_value_text("{\"value\":42}", 0, out, sizeof(out), NULL), 0);
    assert_string_equal(out, "42");
    /* Salesforce: no booleans, no reals. */
    assert_int_equal(crm_value_text("{\"value\":true}", 0, out, sizeof(out), NULL), -1);
    assert_int_equal(crm_value_text("{\"value\":1.5}", 0, out, sizeof(out), NULL), -1);
    /* HubSpot: words; Adobe Campaign: digits. */
    assert_int_equal(crm_value_text("{\"value\":true}", CRM_VT_BOOL_WORDS, out, sizeof(out), NULL),
                     0);
    assert_string_equal(out, "true");
    assert_int_equal(
        crm_value_text("{\"value\":false}", CRM_VT_BOOL_DIGITS, out, sizeof(out), NULL), 0);
    assert_string_equal(out, "0");
    assert_int_equal(crm_value_text("{\"value\":1.5}", CRM_VT_REAL, out, sizeof(out), NULL), 0);
    assert_string_equal(out, "1.5");
    assert_int_equal(crm_value_text("{\"value\":{}}", ~0u, out, sizeof(out), NULL), -1);
    assert_int_equal(crm_value_text("{}", ~0u, out, sizeof(out), NULL), -1);
    assert_int_equal(crm_segment_status("{\"status\":\"in\"}"), 1);
    assert_int_equal(crm_segment_status("{\"status\":\"out\"}"), 0);
    assert_int_equal(crm_segment_status("{\"status\":\"maybe\"}"), -1);
    assert_int_equal(crm_segment_status("nonsense"), -1);
}

/* crm_value_text as it was (json_loads): the reference for the jscan
 * reading (issue 17). */
static int value_text_ref(const char *value_json, unsigned flags, char *out, size_t outsize,
                          int *is_null)
{
    json_t *root = json_loads(value_json, 0, NULL);
    json_t *v = json_object_get(root, "value");
    int rc = 0;

    if (is_null != NULL)
        *is_null = 0;
    if (v == NULL)
        rc = -1;
    else if (json_is_null(v)) {
        snprintf(out, outsize, "%s", "");
        if (is_null != NULL)
            *is_null = 1;
    } else if (json_is_string(v))
        snprintf(out, outsize, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(out, outsize, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_boolean(v) && (flags & CRM_VT_BOOL_WORDS))
        snprintf(out, outsize, "%s", json_is_true(v) ? "true" : "false");
    else if (json_is_boolean(v) && (flags & CRM_VT_BOOL_DIGITS))
        snprintf(out, outsize, "%s", json_is_true(v) ? "1" : "0");
    else if (json_is_real(v) && (flags & CRM_VT_REAL))
        snprintf(out, outsize, "%.17g", json_real_value(v));
    else
        rc = -1;
    json_decref(root);
    return rc;
}

static void value_text_reads_as_jansson_reads(void **state)
{
    static const char *const texts[] = {
        "{\"value\":\"Ann\"}",
        " { \"value\" : \"Ann\" } \n",
        "{\"value\":\"\"}",
        "{\"value\":null}",
        "{\"value\": null }",
        "{\"value\":nul}",
        "{\"value\":42}",
        "{\"value\":-0}",
        "{\"value\":-9223372036854775808}",
        "{\"value\":9223372036854775808}",
        "{\"value\":1.5}",
        "{\"value\":1e3}",
        "{\"value\":true}",
        "{\"value\":false}",
        "{\"value\":{}}",
        "{\"value\":[1]}",
        "{}",
        "[]",
        "\"value\"",
        "",
        "{\"value\":\"a\"} x",
        "{\"value\":\"a\",}",
        "{\"value\":\"a\"",
        "{\"value\":\"a\",\"value\":\"b\"}",
        "{\"value\":\"a\",\"value\":null}",
        "{\"value\":null,\"value\":7}",
        "{\"value\":\"a\",\"value\":true}",
        "{\"value\":true,\"value\":\"a\"}",
        "{\"x\":{\"value\":\"in\"},\"value\":\"out\"}",
        "{\"other\":[1,{\"a\":null}],\"value\":\"M\\u00fcller\",\"z\":1}",
        "{\"value\":\"a\\\"b\\\\c\\nd\\u00e9\\ud83d\\ude00\"}",
        "{\"value\":\"a\\u0000b\"}",
        "{\"value\":\"\\ud800\"}",
        "{\"value\":\"\xc3\x28\"}",
        "{\"value\":\"\x01\"}",
        "{\"valu\":\"a\"}",
        "{\"values\":\"a\"}",
        "{\"value\":\"a long value that is cut by a small buffer\"}",
        "{\"value\":12345678901234567890123}",
    };
    static const unsigned flag_sets[] = {0, CRM_VT_BOOL_WORDS, CRM_VT_BOOL_DIGITS, CRM_VT_REAL,
                                         ~0u};
    static const size_t sizes[] = {64, 8};
    (void)state;
    for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
        for (size_t f = 0; f < sizeof(flag_sets) / sizeof(flag_sets[0]); f++) {
            for (size_t z = 0; z < 2; z++) {
                char a[64] = "", b[64] = "";
                int na = 5, nb = 5;
                int ra = crm_value_text(texts[t], flag_sets[f], a, sizes[z], &na);
                int rb = value_text_ref(texts[t], flag_sets[f], b, sizes[z], &nb);

                if (ra != rb || (ra == 0 && (strcmp(a, b) != 0 || na != nb)))
                    fail_msg("%s (flags %u, size %zu): %d '%s' null %d, jansson %d '%s' null %d",
                             texts[t], flag_sets[f], sizes[z], ra, a, na, rb, b, nb);
            }
        }
    }
}

/* The jansson readings crm_balance_of() and crm_segment_status() had
 * before jscan (issue 17), kept as the reference. */
static int jansson_balance_of(const char *value_json, int64_t *out)
{
    json_t *root = json_loads(value_json, 0, NULL);
    json_t *b = json_object_get(root, "balance");
    int rc = json_is_integer(b) ? 0 : -1;

    if (rc == 0)
        *out = (int64_t)json_integer_value(b);
    json_decref(root);
    return rc;
}

static int jansson_segment_status(const char *value_json)
{
    json_t *root = json_loads(value_json, 0, NULL);
    const char *s = json_string_value(json_object_get(root, "status"));
    int rc = s == NULL ? -1 : strcmp(s, "in") == 0 ? 1 : strcmp(s, "out") == 0 ? 0 : -1;

    json_decref(root);
    return rc;
}

/* A points balance and a segment status read as jansson reads them, on
 * valid, malformed, repeated, escaped and odd texts. */
static void balance_and_status_read_as_jansson_reads_them(void **state)
{
    static const char *const texts[] = {
        "{\"balance\":120,\"txn_id\":\"T1\"}",
        "{\"balance\":-5}",
        "{\"balance\":0,\"reason\":\"earn\",\"x\":[1,{\"a\":null}]}",
        "{\"balance\":1.0}",
        "{\"balance\":1e2}",
        "{\"balance\":\"120\"}",
        "{\"balance\":null}",
        "{\"balance\":1,\"balance\":2}",
        "{\"balance\":1,\"balance\":\"2\"}",
        "{\"balance\":-9223372036854775808}",
        "{\"balance\":9223372036854775807}",
        "{\"balance\":99999999999999999999}",
        "{\"balance\":01}",
        "{\"balance\":1",
        "{\"balance\":1} x",
        " {\"balance\" : 7 } \n",
        "{\"BALANCE\":1}",
        "{\"balances\":1}",
        "{\"status\":\"in\",\"since\":\"2026-11-01T10:00:00.000Z\"}",
        "{\"status\":\"out\"}",
        "{\"status\":\"in \"}",
        "{\"status\":\"inx\"}",
        "{\"status\":\"outs\"}",
        "{\"status\":\"i\\u006e\"}",
        "{\"status\":\"in\",\"status\":\"out\"}",
        "{\"status\":\"out\",\"status\":\"in\"}",
        "{\"status\":null}",
        "{\"status\":\"in\",\"status\":1}",
        "{\"status\":\"in\"",
        "{\"status\":\"\xff\"}",
        "{\"status\":\"a\\u0000b\"}",
        "[\"status\",\"in\"]",
        "\"in\"",
        "",
        "nonsense",
    };
    (void)state;
    for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
        int64_t want = 11, got = 11;
        int w = jansson_balance_of(texts[t], &want);
        int g = crm_balance_of(texts[t], &got);
        if (w != g || (w == 0 && want != got))
            fail_msg("text %zu balance: jansson %d %lld, read %d %lld", t, w, (long long)want, g,
                     (long long)got);
        if (jansson_segment_status(texts[t]) != crm_segment_status(texts[t]))
            fail_msg("text %zu status: jansson %d, read %d", t, jansson_segment_status(texts[t]),
                     crm_segment_status(texts[t]));
    }
    assert_int_equal(crm_segment_status(NULL), -1);
}

/* The kinds every CRM projects alike; consent and points are each CRM's
 * own (hs_project, sf_project, acc_project). */
static void project_shared_kinds(void **state)
{
    char out[64];
    (void)state;
    assert_int_equal(crm_project_shared(CHANGE_TIER, "{\"value\":\"gold\"}", 0, out, sizeof(out)),
                     0);
    assert_string_equal(out, "gold");
    /* A profile value as the CRM's text flags allow. */
    assert_int_equal(crm_project_shared(CHANGE_PROFILE, "{\"value\":true}", CRM_VT_BOOL_DIGITS, out,
                                        sizeof(out)),
                     0);
    assert_string_equal(out, "1");
    assert_int_equal(crm_project_shared(CHANGE_PROFILE, "{\"value\":true}", 0, out, sizeof(out)),
                     -1);
    assert_int_equal(
        crm_project_shared(CHANGE_SEGMENT, "{\"status\":\"out\"}", 0, out, sizeof(out)), 0);
    assert_string_equal(out, "out");
    assert_int_equal(crm_project_shared(CHANGE_ERASE, "{}", 0, out, sizeof(out)), 0);
    assert_string_equal(out, "erased");
    assert_int_equal(
        crm_project_shared(CHANGE_CONSENT, "{\"status\":\"granted\"}", ~0u, out, sizeof(out)), -1);
    assert_int_equal(crm_project_shared(CHANGE_POINTS, "{\"balance\":5}", ~0u, out, sizeof(out)),
                     -1);
}

/* What a pulled record's fields became: the last field's change value
 * (or "-" for none) and projection, and how many came. */
struct seen_fields {
    char value[128];
    char projection[128];
    int n;
};

static int seen_field(void *arg, const char *member, enum change_kind kind, const char *field,
                      const struct change *c, const char *projection)
{
    struct seen_fields *s = arg;
    (void)member;
    (void)kind;
    (void)field;
    snprintf(s->value, sizeof(s->value), "%s", c != NULL ? c->value_json : "-");
    snprintf(s->projection, sizeof(s->projection), "%s", projection);
    s->n++;
    return 0;
}

/* A profile attribute as the CRM returned it: text is a change, empty and
 * the placeholder are observed only (as ""), another type is passed over. */
static void profile_json_by_what_the_crm_holds(void **state)
{
    struct seen_fields s = {"", "", 0};
    struct crm_record r = {"sf", "003A", "M1", seen_field, &s};
    json_t *ann = json_string("Ann"), *empty = json_string(""), *null = json_null();
    json_t *num = json_integer(7), *ph = json_string("(loyalty member)");
    (void)state;
    assert_int_equal(crm_record_profile_json(&r, "first_name", ann, NULL, 1000, "1000"), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.value, "{\"value\":\"Ann\"}");
    assert_string_equal(s.projection, "Ann");
    assert_int_equal(crm_record_profile_json(&r, "first_name", null, NULL, 1000, "1000"), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.value, "-");
    assert_string_equal(s.projection, "");
    assert_int_equal(crm_record_profile_json(&r, "first_name", empty, NULL, 1000, "1000"), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.value, "-");
    /* Not text, or absent: nothing. */
    assert_int_equal(crm_record_profile_json(&r, "first_name", num, NULL, 1000, "1000"), 0);
    assert_int_equal(crm_record_profile_json(&r, "first_name", NULL, NULL, 1000, "1000"), 0);
    assert_int_equal(s.n, 3);
    /* The placeholder we wrote for "no last name": the same as empty. */
    assert_int_equal(crm_record_profile_json(&r, "last_name", ph, "(loyalty member)", 1000, "1000"),
                     0);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.value, "-");
    assert_string_equal(s.projection, "");
    assert_int_equal(
        crm_record_profile_json(&r, "last_name", ann, "(loyalty member)", 1000, "1000"), 0);
    assert_int_equal(s.n, 5);
    assert_string_equal(s.projection, "Ann");
    json_decref(ann);
    json_decref(empty);
    json_decref(null);
    json_decref(num);
    json_decref(ph);
}

static void parse_err(const char *body, char *code, size_t cl, char *msg, size_t ml)
{
    snprintf(code, cl, "%s", body ? "XSV-350013" : "");
    snprintf(msg, ml, "%s", body ? "IP not allowed" : "");
}

static void fail_from_keeps_transient_and_rejects_permanent(void **state)
{
    struct crm_jobs q;
    struct push_result res[2] = {0};
    struct push_batch pb;
    struct crm_job job;
    struct http_result hr;
    uv_loop_t loop;
    (void)state;
    uv_loop_init(&loop);
    crm_jobs_init(&q, &loop, NULL, "test", "t");
    memset(&pb, 0, sizeof(pb));
    push_results_clear(res, 2);
    memset(res, 0, sizeof(res));
    pb.n = 2;
    pb.results = res;
    pb.done = batch_done;
    memset(&hr, 0, sizeof(hr));
    hr.cls = HTTP_CLASS_RETRY;
    hr.status = 503;
    hr.retry_after_ms = 2000;
    assert_int_equal(crm_job_init(&job, &q, &pb, NULL), 0);
    crm_job_fail_from(&job, &hr, NULL);
    assert_int_equal(res[0].outcome, PUSH_RETRY);
    assert_int_equal(res[1].retry_after_ms, 2000);
    assert_int_equal(res[1].not_record_fault, 1);
    free(job.set);

    push_results_clear(res, 2);
    memset(res, 0, sizeof(res));
    hr.cls = HTTP_CLASS_PERMANENT;
    hr.status = 500;
    hr.body = (char *)"<fault/>";
    assert_int_equal(crm_job_init(&job, &q, &pb, NULL), 0);
    crm_job_fail_from(&job, &hr, parse_err);
    assert_int_equal(res[0].outcome, PUSH_REJECT);
    assert_string_equal(res[0].reason, "HTTP 500 XSV-350013: IP not allowed");
    free(job.set);
    crm_jobs_close(&q, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    push_results_clear(res, 2);
}

/* --- pull page: the echo rule is the host's --- */

static int current_calls, pulled_calls, pulled_with_change;
static char pulled_projection[128];
static enum apply_result pulled_answer;

static char *fake_current(void *ctx, struct connector *conn, const char *m, const char *f)
{
    (void)ctx, (void)conn, (void)m, (void)f;
    current_calls++;
    return strdup("{\"status\":\"denied\"}");
}

static int fake_pulled(void *ctx, struct connector *conn, const char *member, enum change_kind kind,
                       const char *field, const struct change *c, const char *projection,
                       enum apply_result *res, struct error *err)
{
    (void)ctx, (void)conn, (void)member, (void)kind, (void)field, (void)err;
    pulled_calls++;
    pulled_with_change += c != NULL;
    snprintf(pulled_projection, sizeof(pulled_projection), "%s", projection);
    *res = c != NULL ? pulled_answer : APPLY_UNCHANGED;
    return 0;
}

/* A connector's page says what the CRM holds and which change that makes;
 * whether it is an echo of our own write is decided by the host (one
 * place, pull_sink.pulled), never by the connector reading the local value
 * itself (it used to, through current()). */
static void page_field_leaves_the_echo_rule_to_the_host(void **state)
{
    struct pull_sink sink;
    struct host_services host;
    struct connector conn;
    struct crm_page pg;
    struct change c;
    (void)state;
    memset(&sink, 0, sizeof(sink));
    memset(&host, 0, sizeof(host));
    memset(&conn, 0, sizeof(conn));
    memset(&c, 0, sizeof(c));
    sink.pulled = fake_pulled;
    host.version = HOST_SERVICES_VERSION;
    host.current = fake_current;
    conn.sink = &sink;
    conn.host = &host;
    conn.name = (char *)"acc";
    crm_page_init(&pg, &conn, "test");
    current_calls = pulled_calls = pulled_with_change = 0;
    /* The host found it an echo: nothing applied. */
    pulled_answer = APPLY_UNCHANGED;
    assert_int_equal(crm_page_field(&pg, "M1", CHANGE_CONSENT, "consent/m/email", &c, "denied"), 0);
    assert_int_equal(pg.applied, 0);
    assert_string_equal(pulled_projection, "denied");
    /* The host applied it. */
    pulled_answer = APPLY_APPLIED;
    assert_int_equal(crm_page_field(&pg, "M1", CHANGE_CONSENT, "consent/m/email", &c, "granted"),
                     0);
    assert_int_equal(pg.applied, 1);
    /* No change: observed only. */
    assert_int_equal(crm_page_field(&pg, "M2", CHANGE_CONSENT, "consent/m/email", NULL, "x"), 0);
    assert_int_equal(pulled_calls, 3);
    assert_int_equal(pulled_with_change, 2);
    assert_int_equal(pg.applied, 1);
    assert_int_equal(current_calls, 0);
}

static int begun;

static int fake_begin(void *ctx, struct connector *conn, struct error *err)
{
    (void)ctx;
    (void)conn;
    (void)err;
    begun++;
    return 0;
}

/* Counts the rows it is given; refuses the row {"bad": true}. */
static int count_row(void *arg, struct crm_page *pg, json_t *row)
{
    (void)pg;
    if (json_is_true(json_object_get(row, "bad")))
        return -1;
    (*(int *)arg)++;
    return 0;
}

/* A page's rows go in order after the page begins; the first row that
 * fails stops them, and the page is left open for crm_page_failed. */
static void page_rows_stop_at_a_failed_row(void **state)
{
    struct pull_sink sink;
    struct connector conn;
    struct crm_page pg;
    json_t *rows = json_loads("[{}, {}, {\"bad\": true}, {}]", 0, NULL);
    json_t *two = json_loads("[{}, {}]", 0, NULL);
    int n = 0;
    (void)state;
    memset(&sink, 0, sizeof(sink));
    memset(&conn, 0, sizeof(conn));
    sink.begin = fake_begin;
    conn.sink = &sink;
    conn.name = (char *)"hs";
    begun = 0;
    crm_page_init(&pg, &conn, "test");
    assert_int_equal(crm_page_rows(&pg, two, count_row, &n), 0);
    assert_int_equal(begun, 1);
    assert_int_equal(n, 2);
    assert_int_equal(pg.open, 1);
    assert_int_equal(conn.busy, 1);
    crm_page_init(&pg, &conn, "test");
    n = 0;
    assert_int_equal(crm_page_rows(&pg, rows, count_row, &n), -1);
    assert_int_equal(begun, 2);
    assert_int_equal(n, 2);
    assert_int_equal(pg.open, 1);
    json_decref(rows);
    json_decref(two);
}

/* A connector refuses a host whose services table is older than the one it
 * was built against (it would call entries the host does not have). */
static void an_older_host_services_table_is_refused(void **state)
{
    struct host_services host;
    struct connector conn;
    struct error err = {""};
    (void)state;
    memset(&host, 0, sizeof(host));
    memset(&conn, 0, sizeof(conn));
    assert_int_equal(crm_host_check(&conn, &err), 0); /* none: --check-config */
    conn.host = &host;
    host.version = HOST_SERVICES_VERSION;
    assert_int_equal(crm_host_check(&conn, &err), 0);
    host.version = HOST_SERVICES_VERSION - 1;
    assert_int_equal(crm_host_check(&conn, &err), -1);
    assert_non_null(strstr(err.msg, "version"));
}

static void urls_are_joined_to_any_length(void **state)
{
    char path[5000];
    char *u;
    (void)state;
    memset(path, 'a', sizeof(path) - 1);
    path[0] = '/';
    path[sizeof(path) - 1] = '\0';
    u = crm_url_join("https://acc.example", path);
    assert_non_null(u);
    assert_int_equal(strlen(u), strlen("https://acc.example") + sizeof(path) - 1);
    free(u);
}

/* --- member groups (crm_plan.c) --- */

#define PLAN_N 12000
#define PLAN_MEMBERS 5000

static int plan_is_id(const char *remote_id)
{
    return remote_id != NULL && strncmp(remote_id, "id", 2) == 0;
}

/* Maps every record but those of members whose number ends in 7. */
static int plan_field(const void *map, const struct push_record *rec, json_t *fields,
                      struct push_result *res)
{
    size_t len = strlen(rec->member_key);
    (void)map;
    if (rec->member_key[len - 1] == '7') {
        res->outcome = PUSH_REJECT;
        return -1;
    }
    return json_object_set_new(fields, rec->field, json_string(rec->value_json));
}

/* Issue 17: a Bulk-sized batch (12,000 records of 5,000 members here)
 * is grouped through a member index instead of a scan of the groups per
 * record; the groups, their order, each record's group, the first remote
 * id and the members dropped for want of a record are what the scan made
 * (the reference below is the scan). */
static void a_large_batch_is_grouped_as_the_scan_grouped_it(void **state)
{
    static struct push_record recs[PLAN_N];
    static struct push_result res[PLAN_N];
    static char keys[PLAN_MEMBERS][16], ids[PLAN_N][16];
    static const char *ref_member[PLAN_MEMBERS];
    static const char *ref_id[PLAN_MEMBERS];
    static size_t ref_group[PLAN_N];
    size_t ref_ng = 0;
    struct crm_plan p;
    (void)state;

    for (size_t m = 0; m < PLAN_MEMBERS; m++)
        snprintf(keys[m], sizeof(keys[m]), "M%05zu", m);
    for (size_t i = 0; i < PLAN_N; i++) {
        size_t m = (i * 7919) % PLAN_MEMBERS;
        memset(&recs[i], 0, sizeof(recs[i]));
        recs[i].member_key = keys[m];
        recs[i].field = i % 2 ? "email" : "last_name";
        recs[i].value_json = "v";
        snprintf(ids[i], sizeof(ids[i]), "%s%zu", i % 3 ? "id" : "x", i);
        recs[i].remote_id = i % 5 ? ids[i] : NULL;
    }
    /* The reference: a scan of the groups for every record. */
    for (size_t i = 0; i < PLAN_N; i++) {
        size_t g;
        for (g = 0; g < ref_ng; g++) {
            if (strcmp(ref_member[g], recs[i].member_key) == 0)
                break;
        }
        if (g == ref_ng) {
            ref_member[g] = recs[i].member_key;
            ref_id[g] = NULL;
            ref_ng++;
        }
        if (ref_id[g] == NULL && plan_is_id(recs[i].remote_id))
            ref_id[g] = recs[i].remote_id;
        ref_group[i] = g;
    }
    assert_int_equal(
        crm_plan_members(recs, PLAN_N, res, plan_is_id, plan_field, NULL, CRM_PLAN_DROP_EMPTY, &p),
        0);
    assert_int_equal(p.ng, ref_ng);
    for (size_t g = 0; g < ref_ng; g++) {
        size_t len = strlen(ref_member[g]);
        /* Members ending in 7 have no record left: dropped. */
        if (ref_member[g][len - 1] == '7')
            assert_null(p.g[g].member);
        else
            assert_ptr_equal(p.g[g].member, ref_member[g]);
        assert_ptr_equal(p.g[g].remote_id, ref_id[g]);
    }
    for (size_t i = 0; i < PLAN_N; i++) {
        size_t len = strlen(recs[i].member_key);
        if (recs[i].member_key[len - 1] == '7') {
            assert_int_equal(p.rec_group[i], SIZE_MAX);
            assert_int_equal(res[i].outcome, PUSH_REJECT);
        } else {
            assert_int_equal(p.rec_group[i], ref_group[i]);
            assert_non_null(json_object_get(p.g[ref_group[i]].fields, recs[i].field));
        }
    }
    /* Grouped through the index, at most half full. */
    assert_non_null(p.slots);
    assert_true(p.nslots >= 2 * p.ng);
    crm_plan_free(&p);
    assert_null(p.slots);

    /* crm_plan_join (segment and consent batches build their plan record
     * by record) finds the same groups. */
    memset(&p, 0, sizeof(p));
    p.g = calloc(PLAN_N, sizeof(*p.g));
    p.rec_group = calloc(PLAN_N, sizeof(*p.rec_group));
    assert_non_null(p.g);
    assert_non_null(p.rec_group);
    for (size_t i = 0; i < PLAN_N; i++)
        assert_int_equal(crm_plan_join(&p, i, recs[i].member_key), ref_group[i]);
    assert_int_equal(p.ng, ref_ng);
    assert_true(p.nslots >= 2 * p.ng);
    crm_plan_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(common_group_is_declared_once_with_its_defaults),
        cmocka_unit_test(pairs_parse_trim_and_refuse),
        cmocka_unit_test(lists_parse),
        cmocka_unit_test(job_results_first_stands_and_done_is_deferred),
        cmocka_unit_test(fail_from_keeps_transient_and_rejects_permanent),
        cmocka_unit_test(page_field_leaves_the_echo_rule_to_the_host),
        cmocka_unit_test(page_rows_stop_at_a_failed_row),
        cmocka_unit_test(urls_are_joined_to_any_length),
        cmocka_unit_test(an_older_host_services_table_is_refused),
        cmocka_unit_test(orphan_is_answered_later),
        cmocka_unit_test(result_reason_is_allocated_only_when_set),
        cmocka_unit_test(value_text_by_flags),
        cmocka_unit_test(value_text_reads_as_jansson_reads),
        cmocka_unit_test(balance_and_status_read_as_jansson_reads_them),
        cmocka_unit_test(project_shared_kinds),
        cmocka_unit_test(profile_json_by_what_the_crm_holds),
        cmocka_unit_test(a_large_batch_is_grouped_as_the_scan_grouped_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
