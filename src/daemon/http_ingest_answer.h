/* What the HTTP ingest keeps of its answer to an event (issue 16), so that
 * a replayed request gets the answer the first one got: the key it is kept
 * under and its text. Pure: no SQLite (state/store_answer.c keeps it), no
 * sockets. */
#ifndef CRMSYNC_HTTP_INGEST_ANSWER_H
#define CRMSYNC_HTTP_INGEST_ANSWER_H

#include <stddef.h>

/* The event's own key in idem_keys: "answer:<origin>:<event id>", apart
 * from its changes' keys ("<origin>:<event id>[#attribute]"). Returns -1
 * when it does not fit in size (nothing is then kept for the event). */
int ingest_answer_key(const char *origin, const char *event_id, char *out, size_t size);

/* {"result": result, "reason": reason} as compact JSON, malloc'd; NULL on
 * allocation failure. reason "" is left out. */
char *ingest_answer_encode(const char *result, const char *reason);

/* The reverse. Returns -1 when text is not such an answer. */
int ingest_answer_decode(const char *text, char *result, size_t rsize, char *reason,
                         size_t reason_size);

#endif
