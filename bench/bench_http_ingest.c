/* Load generator for the HTTP ingest (bench/http_ingest.sh), plain C with
 * blocking sockets, one thread per keep-alive connection.
 *
 *   bench_http_ingest load HOST PORT TOKEN CONNS REQUESTS_PER_CONN EVENTS_PER_REQ
 *       Each connection sends its requests back to back (closed loop);
 *       prints events/s and the latency percentiles of the answers.
 *   bench_http_ingest rate HOST PORT TOKEN CONNS RATE SECONDS
 *       Single-event requests at RATE per second in all, spread over the
 *       connections on a fixed schedule; latency is counted from the
 *       scheduled send time (a late send counts against the daemon), so a
 *       stall is not hidden (no coordinated omission).
 *   bench_http_ingest e2e HOST PORT TOKEN CONNS RATE SECONDS LOG
 *       As rate, but each request's event is for a member of its own
 *       (E<run>-<conn>-<seq>), and LOG gets one line per answered request:
 *       the member and its scheduled send time in wall-clock milliseconds,
 *       for the script to compare with when the CRM simulator got it.
 *   bench_http_ingest verify PUBKEY_PEM TOKEN ISSUER AUDIENCE N
 *       ingest_auth_verify() on one token N times with liboauth2's cache on,
 *       then N times with it off: microseconds per verification.
 *
 * LAT_LOG=FILE (load, rate, e2e): one line per answer, its send time in
 * seconds from the start and its latency in ms, to see when slow answers
 * came (a stall shows as a run of them).
 *
 * Every answer must be 200 with no "rejected" result, or the run fails. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_ingest_auth.h"

struct worker {
    int id;
    const char *host;
    int port;
    const char *token;
    long requests;
    long events;
    double interval_s; /* rate mode: seconds between this worker's sends */
    double start;      /* rate mode: common start time */
    double *lat;       /* per request, seconds */
    long done;
    long errors;
    int own_members; /* e2e mode: a member per request */
    double *sent;    /* e2e mode: per request, its scheduled send time if answered, or 0 */
    double *due;     /* per answer, its send time (LAT_LOG) */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_to(const char *host, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;

    if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Builds the body of request seq of worker w: events_per_req points events
 * with ids unique per run. */
static size_t make_body(const struct worker *w, long seq, long n, long run, char *buf, size_t size)
{
    size_t o = 0;
    if (w->own_members)
        return (size_t)snprintf(
            buf, size,
            "[{\"event_id\":\"e%ld-%d-%ld\",\"type\":\"points\","
            "\"member\":\"E%ld-%d-%ld\",\"occurred_at\":\"2026-11-01T10:00:00Z\","
            "\"txn_id\":\"e%ld-%d-%ld\",\"delta\":1,\"reason\":\"earn\"}]",
            run, w->id, seq, run, w->id, seq, run, w->id, seq);
    o += (size_t)snprintf(buf + o, size - o, "[");
    for (long i = 0; i < n && o < size; i++) {
        o += (size_t)snprintf(buf + o, size - o,
                              "%s{\"event_id\":\"b%ld-%d-%ld-%ld\",\"type\":\"points\","
                              "\"member\":\"M%ld\",\"occurred_at\":\"2026-11-01T10:00:00Z\","
                              "\"txn_id\":\"b%ld-%d-%ld-%ld\",\"delta\":1,\"reason\":\"earn\"}",
                              i ? "," : "", run, w->id, seq, i, (seq * 7 + i) % 5000, run, w->id,
                              seq, i);
    }
    if (o < size)
        o += (size_t)snprintf(buf + o, size - o, "]");
    return o;
}

/* Sends one request and reads its answer (Content-Length framed). Returns
 * the status, or -1. */
static int exchange(int fd, const char *host, const char *token, const char *body, size_t blen,
                    int *rejected)
{
    static __thread char rbuf[1 << 20];
    char head[4096];
    size_t got = 0;
    int hl = snprintf(head, sizeof(head),
                      "POST /v1/events HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                      host, token, blen);
    char *end, *cl;
    long clen;
    int status;

    if (write(fd, head, (size_t)hl) != hl || write(fd, body, blen) != (ssize_t)blen)
        return -1;
    for (;;) {
        ssize_t n = read(fd, rbuf + got, sizeof(rbuf) - 1 - got);
        if (n <= 0)
            return -1;
        got += (size_t)n;
        rbuf[got] = '\0';
        end = strstr(rbuf, "\r\n\r\n");
        if (end == NULL)
            continue;
        cl = strcasestr(rbuf, "Content-Length:");
        clen = cl != NULL && cl < end ? strtol(cl + 15, NULL, 10) : 0;
        if (got >= (size_t)(end + 4 - rbuf) + (size_t)clen)
            break;
    }
    status = (int)strtol(rbuf + 9, NULL, 10);
    *rejected = strstr(end, "\"rejected\"") != NULL && strstr(end, "\"rejected\":0") == NULL;
    return status;
}

static long run_id;

static void *work(void *arg)
{
    struct worker *w = arg;
    size_t cap = (size_t)w->events * 260 + 64;
    char *body = malloc(cap);
    int fd = connect_to(w->host, w->port);

    if (fd < 0 || body == NULL) {
        w->errors = w->requests;
        free(body);
        return NULL;
    }
    for (long r = 0; r < w->requests; r++) {
        size_t blen = make_body(w, r, w->events, run_id, body, cap);
        double t0 = now_s();
        int rejected = 0;
        int st;

        if (w->interval_s > 0) {
            double due = w->start + (double)r * w->interval_s;
            if (due > t0)
                usleep((useconds_t)((due - t0) * 1e6));
            t0 = due;
        }
        st = exchange(fd, w->host, w->token, body, blen, &rejected);
        if (st != 200 || rejected) {
            w->errors++;
            if (st < 0) {
                close(fd);
                fd = connect_to(w->host, w->port);
                if (fd < 0)
                    break;
            }
            continue;
        }
        if (w->sent != NULL)
            w->sent[r] = t0;
        if (w->due != NULL)
            w->due[w->done] = t0;
        w->lat[w->done++] = now_s() - t0;
    }
    if (fd >= 0)
        close(fd);
    free(body);
    return NULL;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* e2e mode: "member<TAB>scheduled send time, wall-clock ms" per answer. */
static int write_sent(const char *path, const struct worker *ws, long conns)
{
    struct timespec rt;
    double offset;
    FILE *fp = fopen(path, "w");

    if (fp == NULL)
        return -1;
    /* The workers timed with CLOCK_MONOTONIC; the simulator stamps with
     * the wall clock. */
    clock_gettime(CLOCK_REALTIME, &rt);
    offset = (double)rt.tv_sec + (double)rt.tv_nsec / 1e9 - now_s();
    for (long i = 0; i < conns; i++)
        for (long r = 0; r < ws[i].requests; r++)
            if (ws[i].sent[r] > 0)
                fprintf(fp, "E%ld-%d-%ld\t%.0f\n", run_id, ws[i].id, r,
                        (ws[i].sent[r] + offset) * 1e3);
    return fclose(fp) == 0 ? 0 : -1;
}

static int run_load(int argc, char **argv, int rate_mode)
{
    long conns, per_conn, events;
    double rate = 0, seconds = 0;
    struct worker *ws;
    pthread_t *th;
    double t0, t1, *all;
    long n = 0, errors = 0;

    const char *log_path = NULL;
    /* LAT_LOG=FILE: "send time since start, s<TAB>latency, ms" per answer,
     * to see when the slow answers came. */
    const char *lat_log = getenv("LAT_LOG");
    FILE *lat_fp = NULL;

    if (argc != (rate_mode == 2 ? 9 : 8))
        return 2;
    if (rate_mode == 2)
        log_path = argv[8];
    conns = strtol(argv[5], NULL, 10);
    if (rate_mode) {
        rate = strtod(argv[6], NULL);
        seconds = strtod(argv[7], NULL);
        per_conn = (long)(rate * seconds / (double)conns);
        events = 1;
    } else {
        per_conn = strtol(argv[6], NULL, 10);
        events = strtol(argv[7], NULL, 10);
    }
    run_id = (long)time(NULL);
    ws = calloc((size_t)conns, sizeof(*ws));
    th = calloc((size_t)conns, sizeof(*th));
    all = calloc((size_t)(conns * per_conn) + 1, sizeof(*all));
    if (ws == NULL || th == NULL || all == NULL)
        return 1;
    if (lat_log != NULL)
        lat_fp = fopen(lat_log, "w");
    t0 = now_s() + 0.05;
    for (long i = 0; i < conns; i++) {
        ws[i] = (struct worker){.id = (int)i,
                                .host = argv[2],
                                .port = (int)strtol(argv[3], NULL, 10),
                                .token = argv[4],
                                .requests = per_conn,
                                .events = events,
                                .lat = calloc((size_t)per_conn + 1, sizeof(double))};
        if (rate_mode == 2) {
            ws[i].own_members = 1;
            ws[i].sent = calloc((size_t)per_conn + 1, sizeof(double));
        }
        if (rate_mode) {
            ws[i].interval_s = (double)conns / rate;
            /* Connections start staggered, so the sends are evenly spread. */
            ws[i].start = t0 + (double)i / rate;
        }
        if (lat_log != NULL)
            ws[i].due = calloc((size_t)per_conn + 1, sizeof(double));
        pthread_create(&th[i], NULL, work, &ws[i]);
    }
    for (long i = 0; i < conns; i++) {
        pthread_join(th[i], NULL);
        for (long k = 0; lat_fp != NULL && k < ws[i].done; k++)
            fprintf(lat_fp, "%.4f\t%.3f\n", ws[i].due[k] - t0, ws[i].lat[k] * 1e3);
        free(ws[i].due);
        memcpy(all + n, ws[i].lat, (size_t)ws[i].done * sizeof(double));
        n += ws[i].done;
        errors += ws[i].errors;
        free(ws[i].lat);
    }
    t1 = now_s();
    if (lat_fp != NULL)
        fclose(lat_fp);
    if (log_path != NULL && write_sent(log_path, ws, conns) != 0) {
        fprintf(stderr, "cannot write %s\n", log_path);
        errors++;
    }
    for (long i = 0; i < conns; i++)
        free(ws[i].sent);
    qsort(all, (size_t)n, sizeof(double), cmp_d);
    printf("requests=%ld errors=%ld events=%ld seconds=%.2f events_per_s=%.0f requests_per_s=%.0f "
           "p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
           n, errors, n * events, t1 - t0, (double)(n * events) / (t1 - t0), (double)n / (t1 - t0),
           n ? all[n / 2] * 1e3 : 0, n ? all[(n * 99) / 100] * 1e3 : 0, n ? all[n - 1] * 1e3 : 0);
    free(all);
    free(ws);
    free(th);
    return errors ? 1 : 0;
}

static int run_verify(int argc, char **argv)
{
    long n;
    int rc = 0;

    if (argc != 7)
        return 2;
    n = strtol(argv[6], NULL, 10);
    /* Uncached first: both share liboauth2's process-wide cache. */
    for (int cached = 0; cached <= 1; cached++) {
        struct ingest_auth_options o = {"pubkey", argv[2],         NULL, argv[4],
                                        argv[5],  cached ? 60 : 0, 0};
        struct ingest_auth *a = NULL;
        struct error err = {""};
        struct ingest_token tok;
        double t0;

        if (ingest_auth_new(&o, &a, &err) != 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        t0 = now_s();
        for (long i = 0; i < n; i++) {
            if (ingest_auth_verify(a, argv[3], &tok) != AUTH_FAIL_NONE) {
                fprintf(stderr, "verification failed\n");
                rc = 1;
                break;
            }
        }
        printf("verify_%s_us=%.1f\n", cached ? "cached" : "uncached",
               (now_s() - t0) / (double)n * 1e6);
        ingest_auth_free(a);
    }
    return rc;
}

int main(int argc, char **argv)
{
    int rc = 2;

    if (argc > 1 && strcmp(argv[1], "load") == 0)
        rc = run_load(argc, argv, 0);
    else if (argc > 1 && strcmp(argv[1], "rate") == 0)
        rc = run_load(argc, argv, 1);
    else if (argc > 1 && strcmp(argv[1], "e2e") == 0)
        rc = run_load(argc, argv, 2);
    else if (argc > 1 && strcmp(argv[1], "verify") == 0)
        rc = run_verify(argc, argv);
    if (rc == 2)
        fprintf(stderr, "usage: see the comment at the top of bench/bench_http_ingest.c\n");
    return rc;
}
