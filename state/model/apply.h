/* What applying a canonical change gives, and what an intake reports: the
 * types the connectors (connector.h, through the pull sink) and the store
 * share. Part of the canonical model, not of the SQLite store: a connector
 * includes this, never store.h (issue 13 part 1, issue 18). */
#ifndef CRMSYNC_APPLY_H
#define CRMSYNC_APPLY_H

enum apply_result {
    APPLY_APPLIED = 0, /* changed current state: fans out */
    APPLY_UNCHANGED,   /* recorded as seen, current unchanged */
    APPLY_DUPLICATE,   /* idem_key already in the change-log: nothing done */
    APPLY_REJECTED,    /* recorded and dead-lettered (reason in err) */
    APPLY_ERASED,      /* member was erased: not re-created, not recorded */
};

const char *apply_result_name(enum apply_result r);

/* A record that could not even be turned into a change (bad input line). */
struct dead_letter_in {
    const char *destination; /* "ingest" for bad input */
    const char *origin;      /* connector instance */
    const char *member_key;  /* NULL if unknown */
    const char *field;       /* NULL if unknown */
    const char *payload;     /* the raw record, possibly truncated */
    const char *source;      /* "file:line" or remote record id */
    const char *reason;
    const char *idem_key; /* NULL, or a key that makes a re-read a no-op */
};

/* Ingest bookkeeping for status: one row per file attempt. */
struct ingest_stats {
    long lines, applied, unchanged, duplicates, rejected;
};

#endif
