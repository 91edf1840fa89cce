/* The helpers of crmsyncctl's statements (store_ctl.c), shared by
 * store_ctl_resync.c, store_ctl_dead.c and store_ctl_member.c (issue 18).
 * Statements are prepared per call: crmsyncctl is short-lived. */
#ifndef CRMSYNC_STORE_CTL_INTERNAL_H
#define CRMSYNC_STORE_CTL_INTERNAL_H

#include <jansson.h>
#include <sqlite3.h>

#include "store_internal.h"

/* err from the last SQLite call: STORE_CTL_BUSY when the database is
 * locked, else -1. */
int store_ctl_fail(struct store *st, struct error *err, const char *what);
int store_ctl_prepare(struct store *st, const char *sql, sqlite3_stmt **q, struct error *err);
/* Steps a bound statement to the end, collecting rows. Finalizes it. */
int store_ctl_collect(struct store *st, sqlite3_stmt *q, json_t **out, struct error *err);
int store_ctl_exec_one(struct store *st, sqlite3_stmt *q, const char *what, struct error *err);

#endif
