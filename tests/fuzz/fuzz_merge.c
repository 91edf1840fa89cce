/* The consent merge rule as a property: a withdrawal never loses. For any
 * stored consent and incoming consent built from the input bytes:
 * - stored denied, incoming granted that is not strictly newer and explicit:
 *   the decision is not APPLY;
 * - stored explicit, incoming unknown (implicit): not APPLY;
 * - equal timestamps, stored denied: not APPLY unless incoming is denied.
 * And points: the same transaction twice is never applied twice. */
#include <string.h>

#include "fuzz_util.h"
#include "merge.h"

static const char *pick_str(uint8_t b)
{
    static const char *const strs[] = {NULL, "", "till", "consent", "web_form", "x"};
    return strs[b % 6];
}

static void consent_from(const uint8_t *p, struct consent_value *v)
{
    int64_t t = 0;
    memset(v, 0, sizeof(*v));
    v->status = (enum consent_status)(p[0] % 3);
    v->source = pick_str(p[1]);
    v->legal_basis = pick_str(p[2]);
    v->proof = pick_str(p[3]);
    for (int i = 0; i < 4; i++)
        t = (t << 8) | p[4 + i];
    /* A small range so that ties and near ties are frequent. */
    v->collected_at = 1793000000000LL + (t % 4096) * 1000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const origins[] = {"shop", "hubspot", "salesforce"};
    struct merge_policy pol = {origins, 3, 5 * 60 * 1000, 1795000000000LL};
    struct consent_value cur;
    struct change in;
    char reason[256];
    const char *cur_origin;
    enum merge_decision d;

    if (size < 18)
        return 0;
    consent_from(data, &cur);
    memset(&in, 0, sizeof(in));
    in.kind = CHANGE_CONSENT;
    consent_from(data + 8, &in.consent);
    cur_origin = origins[data[16] % 3];
    in.origin = origins[data[17] % 3];
    in.member_key = "M1";
    in.field = "consent/marketing/email";
    in.value_json = "{}";
    in.idem_key = "k";
    in.occurred_at = in.consent.collected_at;
    if (size > 18 && (data[18] & 1))
        in.consent.collected_at = cur.collected_at; /* force a tie */
    in.occurred_at = in.consent.collected_at;

    d = merge_consent(&cur, cur_origin, &in, &pol, reason, sizeof(reason));
    if (cur.status == CONSENT_DENIED && in.consent.status == CONSENT_GRANTED &&
        !(in.consent.collected_at > cur.collected_at && consent_is_explicit(&in.consent)) &&
        d == MERGE_APPLY)
        __builtin_trap(); /* a withdrawal lost */
    if (consent_is_explicit(&cur) && in.consent.status == CONSENT_UNKNOWN && d == MERGE_APPLY)
        __builtin_trap(); /* an implicit status overwrote an explicit one */
    if (cur.status == CONSENT_DENIED && in.consent.collected_at == cur.collected_at &&
        in.consent.status != CONSENT_DENIED && d == MERGE_APPLY)
        __builtin_trap(); /* a tie must resolve to the least permissive */

    /* Points: the identical transaction is a duplicate, never applied. */
    {
        struct points_txn t = {"T1", (int64_t)(int8_t)data[0] * 1000 + 1, "earn", 1793000000000LL,
                               0};
        struct change pc;
        memset(&pc, 0, sizeof(pc));
        pc.kind = CHANGE_POINTS;
        pc.origin = "shop";
        pc.member_key = "M1";
        pc.field = "points/T1";
        pc.points = t;
        pc.occurred_at = t.occurred_at;
        if (merge_points(&t, "M1", &pc, &pol, reason, sizeof(reason)) == MERGE_APPLY)
            __builtin_trap();
        pc.member_key = "M2"; /* same txn_id, another member: never merged */
        if (merge_points(&t, "M1", &pc, &pol, reason, sizeof(reason)) == MERGE_APPLY)
            __builtin_trap();
    }
    return 0;
}
