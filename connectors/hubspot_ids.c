/* Pure: HubSpot record ids and contacts that are gone (docs/hubspot.md
 * "Merged and archived contacts").
 *
 * A member's contact can go away in HubSpot without us: merged into another
 * contact (the survivor lists the merged ids in hs_merged_object_ids) or
 * archived. The identity map then keeps a marker instead of a record id
 * ("archived:<id>", "merged:<id>"): never sent as a record id, and distinct
 * from every record id so the map's uniqueness per system holds. */
#include <stdio.h>
#include <string.h>

#include "hubspot.h"

size_t hs_split_ids(const char *s, char (*out)[HS_ID_MAX], size_t max)
{
    size_t n = 0;

    while (s != NULL && *s != '\0' && n < max) {
        size_t len = strcspn(s, ";, ");
        int digits = len > 0 && len < HS_ID_MAX;

        for (size_t k = 0; digits && k < len; k++)
            digits = s[k] >= '0' && s[k] <= '9';
        if (digits) {
            int dup = 0;
            for (size_t k = 0; k < n && !dup; k++)
                dup = strlen(out[k]) == len && strncmp(out[k], s, len) == 0;
            if (!dup) {
                memcpy(out[n], s, len);
                out[n][len] = '\0';
                n++;
            }
        }
        s += len;
        if (*s != '\0')
            s++;
    }
    return n;
}

int hs_is_record_id(const char *id)
{
    if (id == NULL || id[0] == '\0')
        return 0;
    for (const char *p = id; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return 0;
    }
    return 1;
}

int hs_contact_field_each(const struct hs_map *m, hs_contact_field_fn fn, void *arg)
{
    char field[256];

    for (size_t i = 0; i < m->attrs.n; i++) {
        snprintf(field, sizeof(field), "profile/%s", m->attrs.p[i].key);
        if (fn(arg, CHANGE_PROFILE, field) != 0)
            return -1;
    }
    for (size_t p = 0; p < m->purposes.n; p++) {
        for (const char *const *c = hs_property_channels; *c != NULL; c++) {
            snprintf(field, sizeof(field), "consent/%s/%s", m->purposes.v[p], *c);
            if (fn(arg, CHANGE_CONSENT, field) != 0)
                return -1;
        }
    }
    if (fn(arg, CHANGE_TIER, "tier") != 0)
        return -1;
    /* Last: a caller may send the balance only when the member had other
     * local values (an erased member has none). */
    return fn(arg, CHANGE_POINTS, "points/balance");
}
