/* The health registry (see health.h): a fixed table under one mutex. */
#include "health.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "timefmt.h"

#define MAX_PROBLEMS 64

struct problem {
    int used;
    enum health_reason reason;
    char connector[HEALTH_NAME_MAX]; /* "" = daemon-wide */
    char detail[256];
    int64_t since_ms;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct problem problems[MAX_PROBLEMS];
static struct health_snapshot_connector conns[HEALTH_MAX_CONNECTORS];
static size_t n_conns;
static int64_t urgent_max_age_ms;

static const char *const reason_names[HEALTH_REASON_COUNT] = {
    [HEALTH_AUTH_FAILING] = "auth_failing",
    [HEALTH_QUOTA_EXHAUSTED] = "quota_exhausted",
    [HEALTH_STATE_NOT_WRITABLE] = "state_not_writable",
    [HEALTH_DISK_FULL] = "disk_full",
    [HEALTH_BACKLOG_OVER_BOUND] = "backlog_over_bound",
    [HEALTH_CONNECTOR_FAILED] = "connector_failed",
    [HEALTH_URGENT_OVERDUE] = "urgent_overdue",
    [HEALTH_DESTINATION_UNREACHABLE] = "destination_unreachable",
    [HEALTH_URGENT_OLD] = "urgent_change_old",
    [HEALTH_DESTINATION_REJECTING] = "destination_rejecting",
};

const char *health_reason_name(enum health_reason r)
{
    return (unsigned)r < HEALTH_REASON_COUNT ? reason_names[r] : "unknown";
}

static int same(const struct problem *p, enum health_reason r, const char *connector)
{
    return p->used && p->reason == r &&
           strncmp(p->connector, connector ? connector : "", HEALTH_NAME_MAX - 1) == 0;
}

void health_raise(enum health_reason r, const char *connector, const char *fmt, ...)
{
    struct problem *slot = NULL;
    struct problem *oldest = NULL;
    va_list ap;

    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < MAX_PROBLEMS; i++) {
        struct problem *p = &problems[i];
        if (same(p, r, connector)) {
            slot = p;
            break;
        }
        if (!p->used && slot == NULL)
            slot = p;
        if (p->used && p->reason == r && (oldest == NULL || p->since_ms < oldest->since_ms))
            oldest = p;
    }
    if (slot == NULL)
        slot = oldest != NULL ? oldest : &problems[0];
    if (!same(slot, r, connector)) {
        slot->used = 1;
        slot->reason = r;
        snprintf(slot->connector, sizeof(slot->connector), "%s", connector ? connector : "");
        slot->since_ms = timefmt_now_ms();
    }
    va_start(ap, fmt);
    vsnprintf(slot->detail, sizeof(slot->detail), fmt, ap);
    va_end(ap);
    pthread_mutex_unlock(&lock);
}

void health_clear(enum health_reason r, const char *connector)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < MAX_PROBLEMS; i++) {
        if (same(&problems[i], r, connector))
            problems[i].used = 0;
    }
    pthread_mutex_unlock(&lock);
}

void health_clear_reason(enum health_reason r)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < MAX_PROBLEMS; i++) {
        if (problems[i].used && problems[i].reason == r)
            problems[i].used = 0;
    }
    pthread_mutex_unlock(&lock);
}

void health_set_connectors(const struct health_connector *list, size_t n)
{
    struct health_snapshot_connector next[HEALTH_MAX_CONNECTORS];
    size_t k = 0;

    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < n && k < HEALTH_MAX_CONNECTORS; i++, k++) {
        memset(&next[k], 0, sizeof(next[k]));
        snprintf(next[k].name, sizeof(next[k].name), "%s", list[i].name);
        snprintf(next[k].type, sizeof(next[k].type), "%s", list[i].type ? list[i].type : "");
        next[k].destination = list[i].destination;
        for (size_t j = 0; j < n_conns; j++) {
            if (strcmp(conns[j].name, next[k].name) == 0)
                next[k].backlog_bound = conns[j].backlog_bound;
        }
    }
    memcpy(conns, next, k * sizeof(next[0]));
    n_conns = k;
    /* Problems of connectors that are gone would never be cleared. */
    for (size_t i = 0; i < MAX_PROBLEMS; i++) {
        int known = problems[i].connector[0] == '\0';
        for (size_t j = 0; j < n_conns && !known; j++)
            known = strcmp(problems[i].connector, conns[j].name) == 0;
        if (!known)
            problems[i].used = 0;
    }
    pthread_mutex_unlock(&lock);
}

void health_set_backlog_bound(const char *connector, int64_t bound)
{
    pthread_mutex_lock(&lock);
    for (size_t j = 0; j < n_conns; j++) {
        if (strcmp(conns[j].name, connector) == 0)
            conns[j].backlog_bound = bound;
    }
    pthread_mutex_unlock(&lock);
}

void health_problem_append(json_t *arr, enum health_reason r, const char *connector,
                           const char *detail, int64_t since_ms)
{
    char buf[40];
    json_t *o = json_object();

    json_object_set_new(o, "reason", json_string(health_reason_name(r)));
    json_object_set_new(o, "connector",
                        connector && connector[0] ? json_string(connector) : json_null());
    json_object_set_new(o, "detail", json_string(detail ? detail : ""));
    if (since_ms > 0)
        json_object_set_new(o, "since",
                            json_string(timefmt_format_rfc3339(since_ms, buf, sizeof(buf))));
    json_array_append_new(arr, o);
}

int health_snapshot(struct health_snapshot *out)
{
    out->problems = json_array();
    if (out->problems == NULL)
        return -1;
    pthread_mutex_lock(&lock);
    out->n_connectors = n_conns;
    memcpy(out->connectors, conns, n_conns * sizeof(conns[0]));
    for (int r = 0; r < HEALTH_REASON_COUNT; r++) {
        for (size_t i = 0; i < MAX_PROBLEMS; i++) {
            const struct problem *p = &problems[i];
            if (p->used && p->reason == (enum health_reason)r)
                health_problem_append(out->problems, p->reason, p->connector, p->detail,
                                      p->since_ms);
        }
    }
    pthread_mutex_unlock(&lock);
    return 0;
}

void health_reset(void)
{
    pthread_mutex_lock(&lock);
    memset(problems, 0, sizeof(problems));
    memset(conns, 0, sizeof(conns));
    n_conns = 0;
    pthread_mutex_unlock(&lock);
}

void health_set_urgent_max_age(int64_t ms)
{
    pthread_mutex_lock(&lock);
    urgent_max_age_ms = ms;
    pthread_mutex_unlock(&lock);
}

int64_t health_urgent_max_age(void)
{
    int64_t ms;

    pthread_mutex_lock(&lock);
    ms = urgent_max_age_ms;
    pthread_mutex_unlock(&lock);
    return ms;
}
