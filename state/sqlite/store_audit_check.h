/* The consent audit chain verified in one read snapshot, for the daemon's
 * periodic walk (src/audit_check.c) on a connection of its own while the
 * writer keeps going: the archive's head (in meta) and the live rows are
 * read in the same transaction, so an audit retention step that moves rows
 * meanwhile cannot look like a break. */
#ifndef CRMSYNC_STORE_AUDIT_CHECK_H
#define CRMSYNC_STORE_AUDIT_CHECK_H

#include "store.h"

/* store_audit_verify() inside a deferred read transaction. */
int store_audit_verify_snapshot(struct store *st, int64_t *rows, int64_t *bad_id,
                                struct error *err);

#endif
