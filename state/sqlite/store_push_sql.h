/* The push statements (issue 18: split out of store_push.c): one table of
 * SQL for the push side of the store (changes read for a destination,
 * cursors, shadows, identities, dead letters, tokens, audit
 * acknowledgements), prepared on first use into struct store's lazy slots,
 * and the helpers that run them. The other push files (store_push.c,
 * store_cursor.c, store_shadow.c, store_identity.c, store_dead_letter.c,
 * store_token.c, store_audit.c) call these; these call nothing of theirs. */
#ifndef CRMSYNC_STORE_PUSH_SQL_H
#define CRMSYNC_STORE_PUSH_SQL_H

#include <sqlite3.h>

#include "store_batch.h"
#include "store_internal.h"

/* These statements run per batch, not per change on the ingest path, so they
 * are prepared on first use (struct store's lazy slots). */
enum push_stmt {
    PS_READ,
    PS_CURSOR_GET,
    PS_CURSOR_SET,
    PS_SHADOW_GET,
    PS_SHADOW_PUT,
    PS_SHADOW_CLEAR,
    PS_ID_GET,
    PS_ID_PUT,
    PS_ID_FIND,
    PS_DEAD,
    PS_ACK,
    PS_CURRENT,
    PS_BACKLOG,
    PS_WM_CLEAR,
    PS_CURSORS_RESET,
    PS_RESYNC_DONE,
    PS_MAX_SEQ,
    PS_REPAIR,
    PS_REPAIR_CURRENT,
    PS_TOKEN_GET,
    PS_TOKEN_PUT,
    PS_DL_RETRIES,
    PS_DL_DELETE,
    PS_SHADOW_SENT,
    PS_SHADOW_BOTH,
    PS_DEAD_AGAIN,
    PS_CURRENT_SEQ,
    PS_SHADOW_SENT_BATCH,
    PS_SHADOW_PUT_BATCH,
    PS_SHADOW_GET_BATCH,
    PS_ID_PUT_BATCH,
    PS_ACK_BATCH,
    PS_ID_GET_BATCH,
    PS_COUNT /* must stay within struct store's lazy[] */
};

/* The statement, prepared on first use; NULL with err set. */
sqlite3_stmt *store_push_stmt(struct store *st, enum push_stmt which, struct error *err);
/* Steps q once, resets it: 0 when it is done, else err with what. */
int store_push_done(struct store *st, sqlite3_stmt *q, struct error *err, const char *what);
/* A batch statement over crmsync_batch (?1 first, ?2 now, ?3 the batch). */
int store_push_batch_write(struct store *st, enum push_stmt which, const char *first,
                           const struct store_batch *b, struct error *err, const char *what);
/* A batch read: row (i, text) sets out[i] and found[i]. */
int store_push_batch_read(struct store *st, enum push_stmt which, const char *first,
                          const struct store_batch *b, char *out, size_t outsize, int *found,
                          struct error *err, const char *what);

#endif
