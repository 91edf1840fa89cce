#ifndef CRMSYNC_HASH_H
#define CRMSYNC_HASH_H

#include <stddef.h>

/* Hex SHA-256 of data into out (65 bytes with the NUL). */
void sha256_hex(const void *data, size_t len, char out[65]);

#endif
