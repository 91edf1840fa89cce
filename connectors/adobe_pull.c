/* The Adobe Campaign pull side (docs/adobe_campaign.md "Pull").
 *
 * A cycle reads
 *   1. nms:recipient rows keyset-paged on (@lastModified, @id), from the
 *      watermark less the lookback: profile attributes (taken in), points
 *      and tier (observed), and the denylist flags as withdrawals
 *      (@blackList: every purpose on every channel);
 *   2. nms:subHisto rows since its own watermark less the lookback:
 *      unsubscriptions (and subscriptions) made in Campaign, one consent
 *      per (purpose, channel) whose service they name;
 *   3. when reconciling, nms:rcpGrpRel memberships (observed), and on a
 *      full read the members NOT in each list (setOperator="NOT EXISTS"),
 *      observed "out".
 * Each page is applied in one transaction with the watermark
 * {"m": lastModified ms, "id": recipient id, "h": subHisto date ms}.
 * Idempotency keys make the lookback's overlap free, and the echo rule
 * (crm_pull_page.h) skips our own writes coming back. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adobe_int.h"
#include "change_json.h"
#include "crm_pull_page.h"
#include "log.h"
#include "ratelimit.h"

#define PAGE_ROWS 200
#define ROW_FIELDS 64

static void finish(struct adobe *acc, int status)
{
    struct connector *conn = acc->conn;

    acc->pull.active = 0;
    crm_pull_done(conn, "adobe_campaign", status, acc->pull.pages);
}

static int watermark_text(const struct acc_pull_state *ps, char *out, size_t outsize)
{
    json_t *o = json_pack("{s:I, s:I, s:I}", "h", (json_int_t)ps->histo_stored, "id",
                          (json_int_t)ps->stored.id, "m", (json_int_t)ps->stored.modified_ms);
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    int rc = text != NULL && strlen(text) < outsize ? 0 : -1;

    if (rc == 0)
        snprintf(out, outsize, "%s", text);
    free(text);
    json_decref(o);
    return rc;
}

static void watermark_read(struct adobe *acc, const char *text)
{
    json_t *o = text ? json_loads(text, 0, NULL) : NULL;

    acc->pull.stored.modified_ms = json_integer_value(json_object_get(o, "m"));
    acc->pull.stored.id = json_integer_value(json_object_get(o, "id"));
    acc->pull.histo_stored = json_integer_value(json_object_get(o, "h"));
    json_decref(o);
}

/* Applies one field through the page helper. */
static int apply_field(struct crm_page *pg, const char *member, const struct acc_row_field *f,
                       int64_t when, const char *idem, const char *ref)
{
    struct consent_value cv;
    struct change c;
    json_t *holder = NULL;
    int rc;

    if (f->observe_only)
        return crm_page_field(pg, member, f->kind, f->field, NULL, f->projection);
    if (f->kind == CHANGE_CONSENT && consent_value_from_json(f->value_json, &cv, &holder))
        return 0; /* ours, so well-formed; skipped if not */
    c = crm_pulled_change(pg->conn->name, member, f->kind, f->field, f->value_json, when, idem, ref,
                          f->kind == CHANGE_CONSENT ? &cv : NULL);
    rc = crm_page_field(pg, member, f->kind, f->field, &c, f->projection);
    json_decref(holder);
    return rc;
}

/* Commits a page with the watermark of what the cycle has read. 0 or -1. */
static int commit_page(struct adobe *acc, struct crm_page *pg, char *wm, size_t wmsize,
                       struct error *err)
{
    if (watermark_text(&acc->pull, wm, wmsize) != 0) {
        crm_page_abort(pg);
        return error_set(err, "watermark does not fit");
    }
    if (crm_page_commit(pg, wm) != 0) {
        *err = pg->err;
        return -1;
    }
    acc->pull.pages++;
    return 0;
}

/* Sends one query of the cycle (body taken, NULL: could not be composed)
 * on a token of the bulk lane; a query that cannot go ends the cycle. */
static void send_query(struct adobe *acc, char *body, http_done_fn done)
{
    if (body == NULL ||
        acc_call_budget(acc, RATELIMIT_BULK, "xtk:queryDef#ExecuteQuery", body, done, acc) != 0)
        finish(acc, -1);
    free(body);
}

static void send_recipients(struct adobe *acc);
static void send_histo(struct adobe *acc);
static void send_members(struct adobe *acc);

/* 1 when a is after b in (lastModified, id) order. */
static int keyset_after(const struct acc_keyset *a, const struct acc_keyset *b)
{
    return a->modified_ms > b->modified_ms || (a->modified_ms == b->modified_ms && a->id > b->id);
}

static int apply_recipients(struct adobe *acc, xmlNodePtr rows, long *nrows, struct error *err)
{
    struct connector *conn = acc->conn;
    const struct host_services *host = conn->host;
    struct crm_page pg;
    struct acc_row_field *f = calloc(ROW_FIELDS, sizeof(*f));
    char wm[256];

    crm_page_init(&pg, conn, "adobe_campaign");
    *nrows = 0;
    if (f == NULL)
        return error_set(err, "out of memory");
    if (crm_page_begin(&pg) != 0) {
        *err = pg.err;
        free(f);
        return -1;
    }
    for (xmlNodePtr row = rows; row != NULL; row = acc_next(row, NULL)) {
        char member[256], idem[512], ref[64], id_text[32];
        int64_t id = 0, when = 0;
        int n = acc_row_fields(&acc->map, row, f, ROW_FIELDS, member, sizeof(member), &id, &when);

        (*nrows)++;
        acc->pull.q.modified_ms = when;
        acc->pull.q.id = id;
        if (n < 0)
            continue; /* not a loyalty member: no key */
        snprintf(ref, sizeof(ref), "recipient %" PRId64, id);
        for (int k = 0; k < n; k++) {
            snprintf(idem, sizeof(idem), "%s:rcp:%" PRId64 ":%" PRId64 ":%s", conn->name, id, when,
                     f[k].field);
            if (apply_field(&pg, member, &f[k], when, idem, ref) != 0) {
                *err = pg.err;
                crm_page_abort(&pg);
                free(f);
                return -1;
            }
        }
        snprintf(id_text, sizeof(id_text), "%" PRId64, id);
        if (host->learn_identity != NULL)
            host->learn_identity(host->ctx, conn, member, id_text);
    }
    free(f);
    if (keyset_after(&acc->pull.q, &acc->pull.stored))
        acc->pull.stored = acc->pull.q;
    if (commit_page(acc, &pg, wm, sizeof(wm), err) != 0)
        return -1;
    log_debug("adobe_campaign", conn->name, "pulled %ld recipient(s), %ld change(s) applied",
              *nrows, pg.applied);
    return 0;
}

static int parse_answer(struct adobe *acc, struct http_result *res, const char *what,
                        xmlDocPtr *doc)
{
    struct acc_fault f;
    enum acc_result r = acc_result_of(acc, res, &f);
    char why[128];

    *doc = NULL;
    if (acc->closing)
        return -1;
    if (r != ACC_OK) {
        log_warn("adobe_campaign", acc->conn->name, "pull: %s query failed: %s", what, f.text);
        return -1;
    }
    if (acc_parse_response(res->body, res->body_len, (size_t)acc->cfg->max_response, doc, why,
                           sizeof(why)) != 0) {
        log_warn("adobe_campaign", acc->conn->name, "pull: %s answer refused: %s", what, why);
        return -1;
    }
    return 0;
}

/* Applies the rows of one query answer in one transaction. */
typedef int (*apply_rows_fn)(struct adobe *acc, xmlNodePtr rows, long *nrows, struct error *err);

/* What every query answer of a cycle does first: the answer parsed, its
 * rows applied. 0 with *nrows set; -1 when the cycle ended (finish
 * called). */
static int take_page(struct adobe *acc, struct http_result *res, const char *what,
                     apply_rows_fn apply, long *nrows)
{
    xmlDocPtr doc = NULL;
    struct error err = {""};
    int rc;

    *nrows = 0;
    if (parse_answer(acc, res, what, &doc) != 0) {
        finish(acc, -1);
        return -1;
    }
    rc = apply(acc, acc_query_rows(doc), nrows, &err);
    xmlFreeDoc(doc);
    if (rc != 0) {
        log_error("adobe_campaign", acc->conn->name, "pull: %s page not applied: %s", what,
                  err.msg);
        finish(acc, -1);
        return -1;
    }
    return 0;
}

static void recipients_answer(struct http_result *res, void *arg)
{
    struct adobe *acc = arg;
    long nrows;

    if (take_page(acc, res, "recipient", apply_recipients, &nrows) != 0)
        return;
    if (nrows >= PAGE_ROWS)
        send_recipients(acc); /* strictly after the last row read */
    else
        send_histo(acc);
}

static void send_recipients(struct adobe *acc)
{
    char *body = acc_compose_recipient_query(&acc->map, "", &acc->pull.q, PAGE_ROWS);

    send_query(acc, body, recipients_answer);
}

/* --- subscription history --- */

static int apply_histo(struct adobe *acc, xmlNodePtr rows, long *nrows, struct error *err)
{
    struct connector *conn = acc->conn;
    struct crm_page pg;
    char wm[256];

    crm_page_init(&pg, conn, "adobe_campaign");
    *nrows = 0;
    if (crm_page_begin(&pg) != 0) {
        *err = pg.err;
        return -1;
    }
    for (xmlNodePtr row = rows; row != NULL; row = acc_next(row, NULL)) {
        struct acc_row_field f;
        char idem[256], ref[64], member[256];
        int64_t when = 0;
        int rc =
            acc_histo_field(&acc->map, row, &f, member, sizeof(member), ref, sizeof(ref), &when);

        (*nrows)++;
        if (when > acc->pull.histo_stored)
            acc->pull.histo_stored = when;
        if (rc != 0)
            continue; /* a service we do not map, or no member key */
        snprintf(idem, sizeof(idem), "%s:histo:%s", conn->name, ref);
        if (apply_field(&pg, member, &f, when, idem, ref) != 0) {
            *err = pg.err;
            crm_page_abort(&pg);
            return -1;
        }
    }
    return commit_page(acc, &pg, wm, sizeof(wm), err);
}

static void histo_answer(struct http_result *res, void *arg)
{
    struct adobe *acc = arg;
    long nrows;

    if (take_page(acc, res, "subHisto", apply_histo, &nrows) != 0)
        return;
    if (nrows >= PAGE_ROWS) {
        acc->pull.start_line += nrows;
        send_histo(acc);
        return;
    }
    if (acc->pull.reconciling) {
        acc->pull.start_line = 0;
        send_members(acc);
        return;
    }
    finish(acc, 0);
}

/* --- list memberships (reconciliation) --- */

/* Memberships Campaign holds are observed (the shadow): after a resync
 * they are not written again. */
static int apply_members(struct adobe *acc, xmlNodePtr rows, long *nrows, struct error *err)
{
    struct crm_page pg;

    crm_page_init(&pg, acc->conn, "adobe_campaign");
    *nrows = 0;
    if (crm_page_begin(&pg) != 0) {
        *err = pg.err;
        return -1;
    }
    for (xmlNodePtr row = rows; row != NULL; row = acc_next(row, NULL)) {
        char member[256], field[256];
        (*nrows)++;
        if (acc_member_row(&acc->map, row, member, sizeof(member), field, sizeof(field)) != 0)
            continue;
        if (acc->pull.absent)
            (void)crm_list_add(&acc->pull.lists, field + strlen("segment/"));
        if (crm_page_field(&pg, member, CHANGE_SEGMENT, field, NULL, "in") != 0) {
            *err = pg.err;
            crm_page_abort(&pg);
            return -1;
        }
    }
    if (crm_page_commit(&pg, NULL) != 0) {
        *err = pg.err;
        return -1;
    }
    return 0;
}

static void send_absent(struct adobe *acc);
static void send_groups(struct adobe *acc);

/* The end of the reconciliation: on a full read, the lists Campaign has
 * are read, and each list is walked for absent members; then the cycle
 * ends. */
static void reconciled(struct adobe *acc)
{
    if (acc->pull.absent) {
        if (!acc->pull.groups_read) {
            send_groups(acc);
            return;
        }
        for (size_t i = 0; i < acc->groups.n; i++)
            (void)crm_list_add(&acc->pull.lists, acc->groups.v[i]);
        if (acc->pull.absent_list < acc->pull.lists.n) {
            send_absent(acc);
            return;
        }
        crm_list_free(&acc->pull.lists);
        acc->pull.absent = 0;
    }
    acc->pull.reconciling = 0;
    acc->pull.last_reconcile_ms = crm_mono_ms();
    finish(acc, 0);
}

static void members_answer(struct http_result *res, void *arg)
{
    struct adobe *acc = arg;
    long nrows;

    if (take_page(acc, res, "rcpGrpRel", apply_members, &nrows) != 0)
        return;
    if (nrows >= PAGE_ROWS) {
        acc->pull.start_line += nrows;
        send_members(acc);
        return;
    }
    reconciled(acc);
}

/* --- absent memberships (a full read's reconciliation) --- */

/* A page of the lists Campaign has: each is walked for absent members,
 * those with no member at all too (nothing else names them: a daemon that
 * did not write such a list would write its members' "out" again at every
 * resync, a delete of nothing). */
static int apply_groups(struct adobe *acc, xmlNodePtr rows, long *nrows, struct error *err)
{
    (void)err;
    *nrows = 0;
    for (xmlNodePtr row = rows; row != NULL; row = acc_next(row, NULL)) {
        char *id = acc_attr(row, "id"), *name = acc_attr(row, "name");

        (*nrows)++;
        if (id != NULL)
            acc->pull.groups_after = strtoll(id, NULL, 10);
        if (name != NULL && name[0] != '\0')
            (void)crm_list_add(&acc->pull.lists, name);
        xmlFree(id);
        xmlFree(name);
    }
    return 0;
}

static void groups_answer(struct http_result *res, void *arg)
{
    struct adobe *acc = arg;
    long nrows;

    if (take_page(acc, res, "nms:group", apply_groups, &nrows) != 0)
        return;
    acc->pull.groups_read = nrows < PAGE_ROWS;
    reconciled(acc);
}

static void send_groups(struct adobe *acc)
{
    send_query(acc, acc_compose_groups_query("", acc->pull.groups_after, PAGE_ROWS), groups_answer);
}

/* Recipients not in the list being walked: "out" is observed for the
 * members that hold a local value of that segment (the others would only
 * add shadows nobody reads), so a resync does not write their "out" again,
 * and a local "in" Campaign lost is written back (host observe). */
static int apply_absent(struct adobe *acc, xmlNodePtr rows, long *nrows, struct error *err)
{
    struct connector *conn = acc->conn;
    const struct host_services *host = conn->host;
    const char *list = acc->pull.lists.v[acc->pull.absent_list];
    struct crm_page pg;
    char field[256];

    *nrows = 0;
    if (snprintf(field, sizeof(field), "segment/%s", list) >= (int)sizeof(field))
        return 0; /* no such segment field can exist here */
    crm_page_init(&pg, conn, "adobe_campaign");
    if (crm_page_begin(&pg) != 0) {
        *err = pg.err;
        return -1;
    }
    for (xmlNodePtr row = rows; row != NULL; row = acc_next(row, NULL)) {
        char member[256];
        char *local, *id = acc_attr(row, "id");

        (*nrows)++;
        if (id != NULL)
            acc->pull.absent_after = strtoll(id, NULL, 10);
        xmlFree(id);
        if (acc_row_key(&acc->map, row, member, sizeof(member)) != 0)
            continue;
        local = host->current ? host->current(host->ctx, conn, member, field) : NULL;
        if (local == NULL)
            continue;
        free(local);
        if (crm_page_field(&pg, member, CHANGE_SEGMENT, field, NULL, "out") != 0) {
            *err = pg.err;
            crm_page_abort(&pg);
            return -1;
        }
    }
    if (crm_page_commit(&pg, NULL) != 0) {
        *err = pg.err;
        return -1;
    }
    return 0;
}

static void absent_answer(struct http_result *res, void *arg)
{
    struct adobe *acc = arg;
    long nrows;

    if (take_page(acc, res, "absent members", apply_absent, &nrows) != 0)
        return;
    if (nrows < PAGE_ROWS) {
        acc->pull.absent_list++;
        acc->pull.absent_after = 0;
    }
    reconciled(acc);
}

static void send_absent(struct adobe *acc)
{
    char *body = acc_compose_absent_query(&acc->map, "", acc->pull.lists.v[acc->pull.absent_list],
                                          acc->pull.absent_after, PAGE_ROWS);

    send_query(acc, body, absent_answer);
}

static void send_members(struct adobe *acc)
{
    char *body = acc_compose_members_query(&acc->map, "", acc->pull.start_line, PAGE_ROWS);

    send_query(acc, body, members_answer);
}

static void send_histo(struct adobe *acc)
{
    char *body = acc_compose_subhisto_query(&acc->map, "", acc->pull.histo_since,
                                            acc->pull.start_line, PAGE_ROWS);

    acc->pull.phase = 1;
    send_query(acc, body, histo_answer);
}

void acc_op_pull(struct connector *conn)
{
    struct adobe *acc = conn->priv;
    const struct host_services *host = conn->host;
    char *wm;
    long lb;

    if (acc == NULL || acc->closing || acc->pull.active || conn->sink == NULL || host == NULL)
        return;
    if (acc->stopped) {
        finish(acc, -1);
        return;
    }
    wm = host->watermark ? host->watermark(host->ctx, conn) : NULL;
    watermark_read(acc, wm);
    free(wm);
    lb = acc->cfg->common.lookback_ms;
    acc->pull.active = 1;
    acc->pull.phase = 0;
    /* List memberships: on the first cycle, after a resync (no
     * watermark), and every reconcile_interval. */
    acc->pull.reconciling =
        acc->pull.last_reconcile_ms == 0 || acc->pull.stored.modified_ms == 0 ||
        crm_mono_ms() - acc->pull.last_reconcile_ms >= (uint64_t)acc->cfg->reconcile_interval_ms;
    /* Absent memberships cost one walk of the recipients per list: only
     * on a full read (first cycle, after a resync). */
    crm_list_free(&acc->pull.lists);
    acc->pull.absent = acc->pull.reconciling && acc->pull.stored.modified_ms == 0;
    acc->pull.absent_list = 0;
    acc->pull.absent_after = 0;
    acc->pull.groups_read = 0;
    acc->pull.groups_after = 0;
    acc->pull.pages = 0;
    acc->pull.start_line = 0;
    if (lb == 0) {
        acc->pull.q = acc->pull.stored; /* strictly after the last row read */
    } else {
        acc->pull.q.id = 0;
        acc->pull.q.modified_ms =
            acc->pull.stored.modified_ms > lb ? acc->pull.stored.modified_ms - lb : 0;
    }
    acc->pull.histo_since = acc->pull.histo_stored > lb ? acc->pull.histo_stored - lb : 0;
    send_recipients(acc);
}

void acc_op_resync(struct connector *conn)
{
    struct adobe *acc = conn->priv;

    if (acc == NULL)
        return;
    /* The engine cleared the watermark: the next pull reads everything. */
    memset(&acc->pull.stored, 0, sizeof(acc->pull.stored));
    acc->pull.histo_stored = 0;
}
