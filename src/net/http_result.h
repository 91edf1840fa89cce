/* The outcome of one HTTP request, classified for the caller.
 *
 * Classes:
 *   OK             2xx.
 *   RETRY          worth sending again later, unchanged: 429, 408, 5xx,
 *                  connection/DNS/TLS-handshake failures, timeouts and resets
 *                  that happened before the request could have been applied
 *                  (or of a GET); and what the destination (or a proxy in
 *                  front of it) did wrong: a 3xx (not followed), a response
 *                  over the size cap. retry_after_ms holds the server's
 *                  Retry-After when it sent one (seconds or HTTP-date).
 *                  None of these is a record's fault: connectors keep the
 *                  records and the engine backs the destination off.
 *   PERMANENT      sending it again will fail the same way: 4xx other than
 *                  401/408/429, an invalid URL, a certificate that does not
 *                  verify.
 *   INDETERMINATE  the request (not a GET) was fully sent but no complete
 *                  response came (timeout, reset, truncated): the server may
 *                  have applied it. The caller chooses: read back, or resend
 *                  if the write is idempotent (upsert by external id).
 *   UNAUTHORIZED   401, or no token could be obtained (failure AUTH). Not the
 *                  record's fault: back off the connector, keep the records.
 *   CANCELLED      the client was closed or the request cancelled.
 *
 * Helpers here are pure (no curl, no loop) and unit-tested directly. */
#ifndef CRMSYNC_HTTP_RESULT_H
#define CRMSYNC_HTTP_RESULT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum http_class {
    HTTP_CLASS_OK = 0,
    HTTP_CLASS_RETRY,
    HTTP_CLASS_PERMANENT,
    HTTP_CLASS_INDETERMINATE,
    HTTP_CLASS_UNAUTHORIZED,
    HTTP_CLASS_CANCELLED,
};

/* What went wrong below HTTP, or STATUS when a response came. */
enum http_failure {
    HTTP_FAIL_NONE = 0,   /* 2xx */
    HTTP_FAIL_STATUS,     /* a complete non-2xx response */
    HTTP_FAIL_RESOLVE,    /* DNS */
    HTTP_FAIL_CONNECT,    /* TCP connect refused/unreachable */
    HTTP_FAIL_TLS,        /* handshake failed */
    HTTP_FAIL_TLS_VERIFY, /* peer certificate or host name did not verify */
    HTTP_FAIL_TIMEOUT,    /* connect, total or low-speed timeout */
    HTTP_FAIL_RESET,      /* connection reset/closed, truncated response */
    HTTP_FAIL_TOO_LARGE,  /* response body over max_response_bytes */
    HTTP_FAIL_INVALID,    /* bad URL, protocol not allowed, ... */
    HTTP_FAIL_AUTH,       /* no access token could be obtained */
    HTTP_FAIL_CANCELLED,
    HTTP_FAIL_INTERNAL, /* out of memory, curl refused an option */
};

struct http_timing {
    int64_t connect_us; /* 0 when the connection was reused */
    int64_t tls_us;     /* TLS handshake done, from start; 0 when reused */
    int64_t ttfb_us;    /* first response byte, from start */
    int64_t total_us;
};

struct http_result {
    enum http_class cls;
    enum http_failure failure;
    long status;         /* HTTP status, 0 when no complete response */
    int http_version;    /* 1 or 2; 0 when no response */
    int curl_code;       /* CURLcode, 0 when none */
    int request_sent;    /* the whole request reached the socket */
    long retry_after_ms; /* from Retry-After, -1 when absent or invalid */
    long num_connects;   /* new connections this request opened (0: reused) */
    struct http_timing timing;
    char *body; /* NUL-terminated; NULL when empty */
    size_t body_len;
    char error[256]; /* human-readable cause, never a secret */
    /* private: raw header block, "Name: value\0" entries */
    char *hdr_buf;
    size_t hdr_len, hdr_cap;
};

/* Returns the value of the last response header called name (compared
 * case-insensitively), with surrounding blanks trimmed; NULL if absent. The
 * pointer lives as long as the result. */
const char *http_result_header(const struct http_result *res, const char *name);

/* For log lines and reasons (issue 19: "HTTP 0" is not a status): "HTTP
 * 503", "transport error:" when no response came (status 0; res->error
 * says why), "no request:" when there is no result. Returns buf. */
const char *http_result_label(const struct http_result *res, char *buf, size_t size);

/* Hands the body over to the caller (free() it); the result keeps none. */
char *http_result_take_body(struct http_result *res, size_t *len);

const char *http_class_name(enum http_class cls);
const char *http_failure_name(enum http_failure f);

/* Classifies a transfer. safe_method: GET (nothing to apply). status: 0 when
 * no complete response. request_sent: the whole request was written. */
enum http_class http_classify(int safe_method, long status, enum http_failure failure,
                              int request_sent);

/* Parses a Retry-After value: delta-seconds ("120") or an HTTP-date ("Wed,
 * 21 Oct 2026 07:28:00 GMT", also the obsolete RFC 850 and asctime forms),
 * relative to now (wall clock). A date in the past gives 0. Returns 0 and sets
 * *out_ms, or -1 if the value is not valid. Capped at http_retry_after_cap():
 * one "Retry-After: Fri, 31 Dec 9999" must not stop a destination for long. */
int http_parse_retry_after(const char *value, time_t now, long *out_ms);

/* The cap on a vendor's Retry-After ([daemon] max_retry_after, default 1 h
 * in the daemon); at most and by default one day. Also bounds a hold kept
 * from before a restart. */
void http_retry_after_cap_set(long ms);
long http_retry_after_cap(void);

#endif
