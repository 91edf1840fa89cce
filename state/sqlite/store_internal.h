/* Private to state/: the store's struct and its prepared statements. */
#ifndef CRMSYNC_STORE_INTERNAL_H
#define CRMSYNC_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stdatomic.h>

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
    int erased_since_checkpoint; /* an erasure applied since the last
                                    store_checkpoint_after_erasure() */

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
    sqlite3_stmt *erase_opening; /* points_opening (state/store_ledger.h) */
    sqlite3_stmt *get_opening;
    sqlite3_stmt *erase_shadow;
    sqlite3_stmt *redact_changes;
    sqlite3_stmt *redact_audit;
    sqlite3_stmt *redact_archive; /* queues an erased member for the audit archive */
    sqlite3_stmt *get_wm;
    sqlite3_stmt *set_wm;
    sqlite3_stmt *ins_ingest;
    sqlite3_stmt *upd_ingest;
    sqlite3_stmt *ins_resync;
    sqlite3_stmt *balance;
    sqlite3_stmt *audit_last;
    sqlite3_stmt *get_idem;
    sqlite3_stmt *ins_idem;
    sqlite3_stmt *del_change;
    sqlite3_stmt *del_member_changes;
    sqlite3_stmt *get_answer; /* state/store_answer.c */
    sqlite3_stmt *put_answer;
    sqlite3_stmt *set_answer;
    /* Compaction has examined the change-log up to here (meta
     * 'compact_from', state/store_retention.c): a change at or before it
     * that stops being the latest value is deleted when it is superseded. */
    int64_t compact_from;
    /* Prepared on first use by modules off the ingest hot path
     * (store_push.c); finalized by store_close(). */
    sqlite3_stmt *lazy[48];
    /* Transaction control (state/store.c), prepared on first use. */
    sqlite3_stmt *txn[5];
    /* Retention's statements (state/store_retention.c), prepared on first
     * use, finalized by store_close(). */
    sqlite3_stmt *retention[12];
    /* store_commit_deferring_checkpoint(): reads SQLite's automatic
     * checkpoint setting to put it back after the commit, and notes the
     * frames the WAL held after it. */
    sqlite3_stmt *wal_autocheckpoint_q;
    int wal_frames;
    /* Set while a checkpointer (state/store_checkpointer.h) does the
     * checkpoints: commits call wal_due once the WAL holds wal_due_frames. */
    void (*wal_due)(void *arg, int frames);
    void *wal_due_arg;
    int wal_due_frames;
    int wal_base; /* frames of the WAL already copied back (by the last run) */
    /* Set by a commit that failed on a full disk (loop thread), taken by
     * the checkpointer's next run (its thread): that run truncates the WAL
     * to give its space back. */
    atomic_int wal_truncate;
    /* The checkpointer's last run failed (loop thread): commits copy the
     * WAL themselves at wal_due_frames, as SQLite's own checkpoint would. */
    int wal_fallback;
};

/* Commits like store_commit() but without SQLite's automatic checkpoint:
 * for the retention steps, which must stay a few milliseconds long. The
 * frames left in the WAL are noted for store_wal_checkpoint(). */
int store_commit_deferring_checkpoint(struct store *st, struct error *err);

/* Error from the last SQLite call, into err; returns -1. */
int store_sql_error(struct store *st, struct error *err, const char *what);
/* CLOCK_MONOTONIC in ns: retention's time budgets, the checkpointer's run. */
int64_t store_mono_ns(void);

/* Appends a consent event to the hash-chained audit. */
int store_audit_append(struct store *st, int64_t seq, const char *member_key, const char *field,
                       const char *payload, int64_t recorded_at, struct error *err);
/* The text an audit row's hash is taken over, into buf:
 * prev|seq|member_hash|field|payload_hash|recorded_at. */
void store_audit_chain_input(char *buf, size_t size, const char *prev, int64_t seq,
                             const char *member_hash, const char *field, const char *payload_hash,
                             int64_t recorded_at);
/* hash = SHA-256(prev|seq|member_hash|field|payload_hash|recorded_at). */
void store_audit_chain_hash(const char *prev, int64_t seq, const char *member_hash,
                            const char *field, const char *payload_hash, int64_t recorded_at,
                            char out[65]);
/* The payload hash of the audit row q is on (schema 14): SHA-256 of the
 * payload in column payload_col, or the hash in hash_col kept when an
 * erasure blanked the payload. -1 when there is neither. */
int store_audit_row_payload_hash(sqlite3_stmt *q, int payload_col, int hash_col, char out[65]);
/* Reloads the chain head from the database (after open or a rollback). */
int store_audit_load_head(struct store *st, struct error *err);

void store_sha256_hex(const void *data, size_t len, char out[65]);
/* A SHA-256 in hex (64 digits) as its 32 bytes: 0, or -1 when hex is not
 * one. The audit stores member_hash and hash so (schema 16); they are read
 * back with lower(hex(...)). */
int store_hash_bytes(const char *hex, unsigned char out[32]);
/* Binds hex as its 32-byte blob, or as text when it is not a SHA-256 in
 * hex (never silently something else). The sqlite3_bind_* result. */
int store_bind_hash(sqlite3_stmt *q, int i, const char *hex);

/* The hash an idempotency key keeps of its change's body: the first 8 bytes
 * of SHA-256 over member, kind, field, value and occurred_at (not the
 * origin's file:line, so a file dropped again under another name is still a
 * duplicate). */
int64_t store_body_hash(const char *member_key, const char *kind, const char *field,
                        const char *value_json, int64_t occurred_at);
/* A change that no longer holds the latest value (replaced in current by
 * seq new): deleted when compaction has passed it already (it would never
 * be examined again). */
int store_change_superseded(struct store *st, int64_t old_seq, struct error *err);

#endif
