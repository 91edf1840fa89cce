/* json_dumps(value, JSON_COMPACT), written without jansson's dump (issue 17):
 * the same bytes for the values request bodies hold (objects in their
 * order, arrays, strings, integers, true, false, null). jansson's dump
 * decodes every code point of every string and hands the text to a
 * callback piece by piece: the bodies of a HubSpot push (contacts upsert,
 * statuses write) cost 6.9 % of the daemon's instructions so. Strings are
 * checked as jansson checks them (valid UTF-8); anything else (a real, a
 * value that is not valid) is left to json_dumps() itself, so the answer
 * is always what json_dumps() gives. */
#ifndef CRMSYNC_JDUMP_H
#define CRMSYNC_JDUMP_H

#include <jansson.h>
#include <stddef.h>

struct strbuf;

/* The compact JSON text of value (free() it), or NULL where json_dumps()
 * gives NULL. */
char *jdump_compact(const json_t *value);

/* For a body written piece by piece (sf_upsert_body): appends any value
 * (a string, a number, an object...) as json_dumps(JSON_COMPACT |
 * JSON_ENCODE_ANY) writes it, and s (len bytes) as a JSON string. Where
 * json_dumps() would give NULL (a string that is not UTF-8), b is failed:
 * the body is not sent. */
void jdump_append(struct strbuf *b, const json_t *value);
void jdump_append_string(struct strbuf *b, const char *s, size_t len);

#endif
