#include "hash.h"

#include <openssl/evp.h>
#include <pthread.h>

/* The engine hashes every record it considers: EVP_sha256() makes OpenSSL 3
 * look the implementation up again on every digest (a third of the call,
 * callgrind on the push benchmark). Fetched once, kept for the process;
 * thread-safe (the HTTP ingest hashes on its own threads). */
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *md_sha256;

static void fetch_sha256(void)
{
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

const struct evp_md_st *sha256_md(void)
{
    pthread_once(&md_once, fetch_sha256);
    return md_sha256 != NULL ? md_sha256 : EVP_sha256();
}

void sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    static const char hex[] = "0123456789abcdef";

    EVP_Digest(data, len, md, &mdlen, sha256_md(), NULL);
    for (unsigned int i = 0; i < 32 && i < mdlen; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}
