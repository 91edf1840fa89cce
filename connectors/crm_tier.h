/* Tiers derived from the points balance, for every CRM connector (issue 13:
 * tiers in the runtime; was HubSpot's alone).
 *
 * DESIGN.md §2: the tier is derived from points by configured thresholds.
 * A CRM gets the balance derived at send time from the ledger
 * (points_as_balance); the tier is derived from that same balance in the
 * same write, so the two never disagree and a replay writes the same values
 * again. `tiers = bronze:0,silver:1000,gold:5000`: a member's tier is the
 * last one whose minimum the balance reaches; below the first, none (the
 * CRM's tier is cleared). What the CRM holds of the balance is projected as
 * "N|<tier>" then, so the shadow covers both and a drifted tier is written
 * back with the balance. Pure. */
#ifndef CRMSYNC_CRM_TIER_H
#define CRMSYNC_CRM_TIER_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct crm_tier {
    char *name;
    int64_t min;
};

/* Ascending minimums; n == 0: tiers are not derived. */
struct crm_tiers {
    struct crm_tier *t;
    size_t n;
};

/* The option, for a settings struct S; where says which option names the
 * CRM field the tier is written to. */
#define CRM_TIERS_OPTION(S, field, where)                                                          \
    CRM_OPT(S, "tiers", CONFIG_STRING, "", field, 0, 0,                                            \
            "tier:minimum balance, ascending, e.g. bronze:0,silver:1000,gold:5000; the tier is "   \
            "derived from the balance and written with it to " where "; empty: not derived")

/* "bronze:0, silver:1000, gold:5000" (minimums strictly ascending); NULL or
 * "": none. 0, or -1 with the reason in err (out left empty). */
int crm_tiers_parse(const char *spec, struct crm_tiers *out, struct error *err);
void crm_tiers_free(struct crm_tiers *t);
/* The tier of a balance: the last whose minimum it reaches; "" below the
 * first (or without tiers). */
const char *crm_tier_of(const struct crm_tiers *t, int64_t balance);
/* What a CRM holds of a balance: "N", or "N|<tier>" when tiers are
 * derived. */
void crm_balance_projection(const struct crm_tiers *t, int64_t balance, char *out, size_t outsize);

#endif
