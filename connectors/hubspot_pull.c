/* The HubSpot pull cycle (docs/hubspot.md "Pull"):
 *
 *   search contacts with lastmodifieddate in [watermark - lookback,
 *   now - search_lag), ascending (ties by id), 100 per page, paging with
 *   `after`; before `after + limit` would pass the 10,000-result cap the
 *   window restarts at the last timestamp seen (GTE, after = 0: the records
 *   of that millisecond come again, and their idempotency keys make them
 *   free);
 *   per page: the EMAIL subscription statuses of the page's emails (one
 *   batch read), then the whole page in ONE sink transaction with the new
 *   watermark {"t": last lastmodifieddate applied}.
 *
 *   per contact listing hs_merged_object_ids: identities follow the merge
 *   (hubspot_gone.c); after the last page, the archived sweep when due.
 *
 * Budgets: a search waits for the search window (HubSpot: 5 per second,
 * its own limit), the other requests for the engine's bucket; a SECONDLY
 * 429 on a search resends it after the hold (at most 5 in a row).
 *
 * Any failure aborts the open page (nothing of it is kept) and ends the
 * cycle with pull_done(-1); the engine tries again later from the stored
 * watermark. pull_done is called exactly once per hs_pull(). */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubspot.h"
#include "log.h"
#include "timefmt.h"

#define SEARCH_429_MAX 5

static void send_search(struct hubspot *hs);

/* A search page being applied: the EMAIL statuses of its addresses (NULL:
 * none read), and the newest lastmodifieddate read so far. */
struct search_page {
    struct hubspot *hs;
    json_t *statuses;
    int64_t last;
};

/* One contact of a search page (a crm_row_fn over a struct search_page):
 * its fields by the shared page rule, with the EMAIL statuses of its
 * address, merges followed, its identity learnt. 0, or -1 on a state
 * error (pc->err). */
static int contact_row(void *arg, struct crm_page *pc, json_t *contact)
{
    struct search_page *sp = arg;
    struct hubspot *hs = sp->hs;
    json_t *statuses = sp->statuses;
    int64_t *last = &sp->last;
    struct connector *conn = hs_conn(hs);
    const struct host_services *host = conn->host;
    json_t *props = json_object_get(contact, "properties");
    const char *email = json_string_value(json_object_get(props, "email"));
    const char *id = json_string_value(json_object_get(contact, "id"));
    json_t *st = NULL;
    char member[256];
    int64_t mod;

    if (hs_parse_time(json_string_value(json_object_get(props, "lastmodifieddate")), &mod) == 0 &&
        mod > *last)
        *last = mod;
    if (email != NULL && statuses != NULL) {
        char low[512];
        size_t k;
        for (k = 0; email[k] != '\0' && k + 1 < sizeof(low); k++)
            low[k] = (char)((email[k] >= 'A' && email[k] <= 'Z') ? email[k] + 32 : email[k]);
        low[k] = '\0';
        st = json_object_get(statuses, low);
    }
    if (hs_contact_fields(hs_map_of(hs), conn->name, contact, st, crm_page_field_fn, pc, member,
                          sizeof(member)) != 0)
        return -1;
    if (member[0] == '\0')
        /* Not one of ours (no member key): HubSpot has many contacts
         * that are not loyalty members (merges into one are still
         * followed). */
        log_debug("hubspot", conn->name, "contact %s has no %s; skipped", id ? id : "?",
                  hs_map_of(hs)->id_property);
    if (id != NULL && hs_follow_merges(hs, contact, member, id, &pc->err) != 0)
        return -1;
    if (member[0] != '\0' && host->learn_identity != NULL && id != NULL)
        host->learn_identity(host->ctx, conn, member, id);
    return 0;
}

/* After a search page (last: its newest lastmodifieddate): the next page
 * of the window, the window restarted at the 10,000 cap, or the sweeps
 * after the last page. A cursor that does not advance ends the cycle. */
static void search_next_page(struct hubspot *hs, int64_t last)
{
    struct hs_pull_state *ps = hs_pull_state(hs);
    struct connector *conn = hs_conn(hs);
    long long next = 0;
    int rc = hs_next_after(ps->next_after, ps->after, &next);

    if (rc == 1) {
        hs_archived_sweep(hs);
        return;
    }
    if (rc != 0 || next > LONG_MAX - HS_SEARCH_LIMIT) {
        /* A non-numeric cursor became 0 with strtol and page 1 was read
         * 2,240 times in 499 s. The page is applied; the cycle ends. */
        log_error("hubspot", conn->name,
                  "pull stopped: the search's paging cursor \"%.40s\" does not advance past %ld "
                  "(not a number, or not past the page read); the next cycle starts over from "
                  "the watermark",
                  ps->next_after, ps->after);
        hs_pull_finish(hs, -1);
        return;
    }
    ps->after = (long)next;
    if (ps->after + HS_SEARCH_LIMIT > HS_SEARCH_CAP) {
        /* The 10,000 cap: restart the window at the last timestamp. If a
         * whole window of 10,000 shares one millisecond, step past it. */
        ps->gte = last > ps->gte ? last : ps->gte + 1;
        ps->after = 0;
        log_info("hubspot", conn->name, "search window restarted at %" PRId64 " (10,000 cap)",
                 ps->gte);
    }
    json_decref(ps->root);
    ps->root = NULL;
    send_search(hs);
}

static void apply_page(struct hubspot *hs, json_t *statuses)
{
    struct hs_pull_state *ps = hs_pull_state(hs);
    struct search_page sp = {hs, statuses, ps->last_seen};
    struct crm_page pc;
    char wm[64];

    hs_page_init(&pc, hs);
    if (crm_page_rows(&pc, ps->results, contact_row, &sp) != 0)
        goto fail;
    snprintf(wm, sizeof(wm), "{\"t\":%" PRId64 "}", sp.last);
    if (crm_page_commit(&pc, wm) != 0)
        goto fail;
    ps->last_seen = sp.last;
    ps->pages++;
    log_debug("hubspot", hs_conn(hs)->name, "pulled page of %zu contact(s), %ld change(s) applied",
              json_array_size(ps->results), pc.applied);
    search_next_page(hs, sp.last);
    return;
fail:
    crm_page_failed(&pc, "pull page");
    hs_pull_finish(hs, -1);
}

static void statuses_answer(struct http_result *res, void *arg)
{
    struct hubspot *hs = arg;
    json_t *statuses;

    if (res->cls != HTTP_CLASS_OK || hs_closing(hs)) {
        char st[32];
        log_warn("hubspot", hs_conn(hs)->name, "pull: statuses read failed (%s %s)",
                 http_result_label(res, st, sizeof(st)), res->error);
        hs_pull_finish(hs, -1);
        return;
    }
    statuses = hs_parse_statuses(res->body);
    apply_page(hs, statuses);
    json_decref(statuses);
}

static void search_answer(struct http_result *res, void *arg)
{
    struct hubspot *hs = arg;
    struct hs_pull_state *ps = hs_pull_state(hs);
    const struct hs_map *m = hs_map_of(hs);
    json_t *emails;

    if (res->status == 429 && !hs_closing(hs) && ps->search_429s < SEARCH_429_MAX) {
        char policy[64];
        hs_policy_name(res->body, policy, sizeof(policy));
        if (strcmp(policy, "DAILY") != 0) {
            /* The search window holds now (hs_request): the same search
             * goes again after it. Another client of the account can
             * spend the search limit too. */
            ps->search_429s++;
            log_info("hubspot", hs_conn(hs)->name,
                     "pull: search answered 429 %s; sent again after the hold", policy);
            send_search(hs);
            return;
        }
    }
    if (hs_pull_failed(hs, res, "search")) {
        hs_pull_finish(hs, -1);
        return;
    }
    if (hs_parse_search(res->body, &ps->root, &ps->results, ps->next_after,
                        sizeof(ps->next_after)) != 0) {
        log_warn("hubspot", hs_conn(hs)->name, "pull: unreadable search answer");
        hs_pull_finish(hs, -1);
        return;
    }
    ps->search_429s = 0;
    if (json_array_size(ps->results) == 0) {
        hs_archived_sweep(hs);
        return;
    }
    /* Each address once (BatchInputString): two contacts may share one. */
    emails = hs_member_emails(m, ps->results);
    if (m->subs.n == 0 || json_array_size(emails) == 0) {
        json_decref(emails);
        apply_page(hs, NULL);
        return;
    }
    if (hs_pull_read_statuses(hs, emails, statuses_answer) != 0)
        hs_pull_finish(hs, -1);
}

static void send_search(struct hubspot *hs)
{
    struct hs_pull_state *ps = hs_pull_state(hs);
    char *body = hs_search_body(hs_map_of(hs), ps->gte, ps->upper, ps->after, HS_SEARCH_LIMIT);

    if (body == NULL || hs_pull_send(hs, 1, HTTP_POST, hs_path(hs, HS_V_OBJECTS, "/search"), body,
                                     search_answer) != 0)
        hs_pull_finish(hs, -1);
    free(body);
}

void hs_pull(struct connector *conn)
{
    struct hubspot *hs = conn->priv;
    struct hs_pull_state *ps = hs_pull_state(hs);
    const struct host_services *host = conn->host;
    char *wm = host->watermark ? host->watermark(host->ctx, conn) : NULL;
    json_t *w = wm ? json_loads(wm, 0, NULL) : NULL;
    int64_t t = json_integer_value(json_object_get(w, "t"));
    int64_t now = timefmt_now_ms();

    json_decref(w);
    free(wm);
    if (ps->active) {
        log_warn("hubspot", conn->name, "pull requested while one runs; ignored");
        return;
    }
    ps->active = 1;
    ps->pages = 0;
    ps->after = 0;
    ps->search_429s = 0;
    ps->last_seen = t;
    ps->gte = t > hs_lookback_ms(hs) ? t - hs_lookback_ms(hs) : 0;
    ps->upper = now - hs_search_lag_ms(hs);
    if (ps->gte >= ps->upper) {
        hs_pull_finish(hs, 0);
        return;
    }
    send_search(hs);
}

void hs_pull_resync(struct connector *conn)
{
    /* The engine cleared the watermark: the next pull reads from the
     * epoch, and sweeps the archived contacts again. */
    struct hubspot *hs = conn->priv;

    if (hs != NULL) {
        hs_pull_state(hs)->last_sweep_ms = 0;
        hs_pull_state(hs)->last_status_sweep_ms = 0;
        hs_pull_state(hs)->list_sweep_due = 1;
    }
}
