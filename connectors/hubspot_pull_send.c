/* The HubSpot pull's requests and cycle end, shared by hubspot_pull.c
 * and the sweeps (hubspot_gone.c, hubspot_lists_sweep.c,
 * hubspot_statuses.c): a request waits for its budget (the search window
 * or the bulk lane) on the pull timer; a cycle ends once. Moved out of
 * hubspot_pull.c (issue 18) so that the sweeps and the pull do not call
 * each other both ways. */
#include <stdlib.h>
#include <string.h>

#include "hubspot.h"
#include "log.h"

void hs_pull_finish(struct hubspot *hs, int status)
{
    struct hs_pull_state *ps = hs_pull_state(hs);
    struct connector *conn = hs_conn(hs);

    ps->results = NULL;
    ps->active = 0;
    ps->sweeping = 0;
    crm_pull_end(conn, "hubspot", status, ps->pages, &ps->root);
}

void hs_page_init(struct crm_page *pg, struct hubspot *hs)
{
    crm_page_init(pg, hs_conn(hs), "hubspot");
    pg->log_rejected = 1;
}

/* --- budgets of the pull's requests --- */

static long budget_wait(struct hubspot *hs, int search)
{
    struct connector *conn = hs_conn(hs);
    uint64_t now = crm_mono_ms();

    if (search)
        return ratelimit_window_acquire(&hs->search_rl, now);
    if (conn->ratelimit == NULL)
        return 0;
    return ratelimit_acquire(conn->ratelimit, RATELIMIT_BULK, now);
}

static int send_now(struct hubspot *hs, int search, enum http_method method, const char *path,
                    const char *body, http_done_fn done)
{
    if (search)
        return hs_request_search(hs, path, body, done, hs);
    return hs_request(hs, method, path, body, done, hs);
}

static void pull_timer_cb(uv_timer_t *t)
{
    struct hubspot *hs = t->data;
    struct hs_pull_state *ps = hs_pull_state(hs);
    char *body = ps->wait_body, *path = ps->wait_path;
    long wait;

    if (!ps->waiting)
        return;
    wait = budget_wait(hs, ps->wait_search);
    if (wait > 0) {
        uv_timer_start(&hs->pull_timer, pull_timer_cb, (uint64_t)wait, 0);
        return;
    }
    ps->waiting = 0;
    ps->wait_body = NULL;
    ps->wait_path = NULL;
    if (send_now(hs, ps->wait_search, ps->wait_method, path, body, ps->wait_done) != 0)
        hs_pull_finish(hs, -1);
    free(body);
    free(path);
}

int hs_pull_send(struct hubspot *hs, int search, enum http_method method, const char *path,
                 const char *body, http_done_fn done)
{
    struct hs_pull_state *ps = hs_pull_state(hs);
    long wait;

    if (hs_closing(hs) || path == NULL)
        return -1;
    wait = budget_wait(hs, search);
    if (wait == 0)
        return send_now(hs, search, method, path, body, done);
    free(ps->wait_body);
    free(ps->wait_path);
    ps->wait_body = body != NULL ? strdup(body) : NULL;
    ps->wait_path = strdup(path);
    if ((body != NULL && ps->wait_body == NULL) || ps->wait_path == NULL)
        return -1;
    ps->waiting = 1;
    ps->wait_search = search;
    ps->wait_method = method;
    ps->wait_done = done;
    uv_timer_start(&hs->pull_timer, pull_timer_cb, (uint64_t)wait, 0);
    return 0;
}

int hs_pull_failed(struct hubspot *hs, const struct http_result *res, const char *what)
{
    char msg[200] = "", st[32];

    if (res != NULL && res->cls == HTTP_CLASS_OK && !hs_closing(hs))
        return 0;
    if (res != NULL)
        hs_error_message(res->body, msg, sizeof(msg));
    log_warn("hubspot", hs_conn(hs)->name, "pull: %s failed (%s %s)", what,
             http_result_label(res, st, sizeof(st)),
             msg[0]        ? msg
             : res != NULL ? res->error
                           : "");
    return 1;
}

int hs_sweep_due(const struct hubspot *hs, uint64_t last_ms, long interval_ms)
{
    return last_ms == 0 || uv_now(hs_conn(hs)->loop) >= last_ms + (uint64_t)interval_ms;
}

uint64_t hs_sweep_stamp(const struct hubspot *hs)
{
    uint64_t now = uv_now(hs_conn(hs)->loop);
    return now != 0 ? now : 1;
}

int hs_listing_next(struct hubspot *hs, const char *listing, const char *prev, const char *cursor)
{
    long long p = -1, next = 0;
    int rc;

    if (prev[0] != '\0' && hs_next_after(prev, -1, &p) != 0)
        p = -1;
    rc = hs_next_after(cursor, p, &next);
    if (rc < 0)
        log_error("hubspot", hs_conn(hs)->name,
                  "pull stopped: the %s's paging cursor \"%.40s\" does not advance (not a "
                  "number, or not past the previous one)",
                  listing, cursor);
    return rc;
}

int hs_pull_read_statuses(struct hubspot *hs, json_t *emails, http_done_fn done)
{
    char *body = hs_inputs_body(emails);
    int rc = -1;

    if (body != NULL)
        rc =
            hs_pull_send(hs, 0, HTTP_POST,
                         hs_path(hs, HS_V_PREFS, "/statuses/batch/read?channel=EMAIL"), body, done);
    free(body);
    return rc;
}

void hs_pull_cancel(struct hubspot *hs)
{
    struct hs_pull_state *ps = hs_pull_state(hs);

    if (!ps->waiting)
        return;
    uv_timer_stop(&hs->pull_timer);
    ps->waiting = 0;
    free(ps->wait_body);
    free(ps->wait_path);
    ps->wait_body = NULL;
    ps->wait_path = NULL;
    hs_pull_finish(hs, -1);
}
