/* crmsim Adobe Campaign: the subset of XTK filter expressions a connector
 * sends in a queryDef <condition expr="..."/> (pure, unit-tested in
 * tests/unit/test_sim_adobe_where.c).
 *
 *   expr     := and ( ("or" | "OR") and )*
 *   and      := unary ( ("and" | "AND") unary )*
 *   unary    := ("not" | "NOT") unary | "(" expr ")" | compare
 *   compare  := operand ( op operand | "IS" ["NOT"] "NULL" )
 *   op       := = | != | <> | < | <= | > | >=
 *   operand  := @field | [@field] | [link/@field] | link/@field
 *             | 'string' | "string"  (backslash escapes \' \" \\ \n \t)
 *             | number | #datetime#  (YYYY-MM-DD[ HH:MM:SS[.mmm]][Z], 'T' or ' ')
 *             | NULL
 *
 * Field paths are normalised: "[@service-id]" -> "@service-id",
 * "[service/@name]" -> "service/@name". A field whose value is missing or
 * empty is NULL, and every comparison with NULL is false (SQL). */
#ifndef CRMSIM_ADOBE_WHERE_H
#define CRMSIM_ADOBE_WHERE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum aw_op { AW_AND, AW_OR, AW_NOT, AW_CMP, AW_ISNULL, AW_NOTNULL, AW_EXISTS };
enum aw_cmp { AW_EQ, AW_NE, AW_LT, AW_LE, AW_GT, AW_GE };
enum aw_kind { AW_FIELD, AW_STRING, AW_NUMBER, AW_DATETIME, AW_NULL };

struct aw_operand {
    enum aw_kind kind;
    char *text; /* field path or string value (owned) */
    double num;
    int64_t ms;
};

struct aw_node {
    enum aw_op op;
    enum aw_cmp cmp;
    struct aw_node *l, *r;  /* AND/OR (both), NOT (l), EXISTS (l: the inner condition or NULL) */
    struct aw_operand a, b; /* CMP (a op b), IS [NOT] NULL (a), EXISTS (a: the link, a string) */
};

/* Parses src. Returns 0 and *out (free with aw_free), or -1 with a message
 * naming the offending position in err. */
int aw_parse(const char *src, struct aw_node **out, char *err, size_t errlen);
void aw_free(struct aw_node *n);

/* The value of a normalised field path in the row, or NULL (missing). */
typedef const char *(*aw_get_fn)(void *ctx, const char *path);
bool aw_eval(const struct aw_node *n, aw_get_fn get, void *ctx);

/* <condition expr="LINK" setOperator="EXISTS|NOT EXISTS"> on a collection
 * link ("Data oriented APIs", Examples on links): not parsed from an
 * expression but built by the query module as an AW_EXISTS node (NOT
 * EXISTS: under an AW_NOT). Its evaluation is the caller's: exists says
 * whether a row of the link whose values satisfy inner (NULL: any row)
 * belongs to the row of ctx. aw_eval answers false for such a node. */
typedef bool (*aw_exists_fn)(void *ctx, const char *link, const struct aw_node *inner);
bool aw_eval_sets(const struct aw_node *n, aw_get_fn get, aw_exists_fn exists, void *ctx);

/* Calls fn for every field path the expression reads (to check them
 * against a schema before running the query; the inner condition of an
 * AW_EXISTS reads the linked schema and is not visited). Returns the first nonzero
 * value fn returns, else 0. */
int aw_fields(const struct aw_node *n, int (*fn)(void *ctx, const char *path), void *ctx);

/* Campaign datetimes: "2026-12-07 10:00:00.123Z", "2026-12-07T10:00:00Z",
 * "2026/12/07 10:00:00", "2026-12-07". Returns 0 or -1. */
int aw_parse_datetime(const char *s, size_t len, int64_t *ms);

#endif
