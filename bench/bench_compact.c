/* What `PRAGMA secure_delete = ON` (742345f, erasure leaves nothing on
 * disk) costs the change-log compaction (issue 15): builds a store with
 * CHANGES profile changes over MEMBERS members and 4 fields (each later
 * change supersedes the one before), moves a destination's cursors to the
 * end, then runs store_compact_step() until it has nothing left, with
 * secure_delete as asked. Prints rows deleted, wall and CPU time, bytes
 * written to the file system (/proc/self/io), the longest step (all up to
 * a final WAL checkpoint), and the database and WAL size after it. Before
 * compacting it prints what the change-log costs per change: bytes per
 * table and index (SQLite's dbstat) divided by the changes stored, so that a
 * leaner row (issue 15) shows in figures.
 *
 *   bench_compact DIR on|off [MEMBERS [CHANGES]]   # 20000 400000
 *
 * DIR must not hold a state.db yet. Run each setting on its own directory
 * and compare; the machine's load changes the wall times, less the CPU
 * time and not the bytes written. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "store.h"
#include "store_push.h"
#include "store_retention.h"
#include "timefmt.h"

#define T0 1767225600000LL /* 2026-01-01 */

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

/* write_bytes of /proc/self/io: what this process made the kernel write. */
static long long written(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    char line[128];
    long long v = -1;

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "write_bytes: ", 13) == 0)
            v = strtoll(line + 13, NULL, 10);
    }
    fclose(f);
    return v;
}

static long long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long long)sb.st_size : 0;
}

static int fill(struct store *st, long members, long changes, struct error *err)
{
    static const char *const fields[] = {"profile/first_name", "profile/last_name", "profile/phone",
                                         "profile/birthday"};
    struct merge_policy policy = {NULL, 0, 300000, timefmt_now_ms()};
    char key[32], idem[48], value[64];
    enum apply_result r;

    for (long i = 0; i < changes; i++) {
        struct change c;
        if (i % 5000 == 0 && (i == 0 ? 0 : store_commit(st, err)) != 0)
            return -1;
        if (i % 5000 == 0 && store_begin(st, err) != 0)
            return -1;
        snprintf(key, sizeof(key), "M%07ld", (i * 7919) % members);
        snprintf(idem, sizeof(idem), "bench:%ld", i);
        snprintf(value, sizeof(value), "\"value number %ld of the benchmark\"", i);
        memset(&c, 0, sizeof(c));
        c.origin = "shop";
        c.member_key = key;
        c.kind = CHANGE_PROFILE;
        c.field = fields[(i / members) % 4];
        c.value_json = value;
        c.idem_key = idem;
        c.occurred_at = T0 + i;
        if (store_apply(st, &c, &policy, &r, err) != 0)
            return -1;
    }
    return store_commit(st, err);
}

/* Bytes per change of every table and index (dbstat: pages in use, so a
 * half-full page counts whole, as on disk), largest first. */
static int print_sizes(struct store *st, long changes)
{
    sqlite3_stmt *q = NULL;
    int s;

    if (sqlite3_prepare_v2(store_db(st),
                           "SELECT name, SUM(pgsize), SUM(payload) FROM dbstat GROUP BY name"
                           " ORDER BY 2 DESC",
                           -1, &q, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench_compact: dbstat: %s\n", sqlite3_errmsg(store_db(st)));
        return -1;
    }
    for (s = sqlite3_step(q); s == SQLITE_ROW; s = sqlite3_step(q)) {
        double pages = (double)sqlite3_column_int64(q, 1);
        double payload = (double)sqlite3_column_int64(q, 2);
        if (pages / (double)changes >= 0.5)
            printf("  %-28s %6.1f B/change on disk (%6.1f B payload)\n",
                   (const char *)sqlite3_column_text(q, 0), pages / (double)changes,
                   payload / (double)changes);
    }
    sqlite3_finalize(q);
    return s == SQLITE_DONE ? 0 : -1;
}

int main(int argc, char **argv)
{
    struct store_options o = {0};
    struct store *st = NULL;
    struct error err = {""};
    const char *dests[] = {"d"};
    char path[512], wal[520];
    long members = argc > 3 ? strtol(argv[3], NULL, 10) : 20000;
    long changes = argc > 4 ? strtol(argv[4], NULL, 10) : 400000;
    int64_t max_seq = 0, deleted, total = 0;
    int more = 1, steps = 0;
    double t0, c0, longest = 0;
    long long w0;

    if (argc < 3 || (strcmp(argv[2], "on") != 0 && strcmp(argv[2], "off") != 0)) {
        fprintf(stderr, "usage: bench_compact DIR on|off [MEMBERS [CHANGES]]\n");
        return 2;
    }
    if ((size_t)snprintf(path, sizeof(path), "%s/state.db", argv[1]) >= sizeof(path)) {
        fprintf(stderr, "bench_compact: directory name too long\n");
        return 2;
    }
    snprintf(wal, sizeof(wal), "%s-wal", path);
    o.path = path;
    if (store_open(&o, &st, &err) != 0 || fill(st, members, changes, &err) != 0)
        goto fail;
    printf("before compaction, %ld changes over %ld members:\n", changes, members);
    if (print_sizes(st, changes) != 0)
        goto fail;
    if (sqlite3_exec(store_db(st),
                     strcmp(argv[2], "on") == 0 ? "PRAGMA secure_delete = ON"
                                                : "PRAGMA secure_delete = OFF",
                     NULL, NULL, NULL) != SQLITE_OK ||
        store_max_seq(st, &max_seq, &err) != 0 || store_begin(st, &err) != 0)
        goto fail;
    for (int lane = 0; lane < 3; lane++) {
        if (store_push_cursor_set(st, "d", lane, max_seq, &err) != 0)
            goto fail;
    }
    if (store_commit(st, &err) != 0 ||
        store_checkpoint_after_erasure(st, 1, &err) < 0) /* start from an empty WAL */
        goto fail;
    t0 = now_s();
    c0 = cpu_s();
    w0 = written();
    while (more) {
        double s0 = now_s(), d;
        if (store_compact_step(st, dests, 1, 0, timefmt_now_ms(), &deleted, &more, &err) != 0)
            goto fail;
        d = now_s() - s0;
        if (d > longest)
            longest = d;
        total += deleted;
        steps++;
    }
    /* The WAL's pages reach the database file too: part of the cost. */
    if (store_checkpoint_after_erasure(st, 1, &err) < 0)
        goto fail;
    printf("secure_delete=%s members=%ld changes=%ld deleted=%" PRId64 " steps=%d wall_s=%.2f "
           "cpu_s=%.2f written_MB=%.1f longest_step_ms=%.1f db_MB=%.1f wal_MB=%.1f\n",
           argv[2], members, changes, total, steps, now_s() - t0, cpu_s() - c0,
           (double)(written() - w0) / 1e6, longest * 1000, (double)file_size(path) / 1e6,
           (double)file_size(wal) / 1e6);
    store_close(st);
    return 0;
fail:
    fprintf(stderr, "bench_compact: %s\n", err.msg);
    store_close(st);
    return 1;
}
