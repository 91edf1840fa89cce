/* One destination lane's window on the change-log: the changes read after
 * the push cursor and not yet handled, coalesced to the latest value per
 * (member, field), in change-log order. Bounded by the engine (it stops
 * reading when the window is full), so memory does not grow with the
 * backlog. Pure data structure: no SQLite, no loop. */
#ifndef CRMSYNC_ENGINE_WINDOW_H
#define CRMSYNC_ENGINE_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "connector.h"

#define WINDOW_BUCKETS 4096

struct witem {
    struct push_record rec; /* points into the strings below */
    char *member;
    char *field;
    char *value;
    char *origin;
    int64_t min_seq;   /* first change this item stands for */
    int inflight;      /* in a batch now: newer changes make a new item */
    int lane;          /* the window (lane) it belongs to */
    uint64_t plan_gen; /* the engine's plan that took it (no double add) */
    int attempts;      /* sends so far */
    uint64_t first_ms;
    int64_t received_at; /* of the change it carries now, wall-clock ms */
    uint64_t fault_ms;   /* first failure that was the record's own fault */
    int overdue;         /* urgent, past the retry policy, kept pending */
    uint64_t next_at;    /* not before this (retry), monotonic ms */
    /* Set once known, NULL before: not arrays, since up to max_inflight
     * windows of items are out at once (issue 17). */
    const char *class_key;     /* the connector's request class, the engine's interned copy */
    char *remote_id;           /* this CRM's id of the member, malloc'd */
    char hash[65];             /* the value as the CRM will hold it (engine), when hash_ok */
    int hash_ok;               /* cleared whenever the value changes */
    struct witem *hnext;       /* hash chain, pending items only */
    struct witem *mnext;       /* every item of the same member bucket */
    struct witem *prev, *next; /* window order (by min_seq) */
};

struct window {
    struct witem *head, *tail;
    size_t n;
    size_t n_inflight; /* of n, the items in a batch now */
    int64_t read_seq;  /* last seq read from the change-log */
    int64_t committed; /* the durable push cursor */
    struct witem *buckets[WINDOW_BUCKETS];
    struct witem *flying[WINDOW_BUCKETS];  /* in-flight items by key */
    struct witem *members[WINDOW_BUCKETS]; /* every item, by member */
};

void window_init(struct window *w, int64_t cursor);
/* Frees every item and starts again after cursor. */
void window_reset(struct window *w, int64_t cursor);

/* Adds a change: replaces the value of the pending item with the same
 * (member, field), or appends a new item. Returns the item, NULL on OOM. */
struct witem *window_add(struct window *w, int64_t seq, const char *member, enum change_kind kind,
                         const char *field, const char *value, const char *origin);
/* The pending (not in flight) item for (member, field), or NULL. */
struct witem *window_find(const struct window *w, const char *member, const char *field);
/* The first item of the member's bucket (follow mnext and compare the
 * member: a bucket holds other members too), or NULL. */
struct witem *window_member_first(const struct window *w, const char *member);
/* An in-flight item for (member, field), or NULL. */
struct witem *window_find_inflight(const struct window *w, const char *member, const char *field);
/* Items not in flight: what the engine's window_items bounds. In-flight
 * items are bounded by the batches out (max_inflight of them), so a batch
 * as large as the window leaves room to read the next one meanwhile. */
size_t window_pending(const struct window *w);
/* Marks an item in flight: later changes of its key make a new item. */
void window_take(struct window *w, struct witem *it);
/* Puts an in-flight item back as pending (a retry). If a newer item for the
 * same key is pending already, the old one is obsolete: it is removed and 1
 * returned. Otherwise 0. */
int window_requeue(struct window *w, struct witem *it, uint64_t next_at);
/* Removes a handled item and frees it. */
void window_remove(struct window *w, struct witem *it);
/* Replaces an item's value (points balance computed at send time); the
 * same value again keeps what was derived from it (hash_ok). */
int window_set_value(struct witem *it, const char *value);

/* The highest seq such that every change up to it is handled. */
int64_t window_cursor(const struct window *w);

#endif
