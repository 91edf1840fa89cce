/* The list memberships sweep after a resync (issue 14 item 4; hubspot.h).
 *
 * A resync forgets the shadows and rebuilds them from what the pull reads;
 * the search and the statuses sweep read contacts and subscription
 * statuses, not list memberships, so without this every membership was
 * written again after each resync. Here, once per resync:
 *
 *   POST /crm/lists/V/search {"query": "crmsyncd", "count": 100, offset}
 *        -> the lists named "crmsyncd <segment>" whose id the identity map
 *           holds for that segment ("segment:<segment>" -> "list:<id>"):
 *           a list of the same name made by someone else is not ours;
 *   GET  /crm/lists/V/<id>/memberships?limit=250[&after=]
 *        -> every record id in it that is a member's contact is observed
 *           as holding "in" for segment/<segment> (one page transaction per
 *           memberships page, the watermark unchanged).
 *
 * A membership "out" is the absence of the contact from the list: there is
 * nothing to read, so after a resync a removal is written again (one
 * add-and-remove request per 100 members; docs/hubspot.md). Requests go
 * through hs_pull_send (the engine's bucket, bulk lane). Any failure ends
 * the cycle with -1 and the sweep stays due. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubspot.h"
#include "log.h"

#define LIST_PREFIX "crmsyncd "
#define LISTS_PER_PAGE 100
#define MEMBERS_PER_PAGE 250
#define URL_SAFE "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"

static void search_lists(struct hubspot *hs);
static void next_list(struct hubspot *hs);

static void end(struct hubspot *hs, int status)
{
    struct hs_pull_state *ps = hs_pull_state(hs);

    json_decref(ps->sweep_lists);
    ps->sweep_lists = NULL;
    if (status == 0) {
        ps->list_sweep_due = 0;
        log_info("hubspot", hs_conn(hs)->name,
                 "list memberships read after the resync: %ld membership(s) observed",
                 ps->list_observed);
    }
    hs_pull_finish(hs, status);
}

static void fail(struct hubspot *hs, const char *what, const struct http_result *res)
{
    hs_pull_failed(hs, res, what);
    end(hs, -1);
}

/* The answer to the sweep's request what, read: its root (the caller's),
 * with *arr its array under key. NULL: the request or its answer failed,
 * the sweep is over (logged). */
static json_t *read_answer(struct hubspot *hs, const struct http_result *res, const char *what,
                           const char *key, json_t **arr)
{
    char unreadable[96];
    json_t *root;

    if (res->cls != HTTP_CLASS_OK || hs_closing(hs)) {
        fail(hs, what, res);
        return NULL;
    }
    root = json_loads(res->body ? res->body : "", 0, NULL);
    *arr = json_object_get(root, key);
    if (!json_is_array(*arr)) {
        json_decref(root);
        snprintf(unreadable, sizeof(unreadable), "%s (unreadable answer)", what);
        fail(hs, unreadable, NULL);
        return NULL;
    }
    return root;
}

/* 1 when the identity map holds list id for segment: the list is ours. */
static int our_list(struct hubspot *hs, const char *segment, const char *id)
{
    struct connector *conn = hs_conn(hs);
    char key[96], kept[80], want[80];

    if (conn->host == NULL || conn->host->remote_id == NULL)
        return 0;
    snprintf(key, sizeof(key), "segment:%s", segment);
    snprintf(want, sizeof(want), "list:%s", id);
    return conn->host->remote_id(conn->host->ctx, conn, key, kept, sizeof(kept)) == 1 &&
           strcmp(kept, want) == 0;
}

static void lists_found(struct http_result *res, void *arg)
{
    struct hubspot *hs = arg;
    struct hs_pull_state *ps = hs_pull_state(hs);
    json_t *root, *lists = NULL, *l;
    size_t i;
    int more;

    root = read_answer(hs, res, "lists search", "lists", &lists);
    if (root == NULL)
        return;
    json_array_foreach(lists, i, l)
    {
        const char *id = json_string_value(json_object_get(l, "listId"));
        const char *name = json_string_value(json_object_get(l, "name"));

        if (id == NULL || name == NULL || strncmp(name, LIST_PREFIX, strlen(LIST_PREFIX)) != 0 ||
            !our_list(hs, name + strlen(LIST_PREFIX), id))
            continue;
        json_array_append_new(ps->sweep_lists, json_pack("[s, s]", id, name + strlen(LIST_PREFIX)));
    }
    more = json_is_true(json_object_get(root, "hasMore")) && json_array_size(lists) > 0;
    if (more) {
        json_int_t next = json_integer_value(json_object_get(root, "offset"));
        if (next <= ps->list_offset)
            more = 0; /* an offset that does not advance: stop, not loop */
        else
            ps->list_offset = (long)next;
    }
    json_decref(root);
    if (more)
        search_lists(hs);
    else
        next_list(hs);
}

static void search_lists(struct hubspot *hs)
{
    struct hs_pull_state *ps = hs_pull_state(hs);
    json_t *body = json_pack("{s:s, s:I, s:I}", "query", "crmsyncd", "count",
                             (json_int_t)LISTS_PER_PAGE, "offset", (json_int_t)ps->list_offset);
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;

    json_decref(body);
    if (text == NULL ||
        hs_pull_send(hs, 0, HTTP_POST, hs_path(hs, HS_V_LISTS, "/search"), text, lists_found) != 0)
        end(hs, -1);
    free(text);
}

/* One memberships page: each member contact observed "in". 0 or -1. */
static int observe_page(struct hubspot *hs, json_t *results, const char *segment)
{
    struct hs_pull_state *ps = hs_pull_state(hs);
    struct connector *conn = hs_conn(hs);
    const struct host_services *host = conn->host;
    struct crm_page pg;
    char field[200];
    size_t i;
    json_t *r;

    if (host->observe == NULL || host->member_of == NULL)
        return 0;
    snprintf(field, sizeof(field), "segment/%s", segment);
    hs_page_init(&pg, hs);
    if (crm_page_begin(&pg) != 0)
        goto fail;
    json_array_foreach(results, i, r)
    {
        const char *id = json_string_value(json_object_get(r, "recordId"));
        char member[256];

        if (id == NULL || host->member_of(host->ctx, conn, id, member, sizeof(member)) != 1)
            continue; /* not a member's contact */
        if (crm_page_field(&pg, member, CHANGE_SEGMENT, field, NULL, "in") != 0)
            goto fail;
        ps->list_observed++;
    }
    if (crm_page_commit(&pg, NULL) != 0)
        goto fail;
    return 0;
fail:
    crm_page_failed(&pg, "list memberships page");
    return -1;
}

static void members_read(struct http_result *res, void *arg)
{
    struct hubspot *hs = arg;
    struct hs_pull_state *ps = hs_pull_state(hs);
    json_t *item = json_array_get(ps->sweep_lists, ps->list_idx);
    json_t *root, *results = NULL;
    const char *next;

    root = read_answer(hs, res, "list memberships read", "results", &results);
    if (root == NULL)
        return;
    if (observe_page(hs, results, json_string_value(json_array_get(item, 1))) != 0) {
        json_decref(root);
        end(hs, -1);
        return;
    }
    next = json_string_value(
        json_object_get(json_object_get(json_object_get(root, "paging"), "next"), "after"));
    if (next == NULL || next[0] == '\0') {
        ps->list_idx++;
        ps->list_after[0] = '\0';
    } else if (strcmp(next, ps->list_after) == 0 || strlen(next) >= sizeof(ps->list_after) ||
               strspn(next, URL_SAFE) != strlen(next)) {
        /* An opaque cursor: it must change from page to page and be fit to
         * put in a query as it is. */
        log_error("hubspot", hs_conn(hs)->name,
                  "pull stopped: list memberships paging cursor \"%.40s\" does not advance or "
                  "is not URL-safe",
                  next);
        json_decref(root);
        end(hs, -1);
        return;
    } else {
        snprintf(ps->list_after, sizeof(ps->list_after), "%s", next);
    }
    json_decref(root);
    next_list(hs);
}

static void next_list(struct hubspot *hs)
{
    struct hs_pull_state *ps = hs_pull_state(hs);
    json_t *item = json_array_get(ps->sweep_lists, ps->list_idx);
    const char *path;

    if (item == NULL) {
        end(hs, 0);
        return;
    }
    path = hs_pathf(hs, HS_V_LISTS, "/%s/memberships?limit=%d%s%s",
                    json_string_value(json_array_get(item, 0)), MEMBERS_PER_PAGE,
                    ps->list_after[0] ? "&after=" : "", ps->list_after);
    if (hs_pull_send(hs, 0, HTTP_GET, path, NULL, members_read) != 0)
        end(hs, -1);
}

void hs_list_sweep(struct hubspot *hs)
{
    struct hs_pull_state *ps = hs_pull_state(hs);

    if (!ps->list_sweep_due) {
        hs_pull_finish(hs, 0);
        return;
    }
    json_decref(ps->sweep_lists);
    ps->sweep_lists = json_array();
    ps->list_idx = 0;
    ps->list_offset = 0;
    ps->list_after[0] = '\0';
    ps->list_observed = 0;
    if (ps->sweep_lists == NULL) {
        end(hs, -1);
        return;
    }
    search_lists(hs);
}
