/* Outcome classification, Retry-After parsing and response header lookup.
 * Pure functions: no curl handle, no loop. */
#include "http_result.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RETRY_AFTER_MAX_MS (24L * 3600 * 1000)

/* The longest Retry-After believed ([daemon] max_retry_after). Set on the
 * loop thread at start and reload, read on it. */
static long retry_after_cap_ms = RETRY_AFTER_MAX_MS;

void http_retry_after_cap_set(long ms)
{
    retry_after_cap_ms = ms > 0 && ms < RETRY_AFTER_MAX_MS ? ms : RETRY_AFTER_MAX_MS;
}

long http_retry_after_cap(void)
{
    return retry_after_cap_ms;
}

const char *http_result_label(const struct http_result *res, char *buf, size_t size)
{
    if (res == NULL)
        snprintf(buf, size, "no request:");
    else if (res->status == 0)
        snprintf(buf, size, "transport error:");
    else
        snprintf(buf, size, "HTTP %ld", res->status);
    return buf;
}

const char *http_class_name(enum http_class cls)
{
    switch (cls) {
    case HTTP_CLASS_OK:
        return "ok";
    case HTTP_CLASS_RETRY:
        return "retry";
    case HTTP_CLASS_PERMANENT:
        return "permanent";
    case HTTP_CLASS_INDETERMINATE:
        return "indeterminate";
    case HTTP_CLASS_UNAUTHORIZED:
        return "unauthorized";
    case HTTP_CLASS_CANCELLED:
        return "cancelled";
    }
    return "?";
}

const char *http_failure_name(enum http_failure f)
{
    static const char *const names[] = {
        "none",  "status",    "resolve", "connect", "tls",       "tls-verify", "timeout",
        "reset", "too-large", "invalid", "auth",    "cancelled", "internal",
    };

    if ((size_t)f < sizeof(names) / sizeof(names[0]))
        return names[f];
    return "?";
}

enum http_class http_classify(int safe_method, long status, enum http_failure failure,
                              int request_sent)
{
    switch (failure) {
    case HTTP_FAIL_NONE:
    case HTTP_FAIL_STATUS:
        break;
    case HTTP_FAIL_RESOLVE:
    case HTTP_FAIL_CONNECT:
    case HTTP_FAIL_TLS:
        /* Nothing reached the application: always safe to send again. */
        return HTTP_CLASS_RETRY;
    case HTTP_FAIL_TIMEOUT:
    case HTTP_FAIL_RESET:
        /* The server may have acted on a complete request whose answer we
         * lost. A GET changes nothing; a partial request cannot be applied
         * (the server waits for the rest of the declared body). */
        if (!safe_method && request_sent)
            return HTTP_CLASS_INDETERMINATE;
        return HTTP_CLASS_RETRY;
    case HTTP_FAIL_AUTH:
        return HTTP_CLASS_UNAUTHORIZED;
    case HTTP_FAIL_CANCELLED:
        return HTTP_CLASS_CANCELLED;
    case HTTP_FAIL_TOO_LARGE:
        /* The destination answered something we will not read: its fault
         * (or a proxy's), never the records'. Back off and try again. */
        return HTTP_CLASS_RETRY;
    case HTTP_FAIL_TLS_VERIFY:
    case HTTP_FAIL_INVALID:
    case HTTP_FAIL_INTERNAL:
        return HTTP_CLASS_PERMANENT;
    }
    if (status >= 200 && status < 300)
        return HTTP_CLASS_OK;
    if (status == 401)
        return HTTP_CLASS_UNAUTHORIZED;
    if (status == 429 || status == 408 || (status >= 500 && status < 600))
        return HTTP_CLASS_RETRY;
    /* Redirects are not followed: the endpoint moved or a portal caught the
     * request. A destination fault, like an outage. */
    if (status >= 300 && status < 400)
        return HTTP_CLASS_RETRY;
    return HTTP_CLASS_PERMANENT;
}

int http_parse_retry_after(const char *value, time_t now, long *out_ms)
{
    const char *p = value;
    char *end = NULL;
    unsigned long long secs = 0;
    time_t when = 0;

    if (value == NULL)
        return -1;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0')
        return -1;
    if (isdigit((unsigned char)*p)) {
        errno = 0;
        secs = strtoull(p, &end, 10);
        while (*end == ' ' || *end == '\t')
            end++;
        if (*end != '\0')
            return -1;
        if (errno == ERANGE || secs > (unsigned long long)retry_after_cap_ms / 1000)
            *out_ms = retry_after_cap_ms;
        else
            *out_ms = (long)secs * 1000;
        return 0;
    }
    /* curl_getdate() knows the three date forms RFC 9110 requires
     * recipients to accept (IMF-fixdate, RFC 850, asctime). */
    when = curl_getdate(p, NULL);
    if (when == (time_t)-1)
        return -1;
    if (when <= now)
        *out_ms = 0;
    else if (when - now > retry_after_cap_ms / 1000)
        *out_ms = retry_after_cap_ms;
    else
        *out_ms = (long)(when - now) * 1000;
    return 0;
}

const char *http_result_header(const struct http_result *res, const char *name)
{
    const char *found = NULL;
    size_t nlen = strlen(name);
    size_t off = 0;

    while (res->hdr_buf != NULL && off < res->hdr_len) {
        const char *entry = res->hdr_buf + off;
        size_t elen = strlen(entry);

        if (elen > nlen && entry[nlen] == ':' && strncasecmp(entry, name, nlen) == 0)
            found = entry + nlen + 1;
        off += elen + 1;
    }
    if (found == NULL)
        return NULL;
    while (*found == ' ' || *found == '\t')
        found++;
    return found;
}

char *http_result_take_body(struct http_result *res, size_t *len)
{
    char *body = res->body;

    if (len != NULL)
        *len = res->body_len;
    res->body = NULL;
    res->body_len = 0;
    return body;
}
