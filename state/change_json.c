#include "change_json.h"

#include <string.h>

#include "timefmt.h"

char *canonical_dumps(const json_t *value)
{
    return json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
}

static void set_opt_string(json_t *obj, const char *key, const char *value)
{
    if (value != NULL)
        json_object_set_new(obj, key, json_string(value));
}

char *consent_value_to_json(const struct consent_value *v)
{
    char ts[40];
    json_t *o = json_object();
    char *text = NULL;

    if (o == NULL)
        return NULL;
    json_object_set_new(o, "status", json_string(consent_status_name(v->status)));
    json_object_set_new(o, "collected_at",
                        json_string(timefmt_format_rfc3339(v->collected_at, ts, sizeof(ts))));
    set_opt_string(o, "legal_basis", v->legal_basis);
    set_opt_string(o, "source", v->source);
    set_opt_string(o, "proof", v->proof);
    text = canonical_dumps(o);
    json_decref(o);
    return text;
}

char *points_txn_to_json(const struct points_txn *t)
{
    char ts[40];
    json_t *o = json_object();
    char *text = NULL;

    if (o == NULL)
        return NULL;
    json_object_set_new(o, "txn_id", json_string(t->txn_id));
    json_object_set_new(o, "delta", json_integer((json_int_t)t->delta));
    json_object_set_new(o, "reason", json_string(t->reason));
    json_object_set_new(o, "occurred_at",
                        json_string(timefmt_format_rfc3339(t->occurred_at, ts, sizeof(ts))));
    if (t->expires_at != 0)
        json_object_set_new(o, "expires_at",
                            json_string(timefmt_format_rfc3339(t->expires_at, ts, sizeof(ts))));
    text = canonical_dumps(o);
    json_decref(o);
    return text;
}

static const char *opt_string(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int consent_value_from_json(const char *text, struct consent_value *out, json_t **holder)
{
    json_t *o = json_loads(text, 0, NULL);
    const char *status, *collected;

    *holder = NULL;
    memset(out, 0, sizeof(*out));
    if (!json_is_object(o))
        goto fail;
    status = opt_string(o, "status");
    collected = opt_string(o, "collected_at");
    if (status == NULL || consent_status_parse(status, &out->status) != 0 || collected == NULL ||
        timefmt_parse_rfc3339(collected, &out->collected_at) != 0)
        goto fail;
    out->legal_basis = opt_string(o, "legal_basis");
    out->source = opt_string(o, "source");
    out->proof = opt_string(o, "proof");
    *holder = o;
    return 0;
fail:
    json_decref(o);
    return -1;
}
