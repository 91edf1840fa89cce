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
