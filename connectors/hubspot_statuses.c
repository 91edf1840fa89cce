/* The statuses sweep of the HubSpot pull (issue 12, item 4).
 *
 * The pull reads EMAIL subscription statuses only for the contacts its
 * search returns, that is contacts whose lastmodifieddate moved. HubSpot
 * documents a subscription status as belonging to the email address, not to
 * a contact record: it can be set for an address no contact has, and applies
 * to a contact created later with it (developers.hubspot.com, communication
 * preferences: "Status updates and contact records"). Nothing in its
 * documentation says that an unsubscribe (the footer link, the preferences
 * page, a workflow, the API) modifies the contact's lastmodifieddate, nor
 * that the hs_email_optout_<subscription id> contact properties move with
 * every status. So an unsubscribe, the most common withdrawal there is, may
 * never reach the search, and the statuses are swept on a schedule of their
 * own (option status_sweep, default 15 min; 0: every pull):
 *
 *   GET contacts?limit=100&properties=<id_property>,email[&after=]
 *   -> POST statuses/batch/read?channel=EMAIL with the page's member
 *      addresses (each once) -> the statuses applied in one page
 *      transaction, as the pull applies them (echo rule, observe), the
 *      watermark unchanged.
 *
 * About two requests per 100 contacts per sweep, in the bulk lane's budget
 * (hs_pull_send). A failure ends the cycle (pull_done -1); the next cycle
 * sweeps again. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubspot.h"
#include "log.h"

static void send_contacts_page(struct hubspot *hs);

static void end_sweep(struct hubspot *hs, int status)
{
    struct hs_pull_state *ps = hs_pull_state(hs);
    struct connector *conn = hs_conn(hs);

    json_decref(ps->status_page);
    ps->status_page = NULL;
    ps->status_after[0] = '\0';
    ps->status_prev[0] = '\0';
    if (status == 0) {
        ps->last_status_sweep_ms = hs_sweep_stamp(hs);
        log_debug("hubspot", conn->name, "statuses sweep done: %ld change(s) applied",
                  ps->status_applied);
        hs_list_sweep(hs);
        return;
    }
    hs_pull_finish(hs, status);
}

/* The next contacts page (status_after, the cursor of the page read), or the
 * end of the sweep. A cursor that does not advance ends it with an error. */
static void next_page(struct hubspot *hs)
{
    struct hs_pull_state *ps = hs_pull_state(hs);
    int rc = hs_listing_next(hs, "contacts listing", ps->status_prev, ps->status_after);

    if (rc != 0) {
        end_sweep(hs, rc == 1 ? 0 : -1);
        return;
    }
    send_contacts_page(hs);
}

/* The statuses of one contacts page, applied in one page transaction. */
static int apply_statuses(struct hubspot *hs, json_t *statuses, struct crm_page *pc)
{
    struct hs_pull_state *ps = hs_pull_state(hs);
    struct connector *conn = hs_conn(hs);
    const struct hs_map *m = hs_map_of(hs);
    json_t *c;
    size_t i;

    if (crm_page_begin(pc) != 0)
        return -1;
    json_array_foreach(json_object_get(ps->status_page, "results"), i, c)
    {
        json_t *props = json_object_get(c, "properties");
        const char *email = json_string_value(json_object_get(props, "email"));
        const char *key = json_string_value(json_object_get(props, m->id_property));
        const char *id = json_string_value(json_object_get(c, "id"));
        json_t *only, *st;
        char low[512], member[256];
        size_t k;
        int rc;

        if (email == NULL || key == NULL || key[0] == '\0' || id == NULL)
            continue;
        for (k = 0; email[k] != '\0' && k + 1 < sizeof(low); k++)
            low[k] = (char)((email[k] >= 'A' && email[k] <= 'Z') ? email[k] + 32 : email[k]);
        low[k] = '\0';
        st = json_object_get(statuses, low);
        if (st == NULL)
            continue;
        /* The member key only: the contact's other properties are the
         * search's to read, with their modification date. */
        only = json_pack("{s:s, s:{s:s}}", "id", id, "properties", m->id_property, key);
        rc = only == NULL ? -1
                          : hs_contact_fields(m, conn->name, only, st, crm_page_field_fn, pc,
                                              member, sizeof(member));
        json_decref(only);
        if (rc != 0) {
            crm_page_abort(pc);
            return -1;
        }
    }
    /* NULL: the watermark is the search's, unchanged. */
    return crm_page_commit(pc, NULL);
}

static void statuses_read(struct http_result *res, void *arg)
{
    struct hubspot *hs = arg;
    struct hs_pull_state *ps = hs_pull_state(hs);
    struct connector *conn = hs_conn(hs);
    struct crm_page pc;
    json_t *statuses;

    if (hs_pull_failed(hs, res, "statuses sweep read")) {
        end_sweep(hs, -1);
        return;
    }
    hs_page_init(&pc, hs);
    statuses = hs_parse_statuses(res->body);
    if (statuses == NULL) {
        log_warn("hubspot", conn->name, "pull: unreadable statuses answer in the sweep");
        end_sweep(hs, -1);
        return;
    }
    if (apply_statuses(hs, statuses, &pc) != 0) {
        json_decref(statuses);
        log_error("hubspot", conn->name, "statuses sweep page not applied: %s", pc.err.msg);
        end_sweep(hs, -1);
        return;
    }
    json_decref(statuses);
    ps->status_applied += pc.applied;
    json_decref(ps->status_page);
    ps->status_page = NULL;
    next_page(hs);
}

static void contacts_listed(struct http_result *res, void *arg)
{
    struct hubspot *hs = arg;
    struct hs_pull_state *ps = hs_pull_state(hs);
    struct connector *conn = hs_conn(hs);
    json_t *root = NULL, *results = NULL, *emails;

    if (hs_pull_failed(hs, res, "contacts listing of the statuses sweep")) {
        end_sweep(hs, -1);
        return;
    }
    if (hs_parse_search(res->body, &root, &results, ps->status_after, sizeof(ps->status_after)) !=
        0) {
        log_warn("hubspot", conn->name, "pull: unreadable contacts listing in the statuses sweep");
        end_sweep(hs, -1);
        return;
    }
    emails = hs_member_emails(hs_map_of(hs), results);
    if (json_array_size(emails) == 0) {
        json_decref(emails);
        json_decref(root);
        next_page(hs);
        return;
    }
    json_decref(ps->status_page);
    ps->status_page = root;
    if (hs_pull_read_statuses(hs, emails, statuses_read) != 0)
        end_sweep(hs, -1);
}

static void send_contacts_page(struct hubspot *hs)
{
    struct hs_pull_state *ps = hs_pull_state(hs);
    const char *path;

    /* status_after is digits only (hs_next_after): safe in the query. */
    snprintf(ps->status_prev, sizeof(ps->status_prev), "%s", ps->status_after);
    path =
        hs_pathf(hs, HS_V_OBJECTS, "?limit=100&properties=%s,email%s%s", hs_map_of(hs)->id_property,
                 ps->status_after[0] ? "&after=" : "", ps->status_after);
    if (hs_pull_send(hs, 0, HTTP_GET, path, NULL, contacts_listed) != 0)
        end_sweep(hs, -1);
}

void hs_status_sweep(struct hubspot *hs)
{
    struct hs_pull_state *ps = hs_pull_state(hs);

    if (hs_map_of(hs)->subs.n == 0 ||
        !hs_sweep_due(hs, ps->last_status_sweep_ms, hs_status_sweep_ms(hs))) {
        hs_list_sweep(hs);
        return;
    }
    ps->status_after[0] = '\0';
    ps->status_prev[0] = '\0';
    ps->status_applied = 0;
    send_contacts_page(hs);
}
