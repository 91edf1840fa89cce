/* UTF-8 as jansson checks it (RFC 3629), shared by the JSON reader
 * (jscan.c) and writer (jdump.c) so that both accept what jansson
 * accepts. */
#ifndef CRMSYNC_UTF8_H
#define CRMSYNC_UTF8_H

#include <stddef.h>

/* The length of the valid sequence of 2 to 4 bytes at p (before end): no
 * overlong forms, no surrogates, nothing past U+10FFFF; 0 when it is not
 * one (an ASCII byte included). */
size_t utf8_seq_len(const unsigned char *p, const unsigned char *end);

#endif
