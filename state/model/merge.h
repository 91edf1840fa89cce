/* Merge rules (DESIGN.md §3) as pure functions: given what the state holds
 * and what arrives, decide. No SQLite, no I/O; unit-tested exhaustively. */
#ifndef CRMSYNC_MERGE_H
#define CRMSYNC_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "change.h"

enum merge_decision {
    MERGE_APPLY = 0, /* the incoming value replaces the current one */
    MERGE_KEEP,      /* recorded as seen; current unchanged; fans out nothing */
    MERGE_REJECT,    /* dead letter: cannot be trusted or conflicts */
};

struct merge_policy {
    /* Origins in priority order, most trusted first; an origin not listed
     * ranks after all listed ones. Used only to break timestamp ties. */
    const char *const *origin_priority;
    size_t n_origin_priority;
    /* How far in the future a timestamp may be before it is rejected
     * (clock skew between systems). */
    int64_t future_tolerance_ms;
    int64_t now_ms;
};

/* What the state holds for (member, field), for the generic rule. */
struct merge_current {
    const char *value_json;
    int64_t occurred_at;
    const char *origin;
};

/* Generic last-writer-wins for tier, segment and profile fields. cur is NULL
 * when the field has no value yet. reason receives why on KEEP/REJECT. */
enum merge_decision merge_generic(const struct merge_current *cur, const struct change *in,
                                  const struct merge_policy *policy, char *reason,
                                  size_t reason_size);

/* Consent rule: a denial is never replaced by a grant that is not strictly
 * newer and explicit; an implicit status never overwrites an explicit one;
 * equal timestamps resolve to the least permissive status; a future
 * collected_at beyond the tolerance is rejected. cur may be NULL. */
enum merge_decision merge_consent(const struct consent_value *cur, const char *cur_origin,
                                  const struct change *in, const struct merge_policy *policy,
                                  char *reason, size_t reason_size);

/* Points: union by txn_id. cur is the stored transaction with the same txn_id
 * (NULL when new): identical body -> KEEP (a duplicate), different body ->
 * REJECT (never silently merged). */
enum merge_decision merge_points(const struct points_txn *cur, const char *cur_member,
                                 const struct change *in, const struct merge_policy *policy,
                                 char *reason, size_t reason_size);

/* An explicit consent has a definite status and says where it came from; a
 * grant must also carry its legal basis. */
int consent_is_explicit(const struct consent_value *v);

/* Rank of an origin in the policy (0 = most trusted). */
size_t merge_origin_rank(const struct merge_policy *policy, const char *origin);

#endif
