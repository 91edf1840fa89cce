/* The ingest benchmark's reference: the SQL the state store executes per
 * change, and nothing else. The same event stream as bench_ingest_gen (same
 * seed), but taken from memory: no JSON parsing, no merge decisions, no
 * jansson. Value texts are formatted with snprintf in their canonical form
 * so the rows have the bytes the daemon writes.
 *
 * Per page of T events (one transaction, BEGIN IMMEDIATE ... COMMIT, like a
 * spool page) and per change, as store_apply() does on its common paths:
 *   - once tombstones exist: member hash (SHA-256) + tombstone lookup; an
 *     erased member's later changes write nothing;
 *   - SELECT current (member, field), or the ledger row for a points txn;
 *   - the idempotency key: SELECT idem_keys, INSERT INTO idem_keys (schema 9);
 *   - INSERT INTO changes ... ON CONFLICT DO NOTHING;
 *   - consent: the hash-chained audit row (three SHA-256s, as the store);
 *   - upsert current / insert ledger row / for an erasure the tombstone,
 *     deletes and redactions;
 * then the watermark upsert and COMMIT. The ingest_files row is written
 * before the first page and updated after the last, as for a spool file.
 * Pragmas as store_open(): WAL, the chosen synchronous, foreign_keys, an
 * 8 MB page cache; schema from state/schema.c.
 *
 * The SQL texts are copies of state/store.c stmt_defs: keep them in sync.
 *
 *   bench_ingest_ref -d DB [-n events] [-m members] [-s seed] [-t txn]
 *                    [-S normal|full] [-x "PRAGMA ..."]
 * (-x runs extra SQL right after opening and again after the store's
 * pragmas, so both page_size and cache_size take: for exploring settings,
 * not part of the comparison.) Prints "changes=<c> seconds=<s> rate=<changes/s> maxrss_kb=<kb>".
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench_events.h"
#include "error.h"
#include "schema.h"
#include "store_internal.h"
#include "timefmt.h"

#include <openssl/evp.h>

enum {
    Q_GET_IDEM,
    Q_INS_IDEM,
    Q_INS_CHANGE,
    Q_GET_CURRENT,
    Q_PUT_CURRENT,
    Q_GET_TXN,
    Q_INS_TXN,
    Q_INS_AUDIT,
    Q_GET_TOMB,
    Q_INS_TOMB,
    Q_ERASE_CURRENT,
    Q_ERASE_LEDGER,
    Q_ERASE_SHADOW,
    Q_REDACT_CHANGES,
    Q_REDACT_AUDIT,
    Q_SET_WM,
    Q_INS_INGEST,
    Q_UPD_INGEST,
    Q_COUNT
};

static const char *const sql_texts[Q_COUNT] = {
    [Q_GET_IDEM] = "SELECT body_hash, seen_at FROM idem_keys WHERE key = ?1",
    [Q_INS_IDEM] = "INSERT INTO idem_keys(key, body_hash, seen_at) VALUES (?1, ?2, ?3)",
    [Q_INS_CHANGE] =
        "INSERT INTO changes(origin, member_key, kind, field, value, occurred_at, received_at,"
        " idem_key, effective, lane) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        " ON CONFLICT DO NOTHING",
    [Q_GET_CURRENT] =
        "SELECT value, occurred_at, origin FROM current WHERE member_key = ?1 AND field = ?2",
    [Q_PUT_CURRENT] =
        "INSERT INTO current(member_key, field, value, occurred_at, origin, seq)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(member_key, field) DO UPDATE SET"
        " value = excluded.value, occurred_at = excluded.occurred_at,"
        " origin = excluded.origin, seq = excluded.seq",
    [Q_GET_TXN] = "SELECT member_key, delta, reason, occurred_at, expires_at FROM points_ledger"
                  " WHERE txn_id = ?1",
    [Q_INS_TXN] =
        "INSERT INTO points_ledger(txn_id, member_key, delta, reason, occurred_at, expires_at,"
        " seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [Q_INS_AUDIT] = "INSERT INTO audit(seq, member_hash, field, payload, recorded_at, hash)"
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [Q_GET_TOMB] = "SELECT 1 FROM tombstones WHERE member_hash = ?1",
    [Q_INS_TOMB] = "INSERT INTO tombstones(member_hash, erased_at) VALUES (?1, ?2)"
                   " ON CONFLICT(member_hash) DO NOTHING",
    [Q_ERASE_CURRENT] = "DELETE FROM current WHERE member_key = ?1",
    [Q_ERASE_LEDGER] = "DELETE FROM points_ledger WHERE member_key = ?1",
    [Q_ERASE_SHADOW] = "DELETE FROM shadow WHERE member_key = ?1",
    [Q_REDACT_CHANGES] =
        "UPDATE changes SET value = '{\"erased\":true}' WHERE member_key = ?1 AND seq < ?2",
    [Q_REDACT_AUDIT] = "UPDATE audit SET payload_hash = crmsync_sha256(payload), payload = NULL"
                       " WHERE substr(member_hash, 1, 8) = substr(?1, 1, 8)"
                       " AND +member_hash = ?1 AND payload IS NOT NULL",
    [Q_SET_WM] = "INSERT INTO cursors(connector, pull_watermark, updated_at) VALUES (?1, ?2, ?3)"
                 " ON CONFLICT(connector) DO UPDATE SET pull_watermark = excluded.pull_watermark,"
                 " updated_at = excluded.updated_at",
    [Q_INS_INGEST] = "INSERT INTO ingest_files(connector, name, started_at, status)"
                     " VALUES (?1, ?2, ?3, 'running')",
    [Q_UPD_INGEST] =
        "UPDATE ingest_files SET finished_at = ?2, lines = ?3, applied = ?4, unchanged = ?5,"
        " duplicates = ?6, rejected = ?7, status = ?8 WHERE id = ?1",
};

struct ref {
    sqlite3 *db;
    sqlite3_stmt *q[Q_COUNT];
    char salt[65];
    char audit_head[65];
    int64_t tombstones;
    int64_t changes;
};

static const char origin[] = "shop";
static const char file_name[] = "bench.jsonl";

static void die(struct ref *r, const char *what)
{
    fprintf(stderr, "bench_ingest_ref: %s: %s\n", what, r->db ? sqlite3_errmsg(r->db) : "?");
    exit(1);
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    static const char hex[] = "0123456789abcdef";

    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

static void member_hash(const struct ref *r, const char *member, char out[65])
{
    char buf[256];
    int n = snprintf(buf, sizeof(buf), "%s|%s", r->salt, member);
    sha256_hex(buf, (size_t)n, out);
}

static void step_done(struct ref *r, sqlite3_stmt *q, const char *what)
{
    if (sqlite3_step(q) != SQLITE_DONE)
        die(r, what);
    sqlite3_reset(q);
}

static void exec(struct ref *r, const char *sql)
{
    if (sqlite3_exec(r->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        die(r, sql);
}

/* One read: a row or none, the columns are not looked at. */
static void lookup(struct ref *r, sqlite3_stmt *q, const char *what)
{
    int s = sqlite3_step(q);
    if (s != SQLITE_ROW && s != SQLITE_DONE)
        die(r, what);
    sqlite3_reset(q);
}

struct one_change {
    const char *kind;
    const char *member;
    char field[96];
    char value[256];
    char idem[64];
    int lane;
};

static void audit(struct ref *r, int64_t seq, const struct one_change *c, const char *source_ref,
                  int64_t now)
{
    sqlite3_stmt *q = r->q[Q_INS_AUDIT];
    char payload[512], mh[65], ph[65], hash[65], input[1024];
    int n;

    n = snprintf(payload, sizeof(payload),
                 "{\"effective\":true,\"origin\":\"%s\",\"source_ref\":\"%s\",\"value\":%s}",
                 origin, source_ref, c->value);
    member_hash(r, c->member, mh);
    sha256_hex(payload, (size_t)n, ph);
    n = snprintf(input, sizeof(input), "%s|%" PRId64 "|%s|%s|%s|%" PRId64, r->audit_head, seq, mh,
                 c->field, ph, now);
    sha256_hex(input, (size_t)n, hash);
    sqlite3_bind_int64(q, 1, seq);
    store_bind_hash(q, 2, mh);
    sqlite3_bind_text(q, 3, c->field, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, payload, n, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, now);
    store_bind_hash(q, 6, hash);
    step_done(r, q, "audit");
    memcpy(r->audit_head, hash, sizeof(hash));
}

static void erase(struct ref *r, const char *member, int64_t seq, int64_t now)
{
    char h[65];
    static const int deletes[] = {Q_ERASE_CURRENT, Q_ERASE_LEDGER, Q_ERASE_SHADOW};

    member_hash(r, member, h);
    sqlite3_bind_text(r->q[Q_INS_TOMB], 1, h, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(r->q[Q_INS_TOMB], 2, now);
    step_done(r, r->q[Q_INS_TOMB], "tombstone");
    r->tombstones++;
    for (size_t i = 0; i < 3; i++) {
        sqlite3_bind_text(r->q[deletes[i]], 1, member, -1, SQLITE_STATIC);
        step_done(r, r->q[deletes[i]], "erase");
    }
    sqlite3_bind_text(r->q[Q_REDACT_CHANGES], 1, member, -1, SQLITE_STATIC);
    sqlite3_bind_int64(r->q[Q_REDACT_CHANGES], 2, seq);
    step_done(r, r->q[Q_REDACT_CHANGES], "redact changes");
    store_bind_hash(r->q[Q_REDACT_AUDIT], 1, h);
    step_done(r, r->q[Q_REDACT_AUDIT], "redact audit");
}

/* The SQL of store_apply() for one change that applies. */
static void apply(struct ref *r, const struct bench_event *e, const struct one_change *c,
                  const char *source_ref)
{
    int64_t now = timefmt_now_ms();
    char txn[32];
    int64_t seq, body;
    sqlite3_stmt *q;

    r->changes++;
    if (r->tombstones > 0) {
        char h[65];
        int s;
        member_hash(r, c->member, h);
        sqlite3_bind_text(r->q[Q_GET_TOMB], 1, h, -1, SQLITE_TRANSIENT);
        s = sqlite3_step(r->q[Q_GET_TOMB]);
        sqlite3_reset(r->q[Q_GET_TOMB]);
        if (s == SQLITE_ROW && e->type != BENCH_ERASURE)
            return;
    }
    if (e->type == BENCH_POINTS) {
        snprintf(txn, sizeof(txn), "T%" PRIu64, e->index);
        sqlite3_bind_text(r->q[Q_GET_TXN], 1, txn, -1, SQLITE_STATIC);
        lookup(r, r->q[Q_GET_TXN], "get txn");
    } else if (e->type != BENCH_ERASURE) {
        q = r->q[Q_GET_CURRENT];
        sqlite3_bind_text(q, 1, c->member, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, c->field, -1, SQLITE_STATIC);
        lookup(r, q, "get current");
    }
    /* The idempotency key (check_idem): a new key is recorded with the
     * body's hash; one seen before writes nothing more. */
    body = store_body_hash(c->member, c->kind, c->field, c->value, e->at_ms);
    q = r->q[Q_GET_IDEM];
    sqlite3_bind_text(q, 1, c->idem, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW) {
        sqlite3_reset(q);
        return;
    }
    sqlite3_reset(q);
    q = r->q[Q_INS_IDEM];
    sqlite3_bind_text(q, 1, c->idem, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, body);
    sqlite3_bind_int64(q, 3, now);
    step_done(r, q, "insert idempotency key");
    q = r->q[Q_INS_CHANGE];
    sqlite3_bind_text(q, 1, origin, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, c->member, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, c->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, c->field, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, c->value, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 6, e->at_ms);
    sqlite3_bind_int64(q, 7, now);
    sqlite3_bind_text(q, 8, c->idem, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 9, 1);
    sqlite3_bind_int(q, 10, c->lane);
    step_done(r, q, "insert change");
    if (sqlite3_changes(r->db) == 0)
        return;
    seq = sqlite3_last_insert_rowid(r->db);
    if (e->type == BENCH_CONSENT)
        audit(r, seq, c, source_ref, now);
    if (e->type == BENCH_POINTS) {
        q = r->q[Q_INS_TXN];
        sqlite3_bind_text(q, 1, txn, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, c->member, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, e->delta);
        sqlite3_bind_text(q, 4, e->redeem ? "redeem" : "earn", -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 5, e->at_ms);
        sqlite3_bind_int64(q, 6, e->expires_ms);
        sqlite3_bind_int64(q, 7, seq);
        step_done(r, q, "insert ledger");
    } else if (e->type == BENCH_ERASURE) {
        erase(r, c->member, seq, now);
    } else {
        q = r->q[Q_PUT_CURRENT];
        sqlite3_bind_text(q, 1, c->member, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, c->field, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, c->value, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 4, e->at_ms);
        sqlite3_bind_text(q, 5, origin, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 6, seq);
        step_done(r, q, "put current");
    }
}

/* The canonical change(s) of one event, formatted (not parsed). */
static void event(struct ref *r, const struct bench_event *e, uint64_t lineno)
{
    struct one_change c;
    char member[16], at[40], exp[40], src[64], val[64];

    snprintf(member, sizeof(member), "M%06" PRIu32, e->member);
    snprintf(src, sizeof(src), "%s:%" PRIu64, file_name, lineno);
    timefmt_format_rfc3339(e->at_ms, at, sizeof(at));
    memset(&c, 0, sizeof(c));
    c.member = member;
    c.lane = 2;
    snprintf(c.idem, sizeof(c.idem), "%s:e%" PRIu64, origin, e->index);
    switch (e->type) {
    case BENCH_CONSENT:
        c.kind = "consent";
        c.lane = e->denied ? 0 : 2;
        snprintf(c.field, sizeof(c.field), "consent/%s/%s", bench_purposes[e->purpose],
                 bench_channels[e->channel]);
        if (e->denied)
            snprintf(c.value, sizeof(c.value),
                     "{\"collected_at\":\"%s\",\"source\":\"%s\",\"status\":\"denied\"}", at,
                     bench_sources[e->source]);
        else
            snprintf(
                c.value, sizeof(c.value),
                "{\"collected_at\":\"%s\",\"legal_basis\":\"consent\",\"proof\":\"form-%" PRIu64
                "\",\"source\":\"%s\",\"status\":\"granted\"}",
                at, e->index, bench_sources[e->source]);
        apply(r, e, &c, src);
        break;
    case BENCH_POINTS:
        c.kind = "points";
        c.lane = 1;
        snprintf(c.field, sizeof(c.field), "points/T%" PRIu64, e->index);
        if (e->expires_ms != 0)
            snprintf(c.value, sizeof(c.value),
                     "{\"delta\":%" PRId64 ",\"expires_at\":\"%s\",\"occurred_at\":\"%s\","
                     "\"reason\":\"%s\",\"txn_id\":\"T%" PRIu64 "\"}",
                     e->delta, timefmt_format_rfc3339(e->expires_ms, exp, sizeof(exp)), at,
                     e->redeem ? "redeem" : "earn", e->index);
        else
            snprintf(c.value, sizeof(c.value),
                     "{\"delta\":%" PRId64 ",\"occurred_at\":\"%s\",\"reason\":\"%s\","
                     "\"txn_id\":\"T%" PRIu64 "\"}",
                     e->delta, at, e->redeem ? "redeem" : "earn", e->index);
        apply(r, e, &c, src);
        break;
    case BENCH_SEGMENT:
        c.kind = "segment";
        snprintf(c.field, sizeof(c.field), "segment/%s", bench_segments[e->segment]);
        snprintf(c.value, sizeof(c.value), "{\"since\":\"%s\",\"status\":\"%s\"}", at,
                 e->seg_in ? "in" : "out");
        apply(r, e, &c, src);
        break;
    case BENCH_PROFILE:
        c.kind = "profile";
        for (int k = 0; k < e->n_attrs; k++) {
            const char *v = bench_attr_value(e, k, val, sizeof(val));
            snprintf(c.field, sizeof(c.field), "profile/%s", bench_attrs[e->attr[k]]);
            snprintf(c.idem, sizeof(c.idem), "%s:e%" PRIu64 "#%s", origin, e->index,
                     bench_attrs[e->attr[k]]);
            if (v == NULL)
                snprintf(c.value, sizeof(c.value), "{\"value\":null}");
            else
                snprintf(c.value, sizeof(c.value), "{\"value\":\"%s\"}", v);
            apply(r, e, &c, src);
        }
        break;
    case BENCH_ERASURE:
        c.kind = "erase";
        c.lane = 0;
        snprintf(c.field, sizeof(c.field), "erase");
        snprintf(c.value, sizeof(c.value), "{}");
        apply(r, e, &c, src);
        break;
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    uint64_t n = 1000000, seed = 42;
    uint32_t members = 200000;
    long txn = 5000;
    const char *path = NULL, *sync = "normal", *extra = NULL;
    struct ref r = {0};
    struct error err;
    struct rusage ru;
    char pragma[64], wm[128];
    int64_t file_id;
    double t0, t1;
    int opt;

    for (;;) {
        opt = getopt(argc, argv, "d:n:m:s:t:S:x:");
        if (opt == -1)
            break;
        switch (opt) {
        case 'd':
            path = optarg;
            break;
        case 'n':
            n = strtoull(optarg, NULL, 10);
            break;
        case 'm':
            members = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 's':
            seed = strtoull(optarg, NULL, 10);
            break;
        case 't':
            txn = strtol(optarg, NULL, 10);
            break;
        case 'S':
            sync = optarg;
            break;
        case 'x':
            extra = optarg;
            break;
        default:
            goto usage;
        }
    }
    if (path == NULL || members == 0 || txn <= 0 ||
        (strcmp(sync, "normal") != 0 && strcmp(sync, "full") != 0))
        goto usage;

    if (sqlite3_open_v2(path, &r.db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK)
        die(&r, "open");
    if (extra != NULL)
        exec(&r, extra);
    /* The store's own SQL functions: the migrations call them (the
     * reference loop registered crmsync_sha256 alone, and migration 9
     * failed with "no such function: crmsync_body_hash"). */
    if (store_register_functions(r.db) != 0)
        die(&r, "register the store's SQL functions");
    exec(&r, "PRAGMA busy_timeout = 5000");
    exec(&r, "PRAGMA journal_mode = WAL");
    snprintf(pragma, sizeof(pragma), "PRAGMA synchronous = %s", sync);
    exec(&r, pragma);
    if (schema_migrate(r.db, &err) != 0) {
        fprintf(stderr, "bench_ingest_ref: %s\n", err.msg);
        return 1;
    }
    exec(&r, "PRAGMA foreign_keys = ON");
    exec(&r, "PRAGMA cache_size = -8192");
    if (extra != NULL)
        exec(&r, extra);
    for (int i = 0; i < Q_COUNT; i++) {
        if (sqlite3_prepare_v3(r.db, sql_texts[i], -1, SQLITE_PREPARE_PERSISTENT, &r.q[i], NULL) !=
            SQLITE_OK)
            die(&r, sql_texts[i]);
    }
    memset(r.salt, 'a', 64);

    t0 = now_s();
    sqlite3_bind_text(r.q[Q_INS_INGEST], 1, origin, -1, SQLITE_STATIC);
    sqlite3_bind_text(r.q[Q_INS_INGEST], 2, file_name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(r.q[Q_INS_INGEST], 3, timefmt_now_ms());
    step_done(&r, r.q[Q_INS_INGEST], "ingest file");
    file_id = sqlite3_last_insert_rowid(r.db);
    for (uint64_t i = 0; i < n;) {
        uint64_t end = i + (uint64_t)txn < n ? i + (uint64_t)txn : n;
        exec(&r, "BEGIN IMMEDIATE");
        for (; i < end; i++) {
            struct bench_event e;
            bench_event_make(seed, i, members, &e);
            event(&r, &e, i + 1);
        }
        snprintf(wm, sizeof(wm), "{\"file\":\"%s\",\"line\":%" PRIu64 "}", file_name, i);
        sqlite3_bind_text(r.q[Q_SET_WM], 1, origin, -1, SQLITE_STATIC);
        sqlite3_bind_text(r.q[Q_SET_WM], 2, wm, -1, SQLITE_STATIC);
        sqlite3_bind_int64(r.q[Q_SET_WM], 3, timefmt_now_ms());
        step_done(&r, r.q[Q_SET_WM], "watermark");
        exec(&r, "COMMIT");
    }
    {
        sqlite3_stmt *q = r.q[Q_UPD_INGEST];
        sqlite3_bind_int64(q, 1, file_id);
        sqlite3_bind_int64(q, 2, timefmt_now_ms());
        sqlite3_bind_int64(q, 3, (sqlite3_int64)n);
        sqlite3_bind_int64(q, 4, r.changes);
        sqlite3_bind_int64(q, 5, 0);
        sqlite3_bind_int64(q, 6, 0);
        sqlite3_bind_int64(q, 7, 0);
        sqlite3_bind_text(q, 8, "done", -1, SQLITE_STATIC);
        step_done(&r, q, "finish ingest file");
    }
    t1 = now_s();
    getrusage(RUSAGE_SELF, &ru);
    printf("changes=%" PRId64 " seconds=%.3f rate=%.0f maxrss_kb=%ld\n", r.changes, t1 - t0,
           (double)r.changes / (t1 - t0), ru.ru_maxrss);
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(r.q[i]);
    sqlite3_close(r.db);
    return 0;
usage:
    fprintf(stderr,
            "usage: %s -d DB [-n events] [-m members] [-s seed] [-t txn] [-S normal|full]"
            " [-x SQL]\n",
            argv[0]);
    return 2;
}
