/* The push bookkeeping alone (issue 17): what the engine writes and reads
 * per batch, without HTTP, a simulator or the engine, so that the cost of
 * one statement per batch against one statement per record shows apart
 * from the machine's load. For MEMBERS members in batches of 100 members x
 * 3 records (contact, subscription, list: bench/hubspot.sh's shape), as
 * the engine does: read the confirmed shadow of every record, record what
 * is sent (one transaction), then in the answer's transaction the
 * confirmed shadows, each member's identity and an audit acknowledgement
 * per record. Mode "record" calls the per-record functions in a loop,
 * "batch" the batch functions. Prints CPU and wall time per record.
 *
 *   bench_bookkeeping DIR record|batch [MEMBERS]   # 30000
 *
 * DIR must not hold a state.db yet; run each mode on its own directory. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "store.h"
#include "store_push.h"

#define PER_BATCH 300 /* 100 members x 3 records */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

struct batch {
    char member[PER_BATCH][16], remote[PER_BATCH][16], hash[PER_BATCH][65];
    struct push_key k[PER_BATCH];
    const char *id_member[PER_BATCH], *id_remote[PER_BATCH];
    int64_t seq[PER_BATCH];
    char got[PER_BATCH][65];
    int found[PER_BATCH];
    size_t n_ids;
};

static void make_batch(struct batch *b, long first_member, int round)
{
    static const char *const fields[] = {"contact", "sub/email", "list/vip"};

    b->n_ids = 0;
    for (int i = 0; i < PER_BATCH; i++) {
        long m = first_member + i / 3;
        snprintf(b->member[i], sizeof(b->member[i]), "M%07ld", m);
        snprintf(b->hash[i], sizeof(b->hash[i]), "%064ld", m * 3 + i % 3 + round);
        b->k[i] = (struct push_key){b->member[i], fields[i % 3], b->hash[i]};
        b->seq[i] = first_member * 3 + i + 1;
        if (i % 3 == 0) {
            snprintf(b->remote[b->n_ids], sizeof(b->remote[0]), "%ld", 900000 + m);
            b->id_member[b->n_ids] = b->member[i];
            b->id_remote[b->n_ids] = b->remote[b->n_ids];
            b->n_ids++;
        }
    }
}

static int run_record(struct store *st, struct batch *b, struct error *err)
{
    if (store_begin(st, err) != 0)
        return -1;
    for (int i = 0; i < PER_BATCH; i++) {
        if (store_shadow_get(st, "hs", b->k[i].member, b->k[i].field, b->got[i], &b->found[i],
                             err) != 0 ||
            store_shadow_sent(st, "hs", b->k[i].member, b->k[i].field, b->k[i].hash, err) != 0)
            return -1;
    }
    if (store_commit(st, err) != 0 || store_begin_relaxed(st, err) != 0)
        return -1;
    for (int i = 0; i < PER_BATCH; i++) {
        if (store_shadow_put(st, "hs", b->k[i].member, b->k[i].field, b->k[i].hash, err) != 0 ||
            store_audit_ack(st, b->seq[i], "hs", err) != 0)
            return -1;
    }
    for (size_t i = 0; i < b->n_ids; i++) {
        if (store_identity_put(st, b->id_member[i], "hs", b->id_remote[i], err) != 0)
            return -1;
    }
    return store_commit(st, err);
}

static int run_batch(struct store *st, struct batch *b, struct error *err)
{
    if (store_begin(st, err) != 0 ||
        store_shadow_get_batch(st, "hs", b->k, PER_BATCH, b->got, b->found, err) != 0 ||
        store_shadow_sent_batch(st, "hs", b->k, PER_BATCH, err) != 0 ||
        store_commit(st, err) != 0 || store_begin_relaxed(st, err) != 0 ||
        store_shadow_put_batch(st, "hs", b->k, PER_BATCH, err) != 0 ||
        store_identity_put_batch(st, "hs", b->id_member, b->id_remote, b->n_ids, err) != 0 ||
        store_audit_ack_batch(st, b->seq, PER_BATCH, "hs", err) != 0)
        return -1;
    return store_commit(st, err);
}

int main(int argc, char **argv)
{
    struct store_options o = {0};
    struct store *st = NULL;
    struct error err = {""};
    struct batch *b = calloc(1, sizeof(*b));
    char path[512];
    long members = argc > 3 ? strtol(argv[3], NULL, 10) : 30000;
    int batch_mode;
    double t0, c0;
    long records = 0;

    if (b == NULL || argc < 3 ||
        (strcmp(argv[2], "record") != 0 && strcmp(argv[2], "batch") != 0)) {
        fprintf(stderr, "usage: bench_bookkeeping DIR record|batch [MEMBERS]\n");
        free(b);
        return 2;
    }
    batch_mode = strcmp(argv[2], "batch") == 0;
    if ((size_t)snprintf(path, sizeof(path), "%s/state.db", argv[1]) >= sizeof(path)) {
        fprintf(stderr, "bench_bookkeeping: directory name too long\n");
        free(b);
        return 2;
    }
    o.path = path;
    if (store_open(&o, &st, &err) != 0)
        goto fail;
    t0 = now_s();
    c0 = cpu_s();
    /* Two rounds: the first inserts every row, the second updates them. */
    for (int round = 0; round < 2; round++) {
        for (long m = 0; m + 100 <= members; m += 100) {
            make_batch(b, m, round);
            if ((batch_mode ? run_batch(st, b, &err) : run_record(st, b, &err)) != 0)
                goto fail;
            records += PER_BATCH;
        }
    }
    printf("mode=%s members=%ld records=%ld cpu_s=%.2f wall_s=%.2f cpu_us_per_record=%.2f\n",
           argv[2], members, records, cpu_s() - c0, now_s() - t0,
           (cpu_s() - c0) * 1e6 / (double)records);
    store_close(st);
    free(b);
    return 0;
fail:
    fprintf(stderr, "bench_bookkeeping: %s\n", err.msg);
    store_close(st);
    free(b);
    return 1;
}
