#include "soql.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim_time.h"

enum tok_kind { T_EOF, T_IDENT, T_STRING, T_NUMBER, T_DATE, T_DATETIME, T_PUNCT };

struct tok {
    enum tok_kind kind;
    const char *start; /* in the query text */
    size_t len;
    int col;
};

struct parser {
    const char *text;
    const char *p;
    struct tok cur;
    char *err;
    size_t errlen;
    bool failed;
};

/* --- tokenizer --- */

static bool is_ident_char(int c)
{
    return isalnum(c) || c == '_' || c == '.';
}

static bool looks_like_date(const char *p)
{
    return isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) &&
           isdigit((unsigned char)p[2]) && isdigit((unsigned char)p[3]) && p[4] == '-';
}

static void next(struct parser *ps)
{
    const char *p = ps->p;
    struct tok *t = &ps->cur;

    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    t->start = p;
    t->col = (int)(p - ps->text) + 1;
    if (*p == '\0') {
        t->kind = T_EOF;
        t->len = 0;
    } else if (*p == '\'') {
        /* Backslash escapes (\' \\ \n ...) as SOQL has them; the token
         * keeps the quotes and escapes, decoded when the literal is taken. */
        const char *q = p + 1;

        while (*q != '\0' && *q != '\'') {
            if (*q == '\\' && q[1] != '\0')
                q++;
            q++;
        }
        t->kind = T_STRING;
        t->len = (size_t)(q - p) + (*q == '\'' ? 1 : 0);
        if (*q != '\'')
            t->kind = T_PUNCT; /* unterminated: reported as unexpected */
    } else if (looks_like_date(p)) {
        const char *q = p;

        while (isdigit((unsigned char)*q) || *q == '-' || *q == ':' || *q == 'T' || *q == '.' ||
               *q == 'Z' || *q == '+')
            q++;
        t->len = (size_t)(q - p);
        t->kind = memchr(p, 'T', t->len) != NULL ? T_DATETIME : T_DATE;
    } else if (isdigit((unsigned char)*p) ||
               ((*p == '-' || *p == '+') && isdigit((unsigned char)p[1]))) {
        const char *q = p + 1;

        while (isdigit((unsigned char)*q) || *q == '.')
            q++;
        t->kind = T_NUMBER;
        t->len = (size_t)(q - p);
    } else if (isalpha((unsigned char)*p) || *p == '_') {
        const char *q = p;

        while (is_ident_char((unsigned char)*q))
            q++;
        t->kind = T_IDENT;
        t->len = (size_t)(q - p);
    } else {
        t->kind = T_PUNCT;
        t->len = 1;
        if ((p[0] == '!' && p[1] == '=') || (p[0] == '<' && p[1] == '>') ||
            (p[0] == '<' && p[1] == '=') || (p[0] == '>' && p[1] == '='))
            t->len = 2;
    }
    ps->p = t->start + t->len;
}

static void syntax_error(struct parser *ps, const char *fmt)
{
    char tok[64];

    if (ps->failed)
        return;
    ps->failed = true;
    if (ps->cur.kind == T_EOF)
        snprintf(tok, sizeof(tok), "<EOF>");
    else
        snprintf(tok, sizeof(tok), "%.*s", (int)(ps->cur.len > 40 ? 40 : ps->cur.len),
                 ps->cur.start);
    snprintf(ps->err, ps->errlen, "ERROR at Row:1:Column:%d\n", ps->cur.col);
    snprintf(ps->err + strlen(ps->err), ps->errlen - strlen(ps->err), fmt, tok);
}

static bool is_kw(const struct parser *ps, const char *kw)
{
    return ps->cur.kind == T_IDENT && ps->cur.len == strlen(kw) &&
           strncasecmp(ps->cur.start, kw, ps->cur.len) == 0;
}

static bool is_punct(const struct parser *ps, const char *s)
{
    return ps->cur.kind == T_PUNCT && ps->cur.len == strlen(s) &&
           strncmp(ps->cur.start, s, ps->cur.len) == 0;
}

static bool accept_kw(struct parser *ps, const char *kw)
{
    if (!is_kw(ps, kw))
        return false;
    next(ps);
    return true;
}

static bool expect_kw(struct parser *ps, const char *kw)
{
    if (accept_kw(ps, kw))
        return true;
    syntax_error(ps, "unexpected token: '%s'");
    return false;
}

static bool expect_punct(struct parser *ps, const char *s)
{
    if (is_punct(ps, s)) {
        next(ps);
        return true;
    }
    syntax_error(ps, "unexpected token: '%s'");
    return false;
}

/* Words that cannot be field names here; seeing one where a field is
 * expected is a syntax error rather than an unknown column. */
static const char *const reserved[] = {
    "SELECT", "FROM",  "WHERE", "ORDER", "BY",    "LIMIT",  "OFFSET", "AND",    "OR",
    "NOT",    "IN",    "LIKE",  "NULL",  "TRUE",  "FALSE",  "GROUP",  "HAVING", "ASC",
    "DESC",   "NULLS", "WITH",  "FOR",   "USING", "TYPEOF", NULL};

/* Takes an identifier: a plain API name (no relationship paths). */
static char *take_ident(struct parser *ps)
{
    char *s;

    if (ps->cur.kind != T_IDENT || memchr(ps->cur.start, '.', ps->cur.len) != NULL) {
        syntax_error(ps, "unexpected token: '%s'");
        return NULL;
    }
    for (const char *const *r = reserved; *r != NULL; r++) {
        if (is_kw(ps, *r)) {
            syntax_error(ps, "unexpected token: '%s'");
            return NULL;
        }
    }
    s = strndup(ps->cur.start, ps->cur.len);
    next(ps);
    return s;
}

/* --- literals --- */

static int take_literal(struct parser *ps, struct soql_value *v)
{
    const struct tok *t = &ps->cur;
    char buf[64];

    memset(v, 0, sizeof(*v));
    switch (t->kind) {
    case T_STRING: {
        char *s = malloc(t->len);
        size_t o = 0;

        if (s == NULL)
            return -1;
        for (size_t i = 1; i + 1 < t->len; i++) {
            char c = t->start[i];

            if (c == '\\') {
                c = t->start[++i];
                if (c == 'n')
                    c = '\n';
                else if (c == 't')
                    c = '\t';
                else if (c == 'r')
                    c = '\r';
                else if (c != '\'' && c != '"' && c != '\\' && c != '%' && c != '_') {
                    free(s);
                    syntax_error(ps, "Invalid string literal %s. Illegal character sequence in "
                                     "string literal.");
                    return -1;
                }
            }
            s[o++] = c;
        }
        s[o] = '\0';
        v->type = SOQL_STRING;
        v->s = s;
        break;
    }
    case T_NUMBER: {
        char *end;

        snprintf(buf, sizeof(buf), "%.*s", (int)t->len, t->start);
        errno = 0;
        v->num = strtod(buf, &end);
        if (*end != '\0' || errno != 0 || t->len >= sizeof(buf)) {
            syntax_error(ps, "unexpected token: '%s'");
            return -1;
        }
        v->type = SOQL_NUMBER;
        break;
    }
    case T_DATE:
    case T_DATETIME:
        snprintf(buf, sizeof(buf), "%.*s", (int)t->len, t->start);
        /* A date is exactly YYYY-MM-DD; a dateTime needs its zone and has
         * whole seconds (SOQL reference, "Date Formats and Date Literals":
         * YYYY-MM-DDThh:mm:ssZ or +hh:mm / -hh:mm, no fraction). */
        if (t->len >= sizeof(buf) || (t->kind == T_DATE && t->len != 10) ||
            (t->kind == T_DATETIME && memchr(buf, '.', t->len) != NULL) ||
            (t->kind == T_DATETIME && buf[t->len - 1] != 'Z' && strchr(buf + 10, '+') == NULL &&
             strchr(buf + 10, '-') == NULL) ||
            sim_time_parse(buf, &v->ms) != 0) {
            syntax_error(ps, "line 1:%s no viable alternative at character ' '");
            return -1;
        }
        v->type = t->kind == T_DATE ? SOQL_DATE : SOQL_DATETIME;
        break;
    case T_IDENT:
        if (is_kw(ps, "null")) {
            v->type = SOQL_NULL;
        } else if (is_kw(ps, "true") || is_kw(ps, "false")) {
            v->type = SOQL_BOOL;
            v->b = is_kw(ps, "true");
        } else {
            syntax_error(ps, "unexpected token: '%s'");
            return -1;
        }
        break;
    default:
        syntax_error(ps, "unexpected token: '%s'");
        return -1;
    }
    next(ps);
    return 0;
}

/* --- conditions --- */

static void node_free(struct soql_node *n)
{
    if (n == NULL)
        return;
    node_free(n->a);
    node_free(n->b);
    free(n->field);
    for (size_t i = 0; i < n->nvals; i++) {
        if (n->vals[i].type == SOQL_STRING)
            free((char *)n->vals[i].s);
    }
    free(n->vals);
    free(n);
}

static struct soql_node *node_new(enum soql_kind kind)
{
    struct soql_node *n = calloc(1, sizeof(*n));

    if (n != NULL) {
        n->kind = kind;
        n->field_index = -1;
    }
    return n;
}

static struct soql_node *parse_cond(struct parser *ps);

static struct soql_node *parse_cmp(struct parser *ps)
{
    struct soql_node *n = node_new(SOQL_CMP);
    static const struct {
        const char *s;
        enum soql_op op;
    } ops[] = {{"=", SOQL_EQ},  {"!=", SOQL_NE}, {"<>", SOQL_NE}, {"<", SOQL_LT},
               {"<=", SOQL_LE}, {">", SOQL_GT},  {">=", SOQL_GE}};
    bool found = false;

    if (n == NULL)
        return NULL;
    n->col = ps->cur.col;
    n->field = take_ident(ps);
    if (n->field == NULL)
        goto bad;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (is_punct(ps, ops[i].s)) {
            n->op = ops[i].op;
            found = true;
            next(ps);
            break;
        }
    }
    if (!found && accept_kw(ps, "LIKE")) {
        n->op = SOQL_LIKE;
        found = true;
    }
    if (!found && (is_kw(ps, "IN") || is_kw(ps, "NOT"))) {
        n->op = is_kw(ps, "NOT") ? SOQL_NOT_IN : SOQL_IN;
        if (n->op == SOQL_NOT_IN) {
            next(ps);
            if (!is_kw(ps, "IN")) {
                syntax_error(ps, "unexpected token: '%s'");
                goto bad;
            }
        }
        next(ps);
        if (!expect_punct(ps, "("))
            goto bad;
        for (;;) {
            struct soql_value *grown = realloc(n->vals, (n->nvals + 1) * sizeof(*grown));

            if (grown == NULL)
                goto bad;
            n->vals = grown;
            if (take_literal(ps, &n->vals[n->nvals]) != 0)
                goto bad;
            n->nvals++;
            if (is_punct(ps, ",")) {
                next(ps);
                continue;
            }
            if (!expect_punct(ps, ")"))
                goto bad;
            break;
        }
        return n;
    }
    if (!found) {
        syntax_error(ps, "unexpected token: '%s'");
        goto bad;
    }
    n->vals = calloc(1, sizeof(*n->vals));
    if (n->vals == NULL || take_literal(ps, &n->vals[0]) != 0)
        goto bad;
    n->nvals = 1;
    if (n->op == SOQL_LIKE && n->vals[0].type != SOQL_STRING) {
        syntax_error(ps, "unexpected token: '%s'");
        goto bad;
    }
    return n;
bad:
    node_free(n);
    return NULL;
}

static struct soql_node *parse_unary(struct parser *ps)
{
    if (accept_kw(ps, "NOT")) {
        struct soql_node *n = node_new(SOQL_NOT);

        if (n == NULL)
            return NULL;
        n->a = parse_unary(ps);
        if (n->a == NULL) {
            node_free(n);
            return NULL;
        }
        return n;
    }
    if (is_punct(ps, "(")) {
        struct soql_node *n;

        next(ps);
        n = parse_cond(ps);
        if (n == NULL)
            return NULL;
        if (!expect_punct(ps, ")")) {
            node_free(n);
            return NULL;
        }
        return n;
    }
    return parse_cmp(ps);
}

/* One level of AND or OR; SOQL requires parentheses to mix them. */
static struct soql_node *parse_cond(struct parser *ps)
{
    struct soql_node *left = parse_unary(ps);
    int level = -1; /* -1 unknown, else SOQL_AND / SOQL_OR */

    while (left != NULL && (is_kw(ps, "AND") || is_kw(ps, "OR"))) {
        int kind = is_kw(ps, "AND") ? SOQL_AND : SOQL_OR;
        struct soql_node *n;

        if (level != -1 && level != kind) {
            syntax_error(ps, "unexpected token: '%s'");
            node_free(left);
            return NULL;
        }
        level = kind;
        next(ps);
        n = node_new((enum soql_kind)kind);
        if (n == NULL) {
            node_free(left);
            return NULL;
        }
        n->a = left;
        n->b = parse_unary(ps);
        if (n->b == NULL) {
            node_free(n);
            return NULL;
        }
        left = n;
    }
    return left;
}

/* --- query --- */

void soql_free(struct soql_query *q)
{
    if (q == NULL)
        return;
    for (size_t i = 0; i < q->nfields; i++)
        free(q->fields[i]);
    free(q->fields);
    free(q->field_index);
    free(q->object);
    node_free(q->where);
    for (size_t i = 0; i < q->norder; i++)
        free(q->order[i].field);
    free(q->order);
    free(q);
}

static int take_count(struct parser *ps, int64_t *out)
{
    char buf[32];
    char *end;
    long long v;

    if (ps->cur.kind != T_NUMBER || ps->cur.len >= sizeof(buf)) {
        syntax_error(ps, "unexpected token: '%s'");
        return -1;
    }
    snprintf(buf, sizeof(buf), "%.*s", (int)ps->cur.len, ps->cur.start);
    errno = 0;
    v = strtoll(buf, &end, 10);
    if (*end != '\0' || errno != 0 || v < 0) {
        syntax_error(ps, "unexpected token: '%s'");
        return -1;
    }
    *out = v;
    next(ps);
    return 0;
}

int soql_parse(const char *text, struct soql_query **out, char *err, size_t errlen)
{
    struct parser ps = {.text = text, .p = text, .err = err, .errlen = errlen};
    struct soql_query *q = calloc(1, sizeof(*q));

    *out = NULL;
    if (q == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    q->limit = -1;
    next(&ps);
    if (!expect_kw(&ps, "SELECT"))
        goto bad;
    for (;;) {
        char **grown = realloc(q->fields, (q->nfields + 1) * sizeof(*grown));
        char *f;

        if (grown == NULL)
            goto bad;
        q->fields = grown;
        f = take_ident(&ps);
        if (f == NULL)
            goto bad;
        if (is_punct(&ps, "(")) { /* COUNT(), FIELDS(ALL), ... */
            free(f);
            syntax_error(&ps, "unexpected token: '%s'");
            goto bad;
        }
        q->fields[q->nfields++] = f;
        if (!is_punct(&ps, ","))
            break;
        next(&ps);
    }
    q->field_index = calloc(q->nfields, sizeof(*q->field_index));
    if (q->field_index == NULL || !expect_kw(&ps, "FROM"))
        goto bad;
    q->object = take_ident(&ps);
    if (q->object == NULL)
        goto bad;
    if (accept_kw(&ps, "WHERE")) {
        q->where = parse_cond(&ps);
        if (q->where == NULL)
            goto bad;
    }
    if (accept_kw(&ps, "ORDER")) {
        if (!expect_kw(&ps, "BY"))
            goto bad;
        for (;;) {
            struct soql_order *grown = realloc(q->order, (q->norder + 1) * sizeof(*grown));
            struct soql_order *o;

            if (grown == NULL)
                goto bad;
            q->order = grown;
            o = &q->order[q->norder];
            memset(o, 0, sizeof(*o));
            o->field_index = -1;
            o->field = take_ident(&ps);
            if (o->field == NULL)
                goto bad;
            q->norder++;
            if (accept_kw(&ps, "DESC")) {
                o->desc = true;
                o->nulls_last = true; /* SOQL: DESC puts nulls last by default */
            } else {
                (void)accept_kw(&ps, "ASC");
            }
            if (accept_kw(&ps, "NULLS")) {
                if (accept_kw(&ps, "FIRST"))
                    o->nulls_last = false;
                else if (expect_kw(&ps, "LAST"))
                    o->nulls_last = true;
                else
                    goto bad;
            }
            if (!is_punct(&ps, ","))
                break;
            next(&ps);
        }
    }
    if (accept_kw(&ps, "LIMIT") && take_count(&ps, &q->limit) != 0)
        goto bad;
    if (accept_kw(&ps, "OFFSET") && take_count(&ps, &q->offset) != 0)
        goto bad;
    if (ps.cur.kind != T_EOF) {
        syntax_error(&ps, "unexpected token: '%s'");
        goto bad;
    }
    if (ps.failed)
        goto bad;
    *out = q;
    return 0;
bad:
    if (!ps.failed)
        snprintf(err, errlen, "out of memory");
    soql_free(q);
    return -1;
}

/* --- evaluation --- */

bool soql_like(const char *s, const char *pattern)
{
    /* Iterative wildcard match with one backtrack point (the last %). */
    const char *star = NULL, *ss = NULL;

    while (*s != '\0') {
        if (*pattern == '%') {
            star = pattern++;
            ss = s;
        } else if (*pattern == '_' || (*pattern != '\0' && tolower((unsigned char)*pattern) ==
                                                               tolower((unsigned char)*s))) {
            pattern++;
            s++;
        } else if (star != NULL) {
            pattern = star + 1;
            s = ++ss;
        } else {
            return false;
        }
    }
    while (*pattern == '%')
        pattern++;
    return *pattern == '\0';
}

int soql_value_cmp(const struct soql_value *a, const struct soql_value *b)
{
    if (a->type != b->type) {
        /* A date literal against a dateTime field compares as a time. */
        bool ta = a->type == SOQL_DATE || a->type == SOQL_DATETIME;
        bool tb = b->type == SOQL_DATE || b->type == SOQL_DATETIME;

        if (!(ta && tb))
            return a->type < b->type ? -1 : 1;
    }
    switch (a->type) {
    case SOQL_NULL:
        return 0;
    case SOQL_STRING:
        return (a->case_sensitive || b->case_sensitive) ? strcmp(a->s, b->s)
                                                        : strcasecmp(a->s, b->s);
    case SOQL_NUMBER:
        return a->num < b->num ? -1 : a->num > b->num ? 1 : 0;
    case SOQL_BOOL:
        return (int)a->b - (int)b->b;
    case SOQL_DATETIME:
    case SOQL_DATE:
        return a->ms < b->ms ? -1 : a->ms > b->ms ? 1 : 0;
    }
    return 0;
}

static bool compatible(const struct soql_value *a, const struct soql_value *b)
{
    if (a->type == b->type)
        return true;
    return (a->type == SOQL_DATE || a->type == SOQL_DATETIME) &&
           (b->type == SOQL_DATE || b->type == SOQL_DATETIME);
}

static int cmp_one(enum soql_op op, const struct soql_value *v, const struct soql_value *lit)
{
    int c;

    if (v->type == SOQL_NULL || lit->type == SOQL_NULL) {
        bool both = v->type == SOQL_NULL && lit->type == SOQL_NULL;

        if (op == SOQL_EQ || op == SOQL_IN)
            return both;
        if (op == SOQL_NE || op == SOQL_NOT_IN)
            return !both;
        return 0;
    }
    if (op == SOQL_LIKE)
        return v->type == SOQL_STRING && soql_like(v->s, lit->s);
    if (!compatible(v, lit))
        return op == SOQL_NE || op == SOQL_NOT_IN;
    c = soql_value_cmp(v, lit);
    switch (op) {
    case SOQL_EQ:
    case SOQL_IN:
        return c == 0;
    case SOQL_NE:
    case SOQL_NOT_IN:
        return c != 0;
    case SOQL_LT:
        return c < 0;
    case SOQL_LE:
        return c <= 0;
    case SOQL_GT:
        return c > 0;
    case SOQL_GE:
        return c >= 0;
    default:
        return 0;
    }
}

int soql_eval(const struct soql_node *n, soql_get_fn get, void *ctx)
{
    struct soql_value v;

    if (n == NULL)
        return 1;
    switch (n->kind) {
    case SOQL_AND:
        return soql_eval(n->a, get, ctx) && soql_eval(n->b, get, ctx);
    case SOQL_OR:
        return soql_eval(n->a, get, ctx) || soql_eval(n->b, get, ctx);
    case SOQL_NOT:
        return !soql_eval(n->a, get, ctx);
    case SOQL_CMP:
        if (get(ctx, n->field_index, n->field, &v) != 0)
            return 0;
        if (n->op == SOQL_IN) {
            for (size_t i = 0; i < n->nvals; i++) {
                if (cmp_one(SOQL_EQ, &v, &n->vals[i]))
                    return 1;
            }
            return 0;
        }
        if (n->op == SOQL_NOT_IN) {
            for (size_t i = 0; i < n->nvals; i++) {
                if (cmp_one(SOQL_EQ, &v, &n->vals[i]))
                    return 0;
            }
            return 1;
        }
        return cmp_one(n->op, &v, &n->vals[0]);
    }
    return 0;
}
