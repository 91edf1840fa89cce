#include "spool_event.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "change_json.h"
#include "timefmt.h"

static const char *const default_purposes[] = {"marketing", "loyalty_programme", "profiling", NULL};
static const char *const default_channels[] = {"email", "sms", "phone", "post", NULL};
static const char *const default_attributes[] = {"email",     "phone",    "first_name",
                                                 "last_name", "birthday", NULL};

const struct spool_vocab spool_default_vocab = {default_purposes, default_channels,
                                                default_attributes};

/* A points delta beyond this is a typo or an attack, not a purchase. */
#define POINTS_ABS_MAX 1000000000LL

static const char *const common_keys[] = {"event_id", "type", "member", "occurred_at", NULL};
static const char *const consent_keys[] = {"purpose",     "channel", "status", "source",
                                           "legal_basis", "proof",   NULL};
static const char *const points_keys[] = {"txn_id", "delta", "reason", "expires_at", NULL};
static const char *const segment_keys[] = {"segment", "status", NULL};
static const char *const profile_keys[] = {"attributes", NULL};
static const char *const erasure_keys[] = {NULL};

static int in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
        if (strcmp(list[i], s) == 0)
            return 1;
    }
    return 0;
}

/* Rejects keys the type does not define: a typo must not pass silently. */
static int check_keys(json_t *root, const char *const *type_keys, const char *type,
                      struct error *err)
{
    const char *key;
    json_t *v;

    json_object_foreach(root, key, v)
    {
        (void)v;
        if (!in_list(common_keys, key) && !in_list(type_keys, key))
            return error_set(err, "unknown field \"%s\" for a %s event", key, type);
    }
    return 0;
}

/* An identifier: printable ASCII without spaces, 1..SPOOL_MAX_KEY bytes. */
static int valid_ident(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > SPOOL_MAX_KEY)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return 0;
    }
    return 1;
}

static int get_string(json_t *root, const char *key, int required, const char **out,
                      struct error *err)
{
    json_t *v = json_object_get(root, key);

    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        if (required)
            return error_set(err, "missing required field \"%s\"", key);
        return 0;
    }
    if (!json_is_string(v))
        return error_set(err, "field \"%s\" must be a string", key);
    *out = json_string_value(v);
    return 0;
}

static int get_ident(json_t *root, const char *key, const char **out, struct error *err)
{
    if (get_string(root, key, 1, out, err) != 0)
        return -1;
    if (!valid_ident(*out))
        return error_set(err, "field \"%s\" must be 1..%d printable characters without spaces", key,
                         SPOOL_MAX_KEY);
    return 0;
}

static int get_time(json_t *root, const char *key, int required, int64_t *out, struct error *err)
{
    const char *s;

    *out = 0;
    if (get_string(root, key, required, &s, err) != 0)
        return -1;
    if (s == NULL)
        return 0;
    if (timefmt_parse_rfc3339(s, out) != 0)
        return error_set(err, "field \"%s\" is not an RFC 3339 timestamp (1970..9999): \"%.40s\"",
                         key, s);
    return 0;
}

static struct change *next_change(struct spool_event *ev, const char *origin, const char *member,
                                  enum change_kind kind, int64_t occurred_at, const char *event_id,
                                  const char *suffix, const char *source_ref)
{
    size_t i = ev->n++;
    struct change *c = &ev->changes[i];

    memset(c, 0, sizeof(*c));
    c->origin = origin;
    c->member_key = member;
    c->kind = kind;
    c->occurred_at = occurred_at;
    c->source_ref = source_ref;
    /* The shop's event id is the idempotency key; a profile event yields one
     * change per attribute, told apart by the suffix. */
    snprintf(ev->idem[i], sizeof(ev->idem[i]), "%s:%s%s%s", origin, event_id, suffix ? "#" : "",
             suffix ? suffix : "");
    c->idem_key = ev->idem[i];
    c->field = ev->fields[i];
    return c;
}

static int parse_consent(json_t *root, const struct spool_vocab *vocab, struct change *c,
                         char *field, size_t fsize, struct error *err)
{
    const char *purpose, *channel, *status;

    if (get_string(root, "purpose", 1, &purpose, err) != 0 ||
        get_string(root, "channel", 1, &channel, err) != 0 ||
        get_string(root, "status", 1, &status, err) != 0 ||
        get_string(root, "source", 0, &c->consent.source, err) != 0 ||
        get_string(root, "legal_basis", 0, &c->consent.legal_basis, err) != 0 ||
        get_string(root, "proof", 0, &c->consent.proof, err) != 0)
        return -1;
    if (!in_list(vocab->purposes, purpose))
        return error_set(err, "unknown consent purpose \"%.64s\"", purpose);
    if (!in_list(vocab->channels, channel))
        return error_set(err, "unknown consent channel \"%.64s\"", channel);
    if (consent_status_parse(status, &c->consent.status) != 0)
        return error_set(err, "consent status must be granted, denied or unknown, not \"%.32s\"",
                         status);
    if (c->consent.status == CONSENT_GRANTED &&
        (c->consent.legal_basis == NULL || c->consent.source == NULL))
        return error_set(err, "a granted consent needs \"legal_basis\" and \"source\"");
    c->consent.collected_at = c->occurred_at;
    snprintf(field, fsize, "consent/%s/%s", purpose, channel);
    return 0;
}

static int parse_points(json_t *root, struct change *c, char *field, size_t fsize,
                        struct error *err)
{
    json_t *delta = json_object_get(root, "delta");
    struct points_txn *t = &c->points;

    if (get_ident(root, "txn_id", &t->txn_id, err) != 0 ||
        get_string(root, "reason", 1, &t->reason, err) != 0 ||
        get_time(root, "expires_at", 0, &t->expires_at, err) != 0)
        return -1;
    if (!json_is_integer(delta))
        return error_set(err, "field \"delta\" must be an integer");
    t->delta = (int64_t)json_integer_value(delta);
    if (t->delta == 0 || t->delta > POINTS_ABS_MAX || t->delta < -POINTS_ABS_MAX)
        return error_set(err, "points delta %" PRId64 " is zero or beyond +/-%lld", t->delta,
                         POINTS_ABS_MAX);
    if (strcmp(t->reason, "earn") == 0) {
        if (t->delta < 0)
            return error_set(err, "an earn must have a positive delta, not %" PRId64, t->delta);
    } else if (strcmp(t->reason, "redeem") == 0 || strcmp(t->reason, "expire") == 0) {
        if (t->delta > 0)
            return error_set(err, "a %s must have a negative delta, not %" PRId64, t->reason,
                             t->delta);
    } else if (strcmp(t->reason, "adjust") != 0) {
        return error_set(err, "points reason must be earn, redeem, expire or adjust, not \"%.32s\"",
                         t->reason);
    }
    if (t->expires_at != 0 && t->expires_at <= c->occurred_at)
        return error_set(err, "expires_at is not after occurred_at");
    t->occurred_at = c->occurred_at;
    snprintf(field, fsize, "points/%s", t->txn_id);
    return 0;
}

static int parse_segment(json_t *root, struct change *c, char **value, char *field, size_t fsize,
                         struct error *err)
{
    const char *segment, *status;

    if (get_ident(root, "segment", &segment, err) != 0 ||
        get_string(root, "status", 1, &status, err) != 0)
        return -1;
    if (strcmp(status, "in") != 0 && strcmp(status, "out") != 0)
        return error_set(err, "segment status must be in or out, not \"%.32s\"", status);
    snprintf(field, fsize, "segment/%s", segment);
    *value = segment_value_to_json(status, c->occurred_at);
    return *value ? 0 : error_set(err, "out of memory");
}

static int parse_profile(json_t *root, const struct spool_vocab *vocab, struct spool_event *ev,
                         const char *origin, const char *member, int64_t occurred_at,
                         const char *event_id, const char *source_ref, struct error *err)
{
    json_t *attrs = json_object_get(root, "attributes");
    const char *key;
    json_t *v;

    if (!json_is_object(attrs) || json_object_size(attrs) == 0)
        return error_set(err, "field \"attributes\" must be a non-empty object");
    if (json_object_size(attrs) > SPOOL_MAX_CHANGES)
        return error_set(err, "at most %d attributes per profile event", SPOOL_MAX_CHANGES);
    json_object_foreach(attrs, key, v)
    {
        struct change *c;
        size_t i;

        if (!in_list(vocab->attributes, key))
            return error_set(err, "profile attribute \"%.64s\" is not configured", key);
        if (!json_is_string(v) && !json_is_null(v))
            return error_set(err, "profile attribute \"%s\" must be a string or null", key);
        if (json_is_string(v) && json_string_length(v) > 256)
            return error_set(err, "profile attribute \"%s\" is longer than 256 bytes", key);
        i = ev->n;
        c = next_change(ev, origin, member, CHANGE_PROFILE, occurred_at, event_id, key, source_ref);
        snprintf(ev->fields[i], sizeof(ev->fields[i]), "profile/%s", key);
        ev->values[i] = json_is_string(v)
                            ? profile_value_to_json(json_string_value(v), json_string_length(v))
                            : profile_value_to_json(NULL, 0);
        if (ev->values[i] == NULL)
            return error_set(err, "out of memory");
        c->value_json = ev->values[i];
    }
    return 0;
}

int spool_event_parse(const char *line, size_t len, const struct spool_vocab *vocab,
                      const char *origin, const char *source_ref, struct spool_event *ev,
                      struct error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);

    if (root == NULL) {
        memset(ev, 0, sizeof(*ev));
        return error_set(err, "invalid JSON at column %d: %s", jerr.column, jerr.text);
    }
    return spool_event_from_json(root, vocab, origin, source_ref, ev, err);
}

int spool_event_from_json(json_t *root, const struct spool_vocab *vocab, const char *origin,
                          const char *source_ref, struct spool_event *ev, struct error *err)
{
    const char *event_id, *type, *member;
    int64_t occurred_at;
    struct change *c;
    size_t i;

    memset(ev, 0, sizeof(*ev));
    ev->root = root;
    if (!json_is_object(ev->root))
        return error_set(err, "an event must be a JSON object");
    if (get_ident(ev->root, "event_id", &event_id, err) != 0 ||
        get_string(ev->root, "type", 1, &type, err) != 0 ||
        get_ident(ev->root, "member", &member, err) != 0 ||
        get_time(ev->root, "occurred_at", 1, &occurred_at, err) != 0)
        return -1;

    if (strcmp(type, "profile") == 0) {
        if (check_keys(ev->root, profile_keys, type, err) != 0)
            return -1;
        return parse_profile(ev->root, vocab, ev, origin, member, occurred_at, event_id, source_ref,
                             err);
    }
    i = ev->n;
    c = next_change(ev, origin, member, CHANGE_CONSENT, occurred_at, event_id, NULL, source_ref);
    if (strcmp(type, "consent") == 0) {
        if (check_keys(ev->root, consent_keys, type, err) != 0 ||
            parse_consent(ev->root, vocab, c, ev->fields[i], sizeof(ev->fields[i]), err) != 0)
            return -1;
        ev->values[i] = consent_value_to_json(&c->consent);
    } else if (strcmp(type, "points") == 0) {
        c->kind = CHANGE_POINTS;
        if (check_keys(ev->root, points_keys, type, err) != 0 ||
            parse_points(ev->root, c, ev->fields[i], sizeof(ev->fields[i]), err) != 0)
            return -1;
        ev->values[i] = points_txn_to_json(&c->points);
    } else if (strcmp(type, "segment") == 0) {
        c->kind = CHANGE_SEGMENT;
        if (check_keys(ev->root, segment_keys, type, err) != 0 ||
            parse_segment(ev->root, c, &ev->values[i], ev->fields[i], sizeof(ev->fields[i]), err) !=
                0)
            return -1;
    } else if (strcmp(type, "erasure") == 0) {
        c->kind = CHANGE_ERASE;
        if (check_keys(ev->root, erasure_keys, type, err) != 0)
            return -1;
        snprintf(ev->fields[i], sizeof(ev->fields[i]), "erase");
        ev->values[i] = strdup("{}");
    } else {
        return error_set(
            err, "unknown event type \"%.32s\" (consent, points, segment, profile, erasure)", type);
    }
    if (ev->values[i] == NULL)
        return error_set(err, "out of memory");
    c->value_json = ev->values[i];
    return 0;
}

void spool_event_release(struct spool_event *ev)
{
    for (size_t i = 0; i < SPOOL_MAX_CHANGES; i++) {
        free(ev->values[i]);
        ev->values[i] = NULL;
    }
    json_decref(ev->root);
    ev->root = NULL;
    ev->n = 0;
}
