/* What `PRAGMA secure_delete = ON` (742345f, erasure leaves nothing on
 * disk) costs the change-log compaction (issue 15): builds a store with
 * CHANGES profile changes over MEMBERS members and 4 fields (each later
 * change supersedes the one before), moves a destination's cursors to the
 * end, then runs store_compact_step() until it has nothing left, with
 * secure_delete as asked. Prints rows deleted, wall and CPU time, bytes
 * written to the file system (/proc/self/io), the longest step (all up to
 * a final WAL checkpoint), and the database and WAL size after it. Each
 * step's wall time is split (SQLite's profile of each statement, and the
 * bench's own WAL hook, which checkpoints as wal_autocheckpoint's default
 * hook does -- PASSIVE once the WAL holds 1,000 frames -- and times it):
 * scan, deletes, commit, checkpoint, the rest; printed for the longest
 * step, as totals, and as the p50 / p99 / max of the step times. Since the
 * steps commit without that checkpoint, the bench runs it between steps as
 * the daemon's retention round does (store_wal_checkpoint() once the steps
 * left CKPT_FRAMES frames in the WAL, env, default 1000) and times those
 * turns apart; then it gives the freed pages back as the daemon does
 * (store_vacuum_step(), 256 pages a step) and times those steps. Before
 * compacting it prints what the change-log costs per change: bytes per
 * table and index (SQLite's dbstat) divided by the changes stored, so that a
 * leaner row (issue 15) shows in figures.
 *
 *   bench_compact DIR on|off [MEMBERS [CHANGES]]   # 20000 400000
 *   KIND=consent bench_compact ...   # consent changes: the audit's sizes too
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

#include "bench_proc.h"
#include "change_json.h"
#include "store.h"
#include "store_push.h"
#include "store_retention.h"
#include "timefmt.h"

/* Where a step's time goes (ns); see split_profile(). */
enum part { P_SCAN, P_DELETE, P_COMMIT, P_CKPT, P_OTHER_SQL, P_PARTS };
static const char *const part_name[P_PARTS] = {"scan", "delete", "commit", "checkpoint",
                                               "other_sql"};
static int64_t step_part[P_PARTS];
static int checkpoints;

#define T0 1767225600000LL /* 2026-01-01 */

/* SQLITE_TRACE_PROFILE: each statement's run time, by what it is. */
static int split_profile(unsigned type, void *ctx, void *p, void *x)
{
    const char *text = sqlite3_sql((sqlite3_stmt *)p);
    int64_t ns = *(const sqlite3_int64 *)x;
    enum part part = P_OTHER_SQL;

    (void)ctx;
    if (type != SQLITE_TRACE_PROFILE || text == NULL)
        return 0;
    if (strncmp(text, "SELECT seq, lane", 16) == 0)
        part = P_SCAN;
    else if (strncmp(text, "DELETE FROM changes", 19) == 0)
        part = P_DELETE;
    else if (strcmp(text, "COMMIT") == 0)
        part = P_COMMIT;
    step_part[part] += ns;
    return 0;
}

/* What wal_autocheckpoint(1000) installs (sqlite3WalDefaultHook), timed. */
static int timed_checkpoint(void *ctx, sqlite3 *db, const char *name, int frames)
{
    double t0;

    (void)ctx;
    if (frames < 1000)
        return SQLITE_OK;
    t0 = bench_now_s();
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    step_part[P_CKPT] += (int64_t)((bench_now_s() - t0) * 1e9);
    checkpoints++;
    return SQLITE_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* KIND=consent: each change a consent of one of 4 (purpose, channel)
 * fields, alternately granted and denied, with a source, a legal basis
 * and the file:line it came from (as the spool gives), so that the audit
 * (one row per consent change) shows in the sizes. */
static const char *const consent_fields[] = {"consent/marketing/email", "consent/marketing/sms",
                                             "consent/loyalty_programme/email",
                                             "consent/profiling/email"};

static int fill(struct store *st, long members, long changes, int consent, struct error *err)
{
    static const char *const fields[] = {"profile/first_name", "profile/last_name", "profile/phone",
                                         "profile/birthday"};
    struct merge_policy policy = {NULL, 0, 300000, timefmt_now_ms()};
    char key[32], idem[48], value[64], ref[48];
    char *json = NULL;
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
        if (consent) {
            snprintf(ref, sizeof(ref), "s%04ld.jsonl:%ld", i / 100000 + 1, i % 100000 + 1);
            c.kind = CHANGE_CONSENT;
            c.field = consent_fields[(i / members) % 4];
            c.source_ref = ref;
            c.consent.status = (i / members) % 8 < 4 ? CONSENT_GRANTED : CONSENT_DENIED;
            c.consent.collected_at = c.occurred_at;
            c.consent.source = "web_form";
            c.consent.legal_basis = "consent";
            free(json);
            json = consent_value_to_json(&c.consent);
            c.value_json = json;
        }
        if (store_apply(st, &c, &policy, &r, err) != 0) {
            free(json);
            return -1;
        }
    }
    free(json);
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
    double t0, c0, longest = 0, wall, rest = 0;
    double *step_ms = NULL, *ckpt_ms = NULL, ckpt_total = 0;
    int ckpt_frames = 1000, n_ckpt = 0, copied = 0;
    const char *kind;
    int64_t part_total[P_PARTS] = {0}, longest_part[P_PARTS] = {0}, longest_rows = 0;
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
    kind = getenv("KIND") != NULL ? getenv("KIND") : "profile";
    if (store_open(&o, &st, &err) != 0 ||
        fill(st, members, changes, strcmp(kind, "consent") == 0, &err) != 0)
        goto fail;
    printf("before compaction, %ld %s changes over %ld members:\n", changes, kind, members);
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
    sqlite3_trace_v2(store_db(st), SQLITE_TRACE_PROFILE, split_profile, NULL);
    sqlite3_wal_hook(store_db(st), timed_checkpoint, NULL);
    step_ms = calloc((size_t)changes + 1, sizeof(*step_ms));
    ckpt_ms = calloc((size_t)changes + 1, sizeof(*ckpt_ms));
    if (step_ms == NULL || ckpt_ms == NULL)
        goto fail;
    if (getenv("CKPT_FRAMES") != NULL)
        ckpt_frames = (int)strtol(getenv("CKPT_FRAMES"), NULL, 10);
    t0 = bench_now_s();
    c0 = bench_cpu_s();
    w0 = bench_written();
    while (more) {
        double s0 = bench_now_s(), d;
        memset(step_part, 0, sizeof(step_part));
        if (store_compact_step(st, dests, 1, 0, timefmt_now_ms(), &deleted, &more, &err) != 0)
            goto fail;
        d = bench_now_s() - s0;
        for (int p = 0; p < P_PARTS; p++)
            part_total[p] += step_part[p];
        if (d > longest) {
            longest = d;
            longest_rows = deleted;
            memcpy(longest_part, step_part, sizeof(step_part));
        }
        if (steps <= changes)
            step_ms[steps] = d * 1000;
        total += deleted;
        steps++;
        /* The daemon's retention round (src/retention.c): a checkpoint in a
         * turn of its own once the steps left ckpt_frames in the WAL. */
        s0 = bench_now_s();
        if (store_wal_checkpoint(st, ckpt_frames, &copied, &err) < 0)
            goto fail;
        if (copied > 0 && n_ckpt <= changes)
            ckpt_ms[n_ckpt++] = (bench_now_s() - s0) * 1000;
    }
    wall = bench_now_s() - t0;
    /* The WAL's pages reach the database file too: part of the cost. */
    if (store_checkpoint_after_erasure(st, 1, &err) < 0)
        goto fail;
    printf("secure_delete=%s members=%ld changes=%ld deleted=%" PRId64 " steps=%d wall_s=%.2f "
           "cpu_s=%.2f written_MB=%.1f longest_step_ms=%.1f db_MB=%.1f wal_MB=%.1f\n",
           argv[2], members, changes, total, steps, bench_now_s() - t0, bench_cpu_s() - c0,
           (double)(bench_written() - w0) / 1e6, longest * 1000,
           (double)bench_file_size(path) / 1e6, (double)bench_file_size(wal) / 1e6);
    qsort(step_ms, (size_t)steps, sizeof(*step_ms), cmp_double);
    printf("steps: rows/step %.0f, step ms p50 %.2f p99 %.2f max %.2f; checkpoints in steps %d\n",
           steps > 0 ? (double)total / steps : 0.0, step_ms[steps / 2],
           step_ms[(int)((steps - 1) * 0.99)], step_ms[steps - 1], checkpoints);
    printf("longest step (%" PRId64 " rows deleted), ms:", longest_rows);
    for (int p = 0; p < P_PARTS; p++) {
        printf(" %s %.1f", part_name[p], (double)longest_part[p] / 1e6);
        rest -= (double)longest_part[p] / 1e6;
    }
    printf(" rest %.1f\n", longest * 1000 + rest);
    printf("all steps (wall %.2f s before the final checkpoint), s:", wall);
    rest = 0;
    for (int p = 0; p < P_PARTS; p++) {
        printf(" %s %.2f", part_name[p], (double)part_total[p] / 1e9);
        rest -= (double)part_total[p] / 1e9;
    }
    printf(" rest %.2f\n", wall + rest);
    qsort(ckpt_ms, (size_t)n_ckpt, sizeof(*ckpt_ms), cmp_double);
    for (int i = 0; i < n_ckpt; i++)
        ckpt_total += ckpt_ms[i];
    printf("checkpoint turns (>= %d frames): %d, ms p50 %.2f max %.2f, total %.2f s\n", ckpt_frames,
           n_ckpt, n_ckpt > 0 ? ckpt_ms[n_ckpt / 2] : 0.0, n_ckpt > 0 ? ckpt_ms[n_ckpt - 1] : 0.0,
           ckpt_total / 1000);
    /* Then the pages freed go back to the file system as the daemon does,
     * 256 a round (VACUUM_PAGES in src/retention.c). */
    t0 = bench_now_s();
    c0 = bench_cpu_s();
    w0 = bench_written();
    steps = 0;
    longest = 0;
    for (;;) {
        int64_t freed = 0;
        double s0 = bench_now_s(), d;
        if (store_vacuum_step(st, 256, &freed, &err) != 0)
            goto fail;
        d = bench_now_s() - s0;
        if (freed == 0)
            break;
        if (d > longest)
            longest = d;
        if (steps <= changes)
            step_ms[steps] = d * 1000;
        steps++;
        if (store_wal_checkpoint(st, ckpt_frames, &copied, &err) < 0)
            goto fail;
    }
    if (store_checkpoint_after_erasure(st, 1, &err) < 0)
        goto fail;
    qsort(step_ms, (size_t)steps, sizeof(*step_ms), cmp_double);
    printf("vacuum: %d steps of up to 256 pages, step ms p50 %.2f max %.2f, wall_s=%.2f cpu_s=%.2f "
           "written_MB=%.1f db_MB=%.1f\n",
           steps, steps > 0 ? step_ms[steps / 2] : 0.0, longest * 1000, bench_now_s() - t0,
           bench_cpu_s() - c0, (double)(bench_written() - w0) / 1e6,
           (double)bench_file_size(path) / 1e6);
    free(step_ms);
    free(ckpt_ms);
    store_close(st);
    return 0;
fail:
    fprintf(stderr, "bench_compact: %s\n", err.msg);
    free(step_ms);
    free(ckpt_ms);
    store_close(st);
    return 1;
}
