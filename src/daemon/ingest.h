/* The pull sink over the state store: what connectors pull is applied here,
 * one page per transaction, with counters for status and metrics. */
#ifndef CRMSYNC_INGEST_H
#define CRMSYNC_INGEST_H

#include <stdint.h>

#include "connector.h"
#include "merge.h"
#include "store.h"

struct ingest {
    struct pull_sink sink;
    struct host_services host; /* ingest_host.c */
    struct store *store;
    struct merge_policy policy;
    /* Counters since start, per apply result, plus pages committed. */
    uint64_t results[APPLY_ERASED + 1];
    uint64_t rejected_records;
    uint64_t pages;
    uint64_t page_failures;
    uint64_t repairs;      /* CRM values found different and queued again */
    uint64_t drifts;       /* balances found different where only reported */
    struct engine *engine; /* woken after each commit; NULL: no engine */
};

struct engine;

/* Fills the host services (src/ingest_host.c). */
void ingest_host_init(struct ingest *ing);

/* The CRM holds projection for (member, field): recorded as the shadow
 * only, neither applied nor compared with the local value (no repair).
 * Nothing for an erased member. 0, or -1 (the page must abort). */
int ingest_host_hold(struct ingest *ing, struct connector *conn, const char *member,
                     const char *field, const char *projection, struct error *err);

/* origin_priority is borrowed and must outlive the ingest. */
void ingest_init(struct ingest *ing, struct store *store, const char *const *origin_priority,
                 size_t n_origin_priority);

#endif
