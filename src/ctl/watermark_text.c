#include "watermark_text.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "timefmt.h"

#define TEXT_MAX 4096

/* Epoch milliseconds between 1973 and 5138: cursors of CRM timestamps.
 * Smaller integers are ids, counts, line numbers. */
#define MS_MIN 100000000000LL
#define MS_MAX 99999999999999LL

static int looks_like_ms(const char *key, json_t *v)
{
    json_int_t n;

    if (!json_is_integer(v) || strcmp(key, "id") == 0 || strcmp(key, "line") == 0)
        return 0;
    n = json_integer_value(v);
    return n >= MS_MIN && n <= MS_MAX;
}

static void add_member(struct strbuf *b, const char *key, json_t *v)
{
    char at[40];

    if (b->len > 0)
        strbuf_add(b, " ");
    strbuf_addf(b, "%s=", key);
    if (looks_like_ms(key, v)) {
        strbuf_add(b, timefmt_format_rfc3339((int64_t)json_integer_value(v), at, sizeof(at)));
    } else if (json_is_string(v)) {
        strbuf_add(b, json_string_value(v));
    } else {
        char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        strbuf_add(b, t != NULL ? t : "?");
        free(t);
    }
}

char *watermark_text(const char *json)
{
    json_t *doc = json != NULL ? json_loads(json, JSON_REJECT_DUPLICATES, NULL) : NULL;
    json_t *file, *line, *v;
    struct strbuf b;
    const char *key;
    char *out = NULL;

    if (!json_is_object(doc)) {
        json_decref(doc);
        return strdup(json != NULL ? json : "");
    }
    strbuf_init(&b, TEXT_MAX);
    file = json_object_get(doc, "file");
    line = json_object_get(doc, "line");
    if (json_is_string(file) && json_is_integer(line))
        strbuf_addf(&b, "%s:%lld", json_string_value(file), (long long)json_integer_value(line));
    json_object_foreach(doc, key, v)
    {
        if ((v == file && json_is_integer(line)) || (v == line && json_is_string(file)))
            continue;
        add_member(&b, key, v);
    }
    out = strbuf_take(&b);
    strbuf_free(&b);
    json_decref(doc);
    /* Too long to be worth reading as text: the JSON itself. */
    return out != NULL ? out : strdup(json);
}
