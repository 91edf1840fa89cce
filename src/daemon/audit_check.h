/* Periodic verification of the consent audit's hash chain (issue 19: the
 * operator learns of a broken chain from an alert, not at the next
 * `crmsyncctl audit verify` someone happens to run).
 *
 * Every [daemon] audit_verify_interval (first 5 s after start) the whole
 * chain is walked by store_audit_verify() on libuv's thread pool, with a
 * read-only connection of its own, so a long table never stalls the event
 * loop. A walk that falls due while the pushes have a backlog waits for
 * it to drain, for 10 minutes at most (audit_check_set_busy). The result
 * goes to three gauges:
 *   crmsyncd_audit_chain_broken                       1 once a walk found a break
 *   crmsyncd_audit_chain_rows                         rows the last walk read
 *   crmsyncd_audit_chain_verified_timestamp_seconds   when a walk last finished
 * and a break is logged as an error naming the first bad row. */
#ifndef CRMSYNC_AUDIT_CHECK_H
#define CRMSYNC_AUDIT_CHECK_H

#include <uv.h>

struct audit_check;

/* Creates the timer on loop; state_path is copied. interval_ms 0: never
 * (the gauges are then not exported). Returns NULL when out of memory. */
struct audit_check *audit_check_new(uv_loop_t *loop, const char *state_path, long busy_timeout_ms,
                                    long interval_ms);
/* A reload: a new interval restarts the timer (0 stops it). */
void audit_check_set_interval(struct audit_check *ac, long interval_ms);
/* busy(arg), asked on the loop when a walk falls due: while it answers
 * 1 the walk waits (asked again every second), for 10 minutes at most
 * from when it fell due. NULL: walks never wait. NULL ac is ignored. */
void audit_check_set_busy(struct audit_check *ac, int (*busy)(void *arg), void *arg);
/* Closes the timer; the object is freed once a walk in flight has ended
 * (the loop must run on until then, as it does at stop). The caller drops
 * its pointer: after the loop ran, it may be freed. NULL is ignored. */
void audit_check_close(struct audit_check *ac);

#endif
