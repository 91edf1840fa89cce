/* Control-plane SQL for crmsyncctl (and the daemon's side of a resync
 * request): dead letters, member export and erasure checks, resync
 * requests, the operator action log, and a probe that tells why a database
 * cannot be opened without running into raw SQLite errors. */
#ifndef CRMSYNC_STORE_CTL_H
#define CRMSYNC_STORE_CTL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Return codes beyond 0 / -1. */
#define STORE_CTL_BUSY (-2)      /* the database stayed locked past busy_timeout */
#define STORE_CTL_NOT_FOUND (-3) /* no such member / dead letter */

/* --- opening ------------------------------------------------------------ */
enum store_probe {
    STORE_PROBE_OK = 0,
    STORE_PROBE_MISSING,   /* no file at that path */
    STORE_PROBE_NOT_DB,    /* not SQLite, or not crmsyncd's (version 0) */
    STORE_PROBE_NEWER,     /* schema newer than this build */
    STORE_PROBE_OLDER,     /* schema older than this build (daemon not upgraded yet) */
    STORE_PROBE_BUSY,      /* locked */
    STORE_PROBE_UNREADABLE /* permissions, I/O */
};
/* Opens read-only just long enough to read the schema version. */
enum store_probe store_ctl_probe(const char *path, int *version, struct error *err);

/* 1 when the last SQLite error on this store was a lock timeout. */
int store_ctl_last_busy(struct store *st);

/* --- resync requests ------------------------------------------------------ */
int store_resync_request(struct store *st, const char *connector, int64_t *id, struct error *err);
/* *started = 1 once the daemon has taken request id. */
int store_resync_started(struct store *st, int64_t id, int *started, struct error *err);

struct store_resync_taken {
    int all; /* some request named no connector */
    size_t n;
    char **connectors; /* malloc'd names of the other requests */
};
/* Marks every pending request started and returns what they asked for. */
int store_resync_take(struct store *st, struct store_resync_taken *out, struct error *err);
int store_resync_taken_has(const struct store_resync_taken *t, const char *connector);
void store_resync_taken_free(struct store_resync_taken *t);
/* Marks started requests finished. */
int store_resync_finish_started(struct store *st, struct error *err);

/* --- dead letters --------------------------------------------------------- */
struct store_dl_filter {
    int64_t id;               /* 0: any */
    const char *destination;  /* NULL: any */
    int64_t failed_before_ms; /* 0: any; else first_failed_at < this */
    long limit;               /* list only; 0: no limit */
    const char *member_key;   /* NULL: any (issue 19: "why did member X not sync?") */
};
int store_ctl_dead_list(struct store *st, const struct store_dl_filter *f, json_t **out,
                        struct error *err);
/* STORE_CTL_NOT_FOUND when there is no such id. */
int store_ctl_dead_show(struct store *st, int64_t id, json_t **out, struct error *err);
/* Marks matching dead letters (except ingest ones, which cannot be re-sent)
 * for the engine to retry; *n = how many; *skipped_ingest = ingest ones. */
int store_ctl_dead_retry(struct store *st, const struct store_dl_filter *f, int64_t *n,
                         int64_t *skipped_ingest, struct error *err);
/* Deletes matching dead letters and logs the action in operator_actions, in
 * one transaction. */
int store_ctl_dead_drop(struct store *st, const struct store_dl_filter *f, const char *detail,
                        int64_t *n, struct error *err);

/* --- members --------------------------------------------------------------- */
/* *known = the member has changes; *erased = a tombstone exists. */
int store_ctl_member_state(struct store *st, const char *member_key, int *known, int *erased,
                           struct error *err);
/* Art. 15 export; STORE_CTL_NOT_FOUND when neither known nor erased. */
int store_ctl_member_export(struct store *st, const char *member_key, json_t **out,
                            struct error *err);
/* Erase changes and, per destination, whether its urgent-lane push cursor
 * has passed them (for status). */
int store_ctl_erasures(struct store *st, const char *const *destinations, size_t n, json_t **out,
                       struct error *err);

/* --- operator action log --------------------------------------------------- */
int store_ctl_log_action(struct store *st, const char *command, const char *detail,
                         struct error *err);

#endif
