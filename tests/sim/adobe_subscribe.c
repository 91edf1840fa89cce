/* Adobe flavour: nms:subscription#Subscribe(serviceName, recipient, create)
 * and #Unsubscribe(serviceName, recipient), from Campaign's "Business
 * oriented APIs" page:
 * - serviceName is a comma-separated list of nms:service internal names;
 * - the recipient is reconciled on its _key; Subscribe updates its
 *   attributes, and creates it when create is true;
 * - a subscription is one nms:subscription row; Subscribe writes an
 *   nms:subHisto row (action 1) when it creates one, Unsubscribe deletes the
 *   row and writes nms:subHisto (action 0);
 * - Unsubscribe of an unknown recipient, or of one not subscribed, does
 *   nothing and is no error;
 * - Unsubscribe with an empty service name puts the recipient on the
 *   denylist (@blackList = 1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adobe.h"

static struct sim_record *find_sub(struct ad_schema *subs, uint64_t rid, uint64_t sid)
{
    for (size_t i = 0; i < subs->coll->n; i++) {
        struct sim_record *r = subs->coll->recs[i];
        const char *rv = json_string_value(json_object_get(r->props, "recipient-id"));
        const char *sv = json_string_value(json_object_get(r->props, "service-id"));

        if (rv != NULL && sv != NULL && strtoull(rv, NULL, 10) == rid &&
            strtoull(sv, NULL, 10) == sid)
            return r;
    }
    return NULL;
}

static int history(struct sim *sim, uint64_t rid, uint64_t sid, int action, int64_t now,
                   struct ad_undo *u)
{
    struct ad_schema *h = &ad_state(sim)->schemas[AD_SUBHISTO];
    char r[24], s[24];
    json_t *props;
    struct sim_record *rec;

    snprintf(r, sizeof(r), "%llu", (unsigned long long)rid);
    snprintf(s, sizeof(s), "%llu", (unsigned long long)sid);
    props = json_pack("{s:s, s:s, s:s, s:s}", "recipient-id", r, "service-id", s, "action",
                      action ? "1" : "0", "origin", "SOAP");
    rec = ad_row_create(sim, h, props, now, u);
    json_decref(props);
    return rec ? 0 : -1;
}

/* Splits "svc1, svc2" and resolves each name; *n = 0 for an empty list. */
static int services(struct ad_state *ad, const char *list, struct sim_record **out, size_t max,
                    size_t *n, char *err, size_t errlen)
{
    const char *p = list;

    *n = 0;
    while (*p != '\0') {
        char name[128];
        size_t len;

        while (*p == ' ' || *p == ',')
            p++;
        len = strcspn(p, ",");
        while (len > 0 && p[len - 1] == ' ')
            len--;
        if (len == 0)
            break;
        if (len >= sizeof(name) || *n == max) {
            snprintf(err, errlen, "NMS-450011 Invalid list of services '%.200s'.", list);
            return -1;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        out[*n] = sim_coll_find_unique(ad->schemas[AD_SERVICE].coll, "name", name);
        if (out[*n] == NULL) {
            snprintf(err, errlen, "NMS-450012 The information service '%s' does not exist.", name);
            return -1;
        }
        (*n)++;
        p += strcspn(p, ",");
    }
    return 0;
}

void ad_subscribe(struct sim *sim, struct sim_request *req, struct ad_call *call,
                  struct sim_response *resp)
{
    struct ad_state *ad = ad_state(sim);
    struct ad_schema *rcps = &ad->schemas[AD_RECIPIENT], *subs = &ad->schemas[AD_SUBSCRIPTION];
    bool subscribe = strcmp(call->method, "Subscribe") == 0;
    char list[1024], create_s[16], err[1024] = "";
    xmlNodePtr el = ad_param_doc(call, 2);
    struct sim_record *svc[32], *rcp = NULL;
    size_t nsvc = 0, nkeys = 0;
    bool create;
    struct ad_undo *u = NULL;
    struct ad_out o;
    int64_t now = req->now_ms;

    ad_param_text(call, 1, list, sizeof(list));
    ad_param_text(call, 3, create_s, sizeof(create_s));
    create = strcmp(create_s, "true") == 0 || strcmp(create_s, "1") == 0;
    resp->records_in = 1;
    if (el == NULL || strcmp((const char *)el->name, "recipient") != 0) {
        ad_method_fault(resp, call,
                        "SOP-330008 Missing <recipient> element parameter (position 3).");
        return;
    }
    u = ad_undo_new();
    if (u == NULL) {
        sim_resp_empty(resp, 500);
        return;
    }
    if (services(ad, list, svc, 32, &nsvc, err, sizeof(err)) != 0 ||
        ad_find_by_key(sim, rcps, el, now, &rcp, &nkeys, err, sizeof(err)) != 0)
        goto fail;
    if (subscribe) {
        if (rcp == NULL && !create) {
            snprintf(err, sizeof(err),
                     "NMS-450013 The recipient could not be found and 'create' is false.");
            goto fail;
        }
        rcp = ad_apply_attrs(sim, rcps, rcp, el, now, u, err, sizeof(err));
        if (rcp == NULL)
            goto fail;
        resp->written = 1;
        for (size_t i = 0; i < nsvc; i++) {
            char r[24], s[24];
            json_t *props;
            struct sim_record *row;

            if (find_sub(subs, rcp->id, svc[i]->id) != NULL)
                continue;
            snprintf(r, sizeof(r), "%llu", (unsigned long long)rcp->id);
            snprintf(s, sizeof(s), "%llu", (unsigned long long)svc[i]->id);
            props = json_pack("{s:s, s:s}", "recipient-id", r, "service-id", s);
            row = ad_row_create(sim, subs, props, now, u);
            json_decref(props);
            if (row == NULL || history(sim, rcp->id, svc[i]->id, 1, now, u) != 0) {
                snprintf(err, sizeof(err), "PGS-220000 PostgreSQL error: out of memory");
                goto fail;
            }
        }
    } else if (rcp != NULL) {
        if (nsvc == 0) {
            ad_undo_touch(u, rcps, rcp);
            sim_record_touch(rcp, now, sim->opt.adobe_enterprise ? sim->opt.search_lag_ms : 0,
                             true);
            sim_coll_set_prop(rcps->coll, rcp, "blackList", "1");
            resp->written = 1;
        }
        for (size_t i = 0; i < nsvc; i++) {
            struct sim_record *row = find_sub(subs, rcp->id, svc[i]->id);

            if (row == NULL)
                continue;
            ad_row_remove(subs, row, u);
            if (history(sim, rcp->id, svc[i]->id, 0, now, u) != 0) {
                snprintf(err, sizeof(err), "PGS-220000 PostgreSQL error: out of memory");
                goto fail;
            }
            resp->written = 1;
        }
    }
    ad_undo_free(u);
    if (ad_out_begin(&o, "nms:subscription", call->method) != 0) {
        sim_resp_empty(resp, 500);
        return;
    }
    ad_out_finish(&o, resp);
    return;
fail:
    ad_undo_rollback(u);
    ad_undo_free(u);
    resp->written = 0;
    ad_method_fault(resp, call, "%s", err);
}
