/* Names from outside (spool file names) shown to people: in logs, in
 * reports, in crmsyncctl's text output. A name may hold any byte but '/'
 * and NUL, so a crafted one could forge a line or drive the terminal. */
#ifndef CRMSYNC_TEXTESC_H
#define CRMSYNC_TEXTESC_H

#include <stddef.h>

/* Copies in to out (size > 0, always terminated), each control character
 * (below 0x20, and 0x7f) written as \xNN and a backslash as \\; cut at
 * size. Returns out. */
const char *text_escape(const char *in, char *out, size_t size);

/* 1 when text_escape() would change in. */
int text_needs_escape(const char *in);

/* 1 when in is valid UTF-8 (what JSON strings must be). */
int text_is_utf8(const char *in);

/* Every string in a JSON document (object values, array items, nested)
 * escaped as text_escape() does, in place: for crmsyncctl's text output,
 * which prints names and reasons that came from outside. */
struct json_t;
void text_escape_json(struct json_t *doc);

#endif
