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
#include "timefmt.h"

static const char *result_key(json_t *result, const char *id_property)
{
    return json_string_value(json_object_get(json_object_get(result, "properties"), id_property));
}

int hs_parse_batch_result(const char *body, const char *id_property, const char *const *keys,
                          size_t n, struct hs_outcome *out)
{
    json_t *root = body ? json_loads(body, 0, NULL) : NULL;
    json_t *results = json_object_get(root, "results");
    json_t *errors = json_object_get(root, "errors");
    size_t i, k;
    json_t *r, *e;

    if (!json_is_array(results)) {
        json_decref(root);
        return -1;
    }
    json_array_foreach(results, i, r)
    {
        const char *key = result_key(r, id_property);
        const char *id = json_string_value(json_object_get(r, "id"));

        if (key == NULL || id == NULL)
            continue;
        for (k = 0; k < n; k++) {
            if (keys[k] != NULL && strcmp(keys[k], key) == 0) {
                out[k].state = HS_OK;
                snprintf(out[k].id, sizeof(out[k].id), "%s", id);
            }
        }
    }
    /* 207: each error names the inputs it is about in context.ids. */
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
    json_decref(root);
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

int hs_parse_status_write(const char *body, json_t *inputs, struct hs_outcome *out)
{
    json_t *root = body ? json_loads(body, 0, NULL) : NULL;
    json_t *results = json_object_get(root, "results");
    size_t i, k;
    json_t *r, *e, *in;

    if (!json_is_array(results)) {
        json_decref(root);
        return -1;
    }
    json_array_foreach(results, i, r)
    {
        const char *email = json_string_value(json_object_get(r, "subscriberIdString"));
        json_int_t sid = json_integer_value(json_object_get(r, "subscriptionId"));

        json_array_foreach(inputs, k, in)
        {
            if (email != NULL &&
                strcasecmp(email, json_string_value(json_object_get(in, "subscriberIdString"))) ==
                    0 &&
                sid == json_integer_value(json_object_get(in, "subscriptionId")))
                out[k].state = HS_OK;
        }
    }
    /* Errors name a subscriber or a subscription in their context. */
    json_array_foreach(json_object_get(root, "errors"), i, e)
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
    json_decref(root);
    return 0;
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
