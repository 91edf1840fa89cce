/* Contacts that go away in HubSpot without us (docs/hubspot.md "Merged and
 * archived contacts"):
 *
 *   merged: the survivor of a merge lists the merged record ids in
 *   hs_merged_object_ids. A member whose identity points at one of them
 *   follows the survivor when the survivor is that member's contact (same
 *   id property: the pull learns the survivor's id); when the survivor is
 *   another member's contact (or no member's), the member's contact is gone;
 *
 *   archived: archiving does not move lastmodifieddate, so the search never
 *   sees it. A sweep pages through `GET contacts?archived=true` every
 *   `archived_sweep`; an archived contact that is the member's known one
 *   is gone.
 *
 * A gone contact is not an erasure (a clean-up or a duplicate merge in the
 * CRM is not the person's request to be forgotten; an erasure is ordered
 * locally and then archives the contact here). The member's contact is
 * re-created with all its local values at once, as the Salesforce connector
 * does for a deleted Contact: the identity map keeps a marker
 * ("archived:<id>", "merged:<id>") instead of the id, and each contact
 * field the member has a local value for is observed as held as
 * "(<marker>)", a text no value projects to; the engine's drift repair
 * queues them and the first write creates a new contact by the id property.
 * Why not on the member's next change: a contact created from one field
 * lacks the others (an sms opt-out among them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubspot.h"
#include "log.h"

struct gone_ctx {
    struct hubspot *hs;
    const char *member;
    const char *projection;
    int had_value; /* the member has local values (an erased one has none) */
    struct error *err;
};

static int observe_gone(void *arg, enum change_kind kind, const char *field)
{
    struct gone_ctx *g = arg;
    struct connector *conn = hs_conn(g->hs);
    const struct host_services *host = conn->host;

    if (kind != CHANGE_POINTS) {
        char *cur = host->current != NULL ? host->current(host->ctx, conn, g->member, field) : NULL;
        if (cur == NULL)
            return 0;
        free(cur);
        g->had_value = 1;
    } else if (!g->had_value) {
        /* The balance comes from the ledger, which current() does not
         * show: only for a member with other local values, so that an
         * erased member (no values left) gets no shadow row back. */
        return 0;
    }
    return host->observe(host->ctx, conn, g->member, kind, field, g->projection, g->err);
}

int hs_contact_gone(struct hubspot *hs, const char *member, const char *marker, struct error *err)
{
    struct connector *conn = hs_conn(hs);
    const struct host_services *host = conn->host;
    char projection[HS_ID_MAX + 32];
    struct gone_ctx g = {hs, member, projection, 0, err};

    if (host->learn_identity != NULL)
        host->learn_identity(host->ctx, conn, member, marker);
    if (host->observe == NULL)
        return 0;
    snprintf(projection, sizeof(projection), "(%s)", marker);
    return hs_contact_field_each(hs_map_of(hs), observe_gone, &g);
}

int hs_follow_merges(struct hubspot *hs, json_t *contact, const char *member, const char *id,
                     struct error *err)
{
    struct connector *conn = hs_conn(hs);
    const struct host_services *host = conn->host;
    const char *merged = json_string_value(
        json_object_get(json_object_get(contact, "properties"), HS_MERGED_PROPERTY));
    char ids[64][HS_ID_MAX];
    size_t n;

    if (merged == NULL || merged[0] == '\0' || host->member_of == NULL)
        return 0;
    n = hs_split_ids(merged, ids, 64);
    for (size_t i = 0; i < n; i++) {
        char who[256], m1[64], m2[64], marker[HS_ID_MAX + 16];
        int found;

        if (strcmp(ids[i], id) == 0)
            continue;
        found = host->member_of(host->ctx, conn, ids[i], who, sizeof(who));
        if (found < 0) {
            error_set(err, "cannot read the identity of contact %s", ids[i]);
            return -1;
        }
        if (found == 0)
            continue;
        if (member[0] != '\0' && strcmp(who, member) == 0) {
            /* The same member: the caller learns the survivor's id. */
            log_info_member("hubspot", conn->name, who, 0,
                            "member %s: contact %s merged into %s; following",
                            log_mask(who, m1, sizeof(m1)), ids[i], id);
            continue;
        }
        snprintf(marker, sizeof(marker), "merged:%s", ids[i]);
        log_warn_member("hubspot", conn->name, who, 0,
                        "member %s: contact %s was merged into contact %s, which is %s%s; the "
                        "member's contact is created again",
                        log_mask(who, m1, sizeof(m1)), ids[i], id,
                        member[0] ? "member " : "no member's",
                        member[0] ? log_mask(member, m2, sizeof(m2)) : "");
        if (hs_contact_gone(hs, who, marker, err) != 0)
            return -1;
    }
    return 0;
}

/* --- the archived sweep --- */

static void send_page(struct hubspot *hs);

/* One page of archived contacts: those that are a member's known contact
 * are gone. The page's sink transaction opens only when one is. */
static int apply_archived(struct hubspot *hs, json_t *results, struct error *err)
{
    struct connector *conn = hs_conn(hs);
    const struct host_services *host = conn->host;
    const char *idp = hs_map_of(hs)->id_property;
    struct crm_page pg;
    int open = 0;
    size_t i;
    json_t *c;

    json_array_foreach(results, i, c)
    {
        const char *id = json_string_value(json_object_get(c, "id"));
        const char *member =
            json_string_value(json_object_get(json_object_get(c, "properties"), idp));
        char known[HS_ID_MAX + 16], masked[64], marker[HS_ID_MAX + 16];
        int found;

        if (id == NULL || member == NULL || member[0] == '\0' || host->remote_id == NULL)
            continue;
        found = host->remote_id(host->ctx, conn, member, known, sizeof(known));
        if (found < 0) {
            error_set(err, "cannot read an identity");
            goto fail;
        }
        if (found == 0 || strcmp(known, id) != 0)
            continue; /* an old duplicate, one replaced already, not ours */
        if (!open) {
            hs_page_init(&pg, hs);
            if (crm_page_begin(&pg) != 0) {
                *err = pg.err;
                return -1;
            }
            open = 1;
        }
        log_warn_member("hubspot", conn->name, member, 0,
                        "member %s: contact %s was archived in HubSpot; the member's contact is "
                        "created again",
                        log_mask(member, masked, sizeof(masked)), id);
        snprintf(marker, sizeof(marker), "archived:%s", id);
        if (hs_contact_gone(hs, member, marker, err) != 0)
            goto fail;
        hs_pull_state(hs)->swept++;
    }
    if (open && crm_page_commit(&pg, NULL) != 0) {
        *err = pg.err;
        return -1;
    }
    return 0;
fail:
    if (open)
        crm_page_abort(&pg);
    return -1;
}

static void page_answer(struct http_result *res, void *arg)
{
    struct hubspot *hs = arg;
    struct hs_pull_state *ps = hs_pull_state(hs);
    struct connector *conn = hs_conn(hs);
    struct error err = {""};
    json_t *root = NULL, *results = NULL;
    char prev[sizeof(ps->sweep_after)];
    int rc;

    if (hs_pull_failed(hs, res, "archived contacts listing")) {
        hs_pull_finish(hs, -1);
        return;
    }
    snprintf(prev, sizeof(prev), "%s", ps->sweep_after);
    if (hs_parse_search(res->body, &root, &results, ps->sweep_after, sizeof(ps->sweep_after)) !=
        0) {
        log_warn("hubspot", conn->name, "pull: unreadable archived contacts listing");
        hs_pull_finish(hs, -1);
        return;
    }
    if (apply_archived(hs, results, &err) != 0) {
        json_decref(root);
        log_error("hubspot", conn->name, "archived contacts not applied: %s", err.msg);
        hs_pull_finish(hs, -1);
        return;
    }
    json_decref(root);
    rc = hs_listing_next(hs, "archived listing", prev, ps->sweep_after);
    if (rc == 0) {
        send_page(hs);
        return;
    }
    if (rc < 0) {
        /* Followed, it would list the same page for ever (and it goes into
         * the query string as it is: digits only). */
        ps->sweep_after[0] = '\0';
        hs_pull_finish(hs, -1);
        return;
    }
    ps->last_sweep_ms = hs_sweep_stamp(hs);
    log_debug("hubspot", conn->name, "archived sweep done: %ld member contact(s) gone", ps->swept);
    hs_status_sweep(hs);
}

static void send_page(struct hubspot *hs)
{
    struct hs_pull_state *ps = hs_pull_state(hs);
    const char *path =
        hs_pathf(hs, HS_V_OBJECTS, "?archived=true&limit=100&properties=%s%s%s",
                 hs_map_of(hs)->id_property, ps->sweep_after[0] ? "&after=" : "", ps->sweep_after);

    if (hs_pull_send(hs, 0, HTTP_GET, path, NULL, page_answer) != 0)
        hs_pull_finish(hs, -1);
}

void hs_archived_sweep(struct hubspot *hs)
{
    struct hs_pull_state *ps = hs_pull_state(hs);

    if (!hs_sweep_due(hs, ps->last_sweep_ms, hs_archived_sweep_ms(hs))) {
        hs_status_sweep(hs);
        return;
    }
    ps->sweeping = 1;
    ps->swept = 0;
    ps->sweep_after[0] = '\0';
    send_page(hs);
}
