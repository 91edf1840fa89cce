#include "cmocka_setup.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "change_json.h"
#include "timefmt.h"

/* consent_value_from_json as it was before issue 17 (json_loads and the
 * members looked up): the reference the jscan reading must agree with. */
static const char *ref_string(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int ref_consent(const char *text, struct consent_value *out, json_t **holder)
{
    json_t *o = json_loads(text, 0, NULL);
    const char *status, *collected;

    *holder = NULL;
    memset(out, 0, sizeof(*out));
    if (!json_is_object(o))
        goto fail;
    status = ref_string(o, "status");
    collected = ref_string(o, "collected_at");
    if (status == NULL || consent_status_parse(status, &out->status) != 0 || collected == NULL ||
        timefmt_parse_rfc3339(collected, &out->collected_at) != 0)
        goto fail;
    out->legal_basis = ref_string(o, "legal_basis");
    out->source = ref_string(o, "source");
    out->proof = ref_string(o, "proof");
    *holder = o;
    return 0;
fail:
    json_decref(o);
    return -1;
}

static void same_string(const char *a, const char *b, const char *text)
{
    if ((a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0))
        fail_msg("string differs (%s / %s) for %s", a ? a : "NULL", b ? b : "NULL", text);
}

/* Same result, status, time and strings as the json_loads reading, for
 * canonical values and for every odd one: members missing, of another
 * type or repeated, escapes, a long proof (past the on-stack buffer), text
 * that is not one JSON object. */
static void consent_values_read_as_jansson_reads_them(void **state)
{
    static char long_proof[2000];
    const char *texts[] = {
        "{\"collected_at\":\"2026-11-01T10:00:00Z\",\"legal_basis\":\"consent\",\"source\":"
        "\"web_form\",\"status\":\"granted\"}",
        "{\"status\":\"denied\",\"collected_at\":\"2026-11-01T10:00:00.123Z\",\"source\":"
        "\"email_footer\"}",
        "{\"status\":\"granted\",\"collected_at\":\"2026-11-01T10:00:00Z\",\"proof\":\"notice "
        "v3 \\u00e9 \\\"quoted\\\" \\ud83d\\ude00\",\"legal_basis\":null,\"source\":7}",
        "{\"status\":\"granted\",\"status\":\"denied\",\"collected_at\":\"2026-11-01T10:00:00Z\","
        "\"source\":\"a\",\"source\":\"b\",\"proof\":\"p\",\"proof\":false}",
        "{\"status\":\"granted\",\"extra\":{\"status\":\"denied\",\"x\":[1,2]},\"collected_at\":"
        "\"2026-11-01T10:00:00Z\"}",
        long_proof,
        "{\"status\":\"granted\"}",
        "{\"collected_at\":\"2026-11-01T10:00:00Z\"}",
        "{\"status\":\"maybe\",\"collected_at\":\"2026-11-01T10:00:00Z\"}",
        "{\"status\":\"granted\",\"collected_at\":\"yesterday\"}",
        "{\"status\":1,\"collected_at\":\"2026-11-01T10:00:00Z\"}",
        "{\"status\":\"granted\",\"collected_at\":\"2026-11-01T10:00:00Z\"} x",
        "{\"status\":\"granted\",\"collected_at\":\"2026-11-01T10:00:00Z\",}",
        "{\"status\":\"granted\",\"collected_at\":\"2026-11-01T10:00:00Z\",\"source\":\"\\u0000\"}",
        "[{\"status\":\"granted\",\"collected_at\":\"2026-11-01T10:00:00Z\"}]",
        "",
        "null"};
    (void)state;
    snprintf(
        long_proof, sizeof(long_proof),
        "{\"status\":\"granted\",\"collected_at\":\"2026-11-01T10:00:00Z\",\"proof\":\"%0*d\"}",
        1500, 7);
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct consent_value a, b;
        json_t *ha = NULL, *hb = NULL;
        int ra = consent_value_from_json(texts[i], &a, &ha);
        int rb = ref_consent(texts[i], &b, &hb);
        if (ra != rb)
            fail_msg("result %d, jansson's %d for %s", ra, rb, texts[i]);
        if (ra != 0) {
            /* Nothing read (the reference left a status it had parsed). */
            assert_int_equal(a.status, 0);
            assert_true(a.collected_at == 0 && a.source == NULL && a.proof == NULL);
            json_decref(hb);
            continue;
        }
        assert_int_equal(a.status, b.status);
        assert_true(a.collected_at == b.collected_at);
        same_string(a.legal_basis, b.legal_basis, texts[i]);
        same_string(a.source, b.source, texts[i]);
        same_string(a.proof, b.proof, texts[i]);
        assert_true((ha == NULL) == (ra != 0));
        json_decref(ha);
        json_decref(hb);
    }
}

/* What consent_value_to_json writes is read back whole. */
static void a_written_value_reads_back(void **state)
{
    struct consent_value cv = {CONSENT_DENIED, "legitimate_interest", "call \"centre\"",
                               "ticket 42", 1790000000123LL},
                         back;
    char *text = consent_value_to_json(&cv);
    json_t *h = NULL;
    (void)state;
    assert_non_null(text);
    assert_int_equal(consent_value_from_json(text, &back, &h), 0);
    assert_int_equal(back.status, CONSENT_DENIED);
    assert_true(back.collected_at == cv.collected_at);
    assert_string_equal(back.legal_basis, cv.legal_basis);
    assert_string_equal(back.source, cv.source);
    assert_string_equal(back.proof, cv.proof);
    json_decref(h);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(consent_values_read_as_jansson_reads_them),
        cmocka_unit_test(a_written_value_reads_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
