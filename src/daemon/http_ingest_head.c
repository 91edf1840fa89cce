/* The deadline on a request's head (see http_ingest_head.h). */
#include "http_ingest_head.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "log.h"
#include "metrics.h"

enum head_state {
    HEAD_WAITING = 0, /* the head is due by the deadline */
    HEAD_IN,          /* the headers are in: the request is the handler's */
    HEAD_EXPIRED,     /* answered 408 and shut down */
};

struct head_conn {
    struct head_conn *prev, *next;
    int fd;
    enum head_state state;
    int64_t deadline_ms; /* monotonic; 0: none */
};

struct head_watch {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    struct head_conn *head; /* every open connection */
    long timeout_ms;
    int tls;
    int stop;
    int64_t wake_ms; /* when the thread means to wake next; 0: not before a signal */
    long expired;
    char answer[512]; /* the 408, written as is */
    size_t answer_len;
};

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Under the lock: the thread wakes by deadline_ms at the latest. */
static void wake_by(struct head_watch *w, int64_t deadline_ms)
{
    if (deadline_ms > 0 && (w->wake_ms == 0 || deadline_ms < w->wake_ms))
        pthread_cond_signal(&w->cond);
}

/* Under the lock. The socket is still open: it is closed by libmicrohttpd
 * only after head_watch_close(), which takes the lock. */
static void expire(struct head_watch *w, struct head_conn *c)
{
    c->state = HEAD_EXPIRED;
    w->expired++;
    if (!w->tls) {
        /* One small write into an empty socket buffer (nothing was
         * answered on this request yet): it does not block. */
        ssize_t n = send(c->fd, w->answer, w->answer_len, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)n;
    }
    /* The connection's thread sees the end of its input and closes. */
    shutdown(c->fd, SHUT_RDWR);
}

static void *run(void *arg)
{
    struct head_watch *w = arg;
    long logged = 0;

    pthread_mutex_lock(&w->lock);
    while (!w->stop) {
        int64_t now = now_ms(), next = 0;

        for (struct head_conn *c = w->head; c != NULL; c = c->next) {
            if (c->state != HEAD_WAITING || c->deadline_ms == 0)
                continue;
            if (c->deadline_ms <= now)
                expire(w, c);
            else if (next == 0 || c->deadline_ms < next)
                next = c->deadline_ms;
        }
        if (w->expired != logged) {
            long n = w->expired - logged;
            logged = w->expired;
            pthread_mutex_unlock(&w->lock);
            metrics_counter_add(METRIC_HTTP_INGEST_REQUESTS, (const char *[]){"408"}, n);
            log_info("ingest", NULL,
                     "%ld client(s) did not send a request's headers within header_timeout: "
                     "answered 408, connection closed",
                     n);
            pthread_mutex_lock(&w->lock);
            continue;
        }
        w->wake_ms = next;
        if (next == 0) {
            pthread_cond_wait(&w->cond, &w->lock);
        } else {
            struct timespec until = {.tv_sec = (time_t)(next / 1000),
                                     .tv_nsec = (long)(next % 1000) * 1000000};
            pthread_cond_timedwait(&w->cond, &w->lock, &until);
        }
        w->wake_ms = 0;
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

struct head_watch *head_watch_new(long header_timeout_ms, int tls)
{
    struct head_watch *w = calloc(1, sizeof(*w));
    pthread_condattr_t attr;
    json_t *doc;
    char *body;
    int n;

    if (w == NULL)
        return NULL;
    w->timeout_ms = header_timeout_ms;
    w->tls = tls;
    doc = json_pack("{s:s,s:s}", "error", "request_timeout", "detail",
                    "the request's headers did not arrive within [ingest] header_timeout");
    body = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (body == NULL) {
        free(w);
        return NULL;
    }
    n = snprintf(w->answer, sizeof(w->answer),
                 "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                 strlen(body), body);
    free(body);
    w->answer_len = n > 0 && (size_t)n < sizeof(w->answer) ? (size_t)n : 0;
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&w->thread, NULL, run, w) != 0) {
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->cond);
        free(w);
        return NULL;
    }
    return w;
}

void head_watch_free(struct head_watch *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    while (w->head != NULL) { /* none when libmicrohttpd has stopped */
        struct head_conn *c = w->head;
        w->head = c->next;
        free(c);
    }
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    free(w);
}

void head_watch_set_timeout(struct head_watch *w, long header_timeout_ms)
{
    pthread_mutex_lock(&w->lock);
    w->timeout_ms = header_timeout_ms;
    pthread_mutex_unlock(&w->lock);
}

/* Under the lock: due within ms from now (0: no deadline). */
static int64_t due(long ms)
{
    return ms > 0 ? now_ms() + ms : 0;
}

struct head_conn *head_watch_open(struct head_watch *w, int fd)
{
    struct head_conn *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->fd = fd;
    c->state = HEAD_WAITING;
    pthread_mutex_lock(&w->lock);
    c->deadline_ms = due(w->timeout_ms);
    c->next = w->head;
    if (w->head != NULL)
        w->head->prev = c;
    w->head = c;
    wake_by(w, c->deadline_ms);
    pthread_mutex_unlock(&w->lock);
    return c;
}

void head_watch_request_line(struct head_watch *w, struct head_conn *c)
{
    int64_t d;

    if (c == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    d = due(w->timeout_ms);
    if (c->state == HEAD_WAITING && d > 0 && (c->deadline_ms == 0 || d < c->deadline_ms)) {
        c->deadline_ms = d;
        wake_by(w, d);
    }
    pthread_mutex_unlock(&w->lock);
}

int head_watch_headers_in(struct head_watch *w, struct head_conn *c)
{
    int rc = 0;

    if (c == NULL)
        return 0;
    pthread_mutex_lock(&w->lock);
    if (c->state == HEAD_EXPIRED)
        rc = -1;
    else
        c->state = HEAD_IN;
    pthread_mutex_unlock(&w->lock);
    return rc;
}

void head_watch_next(struct head_watch *w, struct head_conn *c, long idle_ms)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    if (c->state == HEAD_IN) {
        c->state = HEAD_WAITING;
        c->deadline_ms = w->timeout_ms > 0 ? due(idle_ms + w->timeout_ms) : 0;
        wake_by(w, c->deadline_ms);
    }
    pthread_mutex_unlock(&w->lock);
}

void head_watch_close(struct head_watch *w, struct head_conn *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        w->head = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&w->lock);
    free(c);
}

long head_watch_expired(struct head_watch *w)
{
    long n;

    pthread_mutex_lock(&w->lock);
    n = w->expired;
    pthread_mutex_unlock(&w->lock);
    return n;
}
