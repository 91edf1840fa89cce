#include "merge.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

static void set_reason(char *reason, size_t size, const char *text)
{
    if (reason != NULL && size > 0)
        snprintf(reason, size, "%s", text);
}

size_t merge_origin_rank(const struct merge_policy *policy, const char *origin)
{
    for (size_t i = 0; i < policy->n_origin_priority; i++) {
        if (str_eq(policy->origin_priority[i], origin))
            return i;
    }
    return policy->n_origin_priority;
}

static int in_future(const struct merge_policy *policy, int64_t ts)
{
    return ts > policy->now_ms + policy->future_tolerance_ms;
}

int consent_is_explicit(const struct consent_value *v)
{
    if (v->status == CONSENT_UNKNOWN || v->source == NULL || v->source[0] == '\0')
        return 0;
    if (v->status == CONSENT_GRANTED && (v->legal_basis == NULL || v->legal_basis[0] == '\0'))
        return 0;
    return 1;
}

/* -1: incoming loses, 1: incoming wins, 0: a true tie (same time, same rank). */
static int newer(int64_t in_ts, const char *in_origin, int64_t cur_ts, const char *cur_origin,
                 const struct merge_policy *policy)
{
    size_t rin, rcur;

    if (in_ts != cur_ts)
        return in_ts > cur_ts ? 1 : -1;
    rin = merge_origin_rank(policy, in_origin);
    rcur = merge_origin_rank(policy, cur_origin);
    if (rin != rcur)
        return rin < rcur ? 1 : -1;
    return 0;
}

enum merge_decision merge_generic(const struct merge_current *cur, const struct change *in,
                                  const struct merge_policy *policy, char *reason,
                                  size_t reason_size)
{
    int cmp;

    if (in_future(policy, in->occurred_at)) {
        set_reason(reason, reason_size, "occurred_at is in the future beyond the tolerance");
        return MERGE_REJECT;
    }
    if (cur == NULL)
        return MERGE_APPLY;
    if (str_eq(cur->value_json, in->value_json)) {
        set_reason(reason, reason_size, "same value as current");
        return MERGE_KEEP;
    }
    cmp = newer(in->occurred_at, in->origin, cur->occurred_at, cur->origin, policy);
    if (cmp > 0)
        return MERGE_APPLY;
    /* A true tie keeps what is there: applying it would make the result
     * depend on arrival order. */
    set_reason(reason, reason_size, cmp < 0 ? "older than current" : "tie with current");
    return MERGE_KEEP;
}

/* The same status, explicit in the same way, is no change for the CRMs:
 * a CRM that echoes our write back with its own timestamp (or another
 * CRM's copy of it) must not fan out again, or two CRMs would ping-pong.
 * The event is still recorded (change-log and audit), just not effective. */
static int consent_same(const struct consent_value *a, const struct consent_value *b)
{
    return a->status == b->status && consent_is_explicit(a) == consent_is_explicit(b);
}

enum merge_decision merge_consent(const struct consent_value *cur, const char *cur_origin,
                                  const struct change *in, const struct merge_policy *policy,
                                  char *reason, size_t reason_size)
{
    const struct consent_value *v = &in->consent;
    int in_explicit = consent_is_explicit(v);
    int cmp;

    if (in_future(policy, v->collected_at)) {
        set_reason(reason, reason_size, "collected_at is in the future beyond the tolerance");
        return MERGE_REJECT;
    }
    if (cur == NULL)
        return MERGE_APPLY;
    if (consent_same(cur, v)) {
        set_reason(reason, reason_size, "same status as current");
        return MERGE_KEEP;
    }
    if (!in_explicit && consent_is_explicit(cur)) {
        set_reason(reason, reason_size, "implicit status never overwrites an explicit one");
        return MERGE_KEEP;
    }
    if (cur->status == CONSENT_DENIED && v->status == CONSENT_GRANTED) {
        if (v->collected_at <= cur->collected_at || !in_explicit) {
            set_reason(reason, reason_size,
                       "a withdrawal is replaced only by a strictly newer explicit grant");
            return MERGE_KEEP;
        }
        return MERGE_APPLY;
    }
    if (v->collected_at == cur->collected_at && v->status != cur->status) {
        /* Equal timestamps resolve to the least permissive status, whatever
         * the origins (as Salesforce's consent API does). */
        if (v->status == CONSENT_DENIED)
            return MERGE_APPLY;
        set_reason(reason, reason_size, "tie resolves to the least permissive status");
        return MERGE_KEEP;
    }
    cmp = newer(v->collected_at, in->origin, cur->collected_at, cur_origin, policy);
    if (cmp > 0)
        return MERGE_APPLY;
    set_reason(reason, reason_size, cmp < 0 ? "older than current" : "tie with current");
    return MERGE_KEEP;
}

enum merge_decision merge_points(const struct points_txn *cur, const char *cur_member,
                                 const struct change *in, const struct merge_policy *policy,
                                 char *reason, size_t reason_size)
{
    const struct points_txn *t = &in->points;

    if (in_future(policy, t->occurred_at)) {
        set_reason(reason, reason_size, "occurred_at is in the future beyond the tolerance");
        return MERGE_REJECT;
    }
    if (cur == NULL)
        return MERGE_APPLY;
    if (str_eq(cur_member, in->member_key) && cur->delta == t->delta &&
        str_eq(cur->reason, t->reason) && cur->occurred_at == t->occurred_at &&
        cur->expires_at == t->expires_at) {
        set_reason(reason, reason_size, "duplicate transaction");
        return MERGE_KEEP;
    }
    if (reason != NULL && reason_size > 0) {
        snprintf(reason, reason_size,
                 "conflicting body for txn_id %s (stored delta %" PRId64 ", got %" PRId64 ")",
                 t->txn_id, cur->delta, t->delta);
    }
    return MERGE_REJECT;
}
