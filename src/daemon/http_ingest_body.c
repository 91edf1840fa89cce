#include "http_ingest_body.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Field names a spool parser message may be about without saying
 * `field "NAME"`, with the words that give them away. */
static const struct {
    const char *words;
    const char *field;
} field_hints[] = {
    {"consent purpose", "purpose"},
    {"consent channel", "channel"},
    {"consent status", "status"},
    {"segment status", "status"},
    {"legal_basis", "legal_basis"},
    {"delta", "delta"},
    {"points reason", "reason"},
    {"expires_at", "expires_at"},
    {"event type", "type"},
    {"profile attribute", "attributes"},
    {"attributes per profile", "attributes"},
    {"unknown field", NULL}, /* named in quotes: handled below */
};

void ingest_body_field_of(const char *reason, char *out, size_t size)
{
    const char *p;

    out[0] = '\0';
    if (size == 0 || reason == NULL)
        return;
    p = strstr(reason, "field \"");
    if (p != NULL) {
        const char *start = p + 7;
        const char *end = strchr(start, '"');
        size_t n = end != NULL ? (size_t)(end - start) : 0;
        if (n > 0 && n < size) {
            memcpy(out, start, n);
            out[n] = '\0';
        }
        return;
    }
    for (size_t i = 0; i < sizeof(field_hints) / sizeof(field_hints[0]); i++) {
        if (field_hints[i].field != NULL && strstr(reason, field_hints[i].words) != NULL) {
            snprintf(out, size, "%s", field_hints[i].field);
            return;
        }
    }
}

/* The items array is sized once, before the first event: a spool_event
 * holds pointers into itself (field, idem key), so it must never move. */
static int reserve(struct ingest_body *b, size_t *cap, size_t want, struct error *err)
{
    if (want > INGEST_BODY_MAX_EVENTS)
        return error_set(err, "more than %d events in one request", INGEST_BODY_MAX_EVENTS);
    b->items = calloc(want ? want : 1, sizeof(*b->items));
    if (b->items == NULL)
        return error_set(err, "out of memory");
    *cap = want ? want : 1;
    return 0;
}

static int grow(struct ingest_body *b, size_t *cap, struct error *err)
{
    if (b->n < *cap)
        return 0;
    return error_set(err, "more than %d events in one request", INGEST_BODY_MAX_EVENTS);
}

/* One event through the spool parser into a new item: its text (v NULL),
 * or v, an element of the body already parsed (its reference taken by the
 * item), whose text is needed only when it is refused: the dead letter
 * keeps it, and its key is the text's hash. text, when given with v, is
 * that text as sent; else v is printed compact (what the parser was given
 * before it took parsed values). */
static int add_event(struct ingest_body *b, size_t *cap, json_t *v, const char *text, size_t len,
                     const struct spool_vocab *vocab, const char *origin, const char *source_ref,
                     struct error *err)
{
    struct ingest_item *it;
    struct error perr = {""};
    int rc;

    if (grow(b, cap, err) != 0)
        return -1;
    it = &b->items[b->n++];
    memset(it, 0, sizeof(*it));
    if (v != NULL)
        rc = spool_event_from_json(json_incref(v), vocab, origin, source_ref, &it->ev, &perr);
    else
        rc = spool_event_parse(text, len, vocab, origin, source_ref, &it->ev, &perr);
    if (rc == 0) {
        it->ok = 1;
    } else {
        snprintf(it->reason, sizeof(it->reason), "%s", perr.msg);
        ingest_body_field_of(perr.msg, it->field, sizeof(it->field));
        if (text != NULL)
            it->text = strndup(text, len);
        else
            it->text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (it->text == NULL)
            return error_set(err, "out of memory");
    }
    if (it->ev.root != NULL && json_is_object(it->ev.root)) {
        const char *t = json_string_value(json_object_get(it->ev.root, "type"));
        if (t != NULL)
            snprintf(it->type, sizeof(it->type), "%s", t);
    }
    return 0;
}

static int parse_ndjson(const char *body, size_t len, const struct spool_vocab *vocab,
                        const char *origin, const char *source_ref, struct ingest_body *b,
                        size_t *cap, struct error *err)
{
    size_t pos = 0, lines = 1;

    for (size_t i = 0; i < len; i++)
        lines += body[i] == '\n';
    if (reserve(b, cap, lines < INGEST_BODY_MAX_EVENTS ? lines : INGEST_BODY_MAX_EVENTS, err) != 0)
        return -1;
    while (pos < len) {
        const char *nl = memchr(body + pos, '\n', len - pos);
        size_t end = nl != NULL ? (size_t)(nl - body) : len;
        size_t n = end - pos;
        const char *line = body + pos;
        size_t blank = 0;

        if (n > 0 && line[n - 1] == '\r')
            n--;
        while (blank < n && (line[blank] == ' ' || line[blank] == '\t'))
            blank++;
        if (blank < n && add_event(b, cap, NULL, line, n, vocab, origin, source_ref, err) != 0)
            return -1;
        pos = end + 1;
    }
    return 0;
}

static int parse_json(const char *body, size_t len, const struct spool_vocab *vocab,
                      const char *origin, const char *source_ref, struct ingest_body *b,
                      size_t *cap, struct error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    size_t i;
    json_t *v;
    int rc = -1;

    if (root == NULL)
        return error_set(err, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column,
                         jerr.text);
    if (json_is_object(root)) {
        if (reserve(b, cap, 1, err) == 0)
            rc = add_event(b, cap, root, body, len, vocab, origin, source_ref, err);
        goto out;
    }
    if (!json_is_array(root)) {
        error_set(err, "the body must be an event object or an array of events");
        goto out;
    }
    if (reserve(b, cap, json_array_size(root), err) != 0)
        goto out;
    /* Each element goes through the same parser as a spool line, parsed
     * once with the body (not printed and parsed again: that was a third
     * of the request threads' time, bench/http_ingest.sh). */
    json_array_foreach(root, i, v)
    {
        if (add_event(b, cap, v, NULL, 0, vocab, origin, source_ref, err) != 0)
            goto out;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

int ingest_body_parse(const char *body, size_t len, enum ingest_body_type type,
                      const struct spool_vocab *vocab, const char *origin, const char *source_ref,
                      struct ingest_body *out, struct error *err)
{
    size_t cap = 0;
    int rc;

    out->n = 0;
    out->items = NULL;
    if (type == INGEST_BODY_NDJSON)
        rc = parse_ndjson(body, len, vocab, origin, source_ref, out, &cap, err);
    else
        rc = parse_json(body, len, vocab, origin, source_ref, out, &cap, err);
    if (rc == 0 && out->n == 0)
        rc = error_set(err, "no event in the body");
    if (rc != 0)
        ingest_body_release(out);
    return rc;
}

void ingest_body_release(struct ingest_body *b)
{
    for (size_t i = 0; i < b->n; i++) {
        spool_event_release(&b->items[i].ev);
        free(b->items[i].text);
    }
    free(b->items);
    b->items = NULL;
    b->n = 0;
}
