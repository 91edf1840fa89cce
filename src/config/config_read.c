/* One INI file through inih, with line numbers.
 *
 * Debian's libinih 55 is built without INI_HANDLER_LINENO, so the handler
 * cannot be told the line. We feed inih through ini_parse_stream() with our
 * own line reader instead: it counts lines (inih calls the handler for a
 * line before it asks for the next one) and looks at each raw line first.
 * That also covers what inih does not tell us:
 *  - section headers: inih only calls the handler for keys, so an empty or
 *    misspelt section would go unnoticed;
 *  - every syntax error, not just the first line number inih returns;
 *  - names longer than inih's 49 characters, which it silently truncates;
 *  - lines longer than inih's buffer, which it would split in two.
 * The reader also strips leading whitespace, which turns off inih's
 * multi-line continuation: an indented "key = value" is an ordinary key and
 * not a second line of the previous value. */
#include "config.h"

#include <ctype.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* inih's MAX_SECTION and MAX_NAME are 50 bytes with the NUL. */
#define INIH_MAX_NAME 49

struct reader {
    FILE *fp;
    const struct config_read_ops *ops;
    void *user;
    int lineno;
    int syntax_errors;
    char *raw;
    size_t raw_cap;
};

static void syntax_error(struct reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void syntax_error(struct reader *r, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    r->syntax_errors++;
    r->ops->error(r->user, r->lineno, msg);
}

/* A "[name]" line: reports it, or reports why it cannot be read and tells
 * the caller (name NULL) so the keys under it are skipped, not misfiled. */
static char *scan_section(struct reader *r, char *p)
{
    char *end = strchr(p, ']');
    char *rest = NULL;

    if (end == NULL) {
        syntax_error(r, "section header without closing ']'");
        goto bad;
    }
    rest = end + 1;
    while (isspace((unsigned char)*rest))
        rest++;
    if (*rest != '\0' && *rest != ';' && *rest != '#') {
        syntax_error(r, "unexpected text after section header");
        goto bad;
    }
    if ((size_t)(end - p - 1) > INIH_MAX_NAME) {
        syntax_error(r, "section name [%.40s...] is longer than %d characters", p + 1,
                     INIH_MAX_NAME);
        goto bad;
    }
    *end = '\0';
    r->ops->section(r->user, p + 1, r->lineno);
    *end = ']';
    return p;
bad:
    r->ops->section(r->user, NULL, r->lineno);
    return NULL;
}

/* Looks at one raw line before inih does. Returns the text to hand to inih
 * (leading whitespace stripped), or NULL to hand it an empty line because
 * the line was refused and reported here. */
static char *scan_line(struct reader *r, char *line)
{
    char *p = line;
    char *end = NULL;
    size_t len = 0;

    if (r->lineno == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '\0' || *p == ';' || *p == '#')
        return p;
    if (*p == '[')
        return scan_section(r, p);
    end = strpbrk(p, "=:");
    if (end == NULL) {
        syntax_error(r, "expected 'key = value', '[section]' or a comment");
        return NULL;
    }
    len = (size_t)(end - p);
    while (len > 0 && isspace((unsigned char)p[len - 1]))
        len--;
    if (len == 0) {
        syntax_error(r, "missing key name before '%c'", *end);
        return NULL;
    }
    if (len > INIH_MAX_NAME) {
        syntax_error(r, "key name '%.40s...' is longer than %d characters", p, INIH_MAX_NAME);
        return NULL;
    }
    return p;
}

/* The ini_reader given to inih: fgets semantics, one whole line per call. */
static char *read_line(char *str, int num, void *stream)
{
    struct reader *r = stream;
    char *p = NULL;
    size_t len = 0;

    if (getline(&r->raw, &r->raw_cap, r->fp) < 0)
        return NULL;
    r->lineno++;
    len = strlen(r->raw);
    while (len > 0 && (r->raw[len - 1] == '\n' || r->raw[len - 1] == '\r'))
        r->raw[--len] = '\0';
    /* inih's buffer must hold the line plus "\r\n\0". */
    if (num < 4 || len > (size_t)num - 3)
        syntax_error(r, "line is longer than %d characters", num - 3);
    else
        p = scan_line(r, r->raw);
    snprintf(str, (size_t)num, "%s\n", p != NULL ? p : "");
    return str;
}

/* The ini_handler. Always 1: problems are reported by the caller's
 * callbacks, not through inih's single error line. */
static int on_value(void *user, const char *section, const char *name, const char *value)
{
    struct reader *r = user;

    (void)section; /* the caller tracks sections from ops->section */
    r->ops->entry(r->user, name, value, r->lineno);
    return 1;
}

int config_read_file(FILE *fp, const struct config_read_ops *ops, void *user)
{
    struct reader r;
    int line = 0;
    int rc = -1;

    memset(&r, 0, sizeof(r));
    r.fp = fp;
    r.ops = ops;
    r.user = user;
    line = ini_parse_stream(read_line, &r, on_value, &r);
    if (line == -2) {
        ops->error(user, 0, "out of memory");
        goto out;
    }
    /* A line inih refused that scan_line() let through: report it, unless
     * the file already has syntax errors (inih names only the first one). */
    if (line > 0 && r.syntax_errors == 0) {
        r.lineno = line;
        syntax_error(&r, "syntax error");
    }
    if (ferror(fp)) {
        ops->error(user, 0, "read error");
        goto out;
    }
    rc = 0;
out:
    free(r.raw);
    return rc;
}
