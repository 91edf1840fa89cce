/* Audit retention (issue 15, docs/state.md "Audit archive"): consent audit
 * rows older than [state] audit_retention move, oldest first, to an archive
 * file of JSON lines and are deleted from the table. The archive is the
 * same hash chain: each line keeps its row's prev_hash and hash, and the
 * first live row's prev_hash is the archive's last hash, so tampering with
 * either (or cutting the archive) shows in store_audit_verify(). The
 * database keeps a checkpoint of the archive in meta: its path, the hash of
 * its last line (the head), its rows and its length in bytes; bytes past
 * that length are a step that did not commit and are cut off by the next.
 *
 * The archive holds no member key: a member's lines are found by the
 * salted member hash. An erasure queues the member's hash
 * (audit_archive_erasures); the next step blanks the payload of that
 * member's archived lines in place (padded with spaces to the same length,
 * so offsets and the recorded length hold), as the erasure blanks the live
 * rows: the chain covers hashes only and still verifies. */
#ifndef CRMSYNC_STORE_AUDIT_ARCHIVE_H
#define CRMSYNC_STORE_AUDIT_ARCHIVE_H

#include <jansson.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

/* Rows moved per step at most. */
#define STORE_AUDIT_ARCHIVE_STEP 500

/* One step: first the queued erasures are applied to the archive, then (if
 * retention_ms > 0) up to STORE_AUDIT_ARCHIVE_STEP rows recorded more than
 * retention_ms before now_ms are appended to the archive (fsync'd) and
 * deleted from audit with their audit_acks (kept in the line), in one
 * transaction that also moves the checkpoint. The newest row always stays.
 * path: where a new archive is made (NULL: the database's path with
 * "-audit.jsonl"); an archive already recorded in the database stays where
 * it is. A row that breaks the chain is not archived (an error naming it).
 * Never inside a caller's transaction (does nothing then). */
int store_audit_archive_step(struct store *st, const char *path, int64_t retention_ms,
                             int64_t now_ms, int64_t *archived, int *more, struct error *err);

/* Verifies the archive's lines against the chain and the checkpoint.
 * head: where the live rows must go on from ("" without an archive);
 * *rows: lines verified; *bad_id: 0 when it holds, else the archived row id
 * of the first bad line, or -1 when the file is missing, shorter than
 * recorded or ends elsewhere than the recorded head (why in err). */
int store_audit_archive_verify(struct store *st, char head[65], int64_t *rows, int64_t *bad_id,
                               struct error *err);

/* The recorded archive head ("" without an archive). */
int store_audit_archive_head(struct store *st, char head[65], struct error *err);

/* Appends the member's archived consent events to arr, oldest first, as
 * member export shows them ("archived": true). */
int store_audit_archive_member(struct store *st, const char *member_hash, json_t *arr,
                               struct error *err);

/* The archive's path as recorded (malloc'd; NULL without an archive). */
int store_audit_archive_path(struct store *st, char **path, struct error *err);

#endif
