/* Private to state/: the store's struct and its prepared statements. */
#ifndef CRMSYNC_STORE_INTERNAL_H
#define CRMSYNC_STORE_INTERNAL_H

#include <sqlite3.h>

#include "store.h"

struct store {
    sqlite3 *db;
    int readonly;
    int in_txn;
    int sync_full;       /* configured synchronous = FULL */
    int relaxed;         /* this transaction runs with synchronous = NORMAL */
    char salt[65];       /* hex; salts member hashes (tombstones, audit) */
    char audit_head[65]; /* hash of the last audit row; "" = empty chain */
    int64_t tombstone_count;

    sqlite3_stmt *ins_change;
    sqlite3_stmt *get_current;
    sqlite3_stmt *put_current;
    sqlite3_stmt *get_txn;
    sqlite3_stmt *ins_txn;
    sqlite3_stmt *ins_audit;
    sqlite3_stmt *ins_dead;
    sqlite3_stmt *get_tomb;
    sqlite3_stmt *ins_tomb;
    sqlite3_stmt *erase_current;
    sqlite3_stmt *erase_ledger;
    sqlite3_stmt *erase_shadow;
    sqlite3_stmt *redact_changes;
    sqlite3_stmt *redact_audit;
    sqlite3_stmt *get_wm;
    sqlite3_stmt *set_wm;
    sqlite3_stmt *ins_ingest;
    sqlite3_stmt *upd_ingest;
    sqlite3_stmt *ins_resync;
    sqlite3_stmt *balance;
    sqlite3_stmt *audit_last;
    /* Prepared on first use by modules off the ingest hot path
     * (store_push.c); finalized by store_close(). */
    sqlite3_stmt *lazy[32];
};

/* Error from the last SQLite call, into err; returns -1. */
int store_sql_error(struct store *st, struct error *err, const char *what);

/* Appends a consent event to the hash-chained audit. */
int store_audit_append(struct store *st, int64_t seq, const char *member_key, const char *field,
                       const char *payload, int64_t recorded_at, struct error *err);
/* Reloads the chain head from the database (after open or a rollback). */
int store_audit_load_head(struct store *st, struct error *err);

void store_sha256_hex(const void *data, size_t len, char out[65]);

#endif
