/* Helpers every file of the store uses (issue 18: split out of store.c, so
 * that the audit and apply files need not call back into it): the SQL
 * error text, SHA-256 in hex, the salted member hash, the monotonic clock
 * that time budgets are measured with. */
#include "store_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hash.h"

int64_t store_mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int store_sql_error(struct store *st, struct error *err, const char *what)
{
    return error_set(err, "state: %s: %s", what, st->db ? sqlite3_errmsg(st->db) : "no database");
}

void store_sha256_hex(const void *data, size_t len, char out[65])
{
    sha256_hex(data, len, out);
}

/* 0..15 for a lowercase or uppercase hex digit, -1 otherwise. */
static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int store_hash_bytes(const char *hex, unsigned char out[32])
{
    if (hex == NULL || strlen(hex) != 64)
        return -1;
    for (size_t i = 0; i < 32; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

int store_bind_hash(sqlite3_stmt *q, int i, const char *hex)
{
    unsigned char b[32];

    if (store_hash_bytes(hex, b) != 0)
        return sqlite3_bind_text(q, i, hex, -1, SQLITE_TRANSIENT);
    return sqlite3_bind_blob(q, i, b, sizeof(b), SQLITE_TRANSIENT);
}

void store_member_hash(const struct store *st, const char *member_key, char out[65])
{
    char buf[512];
    size_t klen = strlen(member_key);

    if (klen + 65 <= sizeof(buf)) {
        memcpy(buf, st->salt, 64);
        buf[64] = '|';
        memcpy(buf + 65, member_key, klen);
        store_sha256_hex(buf, 65 + klen, out);
    } else {
        char *big = malloc(65 + klen);
        if (big == NULL) {
            out[0] = '\0';
            return;
        }
        memcpy(big, st->salt, 64);
        big[64] = '|';
        memcpy(big + 65, member_key, klen);
        store_sha256_hex(big, 65 + klen, out);
        free(big);
    }
}
