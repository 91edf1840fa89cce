#ifndef CRMSYNC_HASH_H
#define CRMSYNC_HASH_H

#include <stddef.h>

/* Hex SHA-256 of data into out (65 bytes with the NUL). */
void sha256_hex(const void *data, size_t len, char out[65]);

/* OpenSSL's SHA-256, fetched once for the process (an EVP_MD *), for the
 * callers that digest in parts with EVP_DigestInit_ex: EVP_sha256() there
 * looks the implementation up again at every digest (1.46 against 0.58 us
 * for a 100-byte digest here). */
struct evp_md_st;
const struct evp_md_st *sha256_md(void);

#endif
