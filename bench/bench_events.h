/* The ingest benchmark's event stream, shared by the generator (which writes
 * it as spool JSON lines) and the reference loop (which writes the same
 * facts straight into SQLite). Deterministic: event i depends only on the
 * seed, i and the member count, so both programs see the same stream
 * without passing files around.
 *
 * Header-only on purpose: bench/CMakeLists.txt builds each bench_*.c as its
 * own executable against the crmsync library, with no shared bench sources. */
#ifndef CRMSYNC_BENCH_EVENTS_H
#define CRMSYNC_BENCH_EVENTS_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum bench_type {
    BENCH_CONSENT = 0,
    BENCH_POINTS,
    BENCH_SEGMENT,
    BENCH_PROFILE,
    BENCH_ERASURE,
};

static const char *const bench_purposes[] = {"marketing", "loyalty_programme", "profiling"};
static const char *const bench_channels[] = {"email", "sms", "phone", "post"};
static const char *const bench_sources[] = {"web_form", "till", "app", "call_centre"};
static const char *const bench_segments[] = {"vip",    "newsletter", "lapsed",
                                             "family", "student",    "black_friday_2026"};
static const char *const bench_attrs[] = {"email", "phone", "first_name", "last_name", "birthday"};
#define BENCH_N_ATTRS 5

struct bench_event {
    enum bench_type type;
    uint64_t index;  /* event number, 0-based: event id e<index> */
    uint32_t member; /* member key M<member> */
    int64_t at_ms;   /* occurred_at, whole seconds */
    /* consent */
    int purpose, channel, source;
    int denied;
    /* points */
    int64_t delta;
    int redeem;
    int64_t expires_ms; /* 0: none */
    /* segment */
    int segment;
    int seg_in;
    /* profile: up to two attributes; value index -1 means JSON null */
    int n_attrs;
    int attr[2];
};

/* 2026-01-01T00:00:00Z; one event per second from there: 10M events end on
 * 2026-04-26, in the past for the merge's future check (from 2026-10-01 the
 * retention soak's events past about 5.8M were refused as future ones). */
#define BENCH_BASE_MS 1767225600000LL

static inline uint64_t bench_mix(uint64_t x)
{
    /* splitmix64 finaliser: a good hash of (seed, i) is all we need. */
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Mix: 40 % consent (30 % of them denials), 35 % points (70 % earn, half of
 * the earns expiring), 15 % segment in/out, ~10 % profile (1-2 attributes,
 * some cleared), 1 in 20,000 an erasure. */
static inline void bench_event_make(uint64_t seed, uint64_t i, uint32_t members,
                                    struct bench_event *e)
{
    uint64_t r = bench_mix(seed ^ bench_mix(i));
    uint64_t r2 = bench_mix(r);
    unsigned kind = (unsigned)(r % 20000);

    memset(e, 0, sizeof(*e));
    e->index = i;
    e->member = (uint32_t)(r2 % members);
    e->at_ms = BENCH_BASE_MS + (int64_t)i * 1000;
    r >>= 16;
    if (kind == 0) {
        e->type = BENCH_ERASURE;
    } else if (kind < 8000) {
        e->type = BENCH_CONSENT;
        e->purpose = (int)(r % 3);
        e->channel = (int)((r >> 4) % 4);
        e->source = (int)((r >> 8) % 4);
        e->denied = (r >> 12) % 10 < 3;
    } else if (kind < 15000) {
        e->type = BENCH_POINTS;
        e->redeem = (r % 10) >= 7;
        e->delta = e->redeem ? -(int64_t)(1 + (r >> 4) % 500) : (int64_t)(1 + (r >> 4) % 1000);
        if (!e->redeem && (r >> 20) % 2 == 0)
            e->expires_ms = e->at_ms + 365LL * 86400 * 1000;
    } else if (kind < 18000) {
        e->type = BENCH_SEGMENT;
        e->segment = (int)(r % 6);
        e->seg_in = (r >> 4) % 3 != 0;
    } else {
        e->type = BENCH_PROFILE;
        e->n_attrs = 1 + (int)(r % 2);
        e->attr[0] = (int)((r >> 2) % BENCH_N_ATTRS);
        e->attr[1] = (e->attr[0] + 1 + (int)((r >> 6) % (BENCH_N_ATTRS - 1))) % BENCH_N_ATTRS;
    }
}

/* Changes the event turns into: one, or one per profile attribute. */
static inline int bench_event_changes(const struct bench_event *e)
{
    return e->type == BENCH_PROFILE ? e->n_attrs : 1;
}

/* A profile attribute's value; NULL when the event clears it (1 in 16). */
static inline const char *bench_attr_value(const struct bench_event *e, int k, char *buf,
                                           size_t size)
{
    uint64_t r = bench_mix(e->index * 31 + (uint64_t)k);

    if (r % 16 == 0)
        return NULL;
    switch (e->attr[k]) {
    case 0:
        snprintf(buf, size, "m%" PRIu32 ".x%u@example.com", e->member, (unsigned)(r % 1000));
        break;
    case 1:
        snprintf(buf, size, "+4930%08u", (unsigned)(r % 100000000));
        break;
    case 2:
        snprintf(buf, size, "First%u", (unsigned)(r % 5000));
        break;
    case 3:
        snprintf(buf, size, "Last%u", (unsigned)(r % 20000));
        break;
    default:
        snprintf(buf, size, "19%02u-%02u-%02u", (unsigned)(r % 100), (unsigned)(1 + r % 12),
                 (unsigned)(1 + r % 28));
        break;
    }
    return buf;
}

#endif
