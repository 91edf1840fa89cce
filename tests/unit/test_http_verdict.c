/* Unreachable or rejecting (issue 19): which failed requests say the CRM
 * refuses what we send as configured, and which option the operator checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http_verdict.h"

static void only_4xx_but_408_and_429_reject(void **state)
{
    (void)state;
    assert_true(http_verdict_is_rejection(400));
    assert_true(http_verdict_is_rejection(401));
    assert_true(http_verdict_is_rejection(403));
    assert_true(http_verdict_is_rejection(404));
    assert_false(http_verdict_is_rejection(408));
    assert_false(http_verdict_is_rejection(429));
    assert_false(http_verdict_is_rejection(0)); /* transport */
    assert_false(http_verdict_is_rejection(500));
    assert_false(http_verdict_is_rejection(503));
    assert_false(http_verdict_is_rejection(200));
}

/* The latest failure decides: a 503 after a 403 is unreachable again, a
 * 403 after a 503 rejecting; a failure before the run of failures the
 * engine asks about does not count. */
static void the_latest_failure_decides(void **state)
{
    char endpoint[HTTP_VERDICT_ENDPOINT_MAX];
    long status = 0;

    (void)state;
    http_verdict_reset();
    assert_false(http_verdict_rejecting("hs", 0, &status, endpoint, sizeof(endpoint)));
    http_verdict_note("hs", 503, "/crm/objects/contacts/search");
    assert_false(http_verdict_rejecting("hs", 0, &status, endpoint, sizeof(endpoint)));
    http_verdict_note("hs", 403, "/crm/objects/contacts/search");
    assert_true(http_verdict_rejecting("hs", 0, &status, endpoint, sizeof(endpoint)));
    assert_int_equal(status, 403);
    assert_string_equal(endpoint, "/crm/objects/contacts/search");
    assert_false(http_verdict_rejecting("sf", 0, &status, endpoint, sizeof(endpoint)));
    /* Successes are not noted: the latest failure stays the 403. */
    http_verdict_note("hs", 200, "/x");
    assert_true(http_verdict_rejecting("hs", 0, &status, endpoint, sizeof(endpoint)));
    /* Asked about failures since a time after it: not this one. */
    assert_false(http_verdict_rejecting("hs", INT64_MAX / 2, &status, endpoint, sizeof(endpoint)));
    http_verdict_note("hs", 0, "/crm/objects/contacts/search");
    assert_false(http_verdict_rejecting("hs", 0, &status, endpoint, sizeof(endpoint)));
    http_verdict_note("hs", 429, "/crm/objects/contacts/search");
    assert_false(http_verdict_rejecting("hs", 0, &status, endpoint, sizeof(endpoint)));
    http_verdict_reset();
}

static void the_hint_names_the_options_to_check(void **state)
{
    (void)state;
    assert_non_null(strstr(http_verdict_config_hint("hubspot", 401), "token_file"));
    assert_non_null(strstr(http_verdict_config_hint("hubspot", 403), "scopes"));
    assert_non_null(strstr(http_verdict_config_hint("hubspot", 404), "base_url"));
    assert_non_null(strstr(http_verdict_config_hint("salesforce", 401), "private_key_file"));
    assert_non_null(strstr(http_verdict_config_hint("salesforce", 403), "username"));
    assert_non_null(strstr(http_verdict_config_hint("salesforce", 400), "attribute_map"));
    assert_non_null(strstr(http_verdict_config_hint("adobe_campaign", 401), "client_secret_file"));
    assert_non_null(strstr(http_verdict_config_hint("adobe_campaign", 404), "base_url"));
    assert_non_null(strstr(http_verdict_config_hint("other", 403), "permissions"));
    assert_non_null(http_verdict_config_hint(NULL, 418));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(only_4xx_but_408_and_429_reject),
        cmocka_unit_test(the_latest_failure_decides),
        cmocka_unit_test(the_hint_names_the_options_to_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
