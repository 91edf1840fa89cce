/* The state store: one SQLite database, the only place that speaks SQL
 * (DESIGN.md §3). Statements are prepared once at open and kept here. */
#ifndef CRMSYNC_STORE_H
#define CRMSYNC_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "apply.h"
#include "change.h"
#include "error.h"
#include "merge.h"

struct store;

struct store_options {
    const char *path;
    int synchronous_normal; /* 0: FULL (default, durable), 1: NORMAL */
    long busy_timeout_ms;
    int readonly; /* for crmsyncctl while the daemon runs */
};

int store_open(const struct store_options *opts, struct store **out, struct error *err);
void store_close(struct store *st);

/* Explicit transactions: the caller groups many applies into one. */
int store_begin(struct store *st, struct error *err);
/* A transaction that does not wait for an fsync even when the store is
 * configured synchronous = FULL: for records whose loss at a power cut is
 * only redone (push acknowledgements). Ends with store_commit/rollback. */
int store_begin_relaxed(struct store *st, struct error *err);
/* 1 while a transaction of this connection is open. */
int store_in_txn(const struct store *st);
void store_end_relaxed(struct store *st);
int store_commit(struct store *st, struct error *err);
/* After an erasure was applied (or force): checkpoint the WAL into the
 * database and truncate it, so no copy of the erased rows stays in
 * state.db-wal (secure_delete zeroes them in the database). 0 done or
 * nothing to do, 1 busy (try later), -1 error. Outside a transaction. */
int store_checkpoint_after_erasure(struct store *st, int force, struct error *err);
void store_rollback(struct store *st);
/* The retention steps commit without SQLite's automatic checkpoint (it
 * took most of a step's time); this runs it in a turn of its own: a
 * PASSIVE checkpoint when those commits left at least min_frames frames in
 * the WAL. *copied: > 0 when it ran (the WAL's frames now in the database),
 * 0 when none was due. 0 done or nothing due, 1 busy (tried again later), -1 error.
 * Outside a transaction. Nothing to do while a checkpointer runs them
 * (store_checkpointer.h). */
int store_wal_checkpoint(struct store *st, int min_frames, int *copied, struct error *err);

/* enum apply_result, struct dead_letter_in, struct ingest_stats: apply.h. */

/* Applies one change inside the caller's transaction: change-log row (or
 * nothing for a duplicate), current / ledger, audit row for consent, dead
 * letter on reject, tombstone and redaction for an erasure. Returns -1 only
 * on a database error (the caller rolls back); a rejected change is a
 * successful apply with *res = APPLY_REJECTED and the reason in err. */
int store_apply(struct store *st, const struct change *c, const struct merge_policy *policy,
                enum apply_result *res, struct error *err);

int store_dead_letter_add(struct store *st, const struct dead_letter_in *dl, struct error *err);

/* Pull watermark per connector (opaque JSON); NULL when never set. The
 * returned string is malloc'd. Set it inside the transaction that applies the
 * page it describes. */
int store_get_watermark(struct store *st, const char *connector, char **out, struct error *err);
int store_set_watermark(struct store *st, const char *connector, const char *json,
                        struct error *err);

/* Ingest bookkeeping for status: one row per file attempt. */
int store_ingest_file_begin(struct store *st, const char *connector, const char *name, int64_t *id,
                            struct error *err);
int store_ingest_file_finish(struct store *st, int64_t id, const struct ingest_stats *stats,
                             const char *status, struct error *err);

/* Records a resync request (SIGUSR1 / crmsyncctl); connector NULL = all. */
int store_record_resync(struct store *st, const char *connector, struct error *err);

/* Balance = sum of the member's live transactions at `at_ms` (expired
 * transactions with expires_at <= at_ms no longer count). */
int store_points_balance(struct store *st, const char *member_key, int64_t at_ms, int64_t *balance,
                         struct error *err);

/* Salted hash of a member key (hex SHA-256), as tombstones and audit use. */
void store_member_hash(const struct store *st, const char *member_key, char out[65]);

/* For read-only reporting modules in state/ (status, export): the handle. */
struct sqlite3 *store_db(struct store *st);

/* Walks the consent audit chain: the archive (rows moved out by the audit
 * retention, state/store_audit_archive.h), then the table, going on from
 * the archive's head. *bad_id = 0 when it holds; otherwise the id of the
 * first broken row (-1: the archive file itself is missing, cut or does not
 * end at the head the database recorded), with why in err. Returns -1 on a
 * database error. *rows: rows verified, archived ones included. */
int store_audit_verify(struct store *st, int64_t *rows, int64_t *bad_id, struct error *err);
/* The same, with the live and archived rows counted apart. */
int store_audit_verify_parts(struct store *st, int64_t *rows, int64_t *archived, int64_t *bad_id,
                             struct error *err);

#endif
