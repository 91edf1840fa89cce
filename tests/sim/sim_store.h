/* In-memory record store shared by all flavours.
 *
 * A store holds named collections ("contacts", "Contact", "lists", ...). A
 * record has a numeric id (assigned increasing, so id order is creation
 * order and "after" paging is a binary search), created/updated/archived
 * times, and a JSON object of string-valued properties. Properties can be
 * declared unique: the collection then keeps a value -> id index, used for
 * upsert by external id / email and for duplicate checks.
 *
 * Eventual consistency: every write records the version that search saw
 * before it (`indexed`) and when the new version becomes visible
 * (`visible_ms` = write time + lag). sim_record_searchable() gives the
 * version a search sees at a given time.
 *
 * Not thread-safe by itself: callers hold sim->lock. */
#ifndef CRMSIM_STORE_H
#define CRMSIM_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sim_record {
    uint64_t id;
    int64_t created_ms;
    int64_t updated_ms;
    int64_t archived_ms;
    bool archived;
    json_t *props;   /* current property values (strings) */
    json_t *indexed; /* what search sees until visible_ms; NULL = not indexed yet */
    bool indexed_archived;
    int64_t visible_ms;
};

struct sim_coll {
    char name[48];
    struct sim_record **recs; /* sorted by id */
    size_t n;
    size_t cap;
    uint64_t next_id;
    json_t *unique; /* property -> { value -> id } */
};

struct sim_store {
    struct sim_coll **colls;
    size_t ncolls;
};

struct sim_store *sim_store_new(void);
void sim_store_free(struct sim_store *store);
/* Drops every record (collections and unique declarations stay). */
void sim_store_clear(struct sim_store *store);

/* Gets a collection, creating it if create is set. */
struct sim_coll *sim_store_coll(struct sim_store *store, const char *name, bool create);

/* Declares prop unique. Returns -1 if existing records already collide. */
int sim_coll_add_unique(struct sim_coll *coll, const char *prop);
bool sim_coll_is_unique(const struct sim_coll *coll, const char *prop);

struct sim_record *sim_coll_get(const struct sim_coll *coll, uint64_t id);
/* Live (not archived) record holding `value` for unique prop, or NULL. */
struct sim_record *sim_coll_find_unique(const struct sim_coll *coll, const char *prop,
                                        const char *value);
/* Index of the first record with id > after (for paging). */
size_t sim_coll_after(const struct sim_coll *coll, uint64_t after);

/* Creates a record with the next id (or with `id` if nonzero, for seeding).
 * props is borrowed (copied); NULL creates it empty. The caller has checked
 * uniqueness. */
struct sim_record *sim_coll_create(struct sim_coll *coll, uint64_t id, json_t *props, int64_t now,
                                   int64_t lag_ms);
/* Sets (value != NULL) or clears one property, keeping unique indexes right.
 * Does not touch updated_ms: call sim_record_touch once per write. */
void sim_coll_set_prop(struct sim_coll *coll, struct sim_record *rec, const char *prop,
                       const char *value);
/* Marks a write at `now`: snapshots the searchable version first. */
void sim_record_touch(struct sim_record *rec, int64_t now, int64_t lag_ms, bool bump_updated);
/* Removes a record for good (a hard delete: Salesforce CampaignMember) and
 * frees it; its unique index entries go too. Ids are not reused. */
void sim_coll_remove(struct sim_coll *coll, struct sim_record *rec);
/* Archives (soft delete): drops unique index entries, keeps updated_ms. */
void sim_coll_archive(struct sim_coll *coll, struct sim_record *rec, int64_t now, int64_t lag_ms);

/* The properties a search sees at `now`, or NULL if the record is not in
 * the search index (never indexed, or archived as far as search knows). */
json_t *sim_record_searchable(const struct sim_record *rec, int64_t now);

/* Dump: { "<coll>": [ {"id","createdAt","updatedAt","archived","archivedAt",
 * "properties"}... ] }. Seed accepts the same shape (ids optional). */
json_t *sim_store_dump(const struct sim_store *store);
int sim_store_seed(struct sim_store *store, json_t *colls, int64_t now, char *err, size_t errlen);

#endif
