/* RFC 4180 CSV for the Salesforce flavour's Bulk API 2.0 (pure; unit-tested
 * in tests/unit/test_sim_sf_csv.c): fields separated by one delimiter
 * character, records ended by LF or CRLF, fields optionally quoted with
 * '"' where "" is a literal quote and delimiters and line breaks are data. */
#ifndef CRMSIM_CSV_H
#define CRMSIM_CSV_H

#include <stdbool.h>
#include <stddef.h>

struct csv_row {
    char **fields;
    size_t n;
    size_t line; /* 1-based line where the record starts */
};

struct csv_table {
    struct csv_row *rows;
    size_t nrows;
};

/* Parses buf. A final line break is optional; blank lines are skipped.
 * Returns 0, or -1 with "line N: ..." in err (out is then empty). */
int csv_parse(const char *buf, size_t len, char delim, struct csv_table *out, char *err,
              size_t errlen);
void csv_table_free(struct csv_table *t);

/* A growing output buffer. */
struct csv_buf {
    char *data;
    size_t len, cap;
};

/* Appends one field, always quoted (as Salesforce writes its result files),
 * followed by the delimiter, or by "\n" when last. Returns 0 or -1. */
int csv_put(struct csv_buf *b, const char *field, char delim, bool last);
void csv_buf_free(struct csv_buf *b);

#endif
