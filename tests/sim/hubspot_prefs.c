/* HubSpot communication preferences (subscriptions v4 shapes, served under
 * the date-versioned family too): subscription definitions, batch read and
 * batch write of statuses on channel EMAIL, with GDPR legal basis.
 *
 * Shapes follow HubSpot's published description of the 2026-09 API
 * (HubSpot-public-api-spec-collection, Communication Preferences/
 * Subscriptions/Rollouts/176901/2026-09/subscriptions.json): a write input is
 * PublicStatusRequest (statusState SUBSCRIBED | UNSUBSCRIBED | NOT_SPECIFIED;
 * NOT_SUBSCRIBED belongs to the older per-email endpoints and is refused), a
 * read input BatchInputString, and every status answered is PublicStatus,
 * whose source and timestamp are required. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubspot.h"
#include "sim_json.h"
#include "sim_time.h"

static const char *const legal_bases[] = {
    "LEGITIMATE_INTEREST_PQL",
    "LEGITIMATE_INTEREST_CLIENT",
    "PERFORMANCE_OF_CONTRACT",
    "CONSENT_WITH_NOTICE",
    "NON_GDPR",
    "PROCESS_AND_STORE",
    "LEGITIMATE_INTEREST_OTHER",
    NULL,
};

static bool one_of(const char *v, const char *const *set)
{
    for (; v != NULL && *set != NULL; set++) {
        if (strcmp(v, *set) == 0)
            return true;
    }
    return false;
}

json_t *hs_default_subscriptions(int64_t now)
{
    char t[32];

    sim_time_format(now, t, sizeof(t));
    return json_pack("[{s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:i, s:s, s:s},"
                     " {s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:i, s:s, s:s}]",
                     "id", "1001", "name", "Marketing Information", "description",
                     "Marketing offers and updates.", "purpose", "Marketing", "communicationMethod",
                     "Email", "isActive", 1, "isDefault", 1, "isInternal", 0, "businessUnitId", 0,
                     "createdAt", t, "updatedAt", t, "id", "1002", "name", "Loyalty Programme",
                     "description", "Points and tier statements.", "purpose", "Loyalty",
                     "communicationMethod", "Email", "isActive", 1, "isDefault", 0, "isInternal", 0,
                     "businessUnitId", 0, "createdAt", t, "updatedAt", t);
}

static json_t *find_subscription(struct sim *sim, const char *id)
{
    size_t i;
    json_t *s;

    json_array_foreach(hs_state(sim)->subscriptions, i, s)
    {
        if (strcmp(json_string_value(json_object_get(s, "id")), id) == 0)
            return s;
    }
    return NULL;
}

void hs_prefs_definitions(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    (void)req;
    sim_resp_json(resp, 200, json_pack("{s:O}", "results", hs_state(sim)->subscriptions));
}

/* PublicStatus requires source and timestamp. An address that never had a
 * status of this subscription is NOT_SPECIFIED since the subscription
 * exists: the simulator answers the definition's createdAt and a source of
 * its own naming (HubSpot does not document what it answers there). */
static json_t *status_json(struct sim *sim, const char *email, json_t *def, json_t *st)
{
    const char *sid = json_string_value(json_object_get(def, "id"));
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:I, s:s, s:I, s:s, s:s}", "channel", "EMAIL", "subscriberIdString", email,
        "status", st ? json_string_value(json_object_get(st, "status")) : "NOT_SPECIFIED",
        "subscriptionId", (json_int_t)strtoll(sid, NULL, 10), "subscriptionName",
        json_string_value(json_object_get(def, "name")), "businessUnitId", (json_int_t)0, "source",
        HS_DEFAULT_STATUS_SOURCE, "timestamp",
        json_string_value(json_object_get(def, "createdAt")) ?: "1970-01-01T00:00:00.000Z");

    (void)sim;
    if (st != NULL) {
        if (json_is_string(json_object_get(st, "source")))
            json_object_set(o, "source", json_object_get(st, "source"));
        if (json_is_string(json_object_get(st, "timestamp")))
            json_object_set(o, "timestamp", json_object_get(st, "timestamp"));
        if (json_object_get(st, "legalBasis") != NULL)
            json_object_set(o, "legalBasis", json_object_get(st, "legalBasis"));
        if (json_object_get(st, "legalBasisExplanation") != NULL)
            json_object_set(o, "legalBasisExplanation",
                            json_object_get(st, "legalBasisExplanation"));
    }
    return o;
}

/* status_json() through a writer, into an object the caller has opened:
 * the same members in the same order, so batch writes need no tree. */
static void write_status_fields(struct sim_jw *w, const char *email, json_t *def, json_t *st)
{
    static const char *const copied[] = {"source", "timestamp", "legalBasis",
                                         "legalBasisExplanation", NULL};
    const char *sid = json_string_value(json_object_get(def, "id"));

    sim_jw_key(w, "channel");
    sim_jw_str(w, "EMAIL");
    sim_jw_key(w, "subscriberIdString");
    sim_jw_str(w, email);
    sim_jw_key(w, "status");
    sim_jw_str(w, st ? json_string_value(json_object_get(st, "status")) : "NOT_SPECIFIED");
    sim_jw_key(w, "subscriptionId");
    sim_jw_int(w, strtoll(sid, NULL, 10));
    sim_jw_key(w, "subscriptionName");
    sim_jw_str(w, json_string_value(json_object_get(def, "name")));
    sim_jw_key(w, "businessUnitId");
    sim_jw_int(w, 0);
    for (const char *const *k = copied; st != NULL && *k != NULL; k++) {
        json_t *v = json_object_get(st, *k);

        if (v != NULL) {
            sim_jw_key(w, *k);
            sim_jw_json(w, v);
        }
    }
}

static bool channel_ok(struct sim *sim, const struct sim_request *req, struct sim_response *resp)
{
    const char *ch = sim_req_query(req, "channel");

    if (ch == NULL || strcmp(ch, "EMAIL") != 0) {
        sim_resp_error(sim, resp, 400, "VALIDATION_ERROR",
                       "Query parameter 'channel' is required and must be EMAIL");
        return false;
    }
    return true;
}

void hs_prefs_batch_read(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    struct hs_state *hs = hs_state(sim);
    json_t *body, *inputs, *results;
    size_t i;
    json_t *in;

    if (!channel_ok(sim, req, resp))
        return;
    body = sim_req_json(sim, req, resp);
    if (body == NULL)
        return;
    inputs = json_object_get(body, "inputs");
    if (!json_is_array(inputs) || json_array_size(inputs) > HS_BATCH_MAX) {
        sim_resp_error(sim, resp, 400, "VALIDATION_ERROR",
                       "'inputs' must be an array of at most %d subscriber ids", HS_BATCH_MAX);
        json_decref(body);
        return;
    }
    resp->records_in = json_array_size(inputs);
    results = json_array();
    json_array_foreach(inputs, i, in)
    {
        const char *email = json_string_value(in);
        json_t *statuses = json_array();
        json_t *mine;
        size_t k;
        json_t *def;

        if (email == NULL) {
            json_decref(statuses);
            json_decref(results);
            sim_resp_error(sim, resp, 400, "VALIDATION_ERROR", "inputs must be strings");
            json_decref(body);
            return;
        }
        mine = json_object_get(hs->statuses, email);
        json_array_foreach(hs->subscriptions, k, def)
        {
            json_array_append_new(
                statuses,
                status_json(sim, email, def,
                            json_object_get(mine, json_string_value(json_object_get(def, "id")))));
        }
        json_array_append_new(
            results, json_pack("{s:s, s:o}", "subscriberIdString", email, "statuses", statuses));
    }
    sim_resp_json(resp, 200, hs_batch_envelope(results, NULL, req->now_ms, sim_now_ms(sim)));
    json_decref(body);
}

/* Writes are validated as a whole for shape (400) and per input for the
 * subscription and legal basis (207 with errors), like other batch APIs. */
void hs_prefs_batch_write(struct sim *sim, struct sim_request *req, struct sim_response *resp)
{
    struct hs_state *hs = hs_state(sim);
    static const char *const states[] = {"SUBSCRIBED", "UNSUBSCRIBED", "NOT_SPECIFIED", NULL};
    json_t *body = sim_req_json(sim, req, resp);
    json_t *inputs, *errors;
    struct sim_jw w;
    size_t i;
    json_t *in;
    char t[32];

    if (body == NULL)
        return;
    inputs = json_object_get(body, "inputs");
    if (!json_is_array(inputs) || json_array_size(inputs) > HS_BATCH_MAX) {
        sim_resp_error(sim, resp, 400, "VALIDATION_ERROR",
                       "'inputs' must be an array of at most %d status updates", HS_BATCH_MAX);
        goto out;
    }
    resp->records_in = json_array_size(inputs);
    json_array_foreach(inputs, i, in)
    {
        const char *lb = json_string_value(json_object_get(in, "legalBasis"));

        if (json_string_value(json_object_get(in, "subscriberIdString")) == NULL ||
            !one_of(json_string_value(json_object_get(in, "statusState")), states) ||
            strcmp(json_string_value(json_object_get(in, "channel")) ?: "", "EMAIL") != 0 ||
            !json_is_integer(json_object_get(in, "subscriptionId")) ||
            (lb != NULL && !one_of(lb, legal_bases))) {
            sim_resp_error(sim, resp, 400, "VALIDATION_ERROR",
                           "inputs[%zu]: needs subscriberIdString, subscriptionId (integer), "
                           "statusState (SUBSCRIBED|UNSUBSCRIBED|NOT_SPECIFIED), channel "
                           "EMAIL and a known legalBasis",
                           i);
            goto out;
        }
    }
    hs_batch_begin(&w, json_array_size(inputs));
    errors = json_array();
    sim_time_format(req->now_ms, t, sizeof(t));
    json_array_foreach(inputs, i, in)
    {
        const char *email = json_string_value(json_object_get(in, "subscriberIdString"));
        const char *state = json_string_value(json_object_get(in, "statusState"));
        const char *lb = json_string_value(json_object_get(in, "legalBasis"));
        const char *lbx = json_string_value(json_object_get(in, "legalBasisExplanation"));
        char sid[24];
        json_t *def, *mine, *old, *st;
        const char *reason;

        snprintf(sid, sizeof(sid), "%lld",
                 (long long)json_integer_value(json_object_get(in, "subscriptionId")));
        def = find_subscription(sim, sid);
        if (def == NULL) {
            json_array_append_new(errors, json_pack("{s:s, s:s, s:s, s:{s:[s]}}", "status", "error",
                                                    "category", "OBJECT_NOT_FOUND", "message",
                                                    "Subscription definition not found", "context",
                                                    "subscriptionId", sid));
            continue;
        }
        if (sim->opt.gdpr && strcmp(state, "NOT_SPECIFIED") != 0 &&
            (lb == NULL || lbx == NULL || lbx[0] == '\0')) {
            json_array_append_new(
                errors, json_pack("{s:s, s:s, s:s, s:{s:[s]}}", "status", "error", "category",
                                  "VALIDATION_ERROR", "message",
                                  "legalBasis and legalBasisExplanation are required when GDPR "
                                  "is enabled",
                                  "context", "subscriberIdString", email));
            continue;
        }
        mine = json_object_get(hs->statuses, email);
        if (mine == NULL) {
            mine = json_object();
            json_object_set_new(hs->statuses, email, mine);
        }
        old = json_object_get(mine, sid);
        if (old != NULL && strcmp(json_string_value(json_object_get(old, "status")), state) == 0)
            reason = "NO_STATUS_CHANGE";
        else if (strcmp(state, "SUBSCRIBED") == 0 && old != NULL &&
                 strcmp(json_string_value(json_object_get(old, "status")), "UNSUBSCRIBED") == 0)
            reason = "RESUBSCRIBE_OCCURRED";
        else
            reason = "REQUESTED_CHANGE_OCCURRED";
        st = json_pack("{s:s, s:s, s:s}", "status", state, "timestamp", t, "source", "Public API");
        if (lb != NULL)
            json_object_set_new(st, "legalBasis", json_string(lb));
        if (lbx != NULL)
            json_object_set_new(st, "legalBasisExplanation", json_string(lbx));
        json_object_set_new(mine, sid, st);
        resp->written++;
        sim_jw_obj_begin(&w);
        write_status_fields(&w, email, def, st);
        sim_jw_key(&w, "setStatusSuccessReason");
        sim_jw_str(&w, reason);
        sim_jw_obj_end(&w);
    }
    hs_batch_end(&w, errors, req->now_ms, sim_now_ms(sim));
    sim_resp_jw(resp, json_array_size(errors) > 0 ? 207 : 200, &w);
    json_decref(errors);
out:
    json_decref(body);
}
