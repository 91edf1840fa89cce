/* A small SOQL subset for the Salesforce flavour: a tokenizer, a recursive
 * descent parser and an evaluator over a caller-supplied field getter. Pure
 * (no store, no HTTP); unit-tested in tests/unit/test_sim_sf_soql.c.
 *
 *   query   := SELECT field {, field} FROM object [WHERE cond]
 *              [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST] {, ...}]
 *              [LIMIT n] [OFFSET n]
 *   cond    := and {OR and}
 *   and     := unary {AND unary}
 *   unary   := NOT unary | '(' cond ')' | field op literal
 *            | field [NOT] IN '(' literal {, literal} ')'
 *   op      := = | != | <> | < | <= | > | >= | LIKE
 *   literal := 'string' | number | true | false | null | date | dateTime
 *
 * Keywords are case-insensitive. Anything else (relationship paths,
 * functions, GROUP BY, subqueries, date literals such as TODAY) is a syntax
 * error, reported the way Salesforce reports MALFORMED_QUERY. Mixing AND and
 * OR at one level without parentheses is rejected, as SOQL does. */
#ifndef CRMSIM_SOQL_H
#define CRMSIM_SOQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum soql_vtype { SOQL_NULL, SOQL_STRING, SOQL_NUMBER, SOQL_BOOL, SOQL_DATETIME, SOQL_DATE };

struct soql_value {
    enum soql_vtype type;
    const char *s;       /* SOQL_STRING */
    bool case_sensitive; /* SOQL_STRING: compare exactly (record ids) */
    double num;          /* SOQL_NUMBER */
    bool b;              /* SOQL_BOOL */
    int64_t ms;          /* SOQL_DATETIME, SOQL_DATE (UTC midnight) */
};

enum soql_op {
    SOQL_EQ,
    SOQL_NE,
    SOQL_LT,
    SOQL_LE,
    SOQL_GT,
    SOQL_GE,
    SOQL_LIKE,
    SOQL_IN,
    SOQL_NOT_IN
};

enum soql_kind { SOQL_AND, SOQL_OR, SOQL_NOT, SOQL_CMP };

struct soql_node {
    enum soql_kind kind;
    struct soql_node *a, *b; /* AND, OR (a, b); NOT (a) */
    char *field;             /* SOQL_CMP */
    int field_index;         /* set by the caller's binder; -1 until then */
    enum soql_op op;
    struct soql_value *vals; /* one, or the IN list */
    size_t nvals;
    int col; /* 1-based column of the field, for error messages */
};

struct soql_order {
    char *field;
    int field_index;
    bool desc;
    bool nulls_last;
};

struct soql_query {
    char **fields;
    int *field_index;
    size_t nfields;
    char *object;
    struct soql_node *where;
    struct soql_order *order;
    size_t norder;
    int64_t limit;  /* -1: none */
    int64_t offset; /* 0: none */
};

/* Parses text. Returns 0 and *out, or -1 with a Salesforce-style message in
 * err ("ERROR at Row:1:Column:N\nunexpected token: 'X'"). */
int soql_parse(const char *text, struct soql_query **out, char *err, size_t errlen);
void soql_free(struct soql_query *q);

/* Fills *out with the record's value of a field (strings borrowed until
 * the next call). Returns 0, or -1 for an unknown field. */
typedef int (*soql_get_fn)(void *ctx, int field_index, const char *field, struct soql_value *out);

/* Returns 1 if the record matches the condition (NULL matches all). */
int soql_eval(const struct soql_node *n, soql_get_fn get, void *ctx);

/* Total order for ORDER BY: NULL first, then by value; strings without
 * case unless case_sensitive. Values of different types compare by type. */
int soql_value_cmp(const struct soql_value *a, const struct soql_value *b);

/* SOQL LIKE: % any run, _ one character, case-insensitive. */
bool soql_like(const char *s, const char *pattern);

#endif
