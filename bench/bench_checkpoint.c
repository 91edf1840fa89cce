/* Where the WAL checkpoint runs (issue 15/16: state/store_checkpointer.h):
 * on the committing thread, as SQLite's automatic checkpoint does (MODE
 * auto), or on a thread of its own with the store's checkpointer (MODE
 * worker), as the daemon does. The committing thread applies TXNS
 * transactions of ROWS profile changes each over 200,000 members (ingest's
 * pattern: each change writes the change-log, current, the idempotency
 * key), synchronous = FULL, and times each transaction from begin to the
 * end of its commit -- what a request waiting for a durable answer waits.
 * Prints those times (p50, p99, max), the wall time, the process's CPU
 * (user + system, every thread), bytes written (/proc/self/io),
 * checkpoints run off the thread and the largest WAL seen.
 *
 *   bench_checkpoint DIR auto|worker [TXNS [ROWS]]   # 4000 25
 *
 * DIR must not hold a state.db yet. Run both modes, interleaved, on
 * directories of the same disk; the load changes wall times more than
 * CPU. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "bench_proc.h"
#include "store.h"
#include "store_checkpointer.h"
#include "timefmt.h"

#define MEMBERS 200000

/* The worker: one run at a time, asked for by due() on the committing
 * thread, its result read back there (store_checkpointer_result() moves
 * the store's notion of what is copied). */
struct worker {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct store_checkpointer *ck;
    int asked, running, finished, stop;
    long runs;
    double run_ms_max;
};

static void *work(void *arg)
{
    struct worker *w = arg;

    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->asked && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->stop)
            break;
        w->asked = 0;
        pthread_mutex_unlock(&w->mu);
        store_checkpointer_run(w->ck);
        pthread_mutex_lock(&w->mu);
        w->finished = 1;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void due(void *arg, int frames)
{
    struct worker *w = arg;

    (void)frames;
    if (w->running)
        return;
    w->running = 1;
    pthread_mutex_lock(&w->mu);
    w->asked = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* On the committing thread, between transactions, as the daemon's loop
 * reads a finished run (uv's after-work callback). */
static void collect(struct worker *w)
{
    int finished, frames = 0, copied = 0;
    double ms = 0;
    struct error err = {""};

    pthread_mutex_lock(&w->mu);
    finished = w->finished;
    w->finished = 0;
    pthread_mutex_unlock(&w->mu);
    if (!finished)
        return;
    w->running = 0;
    if (store_checkpointer_result(w->ck, &frames, &copied, &ms, &err) != 0)
        fprintf(stderr, "%s\n", err.msg);
    w->runs++;
    if (ms > w->run_ms_max)
        w->run_ms_max = ms;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int apply_txn(struct store *st, long t, long rows, struct error *err)
{
    static const char *const fields[] = {"profile/first_name", "profile/last_name", "profile/phone",
                                         "profile/birthday"};
    struct merge_policy policy = {NULL, 0, 300000, timefmt_now_ms()};
    char key[32], idem[48], value[64];
    enum apply_result r;

    if (store_begin(st, err) != 0)
        return -1;
    for (long k = 0; k < rows; k++) {
        long i = t * rows + k;
        struct change c;

        snprintf(key, sizeof(key), "M%07ld", (i * 7919) % MEMBERS);
        snprintf(idem, sizeof(idem), "bench:%ld", i);
        snprintf(value, sizeof(value), "\"value number %ld of the benchmark\"", i);
        memset(&c, 0, sizeof(c));
        c.origin = "shop";
        c.member_key = key;
        c.kind = CHANGE_PROFILE;
        c.field = fields[(i / MEMBERS) % 4];
        c.value_json = value;
        c.idem_key = idem;
        c.occurred_at = 1790000000000LL + i;
        if (store_apply(st, &c, &policy, &r, err) != 0) {
            store_rollback(st);
            return -1;
        }
    }
    return store_commit(st, err);
}

int main(int argc, char **argv)
{
    struct store_options o = {0};
    struct store *st = NULL;
    struct error err = {""};
    struct worker w;
    char path[512], wal[520];
    long txns = argc > 3 ? strtol(argv[3], NULL, 10) : 4000;
    long rows = argc > 4 ? strtol(argv[4], NULL, 10) : 25;
    int worker;
    double *lat, t0, wall;
    long long wal_max = 0;
    long long w0;

    if (argc < 3 || (strcmp(argv[2], "auto") != 0 && strcmp(argv[2], "worker") != 0) || txns <= 0 ||
        rows <= 0) {
        fprintf(stderr, "usage: bench_checkpoint DIR auto|worker [TXNS [ROWS]]\n");
        return 2;
    }
    worker = strcmp(argv[2], "worker") == 0;
    snprintf(path, sizeof(path), "%s/state.db", argv[1]);
    snprintf(wal, sizeof(wal), "%s-wal", path);
    o.path = path;
    if (store_open(&o, &st, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    memset(&w, 0, sizeof(w));
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    if (worker) {
        if (store_checkpointer_open(st, path, 1000, due, &w, &w.ck, &err) != 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        pthread_create(&w.thread, NULL, work, &w);
    }
    lat = calloc((size_t)txns, sizeof(*lat));
    if (lat == NULL)
        return 1;
    w0 = bench_written();
    t0 = (bench_now_s() * 1000.0);
    for (long t = 0; t < txns; t++) {
        double s = (bench_now_s() * 1000.0);
        long long size;

        if (worker)
            collect(&w);
        if (apply_txn(st, t, rows, &err) != 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        lat[t] = (bench_now_s() * 1000.0) - s;
        size = bench_file_size(wal);
        if (size > wal_max)
            wal_max = size;
    }
    wall = (bench_now_s() * 1000.0) - t0;
    if (worker) {
        pthread_mutex_lock(&w.mu);
        w.stop = 1;
        pthread_cond_signal(&w.cv);
        pthread_mutex_unlock(&w.mu);
        pthread_join(w.thread, NULL);
        collect(&w);
        store_checkpointer_close(st, w.ck);
    }
    qsort(lat, (size_t)txns, sizeof(*lat), cmp_double);
    printf("mode=%s txns=%ld rows=%ld wall_s=%.2f txn_ms_p50=%.2f p99=%.2f max=%.2f "
           "cpu_s=%.2f written_mb=%.1f wal_max_mb=%.1f runs_off_thread=%ld run_ms_max=%.1f\n",
           argv[2], txns, rows, wall / 1000.0, lat[txns / 2], lat[txns * 99 / 100], lat[txns - 1],
           bench_cpu_s(), (double)(bench_written() - w0) / 1048576.0, (double)wal_max / 1048576.0,
           w.runs, w.run_ms_max);
    free(lat);
    store_close(st);
    return 0;
}
