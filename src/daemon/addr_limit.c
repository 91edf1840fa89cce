#include "addr_limit.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOTS 1024
#define PROBE 8

struct slot {
    uint8_t key[16]; /* IPv4 mapped into IPv6; all zero for a Unix socket */
    int used;
    double tokens;
    int64_t last_ms;
};

struct addr_limit {
    pthread_mutex_t lock;
    double per_ms; /* refill */
    double burst;
    struct slot slots[SLOTS];
};

struct addr_limit *addr_limit_new(long per_minute)
{
    struct addr_limit *l;

    if (per_minute <= 0)
        return NULL;
    l = calloc(1, sizeof(*l));
    if (l == NULL)
        return NULL;
    pthread_mutex_init(&l->lock, NULL);
    l->burst = (double)per_minute;
    l->per_ms = (double)per_minute / 60000.0;
    return l;
}

void addr_limit_free(struct addr_limit *l)
{
    if (l == NULL)
        return;
    pthread_mutex_destroy(&l->lock);
    free(l);
}

static void key_of(const struct sockaddr *sa, uint8_t key[16])
{
    memset(key, 0, 16);
    if (sa == NULL)
        return;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &in->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    }
}

static uint32_t hash_key(const uint8_t key[16])
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 16; i++)
        h = (h ^ key[i]) * 16777619u;
    return h;
}

/* The slot of key, refilled up to now; a new or recycled one when absent. */
static struct slot *find(struct addr_limit *l, const uint8_t key[16], int64_t now_ms)
{
    uint32_t h = hash_key(key);
    struct slot *stalest = NULL;

    for (int i = 0; i < PROBE; i++) {
        struct slot *s = &l->slots[(h + (uint32_t)i) % SLOTS];
        if (s->used && memcmp(s->key, key, 16) == 0) {
            s->tokens += (double)(now_ms - s->last_ms) * l->per_ms;
            if (s->tokens > l->burst)
                s->tokens = l->burst;
            s->last_ms = now_ms;
            return s;
        }
        if (stalest == NULL || !s->used || (stalest->used && s->last_ms < stalest->last_ms))
            stalest = s;
    }
    memcpy(stalest->key, key, 16);
    stalest->used = 1;
    stalest->tokens = l->burst;
    stalest->last_ms = now_ms;
    return stalest;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int addr_limit_blocked_at(struct addr_limit *l, const struct sockaddr *sa, int64_t now_ms,
                          long *retry_after_s)
{
    uint8_t key[16];
    struct slot *s;
    int blocked;

    *retry_after_s = 0;
    if (l == NULL)
        return 0;
    key_of(sa, key);
    pthread_mutex_lock(&l->lock);
    s = find(l, key, now_ms);
    blocked = s->tokens < 1.0;
    if (blocked)
        *retry_after_s = (long)((1.0 - s->tokens) / l->per_ms / 1000.0) + 1;
    pthread_mutex_unlock(&l->lock);
    return blocked;
}

void addr_limit_fail_at(struct addr_limit *l, const struct sockaddr *sa, int64_t now_ms)
{
    uint8_t key[16];
    struct slot *s;

    if (l == NULL)
        return;
    key_of(sa, key);
    pthread_mutex_lock(&l->lock);
    s = find(l, key, now_ms);
    s->tokens -= 1.0;
    if (s->tokens < 0)
        s->tokens = 0;
    pthread_mutex_unlock(&l->lock);
}

int addr_limit_blocked(struct addr_limit *l, const struct sockaddr *sa, long *retry_after_s)
{
    return addr_limit_blocked_at(l, sa, mono_ms(), retry_after_s);
}

void addr_limit_fail(struct addr_limit *l, const struct sockaddr *sa)
{
    addr_limit_fail_at(l, sa, mono_ms());
}
