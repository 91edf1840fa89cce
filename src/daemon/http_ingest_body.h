/* The body of POST /v1/events: the spool event format (docs/spool-format.md)
 * as one JSON object, a JSON array of objects, or JSON lines
 * (application/x-ndjson). Parsing is pure: bytes in, one item per event out,
 * each either a parsed event (through the spool's own parser,
 * connectors/spool_event.c) or the reason it is malformed with the field
 * named. No sockets, no SQLite, no authentication. */
#ifndef CRMSYNC_HTTP_INGEST_BODY_H
#define CRMSYNC_HTTP_INGEST_BODY_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "spool_event.h"

enum ingest_body_type {
    INGEST_BODY_JSON = 0, /* application/json: an object or an array */
    INGEST_BODY_NDJSON,   /* application/x-ndjson: one object per line */
};

struct ingest_item {
    int ok; /* 1: ev holds the parsed event; 0: malformed (reason, field) */
    struct spool_event ev;
    char type[16];  /* the event's "type" when readable ("consent", ...), else "" */
    char field[32]; /* malformed: the offending field, "" when it is the whole event */
    char *text;     /* malformed: the event's text (for the dead letter), malloc'd */
    char reason[256];
    /* ok: store_event_hash() of its changes and store_change_hash() of
     * the first, for the kept answer; taken on the request thread
     * (src/http_ingest.c), not on the loop. */
    int64_t hash, change_hash;
};

struct ingest_body {
    size_t n;
    struct ingest_item *items;
};

/* Most events in one body: a bound besides the size cap. */
#define INGEST_BODY_MAX_EVENTS 1000

/* Parses body. origin and source_ref are handed to spool_event_parse and
 * must outlive out. Returns 0 with every event in out (good and malformed),
 * or -1 when the body as a whole is unreadable (not JSON, not an object or
 * array, empty, too many events): err says why and out is empty. */
int ingest_body_parse(const char *body, size_t len, enum ingest_body_type type,
                      const struct spool_vocab *vocab, const char *origin, const char *source_ref,
                      struct ingest_body *out, struct error *err);
void ingest_body_release(struct ingest_body *b);

/* The field a spool parser message is about ("delta" for `field "delta"
 * must be an integer`), "" when none can be told. */
void ingest_body_field_of(const char *reason, char *out, size_t size);

#endif
