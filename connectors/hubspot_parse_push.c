/* HubSpot response parsing, push side: batch answers into per-record
 * outcomes, whole-batch validation errors pinned on the inputs that caused
 * them, the statuses write, list ids and missing record ids, and the grant
 * guard's reading of the statuses (a newer withdrawal). Pure (STYLE.md 3);
 * tests/unit/test_hubspot_parse.c feeds it recorded bodies. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "change_json.h"
#include "crm_pull_page.h"
#include "hubspot.h"
#include "jscan.h"
#include "timefmt.h"

/* 207: each error names the inputs it is about in context.ids. */
static void batch_errors(json_t *errors, const char *const *keys, size_t n, struct hs_outcome *out)
{
    size_t i, k;
    json_t *e;

    json_array_foreach(errors, i, e)
    {
        const char *msg = json_string_value(json_object_get(e, "message"));
        json_t *ids = json_object_get(json_object_get(e, "context"), "ids");
        size_t j;
        json_t *idv;

        json_array_foreach(ids, j, idv)
        {
            const char *id = json_string_value(idv);
            for (k = 0; id != NULL && k < n; k++) {
                if (keys[k] != NULL && strcmp(keys[k], id) == 0) {
                    out[k].state = HS_REJECT;
                    snprintf(out[k].reason, sizeof(out[k].reason), "%s",
                             msg ? msg : "rejected by HubSpot");
                }
            }
        }
    }
}

/* 1 when the value is an array with at least one element (then read to
 * its end), 0 when it is anything else, -1 malformed. */
static int nonempty_array(struct jscan *s)
{
    int r = jscan_array(s), any = 0;

    if (r != 1)
        return r == 2 ? 0 : -1;
    for (r = jscan_element(s); r == 1; r = jscan_element(s)) {
        any = 1;
        if (jscan_skip(s) != 1)
            return -1;
    }
    return r == 0 ? any : -1;
}

/* A result's properties: *key set to the id property's value when it is a
 * string (the last one, as jansson keeps the last of a repeated name). */
static int result_properties(struct jscan *s, const char *id_property, char *key, size_t keysize,
                             int *has_key)
{
    /* a key cut short matches none of ours */
    struct jscan_field f[] = {{id_property, key, keysize, NULL, 0, 0}};
    int r = jscan_fields(s, f, 1);

    *has_key = f[0].found;
    return r == 2 ? 1 : r;
}

/* One element of results: out[k] is ok with the record id for every key
 * equal to the result's id property. */
static int batch_result(struct jscan *s, const char *id_property, const char *const *keys, size_t n,
                        struct hs_outcome *out)
{
    char name[256], key[512], id[sizeof(out->id)];
    int has_key = 0, has_id = 0, r = jscan_object(s);

    if (r != 1)
        return r == 2 ? 1 : -1;
    for (r = jscan_member(s, name, sizeof(name)); r == 1; r = jscan_member(s, name, sizeof(name))) {
        if (strcmp(name, "id") == 0) {
            r = jscan_string(s, id, sizeof(id));
            has_id = r == 1 || r == 3; /* cut as snprintf into out[].id did */
        } else if (strcmp(name, "properties") == 0) {
            r = result_properties(s, id_property, key, sizeof(key), &has_key);
        } else {
            r = jscan_skip(s);
        }
        if (r < 0)
            return -1;
    }
    if (r != 0)
        return -1;
    for (size_t k = 0; has_key && has_id && k < n; k++) {
        if (keys[k] != NULL && strcmp(keys[k], key) == 0) {
            out[k].state = HS_OK;
            snprintf(out[k].id, sizeof(out[k].id), "%s", id);
        }
    }
    return 1;
}

/* results: 1 read, 2 not an array, -1 malformed. */
static int batch_results(struct jscan *s, const char *id_property, const char *const *keys,
                         size_t n, struct hs_outcome *out)
{
    int r = jscan_array(s);

    if (r != 1)
        return r;
    for (r = jscan_element(s); r == 1; r = jscan_element(s)) {
        if (batch_result(s, id_property, keys, n, out) != 1)
            return -1;
    }
    return r == 0 ? 1 : -1;
}

/* Read with jscan (issue 17): json_loads() built a value of every property
 * of every result to read two strings of each, the largest part of a bulk
 * push's CPU. The rare answer with errors is read again with jansson for
 * them (batch_errors, unchanged). A body that is not valid JSON, or whose
 * results are not an array, is unreadable (-1) as before. */
int hs_parse_batch_result(const char *body, const char *id_property, const char *const *keys,
                          size_t n, struct hs_outcome *out)
{
    struct jscan s;
    char name[256];
    int r, results = 0, errors = 0;

    if (body == NULL)
        return -1;
    jscan_init(&s, body, -1);
    if (jscan_object(&s) != 1)
        return -1;
    for (r = jscan_member(&s, name, sizeof(name)); r == 1;
         r = jscan_member(&s, name, sizeof(name))) {
        if (strcmp(name, "results") == 0) {
            r = batch_results(&s, id_property, keys, n, out);
            results = r == 1;
        } else if (strcmp(name, "errors") == 0) {
            r = nonempty_array(&s);
            errors = r == 1;
        } else {
            r = jscan_skip(&s);
        }
        if (r < 0)
            break;
    }
    if (r != 0 || jscan_end(&s) != 1 || !results) {
        memset(out, 0, n * sizeof(*out));
        return -1;
    }
    if (errors) {
        json_t *root = json_loads(body, 0, NULL);
        batch_errors(json_object_get(root, "errors"), keys, n, out);
        json_decref(root);
    }
    return 0;
}

/* The value of a property as sent, as text ("" when absent). */

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    if (n == 0)
        return 0;
    for (; *hay != '\0'; hay++) {
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    }
    return 0;
}

/* "Property values were not valid: [{...}]": each entry names a property
 * (and for value errors, the value in its message). */
static size_t blame_validation(const char *list, json_t *const *props, size_t n, int *blame)
{
    json_t *errs = json_loads(list, 0, NULL);
    size_t i, blamed = 0, unpinned = 0;
    json_t *e;

    if (!json_is_array(errs)) {
        json_decref(errs);
        return 0;
    }
    json_array_foreach(errs, i, e)
    {
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *code = json_string_value(json_object_get(e, "error"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        size_t cand = 0, by_value = 0, last = 0;

        if (name == NULL) {
            unpinned++;
            continue;
        }
        for (size_t k = 0; k < n; k++) {
            if (json_object_get(props[k], name) == NULL)
                continue;
            cand++;
            last = k;
            if (msg != NULL && contains_ci(msg, hs_prop_text(props[k], name))) {
                by_value++;
                blamed += !blame[k];
                blame[k] = 1;
            }
        }
        if (by_value > 0)
            continue;
        /* A property that does not exist or cannot be written fails every
         * input carrying it; any other error is pinned only when one input
         * carries the property. */
        if (code != NULL &&
            (strcmp(code, "PROPERTY_DOESNT_EXIST") == 0 || strcmp(code, "READ_ONLY_VALUE") == 0)) {
            for (size_t k = 0; k < n; k++) {
                if (json_object_get(props[k], name) != NULL && !blame[k]) {
                    blame[k] = 1;
                    blamed++;
                }
            }
        } else if (cand == 1) {
            blamed += !blame[last];
            blame[last] = 1;
        } else {
            unpinned++;
        }
    }
    json_decref(errs);
    /* Some error could not be pinned: the rest may still fail; say nothing
     * rather than resend a batch that fails again. */
    return unpinned ? 0 : blamed;
}

/* 409 on a unique property: "Duplicate value for unique property P in batch
 * input" (every input after the first holding a value), or "... already
 * exists. Existing ID: N" (the input holding P whose record is not N, when
 * there is exactly one). */
static size_t blame_conflict(const char *msg, const char *id_property, json_t *const *props,
                             const char *const *remote_ids, size_t n, int *blame)
{
    char prop[128] = "";
    const char *p;
    size_t blamed = 0;

    p = strstr(msg, "unique property ");
    if (p != NULL) {
        size_t len = strcspn(p + 16, " .");
        snprintf(prop, sizeof(prop), "%.*s", (int)(len < sizeof(prop) ? len : sizeof(prop) - 1),
                 p + 16);
    } else if (strncmp(msg, "Contact already exists", 22) == 0) {
        snprintf(prop, sizeof(prop), "email");
    }
    if (prop[0] == '\0' || strcmp(prop, id_property) == 0)
        return 0;
    if (strstr(msg, "in batch input") != NULL) {
        for (size_t k = 0; k < n; k++) {
            const char *v = hs_prop_text(props[k], prop);
            if (v[0] == '\0')
                continue;
            for (size_t j = 0; j < k; j++) {
                if (strcasecmp(hs_prop_text(props[j], prop), v) == 0) {
                    blame[k] = 1;
                    blamed++;
                    break;
                }
            }
        }
        return blamed;
    }
    p = strstr(msg, "Existing ID: ");
    if (p != NULL) {
        const char *holder = p + 13;
        size_t cand = 0, last = 0;
        for (size_t k = 0; k < n; k++) {
            if (hs_prop_text(props[k], prop)[0] == '\0')
                continue;
            if (remote_ids[k] != NULL && strncmp(remote_ids[k], holder, strlen(remote_ids[k])) == 0)
                continue;
            cand++;
            last = k;
        }
        if (cand == 1) {
            blame[last] = 1;
            return 1;
        }
    }
    return 0;
}

size_t hs_attribute_error(const char *body, const char *id_property, json_t *const *props,
                          const char *const *remote_ids, size_t n, int *blame, char *reason,
                          size_t rsize)
{
    static const char invalid[] = "Property values were not valid: ";
    json_t *root = body ? json_loads(body, 0, NULL) : NULL;
    const char *msg = json_string_value(json_object_get(root, "message"));
    size_t blamed = 0;

    memset(blame, 0, n * sizeof(*blame));
    snprintf(reason, rsize, "%s", msg ? msg : "rejected by HubSpot");
    if (msg == NULL) {
        json_decref(root);
        return 0;
    }
    if (strncmp(msg, invalid, sizeof(invalid) - 1) == 0)
        blamed = blame_validation(msg + sizeof(invalid) - 1, props, n, blame);
    else
        blamed = blame_conflict(msg, id_property, props, remote_ids, n, blame);
    if (blamed == 0)
        memset(blame, 0, n * sizeof(*blame));
    json_decref(root);
    return blamed;
}

/* One element of a statuses write's results: out[k] is ok for every input
 * of the same subscriber (any case) and subscription. A subscriptionId that
 * is not an integer counts as 0, as json_integer_value() made it. */
static int status_result(struct jscan *s, const char *const *emails, const long long *sids,
                         size_t n, struct hs_outcome *out)
{
    char email[512];
    long long sid = 0;
    struct jscan_field f[] = {{"subscriberIdString", email, sizeof(email), NULL, 0, 0},
                              {"subscriptionId", NULL, 0, &sid, 0, 0}};
    int r = jscan_fields(s, f, 2), has_email = f[0].found;

    if (r != 1)
        return r == 2 ? 1 : -1;
    for (size_t k = 0; has_email && k < n; k++) {
        if (emails[k] != NULL && sids[k] == sid && strcasecmp(email, emails[k]) == 0)
            out[k].state = HS_OK;
    }
    return 1;
}

/* results: 1 read, 2 not an array, -1 malformed. */
static int status_results(struct jscan *s, const char *const *emails, const long long *sids,
                          size_t n, struct hs_outcome *out)
{
    int r = jscan_array(s);

    if (r != 1)
        return r;
    for (r = jscan_element(s); r == 1; r = jscan_element(s)) {
        if (status_result(s, emails, sids, n, out) != 1)
            return -1;
    }
    return r == 0 ? 1 : -1;
}

/* Errors name a subscriber or a subscription in their context. */
static void status_errors(json_t *errors, json_t *inputs, struct hs_outcome *out)
{
    size_t i, k;
    json_t *e, *in;

    json_array_foreach(errors, i, e)
    {
        const char *msg = json_string_value(json_object_get(e, "message"));
        json_t *ctx = json_object_get(e, "context");
        json_t *emails = json_object_get(ctx, "subscriberIdString");
        json_t *sids = json_object_get(ctx, "subscriptionId");

        json_array_foreach(inputs, k, in)
        {
            const char *email = json_string_value(json_object_get(in, "subscriberIdString"));
            char sid[24];
            int hit = 0;
            size_t j;
            json_t *v;

            snprintf(sid, sizeof(sid), "%" JSON_INTEGER_FORMAT,
                     json_integer_value(json_object_get(in, "subscriptionId")));
            json_array_foreach(emails, j, v)
            {
                hit |= json_is_string(v) && strcasecmp(json_string_value(v), email) == 0;
            }
            json_array_foreach(sids, j, v)
            {
                hit |= (json_is_string(v) && strcmp(json_string_value(v), sid) == 0) ||
                       (json_is_integer(v) &&
                        json_integer_value(v) ==
                            json_integer_value(json_object_get(in, "subscriptionId")));
            }
            if (hit && out[k].state != HS_OK) {
                out[k].state = HS_REJECT;
                snprintf(out[k].reason, sizeof(out[k].reason), "%s",
                         msg ? msg : "rejected by HubSpot");
            }
        }
    }
}

/* Read with jscan, as hs_parse_batch_result (issue 17); the inputs' keys
 * are taken once, not looked up again for every result. */
int hs_parse_status_write(const char *body, json_t *inputs, struct hs_outcome *out)
{
    size_t n = json_array_size(inputs);
    const char **emails = calloc(n ? n : 1, sizeof(*emails));
    long long *sids = calloc(n ? n : 1, sizeof(*sids));
    struct jscan s;
    char name[256];
    int r = -1, results = 0, errors = 0, rc = -1;
    size_t k;
    json_t *in;

    if (body == NULL || emails == NULL || sids == NULL)
        goto out;
    json_array_foreach(inputs, k, in)
    {
        emails[k] = json_string_value(json_object_get(in, "subscriberIdString"));
        sids[k] = json_integer_value(json_object_get(in, "subscriptionId"));
    }
    jscan_init(&s, body, -1);
    if (jscan_object(&s) != 1)
        goto out;
    for (r = jscan_member(&s, name, sizeof(name)); r == 1;
         r = jscan_member(&s, name, sizeof(name))) {
        if (strcmp(name, "results") == 0) {
            r = status_results(&s, emails, sids, n, out);
            results = r == 1;
        } else if (strcmp(name, "errors") == 0) {
            r = nonempty_array(&s);
            errors = r == 1;
        } else {
            r = jscan_skip(&s);
        }
        if (r < 0)
            break;
    }
    if (r != 0 || jscan_end(&s) != 1 || !results) {
        memset(out, 0, n * sizeof(*out));
        goto out;
    }
    if (errors) {
        json_t *root = json_loads(body, 0, NULL);
        status_errors(json_object_get(root, "errors"), inputs, out);
        json_decref(root);
    }
    rc = 0;
out:
    free(emails);
    free(sids);
    return rc;
}

int hs_parse_list_id(const char *body, char *out, size_t outsize)
{
    json_t *root = body ? json_loads(body, 0, NULL) : NULL;
    json_t *list = json_object_get(root, "list");
    json_t *id = json_object_get(list ? list : root, "listId");
    int rc = 0;

    if (json_is_string(id))
        snprintf(out, outsize, "%s", json_string_value(id));
    else if (json_is_integer(id))
        snprintf(out, outsize, "%" JSON_INTEGER_FORMAT, json_integer_value(id));
    else
        rc = -1;
    json_decref(root);
    return rc;
}

json_t *hs_parse_missing(const char *body)
{
    json_t *root = body ? json_loads(body, 0, NULL) : NULL;
    json_t *m = json_object_get(root, "recordIdsMissing");
    json_t *out = json_is_array(m) ? json_incref(m) : NULL;

    json_decref(root);
    return out;
}

/* One status of a subscriber: appended to kept when it is UNSUBSCRIBED,
 * with what hs_newer_withdrawal reads of it (a subscriptionId that is not
 * an integer as 0, as json_integer_value() makes it; a timestamp only when
 * it is a string). */
static int withdrawal_status(struct jscan *s, json_t *kept)
{
    char status[32] = "", at[128] = "";
    long long sid = 0;
    struct jscan_field f[] = {{"status", status, sizeof(status), NULL, 0, 0},
                              {"timestamp", at, sizeof(at), NULL, 0, 0},
                              {"subscriptionId", NULL, 0, &sid, 0, 0}};
    int r = jscan_fields(s, f, 3), has_status = f[0].found, has_at = f[1].found;
    json_t *o;

    if (r != 1)
        return r == 2 ? 1 : -1;
    if (!has_status || strcmp(status, HS_STATUS_UNSUBSCRIBED) != 0)
        return 1;
    o = json_pack("{s:I, s:s}", "subscriptionId", (json_int_t)sid, "status", status);
    if (o == NULL || (has_at && json_object_set_new(o, "timestamp", json_string(at)) != 0) ||
        json_array_append_new(kept, o) != 0)
        return -1;
    return 1;
}

/* One result: its subscriber's withdrawals replace what an earlier result
 * for the same address left (json_object_set in hs_parse_statuses). */
static int withdrawal_result(struct jscan *s, json_t *out)
{
    char name[256], email[512], low[512];
    int has_email = 0, has_statuses = 0, r = jscan_object(s);
    json_t *kept = json_array();
    size_t k;

    if (kept == NULL)
        return -1;
    if (r != 1) {
        json_decref(kept);
        return r == 2 ? 1 : -1;
    }
    for (r = jscan_member(s, name, sizeof(name)); r == 1; r = jscan_member(s, name, sizeof(name))) {
        if (strcmp(name, "subscriberIdString") == 0) {
            r = jscan_string(s, email, sizeof(email));
            has_email = r == 1 || r == 3; /* cut to 511 as the lower-casing did */
        } else if (strcmp(name, "statuses") == 0) {
            json_array_clear(kept);
            r = jscan_array(s);
            has_statuses = r == 1;
            if (r == 1) {
                for (r = jscan_element(s); r == 1; r = jscan_element(s)) {
                    if (withdrawal_status(s, kept) != 1)
                        break;
                }
                r = r == 0 ? 1 : -1;
            }
        } else {
            r = jscan_skip(s);
        }
        if (r < 0)
            break;
    }
    if (r == 0 && has_email && has_statuses) {
        for (k = 0; email[k] != '\0' && k + 1 < sizeof(low); k++)
            low[k] = (char)tolower((unsigned char)email[k]);
        low[k] = '\0';
        if (json_array_size(kept) > 0)
            r = json_object_set(out, low, kept) == 0 ? 0 : -1;
        else
            json_object_del(out, low);
    }
    json_decref(kept);
    return r == 0 ? 1 : -1;
}

json_t *hs_parse_withdrawals(const char *body)
{
    json_t *out = json_object();
    struct jscan s;
    char name[256];
    int r = -1;

    if (out == NULL || body == NULL)
        return out;
    jscan_init(&s, body, -1);
    if (jscan_object(&s) == 1) {
        for (r = jscan_member(&s, name, sizeof(name)); r == 1;
             r = jscan_member(&s, name, sizeof(name))) {
            if (strcmp(name, "results") == 0 && jscan_array(&s) == 1) {
                for (r = jscan_element(&s); r == 1; r = jscan_element(&s)) {
                    if (withdrawal_result(&s, out) != 1)
                        break;
                }
                r = r == 0 ? 1 : -1;
            } else if (strcmp(name, "results") != 0) {
                r = jscan_skip(&s);
            }
            if (r < 0)
                break;
        }
    }
    if (r != 0 || jscan_end(&s) != 1)
        json_object_clear(out); /* unreadable: nothing known, as json_loads failing */
    return out;
}

int hs_newer_withdrawal(json_t *statuses, const char *email, long long sid, int64_t collected_at)
{
    char low[512];
    size_t k, i;
    json_t *st;

    if (email == NULL)
        return 0;
    for (k = 0; email[k] != '\0' && k + 1 < sizeof(low); k++)
        low[k] = (char)tolower((unsigned char)email[k]);
    low[k] = '\0';
    json_array_foreach(json_object_get(statuses, low), i, st)
    {
        const char *state = json_string_value(json_object_get(st, "status"));
        int64_t at;

        if (json_integer_value(json_object_get(st, "subscriptionId")) == sid && state != NULL &&
            strcmp(state, HS_STATUS_UNSUBSCRIBED) == 0 &&
            hs_parse_time(json_string_value(json_object_get(st, "timestamp")), &at) == 0 &&
            at > collected_at)
            return 1;
    }
    return 0;
}
