/* Crash points: a test build (cmake -DCRMSYNC_CRASHPOINTS=ON) can kill the
 * daemon with SIGKILL at the N-th durability boundary it reaches, so the
 * chaos harness (tests/chaos/) can prove that a crash at any of them loses
 * nothing and applies nothing twice.
 *
 * - CRMSYNC_CRASH_AT=N: raise(SIGKILL) at the N-th crashpoint() call.
 * - CRMSYNC_CRASH_LOG=PATH: append the name of every crash point reached,
 *   one per line, so the harness knows how many a run has.
 *
 * In a normal build crashpoint() is an empty inline function: no code, no
 * getenv, nothing to configure in production. Calls are one line each, placed
 * before and after commits, before a push is sent, after its response and
 * before its ack is committed, mid-page and before a spool file is moved. */
#ifndef CRMSYNC_CRASHPOINT_H
#define CRMSYNC_CRASHPOINT_H

#ifdef CRMSYNC_CRASHPOINTS
void crashpoint(const char *name);
/* crashpoint(name) on every k-th value of i (mid-batch points). */
void crashpoint_every(const char *name, long i, long k);
#else
static inline void crashpoint(const char *name)
{
    (void)name;
}
static inline void crashpoint_every(const char *name, long i, long k)
{
    (void)name;
    (void)i;
    (void)k;
}
#endif

#endif
