/* The spool event format (docs/spool-format.md): one JSON object per line.
 * Parsing is pure: a line in, canonical changes out, or an error saying what
 * is wrong with it. No files, no SQLite. */
#ifndef CRMSYNC_SPOOL_EVENT_H
#define CRMSYNC_SPOOL_EVENT_H

#include <jansson.h>
#include <stddef.h>

#include "change.h"
#include "error.h"

/* A profile event may carry several attributes; each becomes one change. */
#define SPOOL_MAX_CHANGES 8
#define SPOOL_MAX_KEY 128

/* What the shop may send: configured per spool connector. */
struct spool_vocab {
    const char *const *purposes;   /* NULL-terminated */
    const char *const *channels;   /* NULL-terminated */
    const char *const *attributes; /* NULL-terminated profile attributes allowed */
};

struct spool_event {
    json_t *root; /* owns the strings the changes borrow */
    size_t n;
    struct change changes[SPOOL_MAX_CHANGES];
    char *values[SPOOL_MAX_CHANGES]; /* malloc'd canonical JSON */
    char fields[SPOOL_MAX_CHANGES][SPOOL_MAX_KEY + 64];
    char idem[SPOOL_MAX_CHANGES][SPOOL_MAX_KEY + 96];
};

/* Parses one line (without its newline). origin is the connector instance;
 * source_ref ("file:line") is copied by pointer into each change. On error
 * returns -1 with the reason in err (no position: the caller adds it). */
int spool_event_parse(const char *line, size_t len, const struct spool_vocab *vocab,
                      const char *origin, const char *source_ref, struct spool_event *ev,
                      struct error *err);
/* The same for a value already parsed (an element of an HTTP ingest
 * body: parsed once with the body, not printed and parsed again). Takes
 * root's reference, which ev holds until spool_event_release, also on
 * error. */
int spool_event_from_json(json_t *root, const struct spool_vocab *vocab, const char *origin,
                          const char *source_ref, struct spool_event *ev, struct error *err);
void spool_event_release(struct spool_event *ev);

/* The default vocabulary (DESIGN.md §2). */
extern const struct spool_vocab spool_default_vocab;

#endif
