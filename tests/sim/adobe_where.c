/* XTK filter expression subset: tokenizer, recursive-descent parser and
 * evaluator (see adobe_where.h). No allocation survives a failed parse. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "adobe_where.h"

struct parser {
    const char *src;
    size_t pos;
    char *err;
    size_t errlen;
    int failed;
};

static void fail_at(struct parser *p, const char *what)
{
    if (p->failed)
        return;
    p->failed = 1;
    snprintf(p->err, p->errlen, "%s at character %zu of '%.80s'", what, p->pos + 1, p->src);
}

static void skip_ws(struct parser *p)
{
    while (p->src[p->pos] != '\0' && isspace((unsigned char)p->src[p->pos]))
        p->pos++;
}

/* A keyword (case-insensitive) followed by a non-identifier character. */
static int keyword(struct parser *p, const char *kw)
{
    size_t n = strlen(kw);
    char next;

    skip_ws(p);
    if (strncasecmp(p->src + p->pos, kw, n) != 0)
        return 0;
    next = p->src[p->pos + n];
    if (isalnum((unsigned char)next) || next == '_' || next == '@')
        return 0;
    p->pos += n;
    return 1;
}

int aw_parse_datetime(const char *s, size_t len, int64_t *ms)
{
    char buf[40];
    struct tm tm;
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0, frac = 0, fdigits = 0;
    size_t i;
    time_t t;

    while (len > 0 && isspace((unsigned char)s[len - 1]))
        len--;
    while (len > 0 && isspace((unsigned char)*s)) {
        s++;
        len--;
    }
    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (len > 0 && (buf[len - 1] == 'Z' || buf[len - 1] == 'z'))
        buf[--len] = '\0';
    for (i = 0; i < len; i++) {
        if (buf[i] == '/')
            buf[i] = '-';
        else if (buf[i] == 'T')
            buf[i] = ' ';
    }
    if (sscanf(buf, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3)
        return -1;
    if (buf[n] == ' ') {
        int m2 = 0;

        if (sscanf(buf + n, " %2d:%2d:%2d%n", &h, &mi, &sec, &m2) != 3)
            return -1;
        n += m2;
        if (buf[n] == '.') {
            n++;
            while (isdigit((unsigned char)buf[n])) {
                if (fdigits < 3) {
                    frac = frac * 10 + (buf[n] - '0');
                    fdigits++;
                }
                n++;
            }
            while (fdigits > 0 && fdigits < 3) {
                frac *= 10;
                fdigits++;
            }
        }
    }
    if (buf[n] != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    *ms = (int64_t)t * 1000 + frac;
    return 0;
}

static char *dup_range(const char *s, size_t n)
{
    char *out = malloc(n + 1);

    if (out != NULL) {
        memcpy(out, s, n);
        out[n] = '\0';
    }
    return out;
}

static int is_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-' || c == ':';
}

/* "@name", "link/@name", "link/link2/@name" (no brackets) at p->pos. */
static char *parse_path(struct parser *p, char close)
{
    size_t start = p->pos;

    for (;;) {
        char c = p->src[p->pos];

        if (c == '@') {
            p->pos++;
            if (!is_name_char(p->src[p->pos])) {
                fail_at(p, "expected a field name after '@'");
                return NULL;
            }
            while (is_name_char(p->src[p->pos]))
                p->pos++;
            break;
        }
        if (!isalpha((unsigned char)c)) {
            fail_at(p, "expected a field path");
            return NULL;
        }
        while (is_name_char(p->src[p->pos]))
            p->pos++;
        if (p->src[p->pos] != '/') {
            fail_at(p, "expected '/@field' after a link name");
            return NULL;
        }
        p->pos++;
    }
    if (close != '\0') {
        if (p->src[p->pos] != close) {
            fail_at(p, "expected ']'");
            return NULL;
        }
        {
            char *out = dup_range(p->src + start, p->pos - start);

            p->pos++;
            return out;
        }
    }
    return dup_range(p->src + start, p->pos - start);
}

static int parse_string(struct parser *p, struct aw_operand *o)
{
    char quote = p->src[p->pos++];
    size_t cap = strlen(p->src + p->pos) + 1, n = 0;
    char *out = malloc(cap);

    if (out == NULL) {
        fail_at(p, "out of memory");
        return -1;
    }
    for (;;) {
        char c = p->src[p->pos];

        if (c == '\0') {
            free(out);
            fail_at(p, "unterminated string literal");
            return -1;
        }
        p->pos++;
        if (c == quote)
            break;
        if (c == '\\') {
            char e = p->src[p->pos];

            if (e == '\0') {
                free(out);
                fail_at(p, "unterminated string literal");
                return -1;
            }
            p->pos++;
            c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
        }
        out[n++] = c;
    }
    out[n] = '\0';
    o->kind = AW_STRING;
    o->text = out;
    return 0;
}

static int parse_operand(struct parser *p, struct aw_operand *o)
{
    char c;

    memset(o, 0, sizeof(*o));
    skip_ws(p);
    c = p->src[p->pos];
    if (c == '\'' || c == '"')
        return parse_string(p, o);
    if (c == '#') {
        const char *start = p->src + p->pos + 1;
        const char *end = strchr(start, '#');

        if (end == NULL) {
            fail_at(p, "unterminated #datetime# literal");
            return -1;
        }
        if (aw_parse_datetime(start, (size_t)(end - start), &o->ms) != 0) {
            fail_at(p, "invalid #datetime# literal");
            return -1;
        }
        o->kind = AW_DATETIME;
        p->pos += (size_t)(end - start) + 2;
        return 0;
    }
    if (isdigit((unsigned char)c) ||
        ((c == '-' || c == '+') && isdigit((unsigned char)p->src[p->pos + 1]))) {
        char *end;

        o->num = strtod(p->src + p->pos, &end);
        if (is_name_char(*end) && *end != '-') {
            fail_at(p, "invalid number");
            return -1;
        }
        o->kind = AW_NUMBER;
        p->pos = (size_t)(end - p->src);
        return 0;
    }
    if (c == '[') {
        p->pos++;
        o->text = parse_path(p, ']');
        o->kind = AW_FIELD;
        return o->text ? 0 : -1;
    }
    if (keyword(p, "NULL")) {
        o->kind = AW_NULL;
        return 0;
    }
    if (c == '@' || isalpha((unsigned char)c)) {
        o->text = parse_path(p, '\0');
        o->kind = AW_FIELD;
        return o->text ? 0 : -1;
    }
    fail_at(p, c == '\0' ? "unexpected end of expression" : "unexpected character");
    return -1;
}

static struct aw_node *new_node(struct parser *p, enum aw_op op)
{
    struct aw_node *n = calloc(1, sizeof(*n));

    if (n == NULL)
        fail_at(p, "out of memory");
    else
        n->op = op;
    return n;
}

static struct aw_node *parse_or(struct parser *p);

static int parse_cmp_op(struct parser *p, enum aw_cmp *cmp)
{
    const char *s;

    skip_ws(p);
    s = p->src + p->pos;
    if (strncmp(s, "<=", 2) == 0 || strncmp(s, ">=", 2) == 0 || strncmp(s, "!=", 2) == 0 ||
        strncmp(s, "<>", 2) == 0) {
        *cmp = s[0] == '<' ? (s[1] == '=' ? AW_LE : AW_NE) : s[0] == '>' ? AW_GE : AW_NE;
        p->pos += 2;
        return 0;
    }
    if (*s == '=' || *s == '<' || *s == '>') {
        *cmp = *s == '=' ? AW_EQ : *s == '<' ? AW_LT : AW_GT;
        p->pos++;
        return 0;
    }
    fail_at(p, "expected a comparison (=, !=, <, <=, >, >=, IS [NOT] NULL)");
    return -1;
}

static struct aw_node *parse_unary(struct parser *p)
{
    struct aw_node *n;

    skip_ws(p);
    if (keyword(p, "not")) {
        n = new_node(p, AW_NOT);
        if (n == NULL)
            return NULL;
        n->l = parse_unary(p);
        if (n->l == NULL) {
            aw_free(n);
            return NULL;
        }
        return n;
    }
    if (p->src[p->pos] == '(') {
        p->pos++;
        n = parse_or(p);
        if (n == NULL)
            return NULL;
        skip_ws(p);
        if (p->src[p->pos] != ')') {
            aw_free(n);
            fail_at(p, "expected ')'");
            return NULL;
        }
        p->pos++;
        return n;
    }
    n = new_node(p, AW_CMP);
    if (n == NULL)
        return NULL;
    if (parse_operand(p, &n->a) != 0) {
        aw_free(n);
        return NULL;
    }
    if (keyword(p, "IS")) {
        n->op = keyword(p, "NOT") ? AW_NOTNULL : AW_ISNULL;
        if (!keyword(p, "NULL")) {
            aw_free(n);
            fail_at(p, "expected NULL after IS [NOT]");
            return NULL;
        }
        return n;
    }
    if (parse_cmp_op(p, &n->cmp) != 0 || parse_operand(p, &n->b) != 0) {
        aw_free(n);
        return NULL;
    }
    return n;
}

static struct aw_node *parse_chain(struct parser *p, enum aw_op op)
{
    struct aw_node *left = op == AW_OR ? parse_chain(p, AW_AND) : parse_unary(p);

    while (left != NULL && keyword(p, op == AW_OR ? "or" : "and")) {
        struct aw_node *n = new_node(p, op);

        if (n == NULL) {
            aw_free(left);
            return NULL;
        }
        n->l = left;
        n->r = op == AW_OR ? parse_chain(p, AW_AND) : parse_unary(p);
        if (n->r == NULL) {
            aw_free(n);
            return NULL;
        }
        left = n;
    }
    return left;
}

static struct aw_node *parse_or(struct parser *p)
{
    return parse_chain(p, AW_OR);
}

int aw_parse(const char *src, struct aw_node **out, char *err, size_t errlen)
{
    struct parser p = {src, 0, err, errlen, 0};
    struct aw_node *n = parse_or(&p);

    *out = NULL;
    if (n == NULL)
        return -1;
    skip_ws(&p);
    if (p.src[p.pos] != '\0') {
        fail_at(&p, "unexpected text after the expression");
        aw_free(n);
        return -1;
    }
    *out = n;
    return 0;
}

void aw_free(struct aw_node *n)
{
    if (n == NULL)
        return;
    aw_free(n->l);
    aw_free(n->r);
    free(n->a.text);
    free(n->b.text);
    free(n);
}

/* --- evaluation --- */

struct value {
    enum aw_kind kind; /* AW_NULL, AW_STRING (s), AW_NUMBER, AW_DATETIME */
    const char *s;
    double num;
    int64_t ms;
};

static struct value resolve(const struct aw_operand *o, aw_get_fn get, void *ctx)
{
    struct value v = {o->kind, o->text, o->num, o->ms};

    if (o->kind == AW_FIELD) {
        v.s = get(ctx, o->text);
        v.kind = v.s != NULL && v.s[0] != '\0' ? AW_STRING : AW_NULL;
    }
    return v;
}

static int as_number(const char *s, double *out)
{
    char *end;

    if (s == NULL || *s == '\0')
        return -1;
    *out = strtod(s, &end);
    return *end == '\0' ? 0 : -1;
}

/* Compares a and b; returns -2 when they cannot be compared (NULL, or a
 * text that is not a number/datetime against such a literal). */
static int compare(struct value a, struct value b)
{
    if (a.kind == AW_NULL || b.kind == AW_NULL)
        return -2;
    if (a.kind == AW_STRING && b.kind == AW_STRING) {
        int c = strcmp(a.s, b.s);

        return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
    if (a.kind == AW_NUMBER || b.kind == AW_NUMBER) {
        double x = a.num, y = b.num;

        if (a.kind == AW_STRING && as_number(a.s, &x) != 0)
            return -2;
        if (b.kind == AW_STRING && as_number(b.s, &y) != 0)
            return -2;
        if (a.kind == AW_DATETIME || b.kind == AW_DATETIME)
            return -2;
        return x < y ? -1 : x > y ? 1 : 0;
    }
    /* At least one datetime literal. */
    {
        int64_t x = a.ms, y = b.ms;

        if (a.kind == AW_STRING && aw_parse_datetime(a.s, strlen(a.s), &x) != 0)
            return -2;
        if (b.kind == AW_STRING && aw_parse_datetime(b.s, strlen(b.s), &y) != 0)
            return -2;
        return x < y ? -1 : x > y ? 1 : 0;
    }
}

bool aw_eval(const struct aw_node *n, aw_get_fn get, void *ctx)
{
    return aw_eval_sets(n, get, NULL, ctx);
}

bool aw_eval_sets(const struct aw_node *n, aw_get_fn get, aw_exists_fn exists, void *ctx)
{
    int c;

    switch (n->op) {
    case AW_AND:
        return aw_eval_sets(n->l, get, exists, ctx) && aw_eval_sets(n->r, get, exists, ctx);
    case AW_OR:
        return aw_eval_sets(n->l, get, exists, ctx) || aw_eval_sets(n->r, get, exists, ctx);
    case AW_NOT:
        return !aw_eval_sets(n->l, get, exists, ctx);
    case AW_EXISTS:
        return exists != NULL && exists(ctx, n->a.text, n->l);
    case AW_ISNULL:
        return resolve(&n->a, get, ctx).kind == AW_NULL;
    case AW_NOTNULL:
        return resolve(&n->a, get, ctx).kind != AW_NULL;
    case AW_CMP:
        c = compare(resolve(&n->a, get, ctx), resolve(&n->b, get, ctx));
        if (c == -2)
            return false;
        switch (n->cmp) {
        case AW_EQ:
            return c == 0;
        case AW_NE:
            return c != 0;
        case AW_LT:
            return c < 0;
        case AW_LE:
            return c <= 0;
        case AW_GT:
            return c > 0;
        case AW_GE:
            return c >= 0;
        }
    }
    return false;
}

int aw_fields(const struct aw_node *n, int (*fn)(void *ctx, const char *path), void *ctx)
{
    int rc = 0;

    if (n == NULL || n->op == AW_EXISTS)
        return 0;
    if (n->a.kind == AW_FIELD && n->a.text != NULL)
        rc = fn(ctx, n->a.text);
    if (rc == 0 && n->b.kind == AW_FIELD && n->b.text != NULL)
        rc = fn(ctx, n->b.text);
    if (rc == 0)
        rc = aw_fields(n->l, fn, ctx);
    if (rc == 0)
        rc = aw_fields(n->r, fn, ctx);
    return rc;
}
