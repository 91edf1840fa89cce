/* See store_audit_archive.h.
 *
 * Why a file and not a second table: the point of the audit retention is
 * that the database stops growing with consent history; the archive can
 * live on cheaper storage and be read by any JSON tool. Why the checkpoint
 * in the database: the file alone cannot show that its last lines were cut
 * off; the recorded head, rows and length can. */
#include "store_audit_archive.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_audit_meta.h"
#include "store_internal.h"
#include "timefmt.h"

/* Erasures applied to the archive per step at most (one pass over it). */
#define ERASURES_PER_PASS 256

static int meta_put(struct store *st, const char *key, const char *value, struct error *err)
{
    sqlite3_stmt *q = NULL;
    int s;

    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO meta(key, value) VALUES (?1, ?2)"
                           " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sql_error(st, err, "write audit archive checkpoint");
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, value, -1, SQLITE_STATIC);
    s = sqlite3_step(q);
    sqlite3_finalize(q);
    return s == SQLITE_DONE ? 0 : store_sql_error(st, err, "write audit archive checkpoint");
}

static int meta_put_int(struct store *st, const char *key, int64_t v, struct error *err)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%" PRId64, v);
    return meta_put(st, key, buf, err);
}

int store_audit_archive_path(struct store *st, char **path, struct error *err)
{
    struct archive_meta m;

    *path = NULL;
    if (store_audit_meta_read(st, &m, err) != 0)
        return -1;
    *path = m.path;
    return 0;
}

/* One archived line, parsed. Strings borrowed from the json_t. */
struct line {
    json_t *doc;
    int64_t id, seq, recorded_at;
    const char *member_hash, *field, *payload, *payload_hash, *prev_hash, *hash;
};

static int line_parse(const char *text, struct line *l)
{
    json_error_t jerr;
    json_int_t id = 0, seq = 0, at = 0;
    json_t *payload = NULL;

    memset(l, 0, sizeof(*l));
    l->doc = json_loads(text, 0, &jerr);
    if (l->doc == NULL ||
        json_unpack(l->doc, "{s:I,s:I,s:s,s:s,s:o,s:s,s:I,s:s,s:s}", "id", &id, "seq", &seq,
                    "member_hash", &l->member_hash, "field", &l->field, "payload", &payload,
                    "payload_hash", &l->payload_hash, "recorded_at", &at, "prev_hash",
                    &l->prev_hash, "hash", &l->hash) != 0 ||
        !(json_is_string(payload) || json_is_null(payload))) {
        json_decref(l->doc);
        l->doc = NULL;
        return -1;
    }
    l->id = (int64_t)id;
    l->seq = (int64_t)seq;
    l->recorded_at = (int64_t)at;
    l->payload = json_string_value(payload);
    return 0;
}

/* Reads the archive's committed part line by line: fn(ctx, line text,
 * length without the newline, offset) for each; stops when fn returns
 * non-zero. *short_by > 0 when the file ends before the recorded length. */
typedef int (*line_fn)(void *ctx, const char *text, size_t len, int64_t offset);

static int each_line(FILE *f, int64_t bytes, line_fn fn, void *ctx, int64_t *short_by)
{
    char *buf = NULL;
    size_t cap = 0;
    int64_t off = 0;
    ssize_t n;
    int rc = 0;

    *short_by = 0;
    while (off < bytes) {
        n = getline(&buf, &cap, f);
        if (n <= 0 || off + n > bytes || buf[n - 1] != '\n') {
            *short_by = bytes - off;
            break;
        }
        buf[n - 1] = '\0';
        rc = fn(ctx, buf, (size_t)n - 1, off);
        if (rc != 0)
            break;
        off += n;
    }
    free(buf);
    return rc;
}

/* --- verification --------------------------------------------------------------- */

struct verify {
    char prev[65];
    int64_t rows, bad_id;
    struct error *err;
};

static int verify_line(void *ctx, const char *text, size_t len, int64_t offset)
{
    struct verify *v = ctx;
    struct line l;
    char h[65];

    (void)len;
    if (line_parse(text, &l) != 0) {
        v->bad_id = -1;
        error_set(v->err, "audit archive: the line at byte %" PRId64 " is not an audit row",
                  offset);
        return 1;
    }
    v->rows++;
    if (l.payload != NULL) {
        store_sha256_hex(l.payload, strlen(l.payload), h);
        if (strcmp(h, l.payload_hash) != 0) {
            v->bad_id = l.id;
            error_set(v->err, "archived audit row %" PRId64 ": payload does not match its hash",
                      l.id);
            goto bad;
        }
    }
    if (strcmp(v->prev, l.prev_hash) != 0) {
        v->bad_id = l.id;
        error_set(v->err,
                  "archived audit row %" PRId64 ": prev_hash does not match the previous row",
                  l.id);
        goto bad;
    }
    store_audit_chain_hash(v->prev, l.seq, l.member_hash, l.field, l.payload_hash, l.recorded_at,
                           h);
    if (strcmp(h, l.hash) != 0) {
        v->bad_id = l.id;
        error_set(v->err, "archived audit row %" PRId64 ": hash does not match its contents", l.id);
        goto bad;
    }
    memcpy(v->prev, h, sizeof(v->prev));
    json_decref(l.doc);
    return 0;
bad:
    json_decref(l.doc);
    return 1;
}

int store_audit_archive_verify(struct store *st, char head[65], int64_t *rows, int64_t *bad_id,
                               struct error *err)
{
    struct archive_meta m;
    struct verify v = {"", 0, 0, err};
    int64_t short_by = 0;
    FILE *f = NULL;

    head[0] = '\0';
    *rows = 0;
    *bad_id = 0;
    if (store_audit_meta_read(st, &m, err) != 0)
        return -1;
    if (m.path == NULL)
        return 0;
    f = fopen(m.path, "re");
    if (f == NULL) {
        *bad_id = -1;
        error_set(err, "audit archive %s (%" PRId64 " rows recorded) cannot be read: %s", m.path,
                  m.rows, strerror(errno));
        goto out;
    }
    if (each_line(f, m.bytes, verify_line, &v, &short_by) != 0) {
        *bad_id = v.bad_id;
        goto out;
    }
    if (short_by > 0) {
        *bad_id = -1;
        error_set(err,
                  "audit archive %s ends %" PRId64 " bytes before the length the database "
                  "recorded (%" PRId64 "): cut or replaced",
                  m.path, short_by, m.bytes);
        goto out;
    }
    if (v.rows != m.rows || strcmp(v.prev, m.head) != 0) {
        *bad_id = -1;
        error_set(err,
                  "audit archive %s: %" PRId64 " rows ending at %.12s..., the database recorded "
                  "%" PRId64 " rows ending at %.12s...",
                  m.path, v.rows, v.prev, m.rows, m.head);
        goto out;
    }
    memcpy(head, v.prev, 65);
out:
    *rows = v.rows;
    if (f != NULL)
        fclose(f);
    store_audit_meta_free(&m);
    return 0;
}

/* --- member export -------------------------------------------------------------- */

struct member_scan {
    const char *hash;
    json_t *arr;
};

static json_t *rfc3339(int64_t ms)
{
    char buf[40];
    return json_string(timefmt_format_rfc3339(ms, buf, sizeof(buf)));
}

static int member_line(void *ctx, const char *text, size_t len, int64_t offset)
{
    struct member_scan *ms = ctx;
    struct line l;
    json_t *row, *acks, *ack;
    size_t i;

    (void)len;
    (void)offset;
    if (strstr(text, ms->hash) == NULL || line_parse(text, &l) != 0)
        return 0;
    if (strcmp(l.member_hash, ms->hash) == 0) {
        row = json_object();
        json_object_set_new(row, "audit_id", json_integer(l.id));
        json_object_set_new(row, "seq", json_integer(l.seq));
        json_object_set_new(row, "field", json_string(l.field));
        json_object_set_new(row, "payload", l.payload ? json_string(l.payload) : json_null());
        json_object_set_new(row, "recorded_at", rfc3339(l.recorded_at));
        json_object_set_new(row, "audit_hash", json_string(l.hash));
        acks = json_array();
        json_array_foreach(json_object_get(l.doc, "acks"), i, ack)
        {
            json_t *a = json_object();
            json_object_set(a, "system", json_object_get(ack, "system"));
            json_object_set_new(a, "acked_at",
                                rfc3339(json_integer_value(json_object_get(ack, "acked_at"))));
            json_array_append_new(acks, a);
        }
        json_object_set_new(row, "acknowledged_by", acks);
        json_object_set_new(row, "archived", json_true());
        json_array_append_new(ms->arr, row);
    }
    json_decref(l.doc);
    return 0;
}

int store_audit_archive_member(struct store *st, const char *member_hash, json_t *arr,
                               struct error *err)
{
    struct archive_meta m;
    struct member_scan ms = {member_hash, arr};
    int64_t short_by = 0;
    FILE *f = NULL;
    int rc = -1;

    if (store_audit_meta_read(st, &m, err) != 0)
        return -1;
    if (m.path == NULL) {
        rc = 0;
        goto out;
    }
    f = fopen(m.path, "re");
    if (f == NULL) {
        error_set(err, "audit archive %s cannot be read: %s", m.path, strerror(errno));
        goto out;
    }
    each_line(f, m.bytes, member_line, &ms, &short_by);
    rc = 0;
out:
    if (f != NULL)
        fclose(f);
    store_audit_meta_free(&m);
    return rc;
}

/* --- erasures ------------------------------------------------------------------- */

struct redact {
    char (*hashes)[65];
    size_t n;
    int fd;
    int failed;
    struct error *err;
};

static int redact_line(void *ctx, const char *text, size_t len, int64_t offset)
{
    struct redact *r = ctx;
    struct line l;
    char *out = NULL;
    size_t olen;
    int hit = 0;

    for (size_t i = 0; i < r->n && !hit; i++)
        hit = strstr(text, r->hashes[i]) != NULL;
    if (!hit || line_parse(text, &l) != 0)
        return 0;
    hit = 0;
    for (size_t i = 0; i < r->n && !hit; i++)
        hit = strcmp(l.member_hash, r->hashes[i]) == 0;
    if (hit && l.payload != NULL) {
        json_object_set_new(l.doc, "payload", json_null());
        out = json_dumps(l.doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
        olen = out != NULL ? strlen(out) : 0;
        /* null is never longer than the payload it replaces (a JSON object
         * in quotes); padded with spaces, the line keeps its length. */
        if (out == NULL || olen > len) {
            r->failed = 1;
            error_set(r->err, "audit archive: cannot blank the line at byte %" PRId64, offset);
        } else {
            char *pad = malloc(len);
            if (pad == NULL) {
                r->failed = 1;
                error_set(r->err, "audit archive: out of memory");
            } else {
                memcpy(pad, out, olen);
                memset(pad + olen, ' ', len - olen);
                if (pwrite(r->fd, pad, len, (off_t)offset) != (ssize_t)len) {
                    r->failed = 1;
                    error_set(r->err, "audit archive: write: %s", strerror(errno));
                }
                free(pad);
            }
        }
        free(out);
    }
    json_decref(l.doc);
    return r->failed;
}

/* Blanks the payload of queued erased members' archived lines, then
 * forgets them. Without an archive the queue is only emptied. */
static int apply_erasures(struct store *st, const struct archive_meta *m, struct error *err)
{
    sqlite3_stmt *q = NULL;
    struct redact r = {NULL, 0, -1, 0, err};
    int64_t short_by = 0;
    FILE *f = NULL;
    int s, rc = -1;

    r.hashes = calloc(ERASURES_PER_PASS, sizeof(*r.hashes));
    if (r.hashes == NULL)
        return error_set(err, "audit archive: out of memory");
    if (sqlite3_prepare_v2(st->db, "SELECT member_hash FROM audit_archive_erasures LIMIT ?1", -1,
                           &q, NULL) != SQLITE_OK) {
        store_sql_error(st, err, "read archive erasures");
        goto out;
    }
    sqlite3_bind_int(q, 1, ERASURES_PER_PASS);
    for (;;) {
        s = sqlite3_step(q);
        if (s != SQLITE_ROW)
            break;
        snprintf(r.hashes[r.n++], 65, "%s", (const char *)sqlite3_column_text(q, 0));
    }
    sqlite3_finalize(q);
    q = NULL;
    if (s != SQLITE_DONE) {
        store_sql_error(st, err, "read archive erasures");
        goto out;
    }
    if (r.n == 0) {
        rc = 0;
        goto out;
    }
    if (m->path != NULL) {
        r.fd = open(m->path, O_RDWR | O_CLOEXEC);
        f = r.fd >= 0 ? fopen(m->path, "re") : NULL;
        if (f == NULL) {
            error_set(err, "audit archive %s: %s", m->path, strerror(errno));
            goto out;
        }
        each_line(f, m->bytes, redact_line, &r, &short_by);
        if (r.failed)
            goto out;
        if (fsync(r.fd) != 0) {
            error_set(err, "audit archive: fsync: %s", strerror(errno));
            goto out;
        }
    }
    if (sqlite3_prepare_v2(st->db, "DELETE FROM audit_archive_erasures WHERE member_hash = ?1", -1,
                           &q, NULL) != SQLITE_OK) {
        store_sql_error(st, err, "forget archive erasures");
        goto out;
    }
    for (size_t i = 0; i < r.n; i++) {
        sqlite3_bind_text(q, 1, r.hashes[i], -1, SQLITE_STATIC);
        s = sqlite3_step(q);
        sqlite3_reset(q);
        if (s != SQLITE_DONE) {
            store_sql_error(st, err, "forget archive erasures");
            goto out;
        }
    }
    rc = 0;
out:
    sqlite3_finalize(q);
    if (f != NULL)
        fclose(f);
    if (r.fd >= 0)
        close(r.fd);
    free(r.hashes);
    return rc;
}

/* --- archiving ------------------------------------------------------------------ */

/* The row as an archive line (with its acknowledgements), newline ended;
 * malloc'd. The line keeps the whole chain link, payload_hash and
 * prev_hash included, which the table no longer stores (schema 14). */
static char *row_line(struct store *st, sqlite3_stmt *row, const char *payload_hash,
                      const char *prev_hash, sqlite3_stmt *acks, struct error *err)
{
    json_t *doc = json_object(), *arr = json_array();
    const char *payload = (const char *)sqlite3_column_text(row, 4);
    char *text = NULL, *line = NULL;
    size_t n;
    int s;

    json_object_set_new(doc, "id", json_integer(sqlite3_column_int64(row, 0)));
    json_object_set_new(doc, "seq", json_integer(sqlite3_column_int64(row, 1)));
    json_object_set_new(doc, "member_hash", json_string((const char *)sqlite3_column_text(row, 2)));
    json_object_set_new(doc, "field", json_string((const char *)sqlite3_column_text(row, 3)));
    json_object_set_new(doc, "payload", payload ? json_string(payload) : json_null());
    json_object_set_new(doc, "payload_hash", json_string(payload_hash));
    json_object_set_new(doc, "recorded_at", json_integer(sqlite3_column_int64(row, 6)));
    json_object_set_new(doc, "prev_hash", json_string(prev_hash));
    json_object_set_new(doc, "hash", json_string((const char *)sqlite3_column_text(row, 7)));
    sqlite3_bind_int64(acks, 1, sqlite3_column_int64(row, 1));
    for (;;) {
        s = sqlite3_step(acks);
        if (s != SQLITE_ROW)
            break;
        json_array_append_new(arr, json_pack("{s:s,s:I}", "system",
                                             (const char *)sqlite3_column_text(acks, 0), "acked_at",
                                             (json_int_t)sqlite3_column_int64(acks, 1)));
    }
    sqlite3_reset(acks);
    json_object_set_new(doc, "acks", arr);
    if (s != SQLITE_DONE) {
        store_sql_error(st, err, "read audit acknowledgements");
        goto out;
    }
    text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text == NULL) {
        error_set(err, "audit archive: cannot encode a row");
        goto out;
    }
    n = strlen(text);
    line = malloc(n + 2);
    if (line == NULL) {
        error_set(err, "audit archive: out of memory");
        goto out;
    }
    memcpy(line, text, n);
    line[n] = '\n';
    line[n + 1] = '\0';
out:
    free(text);
    json_decref(doc);
    return line;
}

static int write_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The directory entry of a new archive is durable before the database
 * records it. */
static void sync_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    int fd;

    if (slash == NULL || slash == path)
        return;
    dir = strndup(path, (size_t)(slash - path));
    if (dir == NULL)
        return;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

enum { A_ROWS, A_MAX, A_ACKS, A_DEL, A_DEL_ACKS, A_COUNT };

static const char *const archive_sql[A_COUNT] = {
    [A_ROWS] = ("SELECT id, seq, lower(hex(member_hash)), field, payload, payload_hash,"
                " recorded_at, lower(hex(hash)) FROM audit ORDER BY id LIMIT ?1"),
    [A_MAX] = "SELECT COALESCE(MAX(id), 0) FROM audit",
    [A_ACKS] = "SELECT system, acked_at FROM audit_acks WHERE seq = ?1 ORDER BY acked_at, system",
    [A_DEL] = "DELETE FROM audit WHERE id <= ?1",
    [A_DEL_ACKS] = "DELETE FROM audit_acks WHERE seq = ?1",
};

struct pending {
    char *buf;
    size_t len, cap;
    int64_t seqs[STORE_AUDIT_ARCHIVE_STEP];
    size_t n;
    int64_t last_id;
    char head[65];
};

static int pending_add(struct pending *p, const char *line, struct error *err)
{
    size_t n = strlen(line);

    if (p->len + n > p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 65536;
        while (cap < p->len + n)
            cap *= 2;
        char *b = realloc(p->buf, cap);
        if (b == NULL)
            return error_set(err, "audit archive: out of memory");
        p->buf = b;
        p->cap = cap;
    }
    memcpy(p->buf + p->len, line, n);
    p->len += n;
    return 0;
}

/* Reads the rows due (older than cutoff, never the newest: it is the
 * chain's head) into p, checking each against the chain. *blocked: a row
 * not due ended the read. */
static int collect_rows(struct store *st, sqlite3_stmt **q, int64_t cutoff, struct pending *p,
                        int *blocked, struct error *err)
{
    int64_t max_id = 0;
    int s;

    if (sqlite3_step(q[A_MAX]) == SQLITE_ROW)
        max_id = sqlite3_column_int64(q[A_MAX], 0);
    sqlite3_bind_int(q[A_ROWS], 1, STORE_AUDIT_ARCHIVE_STEP);
    for (;;) {
        char ph[65], h[65];
        char *line;
        int64_t id;

        s = sqlite3_step(q[A_ROWS]);
        if (s != SQLITE_ROW)
            break;
        id = sqlite3_column_int64(q[A_ROWS], 0);
        if (id >= max_id || sqlite3_column_int64(q[A_ROWS], 6) >= cutoff) {
            *blocked = 1;
            break;
        }
        /* A broken chain stays where verification shows it. */
        if (store_audit_row_payload_hash(q[A_ROWS], 4, 5, ph) != 0)
            goto broken;
        store_audit_chain_hash(p->head, sqlite3_column_int64(q[A_ROWS], 1),
                               (const char *)sqlite3_column_text(q[A_ROWS], 2),
                               (const char *)sqlite3_column_text(q[A_ROWS], 3), ph,
                               sqlite3_column_int64(q[A_ROWS], 6), h);
        if (strcmp(h, (const char *)sqlite3_column_text(q[A_ROWS], 7)) != 0)
            goto broken;
        line = row_line(st, q[A_ROWS], ph, p->head, q[A_ACKS], err);
        if (line == NULL || pending_add(p, line, err) != 0) {
            free(line);
            return -1;
        }
        free(line);
        memcpy(p->head, h, sizeof(h));
        p->seqs[p->n++] = sqlite3_column_int64(q[A_ROWS], 1);
        p->last_id = id;
        continue;
    broken:
        return error_set(err,
                         "audit row %" PRId64 " breaks the hash chain: not archived "
                         "(crmsyncctl audit verify)",
                         id);
    }
    if (s != SQLITE_ROW && s != SQLITE_DONE)
        return store_sql_error(st, err, "read audit rows");
    return 0;
}

/* Appends p's lines to the archive file at the length the database
 * recorded, and syncs them (the rows leave the table only after). */
static int append_to_file(const struct archive_meta *m, const char *file, const struct pending *p,
                          struct error *err)
{
    int fd = -1, created = m->path == NULL, rc = -1;
    int64_t size;
    struct stat sb;

    fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || fstat(fd, &sb) != 0) {
        error_set(err, "audit archive %s: %s", file, strerror(errno));
        goto out;
    }
    size = (int64_t)sb.st_size;
    if (size < m->bytes) {
        error_set(err,
                  "audit archive %s is shorter than the database recorded (%" PRId64 " < %" PRId64
                  " bytes): cut or replaced; not archiving",
                  file, size, m->bytes);
        goto out;
    }
    if (created && size > 0) {
        error_set(err, "audit archive %s exists and is not this database's: not archiving", file);
        goto out;
    }
    /* Lines past the recorded length: a step whose transaction did not
     * commit wrote them; its rows are still in the table. */
    if ((size > m->bytes && ftruncate(fd, (off_t)m->bytes) != 0) ||
        lseek(fd, (off_t)m->bytes, SEEK_SET) < 0 || write_all(fd, p->buf, p->len) != 0 ||
        fsync(fd) != 0) {
        error_set(err, "audit archive %s: %s", file, strerror(errno));
        goto out;
    }
    if (created)
        sync_dir_of(file);
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

/* The archived rows and their acknowledgements leave the tables; the
 * checkpoint (file, head, rows, bytes) moves. */
static int forget_rows(struct store *st, sqlite3_stmt **q, const struct archive_meta *m,
                       const char *file, const struct pending *p, struct error *err)
{
    int s;

    sqlite3_bind_int64(q[A_DEL], 1, p->last_id);
    if (sqlite3_step(q[A_DEL]) != SQLITE_DONE)
        return store_sql_error(st, err, "delete archived audit rows");
    for (size_t i = 0; i < p->n; i++) {
        sqlite3_bind_int64(q[A_DEL_ACKS], 1, p->seqs[i]);
        s = sqlite3_step(q[A_DEL_ACKS]);
        sqlite3_reset(q[A_DEL_ACKS]);
        if (s != SQLITE_DONE)
            return store_sql_error(st, err, "delete archived acknowledgements");
    }
    if (meta_put(st, "audit_archive_path", file, err) != 0 ||
        meta_put(st, "audit_archive_head", p->head, err) != 0 ||
        meta_put_int(st, "audit_archive_rows", m->rows + (int64_t)p->n, err) != 0 ||
        meta_put_int(st, "audit_archive_bytes", m->bytes + (int64_t)p->len, err) != 0)
        return -1;
    return 0;
}

/* Inside the step's transaction: reads the rows due, checks them against
 * the chain, writes and syncs them, deletes them and moves the checkpoint. */
static int archive_rows(struct store *st, struct archive_meta *m, const char *path, int64_t cutoff,
                        int64_t *archived, int *more, struct error *err)
{
    sqlite3_stmt *q[A_COUNT] = {NULL};
    struct pending p;
    int rc = -1, blocked = 0;
    const char *file = m->path != NULL ? m->path : path;

    memset(&p, 0, sizeof(p));
    memcpy(p.head, m->head, sizeof(p.head));
    for (int i = 0; i < A_COUNT; i++) {
        if (sqlite3_prepare_v2(st->db, archive_sql[i], -1, &q[i], NULL) != SQLITE_OK) {
            store_sql_error(st, err, "prepare audit archive statement");
            goto out;
        }
    }
    if (collect_rows(st, q, cutoff, &p, &blocked, err) != 0)
        goto out;
    if (p.n == 0) {
        rc = 0;
        goto out;
    }
    if (append_to_file(m, file, &p, err) != 0 || forget_rows(st, q, m, file, &p, err) != 0)
        goto out;
    *archived = (int64_t)p.n;
    *more = !blocked && p.n == STORE_AUDIT_ARCHIVE_STEP;
    rc = 0;
out:
    for (int i = 0; i < A_COUNT; i++)
        sqlite3_finalize(q[i]);
    free(p.buf);
    return rc;
}

int store_audit_archive_step(struct store *st, const char *path, int64_t retention_ms,
                             int64_t now_ms, int64_t *archived, int *more, struct error *err)
{
    struct archive_meta m;
    char *dflt = NULL;
    int rc = -1;

    *archived = 0;
    *more = 0;
    if (store_in_txn(st) || st->readonly)
        return 0;
    if (path == NULL) {
        const char *db = sqlite3_db_filename(st->db, "main");
        size_t n = db != NULL ? strlen(db) : 0;
        if (n == 0)
            return 0; /* an in-memory database has no place for it */
        dflt = malloc(n + sizeof("-audit.jsonl"));
        if (dflt == NULL)
            return error_set(err, "audit archive: out of memory");
        memcpy(dflt, db, n);
        memcpy(dflt + n, "-audit.jsonl", sizeof("-audit.jsonl"));
        path = dflt;
    }
    if (store_begin_relaxed(st, err) != 0) {
        free(dflt);
        return -1;
    }
    if (store_audit_meta_read(st, &m, err) != 0)
        goto fail;
    if (apply_erasures(st, &m, err) != 0 ||
        (retention_ms > 0 &&
         archive_rows(st, &m, path, now_ms - retention_ms, archived, more, err) != 0)) {
        store_audit_meta_free(&m);
        goto fail;
    }
    store_audit_meta_free(&m);
    if (store_commit_deferring_checkpoint(st, err) != 0) {
        store_end_relaxed(st);
        *archived = 0;
        goto out;
    }
    rc = 0;
    goto out;
fail:
    store_rollback(st);
    store_end_relaxed(st);
    *archived = 0;
    *more = 0;
out:
    free(dflt);
    return rc;
}
