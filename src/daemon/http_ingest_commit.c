/* HTTP ingest, the group-commit side (see http_ingest.h): on the event
 * loop, the jobs the request threads queued are applied through the pull
 * sink in one transaction, each event's answer kept for replays, and the
 * waiting threads woken once the transaction is durable. */
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "http_ingest_answer.h"
#include "http_ingest_internal.h"
#include "ingest.h"
#include "log.h"
#include "store.h"
#include "store_answer.h"

const char *const ingest_result_names[RES_N] = {"applied", "unchanged", "duplicate", "rejected"};

static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h;
}

static enum event_result map_apply(enum apply_result r)
{
    switch (r) {
    case APPLY_APPLIED:
        return RES_APPLIED;
    case APPLY_DUPLICATE:
        return RES_DUPLICATE;
    case APPLY_REJECTED:
        return RES_REJECTED;
    case APPLY_UNCHANGED:
    case APPLY_ERASED:
    default:
        return RES_UNCHANGED;
    }
}

/* Which result an event with several changes (a profile) gets: the most
 * telling of its changes' results. */
static int rank(enum event_result r)
{
    static const int ranks[RES_N] = {
        [RES_REJECTED] = 3, [RES_APPLIED] = 2, [RES_UNCHANGED] = 1, [RES_DUPLICATE] = 0};
    return ranks[r];
}

/* Applies one event's changes inside the open transaction; r gets the most
 * telling of their results. Returns -1 on a store error. */
static int apply_changes(struct http_ingest *h, struct ingest_item *it, struct item_result *r,
                         struct error *err)
{
    struct pull_sink *sink = &h->ing->sink;

    r->result = RES_DUPLICATE;
    for (size_t k = 0; k < it->ev.n; k++) {
        enum apply_result res;
        struct error aerr = {""};
        enum event_result er;

        if (sink->change(sink->ctx, &h->conn, &it->ev.changes[k], &res, &aerr) != 0) {
            *err = aerr;
            return -1;
        }
        er = map_apply(res);
        if (k == 0 || rank(er) > rank(r->result)) {
            r->result = er;
            if (er == RES_REJECTED)
                snprintf(r->reason, sizeof(r->reason), "%s", aerr.msg);
            else if (res == APPLY_ERASED)
                snprintf(r->reason, sizeof(r->reason), "member is erased");
        }
    }
    return 0;
}

static int result_of_name(const char *name)
{
    for (int k = 0; k < RES_N; k++) {
        if (strcmp(ingest_result_names[k], name) == 0)
            return k;
    }
    return -1;
}

/* An event id reused with another body: not applied, answered as a
 * conflict, and kept as a dead letter (once per body: its key holds the
 * body's hash). */
static int conflict_event(struct http_ingest *h, struct job *j, struct ingest_item *it,
                          struct item_result *r, const char *id, const char *key, int64_t hash,
                          struct error *err)
{
    struct pull_sink *sink = &h->ing->sink;
    struct dead_letter_in dl = {0};
    char *payload = json_dumps(it->ev.root, JSON_COMPACT);
    char *idem = NULL;
    size_t n = strlen(key) + 48;
    int rc = -1;

    r->result = RES_REJECTED;
    r->conflict = 1;
    snprintf(r->reason, sizeof(r->reason),
             "conflict: event id %s was used before with a different body", id);
    idem = malloc(n);
    if (payload == NULL || idem == NULL) {
        error_set(err, "out of memory");
        goto out;
    }
    snprintf(idem, n, "conflict:%016" PRIx64 ":%s", (uint64_t)hash, key);
    dl.destination = "ingest";
    dl.origin = h->o.origin;
    dl.member_key = it->ev.changes[0].member_key;
    dl.payload = payload;
    dl.source = j->source_ref;
    dl.reason = r->reason;
    dl.idem_key = idem;
    if (sink->reject(sink->ctx, &h->conn, &dl, err) != 0)
        goto out;
    rc = 0;
out:
    free(payload);
    free(idem);
    return rc;
}

/* Where an event's answer is kept. An event of one change whose key is
 * the event's own ("<origin>:<event id>": every type but profile) keeps it
 * on that key's row, which applying the change records in the same
 * transaction (store_answer_keep): no row of its own, one entry fewer in
 * idem_keys and its key index per event. A profile event (its changes'
 * keys carry "#<attribute>") keeps it under its answer key with the
 * event's hash, as every event did before. */
static int on_change_key(struct http_ingest *h, const struct ingest_item *it, const char *id)
{
    const char *k = it->ev.changes[0].idem_key;
    size_t n = strlen(h->o.origin);

    return it->ev.n == 1 && strncmp(k, h->o.origin, n) == 0 && k[n] == ':' &&
           strcmp(k + n + 1, id) == 0;
}

/* The answer the event's first sending got, or the conflict. Both places
 * are looked at: the one this event would use first, the other when that
 * knows nothing (an event answered before answers were kept on change
 * keys, a profile event and one of another type with the same id). */
static int kept_answer(struct http_ingest *h, const struct ingest_item *it, const char *id,
                       const char *key, enum store_answer_state *state, char **answer,
                       struct error *err)
{
    struct store *st = h->ing->store;
    const char *plain = it->ev.changes[0].idem_key;

    if (on_change_key(h, it, id)) {
        if (store_answer_get(st, plain, it->change_hash, state, answer, err) != 0)
            return -1;
        if (*state == STORE_ANSWER_CONFLICT || *answer != NULL)
            return 0;
        /* Known without an answer (kept under the answer key before), or
         * not known: the answer key decides; not there either, the event
         * is applied (and store_apply finds a known change a duplicate). */
        return store_answer_get(st, key, it->hash, state, answer, err);
    }
    if (store_answer_get(st, key, it->hash, state, answer, err) != 0)
        return -1;
    if (*state != STORE_ANSWER_NONE)
        return 0;
    {
        /* A profile event whose id an event of another type used: that
         * one's key is the plain "<origin>:<id>" (any hash differs). */
        char plain_key[SPOOL_MAX_KEY + 192];
        enum store_answer_state other;
        char *unused = NULL;

        snprintf(plain_key, sizeof(plain_key), "%s:%s", h->o.origin, id);
        if (store_answer_get(st, plain_key, it->hash, &other, &unused, err) != 0)
            return -1;
        free(unused);
        if (other != STORE_ANSWER_NONE)
            *state = STORE_ANSWER_CONFLICT;
    }
    return 0;
}

/* Keeps the answer of an event just applied. On the change key: a
 * one-change event that recorded no key (a tombstoned member's) keeps
 * nothing, and sent again is answered the same way again. */
static int keep_answer(struct http_ingest *h, const struct ingest_item *it, const char *id,
                       const char *key, const char *text, struct error *err)
{
    int kept = 0;

    if (on_change_key(h, it, id))
        return store_answer_keep(h->ing->store, it->ev.changes[0].idem_key, text, &kept, err);
    return store_answer_put(h->ing->store, key, it->hash, text, err);
}

/* One parsed, permitted event. Its answer is kept with its key and the
 * hash of its body (state/store_answer.h): sent again with the same body it
 * gets that answer and changes nothing; with another body it is a
 * conflict. Returns -1 on a store error. */
static int apply_event(struct http_ingest *h, struct job *j, struct ingest_item *it,
                       struct item_result *r, struct error *err)
{
    const char *id = json_string_value(json_object_get(it->ev.root, "event_id"));
    char key[SPOOL_MAX_KEY + 192];
    enum store_answer_state state;
    char *answer = NULL, *text = NULL;
    int rc = -1;

    if (id == NULL || ingest_answer_key(h->o.origin, id, key, sizeof(key)) != 0)
        return apply_changes(h, it, r, err);
    if (kept_answer(h, it, id, key, &state, &answer, err) != 0)
        goto out;
    if (state == STORE_ANSWER_CONFLICT) {
        rc = conflict_event(h, j, it, r, id, key, it->hash, err);
        goto out;
    }
    if (state == STORE_ANSWER_SAME) {
        char name[16];
        int k = -1;

        if (answer != NULL &&
            ingest_answer_decode(answer, name, sizeof(name), r->reason, sizeof(r->reason)) == 0)
            k = result_of_name(name);
        /* A key kept without a readable answer: the event is known, so it
         * is a duplicate (nothing is applied again either way). */
        r->result = k >= 0 ? (enum event_result)k : RES_DUPLICATE;
        if (k < 0)
            r->reason[0] = '\0';
        r->replayed = 1;
        rc = 0;
        goto out;
    }
    if (apply_changes(h, it, r, err) != 0)
        goto out;
    text = ingest_answer_encode(ingest_result_names[r->result], r->reason);
    if (text == NULL) {
        error_set(err, "out of memory");
        goto out;
    }
    if (keep_answer(h, it, id, key, text, err) != 0)
        goto out;
    rc = 0;
out:
    free(answer);
    free(text);
    return rc;
}

/* Applies one job's events inside the open transaction. Returns -1 on a
 * store error (the transaction is lost). */
static int apply_job(struct http_ingest *h, struct job *j, struct error *err)
{
    struct pull_sink *sink = &h->ing->sink;

    for (size_t i = 0; i < j->body.n; i++) {
        struct ingest_item *it = &j->body.items[i];
        struct item_result *r = &j->res[i];

        if (!it->ok) {
            char idem[INGEST_CLIENT_ID_MAX + 64];
            struct dead_letter_in dl = {0};

            snprintf(idem, sizeof(idem), "%s:%s:%016" PRIx64, h->o.origin, j->source_ref,
                     fnv1a(it->text ? it->text : "", it->text ? strlen(it->text) : 0));
            dl.destination = "ingest";
            dl.origin = h->o.origin;
            dl.payload = it->text ? it->text : "";
            dl.source = j->source_ref;
            dl.reason = it->reason;
            dl.idem_key = idem;
            if (sink->reject(sink->ctx, &h->conn, &dl, err) != 0)
                return -1;
            r->result = RES_REJECTED;
            snprintf(r->reason, sizeof(r->reason), "%s", it->reason);
            continue;
        }
        if (!j->permitted[i]) {
            r->result = RES_REJECTED;
            continue; /* reason set by the request thread */
        }
        if (apply_event(h, j, it, r, err) != 0)
            return -1;
    }
    return 0;
}

void http_ingest_finish_jobs(struct http_ingest *h, struct job *group, int status)
{
    pthread_mutex_lock(&h->lock);
    for (struct job *j = group; j != NULL;) {
        struct job *next = j->next;
        j->status = status;
        j->next = NULL;
        j->done = 1;
        /* Under the lock: the thread cannot see done, return and destroy
         * j (on its stack) before the lock is let go. */
        pthread_cond_signal(&j->done_cond);
        j = next;
    }
    pthread_mutex_unlock(&h->lock);
}

void http_ingest_commit_cb(uv_async_t *a)
{
    struct http_ingest *h = a->data;
    struct pull_sink *sink = &h->ing->sink;
    struct job *group = NULL, **tail = &group;
    struct error err = {""};
    long events = 0;
    int more;

    /* Whole requests, up to max_group events (at least one request). */
    pthread_mutex_lock(&h->lock);
    while (h->head != NULL &&
           (events == 0 || events + (long)h->head->body.n <= h->live->o.max_group)) {
        struct job *j = h->head;
        h->head = j->next;
        if (h->head == NULL)
            h->tail = NULL;
        j->next = NULL;
        *tail = j;
        tail = &j->next;
        events += (long)j->body.n;
    }
    h->pending -= events;
    more = h->head != NULL;
    pthread_mutex_unlock(&h->lock);
    if (group == NULL)
        return;
    if (sink->begin(sink->ctx, &h->conn, &err) != 0)
        goto fail;
    for (struct job *j = group; j != NULL; j = j->next) {
        if (apply_job(h, j, &err) != 0) {
            sink->abort(sink->ctx, &h->conn);
            goto fail;
        }
    }
    if (sink->commit(sink->ctx, &h->conn, NULL, &err) != 0)
        goto fail;
    http_ingest_finish_jobs(h, group, 0);
    goto out;
fail:
    log_error("ingest", NULL, "%ld event(s) not stored, answered 503: %s", events, err.msg);
    http_ingest_finish_jobs(h, group, MHD_HTTP_SERVICE_UNAVAILABLE);
out:
    if (more)
        uv_async_send(&h->async);
}

/* On the loop: the engine's figures are the loop's own; the request
 * threads read the outcome under the lock. */
void http_ingest_backlog_cb(uv_timer_t *t)
{
    struct http_ingest *h = t->data;
    struct engine *e = h->ing->engine; /* NULL while a reload swaps it */
    const char *name = NULL;
    int64_t n = 0;
    int over, was;

    if (e == NULL || h->live->o.max_backlog <= 0)
        return;
    n = engine_max_backlog(e, &name);
    over = name != NULL && n > h->live->o.max_backlog;
    pthread_mutex_lock(&h->lock);
    was = h->over_backlog;
    h->over_backlog = over;
    h->backlog = n;
    snprintf(h->backlog_dest, sizeof(h->backlog_dest), "%s", name != NULL ? name : "");
    pthread_mutex_unlock(&h->lock);
    if (over && !was)
        log_notice("ingest", NULL,
                   "destination %s has %" PRId64 " changes waiting (over max_backlog %ld): "
                   "events are answered 429 until it drains (withdrawals and erasures pass)",
                   name, n, h->live->o.max_backlog);
    else if (!over && was)
        log_notice("ingest", NULL, "destination backlog under max_backlog again: events accepted");
}
