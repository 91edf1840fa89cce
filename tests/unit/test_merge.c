/* Every merge rule of DESIGN.md §3. */
#include "cmocka_setup.h"

#include <string.h>

#include "merge.h"

#define T0 1795514400000LL
static const char *const prio[] = {"shop", "salesforce", "hubspot"};
static const struct merge_policy policy = {prio, 3, 5 * 60 * 1000, T0 + 3600 * 1000};

static struct change consent(const char *origin, enum consent_status s, int64_t at, int explicit_)
{
    struct change c;
    memset(&c, 0, sizeof(c));
    c.origin = origin;
    c.member_key = "M1";
    c.kind = CHANGE_CONSENT;
    c.field = "consent/marketing/email";
    c.consent.status = s;
    c.consent.collected_at = at;
    c.occurred_at = at;
    if (explicit_) {
        c.consent.source = "web_form";
        c.consent.legal_basis = "consent";
    }
    return c;
}

static enum merge_decision mc(const struct change *cur, const struct change *in)
{
    char reason[128];
    return merge_consent(cur ? &cur->consent : NULL, cur ? cur->origin : NULL, in, &policy, reason,
                         sizeof(reason));
}

static void first_value_applies(void **state)
{
    struct change in = consent("shop", CONSENT_GRANTED, T0, 1);
    (void)state;
    assert_int_equal(mc(NULL, &in), MERGE_APPLY);
}

static void newer_withdrawal_replaces_grant(void **state)
{
    struct change cur = consent("shop", CONSENT_GRANTED, T0, 1);
    struct change in = consent("hubspot", CONSENT_DENIED, T0 + 1, 1);
    (void)state;
    assert_int_equal(mc(&cur, &in), MERGE_APPLY);
}

static void withdrawal_not_replaced_by_older_or_equal_grant(void **state)
{
    struct change cur = consent("hubspot", CONSENT_DENIED, T0, 1);
    struct change older = consent("shop", CONSENT_GRANTED, T0 - 1, 1);
    struct change equal = consent("shop", CONSENT_GRANTED, T0, 1);
    (void)state;
    assert_int_equal(mc(&cur, &older), MERGE_KEEP);
    /* The shop outranks hubspot, yet an equal-time grant still loses. */
    assert_int_equal(mc(&cur, &equal), MERGE_KEEP);
}

static void withdrawal_replaced_only_by_explicit_grant(void **state)
{
    struct change cur = consent("hubspot", CONSENT_DENIED, T0, 1);
    struct change implicit = consent("shop", CONSENT_GRANTED, T0 + 1000, 0);
    struct change explicit_ = consent("shop", CONSENT_GRANTED, T0 + 1000, 1);
    (void)state;
    assert_int_equal(mc(&cur, &implicit), MERGE_KEEP);
    assert_int_equal(mc(&cur, &explicit_), MERGE_APPLY);
}

static void unknown_never_overwrites_explicit(void **state)
{
    struct change cur = consent("shop", CONSENT_GRANTED, T0, 1);
    struct change in = consent("hubspot", CONSENT_UNKNOWN, T0 + 1000, 0);
    (void)state;
    assert_int_equal(mc(&cur, &in), MERGE_KEEP);
}

static void equal_time_resolves_to_least_permissive(void **state)
{
    struct change cur = consent("shop", CONSENT_GRANTED, T0, 1);
    struct change in = consent("hubspot", CONSENT_DENIED, T0, 1);
    (void)state;
    /* hubspot ranks below the shop, and the denial still wins the tie. */
    assert_int_equal(mc(&cur, &in), MERGE_APPLY);
}

static void older_withdrawal_loses_to_newer_grant(void **state)
{
    struct change cur = consent("shop", CONSENT_GRANTED, T0 + 10, 1);
    struct change in = consent("hubspot", CONSENT_DENIED, T0, 1);
    (void)state;
    assert_int_equal(mc(&cur, &in), MERGE_KEEP);
}

static void future_consent_is_rejected(void **state)
{
    struct change in = consent("shop", CONSENT_DENIED, policy.now_ms + 6 * 60 * 1000, 1);
    struct change ok = consent("shop", CONSENT_DENIED, policy.now_ms + 4 * 60 * 1000, 1);
    (void)state;
    assert_int_equal(mc(NULL, &in), MERGE_REJECT);
    assert_int_equal(mc(NULL, &ok), MERGE_APPLY);
}

static void same_consent_is_unchanged(void **state)
{
    struct change cur = consent("shop", CONSENT_DENIED, T0, 1);
    struct change in = consent("hubspot", CONSENT_DENIED, T0, 1);
    struct change echo = consent("hubspot", CONSENT_DENIED, T0 + 60000, 1);
    struct change implicit_cur = consent("shop", CONSENT_DENIED, T0, 0);
    (void)state;
    assert_int_equal(mc(&cur, &in), MERGE_KEEP);
    /* A CRM echoing our write with its own, later timestamp is no change:
     * otherwise two CRMs would ping-pong the same status forever. */
    assert_int_equal(mc(&cur, &echo), MERGE_KEEP);
    /* Becoming explicit is a change. */
    assert_int_equal(mc(&implicit_cur, &echo), MERGE_APPLY);
}

static struct change generic(const char *origin, const char *value, int64_t at)
{
    struct change c;
    memset(&c, 0, sizeof(c));
    c.origin = origin;
    c.member_key = "M1";
    c.kind = CHANGE_SEGMENT;
    c.field = "segment/vip";
    c.value_json = value;
    c.occurred_at = at;
    return c;
}

static void last_writer_wins_with_origin_tie_break(void **state)
{
    char reason[128];
    struct merge_current cur = {"{\"status\":\"in\"}", T0, "hubspot"};
    struct change newer = generic("hubspot", "{\"status\":\"out\"}", T0 + 1);
    struct change older = generic("shop", "{\"status\":\"out\"}", T0 - 1);
    struct change tie_better = generic("shop", "{\"status\":\"out\"}", T0);
    struct change tie_worse = generic("adobe", "{\"status\":\"out\"}", T0);
    struct change same = generic("shop", "{\"status\":\"in\"}", T0 + 5);
    (void)state;
    assert_int_equal(merge_generic(NULL, &newer, &policy, reason, sizeof(reason)), MERGE_APPLY);
    assert_int_equal(merge_generic(&cur, &newer, &policy, reason, sizeof(reason)), MERGE_APPLY);
    assert_int_equal(merge_generic(&cur, &older, &policy, reason, sizeof(reason)), MERGE_KEEP);
    assert_int_equal(merge_generic(&cur, &tie_better, &policy, reason, sizeof(reason)),
                     MERGE_APPLY);
    assert_int_equal(merge_generic(&cur, &tie_worse, &policy, reason, sizeof(reason)), MERGE_KEEP);
    assert_int_equal(merge_generic(&cur, &same, &policy, reason, sizeof(reason)), MERGE_KEEP);
}

static struct change points(const char *member, int64_t delta, const char *reason)
{
    struct change c;
    memset(&c, 0, sizeof(c));
    c.origin = "shop";
    c.member_key = member;
    c.kind = CHANGE_POINTS;
    c.points.txn_id = "T1";
    c.points.delta = delta;
    c.points.reason = reason;
    c.points.occurred_at = T0;
    c.occurred_at = T0;
    return c;
}

static void points_union_duplicate_and_conflict(void **state)
{
    char reason[128];
    struct change in = points("M1", 100, "earn");
    struct points_txn stored = {"T1", 100, "earn", T0, 0};
    struct points_txn other_delta = {"T1", 150, "earn", T0, 0};
    (void)state;
    assert_int_equal(merge_points(NULL, NULL, &in, &policy, reason, sizeof(reason)), MERGE_APPLY);
    assert_int_equal(merge_points(&stored, "M1", &in, &policy, reason, sizeof(reason)), MERGE_KEEP);
    assert_int_equal(merge_points(&other_delta, "M1", &in, &policy, reason, sizeof(reason)),
                     MERGE_REJECT);
    assert_non_null(strstr(reason, "conflicting body for txn_id T1"));
    /* Same txn id and body but for another member: a conflict, not a dup. */
    assert_int_equal(merge_points(&stored, "M2", &in, &policy, reason, sizeof(reason)),
                     MERGE_REJECT);
}

static void explicit_definition(void **state)
{
    struct consent_value v = {CONSENT_DENIED, NULL, "email_footer", NULL, T0};
    (void)state;
    assert_true(consent_is_explicit(&v));
    v.status = CONSENT_GRANTED;
    assert_false(consent_is_explicit(&v)); /* a grant needs its legal basis */
    v.legal_basis = "consent";
    assert_true(consent_is_explicit(&v));
    v.source = NULL;
    assert_false(consent_is_explicit(&v));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_value_applies),
        cmocka_unit_test(newer_withdrawal_replaces_grant),
        cmocka_unit_test(withdrawal_not_replaced_by_older_or_equal_grant),
        cmocka_unit_test(withdrawal_replaced_only_by_explicit_grant),
        cmocka_unit_test(unknown_never_overwrites_explicit),
        cmocka_unit_test(equal_time_resolves_to_least_permissive),
        cmocka_unit_test(older_withdrawal_loses_to_newer_grant),
        cmocka_unit_test(future_consent_is_rejected),
        cmocka_unit_test(same_consent_is_unchanged),
        cmocka_unit_test(last_writer_wins_with_origin_tie_break),
        cmocka_unit_test(points_union_duplicate_and_conflict),
        cmocka_unit_test(explicit_definition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
