#include "engine_window.h"

#include <stdlib.h>
#include <string.h>

static size_t key_hash(const char *member, const char *field)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = member; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h = (h ^ 0x1f) * 1099511628211ULL;
    for (const char *p = field; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return (size_t)(h % WINDOW_BUCKETS);
}

static size_t member_hash(const char *member)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = member; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return (size_t)(h % WINDOW_BUCKETS);
}

struct witem *window_member_first(const struct window *w, const char *member)
{
    return w->members[member_hash(member)];
}

static void member_unlink(struct window *w, struct witem *it)
{
    struct witem **pp = &w->members[member_hash(it->member)];
    while (*pp != NULL) {
        if (*pp == it) {
            *pp = it->mnext;
            return;
        }
        pp = &(*pp)->mnext;
    }
}

static void item_free(struct witem *it)
{
    free(it->member);
    free(it->field);
    free(it->value);
    free(it->origin);
    free(it->remote_id);
    free(it);
}

void window_init(struct window *w, int64_t cursor)
{
    memset(w, 0, sizeof(*w));
    w->read_seq = cursor;
    w->committed = cursor;
}

void window_reset(struct window *w, int64_t cursor)
{
    struct witem *it = w->head;
    while (it != NULL) {
        struct witem *next = it->next;
        item_free(it);
        it = next;
    }
    window_init(w, cursor);
}

/* An item is in exactly one of the two tables: pending (buckets) or in
 * flight (flying), both chained through hnext. */
static struct witem **table_of(struct window *w, const struct witem *it)
{
    return it->inflight ? w->flying : w->buckets;
}

static void hash_insert(struct window *w, struct witem *it)
{
    struct witem **t = table_of(w, it);
    size_t b = key_hash(it->member, it->field);
    it->hnext = t[b];
    t[b] = it;
}

static void hash_remove(struct window *w, struct witem *it)
{
    size_t b = key_hash(it->member, it->field);
    struct witem **pp = &table_of(w, it)[b];
    while (*pp != NULL) {
        if (*pp == it) {
            *pp = it->hnext;
            it->hnext = NULL;
            return;
        }
        pp = &(*pp)->hnext;
    }
}

static struct witem *find_in(struct witem *const *table, const char *member, const char *field)
{
    for (struct witem *it = table[key_hash(member, field)]; it != NULL; it = it->hnext) {
        if (strcmp(it->member, member) == 0 && strcmp(it->field, field) == 0)
            return it;
    }
    return NULL;
}

struct witem *window_find(const struct window *w, const char *member, const char *field)
{
    return find_in(w->buckets, member, field);
}

struct witem *window_find_inflight(const struct window *w, const char *member, const char *field)
{
    return find_in(w->flying, member, field);
}

static void sync_rec(struct witem *it)
{
    it->rec.member_key = it->member;
    it->rec.field = it->field;
    it->rec.value_json = it->value;
    it->rec.remote_id = it->remote_id;
}

int window_set_value(struct witem *it, const char *value)
{
    char *v;

    if (strcmp(it->value, value) == 0)
        return 0;
    v = strdup(value);
    if (v == NULL)
        return -1;
    it->hash_ok = 0;
    free(it->value);
    it->value = v;
    sync_rec(it);
    return 0;
}

struct witem *window_add(struct window *w, int64_t seq, const char *member, enum change_kind kind,
                         const char *field, const char *value, const char *origin)
{
    struct witem *it = window_find(w, member, field);

    if (seq > w->read_seq)
        w->read_seq = seq;
    if (it != NULL) {
        char *v = strdup(value), *o = strdup(origin);
        if (v == NULL || o == NULL) {
            free(v);
            free(o);
            return NULL;
        }
        free(it->value);
        free(it->origin);
        it->value = v;
        it->origin = o;
        it->hash_ok = 0;
        it->rec.seq = seq;
        it->rec.kind = kind;
        sync_rec(it);
        return it;
    }
    it = calloc(1, sizeof(*it));
    if (it == NULL)
        return NULL;
    it->member = strdup(member);
    it->field = strdup(field);
    it->value = strdup(value);
    it->origin = strdup(origin);
    if (it->member == NULL || it->field == NULL || it->value == NULL || it->origin == NULL) {
        item_free(it);
        return NULL;
    }
    it->min_seq = seq;
    it->rec.seq = seq;
    it->rec.kind = kind;
    sync_rec(it);
    it->prev = w->tail;
    if (w->tail != NULL)
        w->tail->next = it;
    else
        w->head = it;
    w->tail = it;
    w->n++;
    hash_insert(w, it);
    {
        size_t b = member_hash(it->member);
        it->mnext = w->members[b];
        w->members[b] = it;
    }
    return it;
}

size_t window_pending(const struct window *w)
{
    return w->n - w->n_inflight;
}

void window_take(struct window *w, struct witem *it)
{
    if (!it->inflight) {
        hash_remove(w, it);
        it->inflight = 1;
        w->n_inflight++;
        hash_insert(w, it);
    }
}

int window_requeue(struct window *w, struct witem *it, uint64_t next_at)
{
    hash_remove(w, it);
    if (it->inflight)
        w->n_inflight--;
    it->inflight = 0;
    if (window_find(w, it->member, it->field) != NULL) {
        window_remove(w, it);
        return 1;
    }
    it->next_at = next_at;
    hash_insert(w, it);
    return 0;
}

void window_remove(struct window *w, struct witem *it)
{
    hash_remove(w, it);
    if (it->inflight)
        w->n_inflight--;
    member_unlink(w, it);
    if (it->prev != NULL)
        it->prev->next = it->next;
    else
        w->head = it->next;
    if (it->next != NULL)
        it->next->prev = it->prev;
    else
        w->tail = it->prev;
    w->n--;
    item_free(it);
}

int64_t window_cursor(const struct window *w)
{
    /* Items are appended in seq order and keep the seq of their first
     * change, so the head holds the oldest unhandled change. */
    int64_t c = w->head != NULL ? w->head->min_seq - 1 : w->read_seq;
    return c > w->committed ? c : w->committed;
}
