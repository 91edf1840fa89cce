/* A small HTTPS (or plain HTTP) server for tests, on 127.0.0.1, built on
 * libmicrohttpd (GnuTLS) with one thread per connection. The test supplies a
 * handler that decides each response; the server also counts the TCP
 * connections it accepted (to check keep-alive reuse).
 *
 * Handlers run on server threads: anything they share with the test must be
 * protected (the helpers below use a mutex or atomics). */
#ifndef CRMSYNC_TEST_SERVER_H
#define CRMSYNC_TEST_SERVER_H

#include <stddef.h>

struct test_server;

struct ts_request {
    const char *method;
    const char *path; /* without the query */
    const char *body; /* NUL-terminated, may be "" */
    size_t body_len;
    void *mhd_conn; /* for ts_request_header() */
};

/* Looks up a request header or query argument (NULL if absent). */
const char *ts_request_header(const struct ts_request *req, const char *name);
const char *ts_request_arg(const struct ts_request *req, const char *name);

enum ts_action {
    TS_RESPOND = 0, /* send status/headers/body after delay_ms */
    TS_HANG,        /* never answer (until the server stops) */
    TS_DROP,        /* close the connection without answering */
    TS_STALL,       /* send headers and stall_after body bytes of a longer
                       body, then nothing more */
    TS_CHUNKED,     /* send body_len bytes of 'x', chunked (no length) */
};

struct ts_response {
    enum ts_action action;
    int status;
    long delay_ms;
    size_t stall_after;
    char *body; /* malloc'd by the handler, freed by the server */
    size_t body_len;
    const char *headers[8][2]; /* static strings or handler-owned */
    int n_headers;
};

typedef void (*ts_handler_fn)(void *ctx, const struct ts_request *req, struct ts_response *resp);

/* Sets the body to a copy of s. */
void ts_response_body(struct ts_response *resp, const char *s);
void ts_response_header(struct ts_response *resp, const char *name, const char *value);

/* Starts the server. cert_pem/key_pem: PEM text; both NULL for plain HTTP.
 * Returns NULL on failure. */
struct test_server *test_server_start(const char *cert_pem, const char *key_pem,
                                      ts_handler_fn handler, void *ctx);
int test_server_port(const struct test_server *s);
/* TCP connections accepted so far. */
long test_server_connections(const struct test_server *s);
/* Requests handled so far (counted before the answer is sent). */
long test_server_requests(const struct test_server *s);
void test_server_stop(struct test_server *s);

/* Test PKI made with the openssl CLI in a fresh temporary directory: a CA,
 * and a server certificate for 127.0.0.1 and localhost signed by it. */
struct test_pki {
    char dir[256];
    char ca_file[300];
    char cert_file[300];
    char key_file[300];
    char *cert_pem;
    char *key_pem;
};

int test_pki_make(struct test_pki *pki);
/* Removes the directory and frees the PEM strings. */
void test_pki_free(struct test_pki *pki);

/* Reads a whole file; NULL on error. *len may be NULL. */
char *test_read_file(const char *path, size_t *len);
/* Runs a shell command quietly; returns its exit status. */
int test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
