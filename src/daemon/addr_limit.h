/* A bound on failures per client address (e.g. bad bearer tokens), shared
 * by the HTTP listeners: a token bucket per address in a fixed table, so a
 * flood of addresses costs no memory; when the table is full the stalest
 * address is forgotten. Thread-safe (one mutex): the HTTP server threads
 * call it. */
#ifndef CRMSYNC_ADDR_LIMIT_H
#define CRMSYNC_ADDR_LIMIT_H

#include <stdint.h>
#include <sys/socket.h>

struct addr_limit;

/* per_minute failures are allowed per address (a burst of as many, refilled
 * evenly). per_minute 0 turns the limit off. */
struct addr_limit *addr_limit_new(long per_minute);
void addr_limit_free(struct addr_limit *l);

/* 1 when sa has no failure left: answer without doing the costly work.
 * *retry_after_s says when it will have one again. */
int addr_limit_blocked(struct addr_limit *l, const struct sockaddr *sa, long *retry_after_s);
/* Counts one failure of sa. */
void addr_limit_fail(struct addr_limit *l, const struct sockaddr *sa);

/* The same, with the time given (ms, monotonic), for unit tests. */
int addr_limit_blocked_at(struct addr_limit *l, const struct sockaddr *sa, int64_t now_ms,
                          long *retry_after_s);
void addr_limit_fail_at(struct addr_limit *l, const struct sockaddr *sa, int64_t now_ms);

#endif
