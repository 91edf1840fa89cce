/* The kept answer of an HTTP ingest event (see http_ingest_answer.h). */
#include "http_ingest_answer.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

int ingest_answer_key(const char *origin, const char *event_id, char *out, size_t size)
{
    int n = snprintf(out, size, "answer:%s:%s", origin, event_id);

    if (n < 0 || (size_t)n >= size) {
        if (size > 0)
            out[0] = '\0';
        return -1;
    }
    return 0;
}

char *ingest_answer_encode(const char *result, const char *reason)
{
    json_t *doc = json_pack("{s:s}", "result", result);
    char *text;

    if (doc == NULL)
        return NULL;
    if (reason != NULL && reason[0] != '\0' &&
        json_object_set_new(doc, "reason", json_string(reason)) != 0) {
        json_decref(doc);
        return NULL;
    }
    text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}

int ingest_answer_decode(const char *text, char *result, size_t rsize, char *reason,
                         size_t reason_size)
{
    json_t *doc = text != NULL ? json_loads(text, 0, NULL) : NULL;
    const char *r = json_string_value(json_object_get(doc, "result"));
    const char *why = json_string_value(json_object_get(doc, "reason"));
    int rc = -1;

    if (r == NULL || strlen(r) >= rsize)
        goto out;
    snprintf(result, rsize, "%s", r);
    snprintf(reason, reason_size, "%s", why != NULL ? why : "");
    rc = 0;
out:
    json_decref(doc);
    return rc;
}
