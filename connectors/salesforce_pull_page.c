/* The Salesforce pull's shared parts (docs/salesforce.md "Pull"): the
 * watermark, the end of a cycle, a page's transaction with its cursors,
 * and the side queries read by SystemModstamp (loyalty balances in
 * salesforce_pull.c, consent objects in salesforce_consent.c). Moved out
 * of salesforce_pull.c (issue 18) so that the consent pull and the pull
 * cycle do not call each other both ways. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm_pull_page.h"
#include "log.h"
#include "salesforce_int.h"
#include "strbuf.h"

/* The watermark: the Contact cursor (t, id) and the other cursors
 * (lmc, cptc, del; 0 = none, omitted). */
int sf_watermark_text(int64_t t, const char *id, int64_t lmc, int64_t cptc, int64_t del, char *out,
                      size_t outsize)
{
    json_t *w = json_pack("{s:I, s:s}", "t", (json_int_t)t, "id", id);
    char *text;
    int rc = -1;

    if (w != NULL && lmc > 0)
        json_object_set_new(w, "lmc", json_integer(lmc));
    if (w != NULL && cptc > 0)
        json_object_set_new(w, "cptc", json_integer(cptc));
    if (w != NULL && del > 0)
        json_object_set_new(w, "del", json_integer(del));
    text = w ? json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (text != NULL && strlen(text) < outsize) {
        snprintf(out, outsize, "%s", text);
        rc = 0;
    }
    free(text);
    json_decref(w);
    return rc;
}

int sf_pull_watermark(struct salesforce *sf, int64_t lmc, int64_t cptc, char *out, size_t outsize)
{
    struct sf_pull_state *ps = sf_pull_state(sf);

    return sf_watermark_text(ps->t, ps->id, lmc, cptc, ps->del_t, out, outsize);
}

void sf_pull_finish(struct salesforce *sf, int status)
{
    struct sf_pull_state *ps = sf_pull_state(sf);
    struct connector *conn = sf_conn(sf);

    ps->records = NULL;
    ps->active = 0;
    crm_pull_end(conn, "salesforce", status, ps->pages, &ps->root);
}

void sf_page_init(struct crm_page *pg, struct salesforce *sf)
{
    crm_page_init(pg, sf_conn(sf), "salesforce");
}

void sf_page_failed(struct salesforce *sf, struct crm_page *pg, const char *what)
{
    crm_page_failed(pg, what);
    sf_pull_finish(sf, -1);
}

int sf_page_commit_cursors(struct salesforce *sf, struct crm_page *pg, int64_t lmc, int64_t cptc)
{
    char wm[256];

    if (sf_pull_watermark(sf, lmc, cptc, wm, sizeof(wm)) != 0) {
        crm_page_abort(pg);
        error_set(&pg->err, "watermark does not fit");
        return -1;
    }
    return crm_page_commit(pg, wm);
}

static const struct {
    const char *object; /* the sObject read */
    const char *what;   /* log prefix of a failed query */
    const char *page;   /* "<page> page not applied" */
} sides[] = {
    [SF_SIDE_BALANCES] = {"LoyaltyMemberCurrency", "loyalty balance", "balances"},
    [SF_SIDE_CONSENTS] = {"ContactPointTypeConsent", "consent pull", "consent"},
};

/* Each record of the answer through row in one page, committed with the
 * watermark of the cursors: the side's newest stamp read so far, the
 * other side's stored cursor. 0 with next (the next page's locator, ""
 * after the last), or -1: logged, and the pull has finished with -1. */
static int side_page(struct salesforce *sf, struct http_result *res, enum sf_side side,
                     sf_side_row_fn row, char *next, size_t nsize)
{
    struct connector *conn = sf_conn(sf);
    struct sf_pull_state *ps = sf_pull_state(sf);
    int lmc = side == SF_SIDE_BALANCES;
    json_t *root = NULL, *records = NULL, *r;
    struct crm_page pg;
    char what[64];
    size_t k;

    if (res->cls != HTTP_CLASS_OK || sf_closing(sf) ||
        sf_parse_query(res->body, &root, &records, next, nsize) != 0) {
        char st[32];
        log_warn("salesforce", conn->name, "%s: %s query failed (%s %s)", sides[side].what,
                 sides[side].object, http_result_label(res, st, sizeof(st)), res->error);
        json_decref(root);
        sf_pull_finish(sf, -1);
        return -1;
    }
    sf_page_init(&pg, sf);
    if (crm_page_begin(&pg) != 0)
        goto fail;
    json_array_foreach(records, k, r)
    {
        if (row(sf, &pg, r) != 0)
            goto fail;
    }
    /* The rows come by SystemModstamp: the newest seen so far is the
     * cursor (a restart re-reads from it, lookback included). */
    if (sf_page_commit_cursors(sf, &pg, lmc ? ps->lmc_max : ps->lmc_t,
                               lmc ? ps->cptc_t : ps->cptc_max) != 0)
        goto fail;
    log_debug("salesforce", conn->name, "pull: %zu %s row(s), cursor was %" PRId64,
              json_array_size(records), sides[side].object, lmc ? ps->lmc_t : ps->cptc_t);
    json_decref(root);
    return 0;
fail:
    json_decref(root);
    snprintf(what, sizeof(what), "%s page", sides[side].page);
    sf_page_failed(sf, &pg, what);
    return -1;
}

void sf_side_query(struct salesforce *sf, enum sf_side side, const char *next, const char *head,
                   const char *conj, const char *order, http_done_fn done)
{
    struct sf_pull_state *ps = sf_pull_state(sf);
    int64_t *max = side == SF_SIDE_BALANCES ? &ps->lmc_max : &ps->cptc_max;
    int64_t t = side == SF_SIDE_BALANCES ? ps->lmc_t : ps->cptc_t;
    struct strbuf soql;
    char ts[40];
    int rc;

    if (next != NULL) {
        rc = sf_request(sf, HTTP_GET, next, NULL, NULL, done, sf);
    } else if (head == NULL) {
        rc = -1; /* did not fit */
    } else {
        *max = t;
        strbuf_init(&soql, SF_PATH_MAX);
        strbuf_add(&soql, head);
        if (t > 0) {
            sf_soql_time(t - sf_lookback_ms(sf), ts, sizeof(ts));
            strbuf_addf(&soql, "%s SystemModstamp >= %s ", conj, ts);
        }
        strbuf_add(&soql, order);
        rc = strbuf_str(&soql) != NULL ? sf_query(sf, "query", strbuf_str(&soql), done, sf) : -1;
        strbuf_free(&soql);
    }
    if (rc != 0)
        sf_pull_finish(sf, -1);
}

void sf_side_answer(struct salesforce *sf, struct http_result *res, enum sf_side side,
                    sf_side_row_fn row, void (*more)(struct salesforce *sf, const char *next),
                    void (*after)(struct salesforce *sf))
{
    struct sf_pull_state *ps = sf_pull_state(sf);
    int64_t *max = side == SF_SIDE_BALANCES ? &ps->lmc_max : &ps->cptc_max;
    int64_t *t = side == SF_SIDE_BALANCES ? &ps->lmc_t : &ps->cptc_t;
    char next[256];

    if (side_page(sf, res, side, row, next, sizeof(next)) != 0)
        return;
    if (next[0] != '\0') {
        more(sf, next);
        return;
    }
    if (*max > *t)
        *t = *max;
    after(sf);
}
