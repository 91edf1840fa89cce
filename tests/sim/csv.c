#include "csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct field_buf {
    char *s;
    size_t len, cap;
};

static int fb_put(struct field_buf *f, char c)
{
    if (f->len + 1 >= f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 32;
        char *grown = realloc(f->s, cap);

        if (grown == NULL)
            return -1;
        f->s = grown;
        f->cap = cap;
    }
    f->s[f->len++] = c;
    return 0;
}

static int row_add(struct csv_row *row, struct field_buf *f)
{
    char **grown = realloc(row->fields, (row->n + 1) * sizeof(*grown));
    char *s = malloc(f->len + 1);

    if (grown != NULL)
        row->fields = grown;
    if (grown == NULL || s == NULL) {
        free(s);
        return -1;
    }
    memcpy(s, f->s ? f->s : "", f->len);
    s[f->len] = '\0';
    row->fields[row->n++] = s;
    f->len = 0;
    return 0;
}

static void row_free(struct csv_row *row)
{
    for (size_t i = 0; i < row->n; i++)
        free(row->fields[i]);
    free(row->fields);
    memset(row, 0, sizeof(*row));
}

static int table_add(struct csv_table *t, struct csv_row *row)
{
    struct csv_row *grown;

    /* A blank line is one empty unquoted field: skip it. */
    if (row->n == 1 && row->fields[0][0] == '\0') {
        row_free(row);
        return 0;
    }
    grown = realloc(t->rows, (t->nrows + 1) * sizeof(*grown));
    if (grown == NULL)
        return -1;
    t->rows = grown;
    t->rows[t->nrows++] = *row;
    memset(row, 0, sizeof(*row));
    return 0;
}

void csv_table_free(struct csv_table *t)
{
    for (size_t i = 0; i < t->nrows; i++)
        row_free(&t->rows[i]);
    free(t->rows);
    memset(t, 0, sizeof(*t));
}

int csv_parse(const char *buf, size_t len, char delim, struct csv_table *out, char *err,
              size_t errlen)
{
    struct field_buf f = {0};
    struct csv_row row = {0};
    size_t line = 1;
    size_t i = 0;
    bool quoted_seen = false;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    row.line = 1;
    while (i < len) {
        char c = buf[i];

        if (c == '"' && f.len == 0 && !quoted_seen) {
            /* A quoted field runs to the next lone quote. */
            size_t start_line = line;

            i++;
            for (;;) {
                if (i >= len) {
                    snprintf(err, errlen, "line %zu: unterminated quoted field", start_line);
                    goto out;
                }
                if (buf[i] == '"') {
                    if (i + 1 < len && buf[i + 1] == '"') {
                        if (fb_put(&f, '"') != 0)
                            goto oom;
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                if (buf[i] == '\n')
                    line++;
                if (fb_put(&f, buf[i]) != 0)
                    goto oom;
                i++;
            }
            quoted_seen = true;
            if (i < len && buf[i] != delim && buf[i] != '\n' &&
                !(buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n')) {
                snprintf(err, errlen, "line %zu: unexpected character after a closing quote", line);
                goto out;
            }
            continue;
        }
        if (c == delim) {
            if (row_add(&row, &f) != 0)
                goto oom;
            quoted_seen = false;
            i++;
            continue;
        }
        if (c == '\n' || (c == '\r' && i + 1 < len && buf[i + 1] == '\n')) {
            if (row_add(&row, &f) != 0 || table_add(out, &row) != 0)
                goto oom;
            quoted_seen = false;
            i += c == '\r' ? 2 : 1;
            line++;
            row.line = line;
            continue;
        }
        if (c == '"' || quoted_seen) {
            snprintf(err, errlen, "line %zu: quote inside an unquoted field", line);
            goto out;
        }
        if (fb_put(&f, c) != 0)
            goto oom;
        i++;
    }
    if (f.len > 0 || quoted_seen || row.n > 0) {
        if (row_add(&row, &f) != 0 || table_add(out, &row) != 0)
            goto oom;
    }
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
out:
    free(f.s);
    row_free(&row);
    if (rc != 0)
        csv_table_free(out);
    return rc;
}

static int buf_put(struct csv_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *grown;

        while (cap < b->len + n + 1)
            cap *= 2;
        grown = realloc(b->data, cap);
        if (grown == NULL)
            return -1;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int csv_put(struct csv_buf *b, const char *field, char delim, bool last)
{
    char end = last ? '\n' : delim;

    if (buf_put(b, "\"", 1) != 0)
        return -1;
    for (const char *p = field; *p != '\0'; p++) {
        if (buf_put(b, p, 1) != 0 || (*p == '"' && buf_put(b, "\"", 1) != 0))
            return -1;
    }
    return buf_put(b, "\"", 1) == 0 && buf_put(b, &end, 1) == 0 ? 0 : -1;
}

void csv_buf_free(struct csv_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}
