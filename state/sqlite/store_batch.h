/* Private to state/: one batch of the engine's records as the rows of a
 * table-valued function, so that the push bookkeeping runs one statement
 * per batch (issue 17) without building or parsing a JSON array.
 *
 *   INSERT INTO shadow(...) SELECT ?1, member, field, ... FROM crmsync_batch(?3)
 *
 * The statement's parameter is bound with sqlite3_bind_pointer(q, i, batch,
 * STORE_BATCH_PTR, NULL); the arrays are the caller's and must outlive the
 * statement's steps (they are read, never copied). Columns: member, field,
 * hash (from keys, else member[]), remote_id, seq and i (the record's index
 * in the arrays); a column whose array is NULL is NULL. Rows come in index
 * order, as the per-record statements ran them. */
#ifndef CRMSYNC_STORE_BATCH_H
#define CRMSYNC_STORE_BATCH_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "store_push.h"

#define STORE_BATCH_PTR "crmsync_batch"

struct store_batch {
    size_t n;
    const struct push_key *keys;  /* member, field, hash */
    const char *const *member;    /* when keys is NULL */
    const char *const *remote_id; /* identities */
    const int64_t *seq;           /* audit acknowledgements */
};

/* Registers crmsync_batch on db (an eponymous virtual table: nothing is
 * stored in the file). */
int store_batch_register(sqlite3 *db);

#endif
