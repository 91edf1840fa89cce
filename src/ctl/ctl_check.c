/* crmsyncctl status --check: one line and an exit code for monitoring
 * (issue 19), in the convention Nagios, Icinga and Sensu plugins share:
 * 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN, and performance data after '|'.
 *
 *   CRITICAL  the daemon is not running; /healthz names a problem; a
 *             connector is failing
 *   WARNING   dead letters wait (retry or drop them); the admin endpoint is
 *             configured but does not answer
 *   UNKNOWN   the state cannot be read, or whether the daemon runs cannot
 *             be told
 * Without [daemon] admin_listen only the database is read: the line says
 * that health was not asked. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "strbuf.h"

#define LINE_MAX_BYTES 2000

static const char *const check_names[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};

static void add_sep(struct strbuf *b)
{
    if (b->len > 0)
        strbuf_add(b, "; ");
}

static long long sum_backlog(json_t *doc)
{
    long long n = 0;
    size_t i;
    json_t *c;

    json_array_foreach(json_object_get(doc, "connectors"), i, c)
    {
        json_t *b = json_object_get(c, "backlog");
        if (json_is_object(b))
            n += (long long)json_integer_value(json_object_get(b, "total"));
    }
    return n;
}

static long long sum_dead(json_t *doc)
{
    long long n = 0;
    size_t i;
    json_t *d;

    json_array_foreach(json_object_get(doc, "dead_letters"), i, d) n +=
        (long long)json_integer_value(json_object_get(d, "count"));
    return n;
}

int ctl_status_check(json_t *doc)
{
    json_t *daemon = json_object_get(doc, "daemon");
    json_t *health = json_object_get(daemon, "health");
    json_t *p;
    struct strbuf why;
    long long backlog = sum_backlog(doc), dead = sum_dead(doc);
    int code = CTL_CHECK_OK;
    size_t i;

    strbuf_init(&why, LINE_MAX_BYTES);
    if (json_object_get(daemon, "unknown") != NULL) {
        code = CTL_CHECK_UNKNOWN;
        strbuf_addf(&why, "cannot tell whether the daemon runs: %s",
                    json_string_value(json_object_get(daemon, "unknown")));
    } else if (!json_is_true(json_object_get(daemon, "running"))) {
        code = CTL_CHECK_CRITICAL;
        strbuf_add(&why, "the daemon is not running");
    }
    json_array_foreach(json_object_get(health, "reasons"), i, p)
    {
        json_t *conn = json_object_get(p, "connector");
        code = CTL_CHECK_CRITICAL;
        add_sep(&why);
        strbuf_addf(&why, "%s%s%s: %s", json_string_value(json_object_get(p, "reason")),
                    json_is_string(conn) ? " " : "",
                    json_is_string(conn) ? json_string_value(conn) : "",
                    json_string_value(json_object_get(p, "detail")));
    }
    if (json_object_get(daemon, "health_error") != NULL) {
        if (code == CTL_CHECK_OK)
            code = CTL_CHECK_WARNING;
        add_sep(&why);
        strbuf_add(&why, json_string_value(json_object_get(daemon, "health_error")));
    }
    if (dead > 0) {
        if (code == CTL_CHECK_OK)
            code = CTL_CHECK_WARNING;
        add_sep(&why);
        strbuf_addf(&why, "%lld dead letter(s) (crmsyncctl dead-letters list)", dead);
    }
    if (code == CTL_CHECK_OK) {
        strbuf_addf(&why, "running (pid %lld), %zu connector(s)",
                    (long long)json_integer_value(json_object_get(daemon, "pid")),
                    json_array_size(json_object_get(doc, "connectors")));
        if (health == NULL)
            strbuf_add(&why, "; health not asked (no admin_listen)");
    }
    /* A reason too long for one line: the start of it, said so. */
    printf("crmsyncd %s: %s | backlog=%lld dead_letters=%lld\n", check_names[code],
           strbuf_str(&why) != NULL ? strbuf_str(&why)
                                    : "(reasons too long: see crmsyncctl status)",
           backlog, dead);
    strbuf_free(&why);
    return code;
}

int ctl_status_check_unknown(const char *why)
{
    printf("crmsyncd UNKNOWN: %s\n", why);
    return CTL_CHECK_UNKNOWN;
}
