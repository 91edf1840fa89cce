/* The Salesforce pull cycle (docs/salesforce.md "Pull"):
 *
 *   1. Contacts, SOQL on the (SystemModstamp, Id) cursor:
 *        SELECT Id, SystemModstamp, <mapped fields> FROM Contact
 *        WHERE (SystemModstamp > X OR (SystemModstamp = X AND Id > 'id'))
 *        ORDER BY SystemModstamp, Id LIMIT 10000
 *      The first query of a cycle starts `lookback` before the watermark
 *      (SystemModstamp >= X - lookback): rows committed late with an older
 *      stamp are read again, and their idempotency keys
 *      ("<conn>:<Id>:<field>:<SystemModstamp ms>") make the overlap free.
 *      nextRecordsUrl is followed to the end; each page (≤ 2,000 rows) is
 *      ONE sink transaction with the watermark {"t": ms, "id": "003..."} of
 *      its last row (never moved backwards). A query that returned its
 *      whole LIMIT is followed by another from the cursor, so rows tied on
 *      one SystemModstamp across any boundary are never skipped.
 *      The query goes to queryAll: a Contact deleted in Salesforce comes
 *      in the same order (IsDeleted, a new SystemModstamp). If it is the
 *      member's known Contact, the identity becomes "deleted:<Id>" (never
 *      addressed again) and every field the member has locally is observed
 *      as gone, so the engine writes the member's state back: the next
 *      upsert by external id creates a new Contact holding all of it (a
 *      Contact re-created with one field would lack, e.g., the opt-out
 *      flags). It is not an erasure: nothing local is removed.
 *   2. Loyalty balances and consent objects (below and
 *      salesforce_consent.c), each on its own cursor kept in the same
 *      watermark: {"t","id"} (Contacts), "lmc", "cptc" (ms).
 *   3. Every `deleted_sweep`, getDeleted on CampaignMember (hard deletes,
 *      15-day log): a deleted membership we know (identity "cm/<seg>/<m>")
 *      becomes segment <seg> out.
 *
 * Any failure aborts the open page and ends the cycle with pull_done(-1);
 * the engine tries again from the stored watermark. pull_done is called
 * exactly once per started cycle. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "change_json.h"
#include "crm_pull_page.h"
#include "log.h"
#include "salesforce_int.h"
#include "timefmt.h"

#define QUERY_LIMIT 10000
#define DELETE_HORIZON_MS (14LL * 86400000) /* inside the 15-day log */

/* The stored watermark, kept between the pages of a cycle. */
static struct sf_cursor stored_of(struct salesforce *sf)
{
    struct sf_pull_state *ps = sf_pull_state(sf);
    struct sf_cursor c = {ps->t, ""};

    snprintf(c.id, sizeof(c.id), "%s", ps->id);
    return c;
}

static int cursor_after(int64_t t, const char *id, const struct sf_cursor *c)
{
    return t > c->t || (t == c->t && strcmp(id, c->id) > 0);
}

/* A Contact deleted in Salesforce (queryAll, IsDeleted): when it is the
 * member's known Contact, its identity becomes "deleted:<Id>" and each
 * Contact field the member has locally is observed as "(deleted <Id>)",
 * a text no value projects to: the engine queues the local values again,
 * and the first of them to go creates a new Contact by external id. A
 * deleted Contact we did not know (or an old one, replaced already) is
 * only skipped. 0, or -1 on a state error. */
static int contact_deleted(struct salesforce *sf, json_t *rec, const char *id, int64_t mod,
                           struct error *err)
{
    const struct sf_map *m = sf_map_of(sf);
    struct connector *conn = sf_conn(sf);
    const struct host_services *host = conn->host;
    const char *member = json_string_value(json_object_get(rec, m->ext_id));
    const char *const channels[4] = {"email", "phone", "sms", "post"};
    const char *const flags[4] = {m->email_flag, m->phone_flag, m->sms_flag, m->post_flag};
    char known[128], gone[128], field[300];

    if (member == NULL || member[0] == '\0' || host->remote_id == NULL ||
        host->learn_identity == NULL ||
        host->remote_id(host->ctx, conn, member, known, sizeof(known)) != 1 ||
        strcmp(known, id) != 0)
        return 0;
    snprintf(gone, sizeof(gone), "%s%s", SF_DELETED_PREFIX, id);
    host->learn_identity(host->ctx, conn, member, gone);
    /* When, for the CampaignMembers Salesforce deletes with the Contact
     * (the getDeleted sweep tells them from removals from a segment). */
    snprintf(field, sizeof(field), "gone/%s", member);
    snprintf(gone, sizeof(gone), "gone:%s@%" PRId64, id, mod);
    host->learn_identity(host->ctx, conn, field, gone);
    log_notice("salesforce", conn->name,
               "Contact %s was deleted in Salesforce: its member's data will be written to a new "
               "Contact (not an erasure)",
               id);
    if (host->observe == NULL)
        return 0;
    snprintf(gone, sizeof(gone), "(deleted %s)", id);
    if (m->consent_mode == SF_CONSENT_FIELDS) {
        for (size_t i = 0; i < 4; i++) {
            if (flags[i] == NULL || flags[i][0] == '\0')
                continue;
            snprintf(field, sizeof(field), "consent/%s/%s", m->flag_purpose, channels[i]);
            if (host->observe(host->ctx, conn, member, CHANGE_CONSENT, field, gone, err) != 0)
                return -1;
        }
    }
    if (m->points_mode == SF_POINTS_FIELDS && m->points_field[0] != '\0' &&
        host->observe(host->ctx, conn, member, CHANGE_POINTS, "points/balance", gone, err) != 0)
        return -1;
    if (m->tier_field[0] != '\0' &&
        host->observe(host->ctx, conn, member, CHANGE_TIER, "tier", gone, err) != 0)
        return -1;
    for (size_t i = 0; i < m->attrs.n; i++) {
        snprintf(field, sizeof(field), "profile/%s", m->attrs.p[i].key);
        if (host->observe(host->ctx, conn, member, CHANGE_PROFILE, field, gone, err) != 0)
            return -1;
    }
    return 0;
}

static void send_query(struct salesforce *sf, const char *next);
static void sweep_deleted(struct salesforce *sf);
static void pull_balances(struct salesforce *sf, const char *next);

/* A page of Contacts being applied: the cursor of its last row read. */
struct contacts_page {
    struct salesforce *sf;
    struct sf_cursor last;
};

/* One Contact row of a page (a crm_row_fn over a struct contacts_page,
 * whose cursor moves to it): a Contact deleted in Salesforce, or its
 * fields by the shared page rule and its identity learnt. 0, or -1 on a
 * state error (pc->err). */
static int contact_row(void *arg, struct crm_page *pc, json_t *rec)
{
    struct contacts_page *cp = arg;
    struct salesforce *sf = cp->sf;
    struct sf_cursor *page_last = &cp->last;
    struct connector *conn = sf_conn(sf);
    const struct host_services *host = conn->host;
    const char *id = json_string_value(json_object_get(rec, "Id"));
    char member[256];
    int64_t mod = 0;

    if (id == NULL ||
        sf_parse_time(json_string_value(json_object_get(rec, "SystemModstamp")), &mod) != 0)
        return 0;
    page_last->t = mod;
    snprintf(page_last->id, sizeof(page_last->id), "%s", id);
    if (json_is_true(json_object_get(rec, "IsDeleted")))
        return contact_deleted(sf, rec, id, mod, &pc->err) != 0 ? -1 : 0;
    if (sf_contact_fields(sf_map_of(sf), conn->name, rec, crm_page_field_fn, pc, member,
                          sizeof(member)) != 0)
        return -1;
    if (member[0] == '\0') {
        /* Not a loyalty member (no external id): many Contacts are not. */
        log_debug("salesforce", conn->name, "Contact %s has no %s; skipped", id,
                  sf_map_of(sf)->ext_id);
        return 0;
    }
    if (host->learn_identity != NULL)
        host->learn_identity(host->ctx, conn, member, id);
    return 0;
}

/* After a page of Contacts: the next page, a query again from the last row
 * when the LIMIT was reached, or the loyalty balances. */
static void contacts_next_page(struct salesforce *sf)
{
    struct sf_pull_state *ps = sf_pull_state(sf);

    if (ps->next[0] != '\0') {
        char next[256];
        snprintf(next, sizeof(next), "%s", ps->next);
        send_query(sf, next);
        return;
    }
    if (ps->cyc.rows_in_query >= QUERY_LIMIT) {
        /* The LIMIT was reached: go on strictly after the last row. */
        ps->cyc.q = ps->cyc.last;
        ps->cyc.strict = 1;
        ps->cyc.rows_in_query = 0;
        send_query(sf, NULL);
        return;
    }
    pull_balances(sf, NULL);
}

static void apply_page(struct salesforce *sf)
{
    struct sf_pull_state *ps = sf_pull_state(sf);
    struct connector *conn = sf_conn(sf);
    struct contacts_page cp = {sf, sf_pull_state(sf)->cyc.last};
    struct crm_page pc;
    char wm[256];

    sf_page_init(&pc, sf);
    if (crm_page_rows(&pc, ps->records, contact_row, &cp) != 0)
        goto fail;
    if (cursor_after(cp.last.t, cp.last.id, &sf_pull_state(sf)->cyc.stored)) {
        if (sf_watermark_text(cp.last.t, cp.last.id, ps->lmc_t, ps->cptc_t, ps->del_t, wm,
                              sizeof(wm)) != 0)
            wm[0] = '\0';
        if (crm_page_commit(&pc, wm[0] ? wm : NULL) != 0)
            goto fail;
        sf_pull_state(sf)->cyc.stored = cp.last;
        ps->t = cp.last.t;
        snprintf(ps->id, sizeof(ps->id), "%s", cp.last.id);
    } else if (crm_page_commit(&pc, NULL) != 0) {
        goto fail;
    }
    sf_pull_state(sf)->cyc.rows_in_query += (long)json_array_size(ps->records);
    sf_pull_state(sf)->cyc.last = cp.last;
    ps->pages++;
    log_debug("salesforce", conn->name, "pulled page of %zu Contact(s), %ld change(s) applied",
              json_array_size(ps->records), pc.applied);
    json_decref(ps->root);
    ps->root = NULL;
    ps->records = NULL;
    contacts_next_page(sf);
    return;
fail:
    sf_page_failed(sf, &pc, "pull page");
}

static void query_answer(struct http_result *res, void *arg)
{
    struct salesforce *sf = arg;
    struct sf_pull_state *ps = sf_pull_state(sf);

    if (res->cls != HTTP_CLASS_OK || sf_closing(sf)) {
        char code[64], msg[200], st[32];
        sf_error_of(res->body, code, sizeof(code), msg, sizeof(msg));
        log_warn("salesforce", sf_conn(sf)->name, "pull: query failed (%s %s %s)",
                 http_result_label(res, st, sizeof(st)), code, msg[0] ? msg : res->error);
        sf_pull_finish(sf, -1);
        return;
    }
    if (sf_parse_query(res->body, &ps->root, &ps->records, ps->next, sizeof(ps->next)) != 0) {
        log_warn("salesforce", sf_conn(sf)->name, "pull: unreadable query answer");
        sf_pull_finish(sf, -1);
        return;
    }
    apply_page(sf);
}

static void send_query(struct salesforce *sf, const char *next)
{
    char *soql = NULL;
    int rc;

    if (next != NULL) {
        rc = sf_request(sf, HTTP_GET, next, NULL, NULL, query_answer, sf);
    } else {
        soql = sf_contact_soql(sf_map_of(sf), sf_pull_state(sf)->cyc.q.t,
                               sf_pull_state(sf)->cyc.strict ? sf_pull_state(sf)->cyc.q.id : "",
                               QUERY_LIMIT);
        rc = sf_query(sf, "queryAll", soql, query_answer, sf);
    }
    if (rc != 0)
        sf_pull_finish(sf, -1);
    free(soql);
}

/* After the balances: the consent objects, then the deletion sweep. */
static void after_balances(struct salesforce *sf)
{
    if (sf_map_of(sf)->consent_mode == SF_CONSENT_OBJECTS)
        sf_consent_pull(sf, sweep_deleted);
    else
        sweep_deleted(sf);
}

/* --- Loyalty Management balances (points_mode = loyalty) ---
 * PointsBalance of each LoyaltyMemberCurrency modified since the last
 * read (the "lmc" cursor of the watermark, committed with each page, so a
 * restart goes on from it), reported with
 * observe() for drift detection only: the member is found through the
 * identity map ("lpm:<LoyaltyProgramMember id>" -> "lpm/<member>"). The
 * engine may queue a repair of points/balance on drift; the push side
 * logs it and writes nothing (docs/salesforce.md "Loyalty"). */

/* One LoyaltyMemberCurrency row: the balance of a member we posted for,
 * observed (observing a balance twice is harmless). */
static int balance_row(struct salesforce *sf, struct crm_page *pg, json_t *r)
{
    struct connector *conn = sf_conn(sf);
    const struct host_services *host = conn->host;
    struct sf_pull_state *ps = sf_pull_state(sf);
    const char *lpm = json_string_value(json_object_get(r, "LoyaltyMemberId"));
    const char *stamp = json_string_value(json_object_get(r, "SystemModstamp"));
    json_t *bal = json_object_get(r, "PointsBalance");
    char rid[80], key[300], digits[32];
    int64_t t = 0;

    if (stamp != NULL && sf_parse_time(stamp, &t) == 0 && t > ps->lmc_max)
        ps->lmc_max = t;
    if (lpm == NULL || !json_is_number(bal))
        return 0;
    snprintf(rid, sizeof(rid), "lpm:%s", lpm);
    if (host->member_of(host->ctx, conn, rid, key, sizeof(key)) != 1 ||
        strncmp(key, "lpm/", 4) != 0)
        return 0; /* not a member we posted for */
    snprintf(digits, sizeof(digits), "%lld", (long long)json_number_value(bal));
    return crm_page_field(pg, key + 4, CHANGE_POINTS, "points/balance", NULL, digits);
}

static void balances_answer(struct http_result *res, void *arg)
{
    sf_side_answer(arg, res, SF_SIDE_BALANCES, balance_row, pull_balances, after_balances);
}
/* The LoyaltyProgramCurrency id of loyalty_currency: a member has one
 * LoyaltyMemberCurrency per currency of the program (qualifying tier points
 * and non-qualifying points at least), and only the configured one is the
 * balance the ledger sums. With several programs using the name, the one
 * of loyalty_program (its id kept by the push as "program:<name>"). */
static void currency_found(struct http_result *res, void *arg)
{
    struct salesforce *sf = arg;
    struct connector *conn = sf_conn(sf);
    const struct host_services *host = conn->host;
    json_t *root = NULL, *records = NULL, *r;
    char next[256], key[300], val[80] = "";
    const char *pick = NULL;
    size_t k;

    if (res->cls != HTTP_CLASS_OK || sf_closing(sf) ||
        sf_parse_query(res->body, &root, &records, next, sizeof(next)) != 0) {
        char st[32];
        log_warn("salesforce", conn->name,
                 "loyalty currency: LoyaltyProgramCurrency query failed (%s %s)",
                 http_result_label(res, st, sizeof(st)), res->error);
        json_decref(root);
        sf_pull_finish(sf, -1);
        return;
    }
    snprintf(key, sizeof(key), "program:%s", sf->cfg->loyalty_program);
    if (host->remote_id == NULL || host->remote_id(host->ctx, conn, key, val, sizeof(val)) != 1 ||
        strncmp(val, "lp:", 3) != 0)
        val[0] = '\0';
    json_array_foreach(records, k, r)
    {
        const char *id = json_string_value(json_object_get(r, "Id"));
        const char *prog = json_string_value(json_object_get(r, "LoyaltyProgramId"));
        if (id == NULL)
            continue;
        if (val[0] != '\0' && prog != NULL && strncmp(prog, val + 3, 15) == 0)
            pick = id;
        else if (val[0] == '\0' && json_array_size(records) == 1)
            pick = id;
    }
    if (pick != NULL)
        snprintf(sf->lpc_id, sizeof(sf->lpc_id), "%s", pick);
    json_decref(root);
    if (sf->lpc_id[0] == '\0') {
        log_warn("salesforce", conn->name,
                 "loyalty currency: LoyaltyProgramCurrency \"%s\" of program \"%s\" not found: "
                 "balances not compared (options loyalty_currency, loyalty_program)",
                 sf->cfg->loyalty_currency, sf->cfg->loyalty_program);
        after_balances(sf);
        return;
    }
    pull_balances(sf, NULL);
}

static void pull_balances(struct salesforce *sf, const char *next)
{
    struct strbuf head;
    char *q = NULL;

    if (sf_map_of(sf)->points_mode != SF_POINTS_LOYALTY) {
        after_balances(sf);
        return;
    }
    if (next != NULL || sf->lpc_id[0] != '\0') {
        strbuf_init(&head, SF_PATH_MAX);
        strbuf_addf(&head,
                    "SELECT Id, LoyaltyMemberId, PointsBalance, SystemModstamp FROM "
                    "LoyaltyMemberCurrency WHERE LoyaltyProgramCurrencyId = '%s' ",
                    sf->lpc_id);
        sf_side_query(sf, SF_SIDE_BALANCES, next, strbuf_str(&head), "AND",
                      "ORDER BY SystemModstamp", balances_answer);
        strbuf_free(&head);
        return;
    }
    q = sf_soql_eq("SELECT Id, LoyaltyProgramId FROM LoyaltyProgramCurrency WHERE ", "Name",
                   sf->cfg->loyalty_currency);
    if (sf_query(sf, "query", q, currency_found, sf) != 0)
        sf_pull_finish(sf, -1);
    free(q);
}

/* --- CampaignMember hard deletes (getDeleted) --- */

/* Salesforce deletes a Contact's CampaignMembers with it. Such a deletion
 * (within 2 s of the member's Contact's deletion, "gone/<member>") is not a
 * removal from the segment: the membership id is kept only as
 * "deleted:<Id>" and the segment is observed as "(deleted <Id>)", so the
 * engine writes the local membership again, to the new Contact. 1 when
 * the deletion was such a cascade. */
#define CASCADE_SLACK_MS 2000

static int cascade_of_contact(struct salesforce *sf, const char *seg, const char *member,
                              const char *cm_id, int64_t deleted_ms, struct error *err, int *rc)
{
    struct connector *conn = sf_conn(sf);
    const struct host_services *host = conn->host;
    char key[400], gone[128];
    const char *at;
    int64_t contact_ms;

    *rc = 0;
    snprintf(key, sizeof(key), "gone/%s", member);
    if (deleted_ms <= 0 || host->remote_id == NULL || host->learn_identity == NULL ||
        host->remote_id(host->ctx, conn, key, gone, sizeof(gone)) != 1)
        return 0;
    at = strrchr(gone, '@');
    if (at == NULL)
        return 0;
    contact_ms = strtoll(at + 1, NULL, 10);
    if (deleted_ms < contact_ms - CASCADE_SLACK_MS || deleted_ms > contact_ms + CASCADE_SLACK_MS)
        return 0;
    snprintf(key, sizeof(key), "cm/%s/%s", seg, member);
    snprintf(gone, sizeof(gone), "%s%s", SF_DELETED_PREFIX, cm_id);
    host->learn_identity(host->ctx, conn, key, gone);
    if (host->observe != NULL) {
        char field[200];
        snprintf(field, sizeof(field), "segment/%s", seg);
        snprintf(gone, sizeof(gone), "(deleted %s)", cm_id);
        *rc = host->observe(host->ctx, conn, member, CHANGE_SEGMENT, field, gone, err);
    }
    return 1;
}

static void deleted_answer(struct http_result *res, void *arg);
static void sweep_deleted(struct salesforce *sf);

/* The delete log was purged past the sweep's position (getDeleted answers
 * INVALID_REPLICATION_DATE, for ever if the same window is asked again):
 * a window from now tells earliestDateAvailable, and the sweep
 * goes on from there. The CampaignMember deletions purged in between
 * cannot be read: said, with the window, so that an operator can
 * resync the segments (crmsyncctl resync). */
static void probe_earliest(struct salesforce *sf)
{
    struct sf_pull_state *ps = sf_pull_state(sf);
    int64_t now = timefmt_now_ms();
    char t1[40], t2[40], tail[256];

    ps->del_probe = 1;
    /* From now: earliestDateAvailable is in the past. */
    sf_format_time(now - now % 1000, t1, sizeof(t1));
    sf_format_time(now + 60000, t2, sizeof(t2));
    snprintf(tail, sizeof(tail), "/sobjects/CampaignMember/deleted/?start=%s&end=%s", t1, t2);
    if (sf_request(sf, HTTP_GET, sf_data_path(sf, tail), NULL, NULL, deleted_answer, sf) != 0) {
        ps->del_probe = 0;
        sf_pull_finish(sf, -1);
    }
}

static void earliest_found(struct salesforce *sf, struct http_result *res)
{
    struct sf_pull_state *ps = sf_pull_state(sf);
    struct connector *conn = sf_conn(sf);
    int64_t earliest = 0;
    char from[40], to[40];

    ps->del_probe = 0;
    if (sf_parse_earliest(res->body, &earliest) != 0 || earliest <= ps->del_t) {
        log_warn("salesforce", conn->name,
                 "pull: getDeleted refused the sweep window and named no later "
                 "earliestDateAvailable; sweep retried next cycle");
        sf_pull_finish(sf, -1);
        return;
    }
    sf_format_time(ps->del_t, from, sizeof(from));
    sf_format_time(earliest, to, sizeof(to));
    log_warn("salesforce", conn->name,
             "pull: the CampaignMember delete log was purged up to %s: deletions between %s and "
             "%s cannot be read (a segment removal made in Salesforce then is missed; "
             "crmsyncctl resync reconciles); the sweep goes on from %s",
             to, from, to, to);
    ps->del_t = earliest;
    ps->del_floor = earliest;
    sweep_deleted(sf);
}

/* One CampaignMember deleted (id, deleted at `at`, 0 when unknown; dated
 * `dated` in the change): a membership we made or saw becomes segment
 * out (outs), unless it went with its member's Contact (cascades). 0, or
 * -1 on a state error (pg->err). */
static int deleted_row(struct salesforce *sf, struct crm_page *pg, const char *id, int64_t dated,
                       int64_t at, long *outs, long *cascades)
{
    struct connector *conn = sf_conn(sf);
    const struct host_services *host = conn->host;
    char key[400], idem[300], field[200];
    const char *seg, *member;
    char *json;
    struct change c;
    int crc;

    if (host->member_of == NULL || host->member_of(host->ctx, conn, id, key, sizeof(key)) != 1 ||
        strncmp(key, "cm/", 3) != 0)
        return 0; /* not a membership we made or saw */
    seg = key + 3;
    member = strchr(seg, '/');
    if (member == NULL)
        return 0;
    *(char *)member = '\0';
    member++;
    if (cascade_of_contact(sf, seg, member, id, at, &pg->err, &crc)) {
        if (crc == 0)
            (*cascades)++;
        return crc != 0 ? -1 : 0;
    }
    snprintf(field, sizeof(field), "segment/%s", seg);
    json = segment_value_to_json("out", dated);
    snprintf(idem, sizeof(idem), "%s:%s:%s:deleted", conn->name, id, field);
    c = crm_pulled_change(conn->name, member, CHANGE_SEGMENT, field, json, dated, idem, id, NULL);
    if (json == NULL || crm_page_field(pg, member, CHANGE_SEGMENT, field, &c, "out") != 0) {
        free(json);
        return -1;
    }
    free(json);
    (*outs)++;
    return 0;
}

static void deleted_answer(struct http_result *res, void *arg)
{
    struct salesforce *sf = arg;
    struct sf_pull_state *ps = sf_pull_state(sf);
    struct connector *conn = sf_conn(sf);
    struct crm_page pg;
    int64_t latest = 0, now = timefmt_now_ms();
    json_t *ids, *when = NULL;
    size_t i;
    json_t *v;
    long outs = 0, cascades = 0;

    if (res->cls != HTTP_CLASS_OK || sf_closing(sf)) {
        char code[64], msg[200], st[32];
        sf_error_of(res->body, code, sizeof(code), msg, sizeof(msg));
        log_warn("salesforce", conn->name, "pull: getDeleted failed (%s %s %s)",
                 http_result_label(res, st, sizeof(st)), code, msg[0] ? msg : res->error);
        if (!sf_closing(sf) && res->status == 400 &&
            strcmp(code, "INVALID_REPLICATION_DATE") == 0 && !ps->del_probe) {
            probe_earliest(sf);
            return;
        }
        ps->del_probe = 0;
        sf_pull_finish(sf, -1);
        return;
    }
    if (ps->del_probe) {
        earliest_found(sf, res);
        return;
    }
    ids = sf_parse_deleted(res->body, &latest, &when);
    if (ids == NULL) {
        sf_pull_finish(sf, -1);
        return;
    }
    sf_page_init(&pg, sf);
    if (crm_page_begin(&pg) != 0) {
        json_decref(ids);
        json_decref(when);
        sf_pull_finish(sf, -1);
        return;
    }
    json_array_foreach(ids, i, v)
    {
        int64_t at = json_integer_value(json_object_get(when, json_string_value(v)));

        if (deleted_row(sf, &pg, json_string_value(v),
                        at > 0   ? at
                        : latest ? latest
                                 : now,
                        at, &outs, &cascades) != 0)
            goto fail;
    }
    json_decref(ids);
    json_decref(when);
    ids = when = NULL;
    if (latest > 0)
        ps->del_t = latest;
    /* The sweep position goes with the deletions it read (watermark "del"):
     * a restart neither reads them again nor goes back over the horizon. */
    if (sf_page_commit_cursors(sf, &pg, ps->lmc_t, ps->cptc_t) != 0)
        goto fail;
    ps->last_sweep_ms = now;
    if (outs > 0)
        log_info("salesforce", conn->name, "%ld CampaignMember deletion(s): segment out", outs);
    if (cascades > 0)
        log_info("salesforce", conn->name,
                 "%ld CampaignMember(s) deleted with their Contact: memberships kept, written "
                 "again",
                 cascades);
    sf_pull_finish(sf, 0);
    return;
fail:
    json_decref(ids);
    json_decref(when);
    sf_page_failed(sf, &pg, "pull: deletions");
}

static void sweep_deleted(struct salesforce *sf)
{
    struct sf_pull_state *ps = sf_pull_state(sf);
    const struct salesforce_settings *cfg = sf->cfg;
    int64_t now = timefmt_now_ms(), start = ps->del_t;
    char t1[40], t2[40], tail[256];

    if (ps->last_sweep_ms != 0 && now - ps->last_sweep_ms < cfg->deleted_sweep_ms) {
        sf_pull_finish(sf, 0);
        return;
    }
    if (start < now - DELETE_HORIZON_MS)
        start = now - DELETE_HORIZON_MS;
    /* getDeleted ignores seconds; go back one minute for the boundary, but
     * not before earliestDateAvailable. */
    start -= 60000;
    if (start < ps->del_floor)
        start = ps->del_floor;
    sf_format_time(start, t1, sizeof(t1));
    sf_format_time(now + 60000, t2, sizeof(t2));
    snprintf(tail, sizeof(tail), "/sobjects/CampaignMember/deleted/?start=%s&end=%s", t1, t2);
    if (sf_request(sf, HTTP_GET, sf_data_path(sf, tail), NULL, NULL, deleted_answer, sf) != 0)
        sf_pull_finish(sf, -1);
}

void sf_pull(struct connector *conn)
{
    struct salesforce *sf = conn->priv;
    struct sf_pull_state *ps = sf_pull_state(sf);
    const struct host_services *host = conn->host;
    char *wm;
    json_t *w;
    const char *id;

    if (ps->active) {
        log_warn("salesforce", conn->name, "pull requested while one runs; ignored");
        return;
    }
    wm = host->watermark ? host->watermark(host->ctx, conn) : NULL;
    w = wm ? json_loads(wm, 0, NULL) : NULL;
    ps->t = json_integer_value(json_object_get(w, "t"));
    /* The other cursors (absent in a watermark written before they were
     * kept: read everything once). */
    ps->lmc_t = json_integer_value(json_object_get(w, "lmc"));
    ps->cptc_t = json_integer_value(json_object_get(w, "cptc"));
    if (json_integer_value(json_object_get(w, "del")) > ps->del_t)
        ps->del_t = json_integer_value(json_object_get(w, "del"));
    id = json_string_value(json_object_get(w, "id"));
    snprintf(ps->id, sizeof(ps->id), "%s", id ? id : "");
    json_decref(w);
    free(wm);
    ps->active = 1;
    ps->pages = 0;
    memset(&sf_pull_state(sf)->cyc, 0, sizeof(sf_pull_state(sf)->cyc));
    sf_pull_state(sf)->cyc.stored = stored_of(sf);
    sf_pull_state(sf)->cyc.last = sf_pull_state(sf)->cyc.stored;
    if (ps->t > 0 && sf_lookback_ms(sf) > 0) {
        sf_pull_state(sf)->cyc.q.t = ps->t > sf_lookback_ms(sf) ? ps->t - sf_lookback_ms(sf) : 1;
        sf_pull_state(sf)->cyc.strict = 0;
    } else {
        sf_pull_state(sf)->cyc.q = sf_pull_state(sf)->cyc.stored;
        sf_pull_state(sf)->cyc.strict = ps->t > 0;
    }
    send_query(sf, NULL);
}

void sf_pull_resync(struct connector *conn)
{
    struct salesforce *sf = conn->priv;
    struct sf_pull_state *ps = sf_pull_state(sf);

    /* The engine cleared the watermark: the next pull reads from the
     * start; the deletion sweep looks back over its whole horizon. */
    ps->del_t = 0;
    ps->last_sweep_ms = 0;
    ps->lmc_t = 0;
    ps->cptc_t = 0;
}
