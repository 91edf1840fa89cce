/* A pull watermark for people (crmsyncctl status; issue 19: "file:line and
 * RFC 3339 times instead of raw watermark JSON"). A watermark is the
 * connector's own JSON (DESIGN.md §3); this reads it without knowing the
 * connector: {"file": F, "line": N} is "F:N", any other member is
 * "key=value" with epoch milliseconds written in RFC 3339. */
#ifndef CRMSYNC_WATERMARK_TEXT_H
#define CRMSYNC_WATERMARK_TEXT_H

/* Returns a malloc'd string (the input copied when it is not a JSON
 * object), or NULL when out of memory. */
char *watermark_text(const char *json);

#endif
