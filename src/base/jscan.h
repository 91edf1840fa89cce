/* A JSON reader that builds nothing (issue 17): the caller walks one text
 * member by member and element by element, reads the few strings and
 * integers it needs into its own buffers and skips the rest. Every byte is
 * checked as it is passed (RFC 8259 grammar, UTF-8, escapes and surrogate
 * pairs, no \u0000, nesting at most 2,048 deep as jansson's parser), so a
 * caller that walks to jscan_end() has read a valid document: an answer that
 * jansson would refuse is refused here too (except numbers beyond the
 * range of a double or an integer that are not read: they are valid JSON).
 *
 * Why: parsing a HubSpot batch answer with json_loads() made an allocated
 * value of every property of every result to read two strings of each, a
 * third of the daemon's CPU in a bulk push went to that and to malloc.
 *
 * Calls return 1 when they found what was asked, 0 when a container ended
 * (jscan_member, jscan_element), -1 when the text is malformed (then every
 * later call returns -1 too). Readers of one value (jscan_string,
 * jscan_int) return 2 when the value is of another type, and skip it. */
#ifndef CRMSYNC_JSCAN_H
#define CRMSYNC_JSCAN_H

#include <stddef.h>

struct jscan {
    const char *p, *end;
    int failed;
    int fresh; /* just after '{' or '[': no ',' before the first item */
    int depth;
};

/* Starts reading text (len bytes, or up to its NUL when len is -1). */
void jscan_init(struct jscan *s, const char *text, long len);
/* 1 when the next value is an object (now inside it), 2 when it is another
 * value (skipped), -1 malformed. jscan_array likewise. */
int jscan_object(struct jscan *s);
int jscan_array(struct jscan *s);
/* Inside an object: 1 with the next member's name in key (cut to keysize -
 * 1 bytes; a cut name is returned as "" so that it matches nothing), the
 * reader then at its value, which the caller reads or skips; 0 when the
 * object ended; -1 malformed. */
int jscan_member(struct jscan *s, char *key, size_t keysize);
/* Inside an array: 1 at the next element, 0 when the array ended. */
int jscan_element(struct jscan *s);
/* A string value into out (NUL-terminated, escapes decoded): 1 read, 3
 * read but cut to outsize - 1 bytes, 2 not a string (skipped), -1. */
int jscan_string(struct jscan *s, char *out, size_t outsize);
/* An integer value (no fraction, no exponent, within long long): 1 read, 2
 * another value (skipped), -1 malformed or out of range. */
int jscan_int(struct jscan *s, long long *v);
/* Skips (and checks) one value: 1 or -1. */
int jscan_skip(struct jscan *s);
/* 1 when nothing but white space is left, else -1. */
int jscan_end(struct jscan *s);

/* One member jscan_fields() reads: an integer into *num when num is set
 * (another type counts as 0), else a string into str (size bytes); found
 * says whether the string was read (a cut one only with cut_ok). A name
 * repeated in the object: its last value is kept, as jansson keeps it. */
struct jscan_field {
    const char *name;
    char *str;
    size_t size;
    long long *num;
    int cut_ok;
    int found;
};

/* Reads the next value as an object of flat members: those named in f
 * (n of them) are read as above, the rest skipped. 1 read, 2 not an object
 * (skipped), -1 malformed. */
int jscan_fields(struct jscan *s, struct jscan_field *f, size_t n);

#endif
