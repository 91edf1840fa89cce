/* Retention of the operator-facing tables that grow with time but are not
 * the change-log (issue 15, docs/state.md "Other tables"): the operator
 * action log, finished resync requests, and push dead letters that a later
 * value resolved. */
#ifndef CRMSYNC_STORE_HISTORY_H
#define CRMSYNC_STORE_HISTORY_H

#include <stdint.h>

#include "error.h"
#include "store.h"

/* Rows deleted per table and step at most. */
#define STORE_HISTORY_STEP 1000

/* One step, one transaction: deletes
 *  - operator_actions rows older than retention_ms,
 *  - resync_requests finished longer ago than that,
 *  - push dead letters that failed last longer ago than that and are
 *    resolved: a later value of the same member field holds `current` and
 *    the destination's push cursor of its lane has passed it without a
 *    dead letter of its own (the destination has the newer value, the
 *    failed one will never be sent). A dead letter an operator asked to
 *    retry stays; so do input (`ingest`) dead letters, which only an
 *    operator resolves (crmsyncctl dead-letters drop), and points
 *    transactions' (no later value supersedes them).
 * retention_ms <= 0: nothing. *more = 1 when a table had a full step. */
int store_history_prune_step(struct store *st, int64_t retention_ms, int64_t now_ms,
                             int64_t *deleted, int *more, struct error *err);

/* The text of the i-th statement (NULL past the last), for
 * tests/unit/test_query_plans.c. */
const char *store_history_statement(size_t i);

#endif
