/* The canonical change: one fact about one member, as every connector
 * produces it and as the change-log stores it (DESIGN.md §2–§3). */
#ifndef CRMSYNC_CHANGE_H
#define CRMSYNC_CHANGE_H

#include <stdint.h>

enum change_kind {
    CHANGE_CONSENT = 0,
    CHANGE_POINTS,
    CHANGE_TIER,
    CHANGE_SEGMENT,
    CHANGE_PROFILE,
    CHANGE_ERASE,
};

/* Push priority lanes: withdrawals and erasures first, then points, then
 * everything else (DESIGN.md §4). Stored with each change so the engine can
 * read one lane without scanning the others. */
enum change_lane {
    LANE_URGENT = 0,
    LANE_POINTS = 1,
    LANE_BULK = 2,
};

enum consent_status {
    CONSENT_UNKNOWN = 0, /* implicit: never overwrites an explicit status */
    CONSENT_GRANTED,
    CONSENT_DENIED,
};

/* A consent value, field "consent/<purpose>/<channel>". */
struct consent_value {
    enum consent_status status;
    const char *legal_basis; /* NULL when absent */
    const char *source;      /* NULL when absent */
    const char *proof;       /* NULL when absent */
    int64_t collected_at;    /* ms since epoch, UTC */
};

/* A points transaction, field "points/<txn_id>". */
struct points_txn {
    const char *txn_id;
    int64_t delta;
    const char *reason; /* earn | redeem | expire | adjust */
    int64_t occurred_at;
    int64_t expires_at; /* 0: does not expire */
};

/* A change as it travels from a connector into the state store. Strings are
 * borrowed from the producer for the duration of the apply call. */
struct change {
    int64_t seq;        /* 0 until stored */
    const char *origin; /* connector instance name that produced it */
    const char *member_key;
    enum change_kind kind;
    const char *field;      /* e.g. consent/marketing/email, points/T1, segment/vip */
    const char *value_json; /* canonical JSON (compact, sorted keys) */
    int64_t occurred_at;    /* when it happened at the source, ms UTC */
    const char *idem_key;   /* origin + remote id/version, or the event id */
    const char *source_ref; /* where it came from, for errors: "a.jsonl:12" */
    /* Decoded forms, set by the producer for the kinds that need them. */
    struct consent_value consent;
    struct points_txn points;
};

const char *change_kind_name(enum change_kind kind);
int change_kind_parse(const char *name, enum change_kind *out);
const char *consent_status_name(enum consent_status status);
int consent_status_parse(const char *name, enum consent_status *out);
enum change_lane change_lane_of(const struct change *c);

#endif
