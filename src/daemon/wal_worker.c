#include "wal_worker.h"

#include <stdlib.h>

#include "log.h"
#include "metrics.h"
#include "store_checkpointer.h"

struct wal_worker {
    uv_loop_t *loop;
    uv_work_t work;
    struct store_checkpointer *ck;
    int running;
    int failing; /* the last run failed: said once, until one succeeds */
    /* For the log line at stop: how many runs, how long the longest. */
    long runs;
    double longest_ms;
};

static void run(uv_work_t *req)
{
    struct wal_worker *w = req->data;

    store_checkpointer_run(w->ck);
}

static void ran(uv_work_t *req, int status)
{
    struct wal_worker *w = req->data;
    struct error err = {""};
    int frames = 0, copied = 0;
    double ms = 0;

    w->running = 0;
    if (status != 0)
        return;
    if (store_checkpointer_result(w->ck, &frames, &copied, &ms, &err) != 0) {
        /* The next commit past the threshold tries again, and so does a
         * commit that fails for want of space (store_commit); the store's
         * safety bound keeps the WAL from growing without end meanwhile.
         * A full disk fails every run until space returns: said once. */
        if (!w->failing)
            log_warn("state", NULL, "%s (tried again at the next commit)", err.msg);
        w->failing = 1;
        return;
    }
    if (w->failing)
        log_info("state", NULL, "WAL checkpoint off the loop works again (%d of %d frames)", copied,
                 frames);
    w->failing = 0;
    metrics_observe(METRIC_WAL_CHECKPOINT, NULL, ms / 1000.0);
    w->runs++;
    if (ms > w->longest_ms)
        w->longest_ms = ms;
    log_debug("state", NULL, "WAL checkpoint off the loop: %d of %d frames in %.1f ms", copied,
              frames, ms);
}

/* From the store's commit, on the loop thread: a run is queued unless one
 * is queued or running (it will copy these frames too, or the next
 * commit past the threshold asks again). */
static void due(void *arg, int frames)
{
    struct wal_worker *w = arg;

    (void)frames;
    if (w->running)
        return;
    w->running = 1;
    if (uv_queue_work(w->loop, &w->work, run, ran) != 0)
        w->running = 0;
}

struct wal_worker *wal_worker_start(uv_loop_t *loop, struct store *st, const char *path)
{
    struct wal_worker *w = calloc(1, sizeof(*w));
    struct error err = {""};

    if (w == NULL) {
        log_warn("state", NULL, "out of memory: WAL checkpoints stay on the event loop");
        return NULL;
    }
    w->loop = loop;
    w->work.data = w;
    if (store_checkpointer_open(st, path, WAL_WORKER_FRAMES, due, w, &w->ck, &err) != 0) {
        log_warn("state", NULL, "%s: WAL checkpoints stay on the event loop", err.msg);
        free(w);
        return NULL;
    }
    return w;
}

void wal_worker_stop(struct wal_worker *w, struct store *st)
{
    if (w == NULL)
        return;
    log_info("state", NULL, "%ld WAL checkpoint(s) ran off the loop, the longest %.1f ms", w->runs,
             w->longest_ms);
    store_checkpointer_close(st, w->ck);
    free(w);
}
