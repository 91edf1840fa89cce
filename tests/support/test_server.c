/* See test_server.h. */
#include "test_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct test_server {
    struct MHD_Daemon *daemon;
    ts_handler_fn handler;
    void *ctx;
    int port;
    atomic_int stopping;
    atomic_long connections;
    atomic_long requests;
};

struct ts_conn_state {
    char *body;
    size_t len, cap;
};

struct ts_stall {
    struct test_server *server;
    size_t stall_after;
    int chunked; /* end after stall_after bytes instead of stalling */
};

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Sleeps up to ms, in slices, returning early when the server stops. */
static void nap(struct test_server *s, long ms)
{
    while (ms > 0 && !atomic_load(&s->stopping)) {
        long slice = ms < 10 ? ms : 10;
        sleep_ms(slice);
        ms -= slice;
    }
}

const char *ts_request_header(const struct ts_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->mhd_conn, MHD_HEADER_KIND, name);
}

const char *ts_request_arg(const struct ts_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->mhd_conn, MHD_GET_ARGUMENT_KIND, name);
}

void ts_response_body(struct ts_response *resp, const char *s)
{
    free(resp->body);
    resp->body = strdup(s);
    resp->body_len = strlen(s);
}

void ts_response_header(struct ts_response *resp, const char *name, const char *value)
{
    if (resp->n_headers < 8) {
        resp->headers[resp->n_headers][0] = name;
        resp->headers[resp->n_headers][1] = value;
        resp->n_headers++;
    }
}

static ssize_t stall_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct ts_stall *st = cls;
    size_t n = 0;

    if (pos < st->stall_after) {
        n = st->stall_after - (size_t)pos;
        if (n > max)
            n = max;
        memset(buf, 'x', n);
        return (ssize_t)n;
    }
    if (st->chunked)
        return MHD_CONTENT_READER_END_OF_STREAM;
    nap(st->server, 600000);
    return MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stall_free(void *cls)
{
    struct ts_stall *st = cls;
    free(st);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct test_server *s = cls;
    struct ts_conn_state *cs = *con_cls;
    struct ts_request req;
    struct ts_response resp;
    struct MHD_Response *mr = NULL;
    enum MHD_Result ret = MHD_NO;
    int i = 0;

    (void)version;
    if (cs == NULL) {
        cs = calloc(1, sizeof(*cs));
        if (cs == NULL)
            return MHD_NO;
        *con_cls = cs;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        if (cs->len + n + 1 > cs->cap) {
            size_t cap = cs->cap ? cs->cap : 4096;
            char *grown = NULL;
            while (cap < cs->len + n + 1)
                cap *= 2;
            grown = realloc(cs->body, cap);
            if (grown == NULL)
                return MHD_NO;
            cs->body = grown;
            cs->cap = cap;
        }
        memcpy(cs->body + cs->len, upload_data, n);
        cs->len += n;
        cs->body[cs->len] = '\0';
        *upload_data_size = 0;
        return MHD_YES;
    }
    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    req.method = method;
    req.path = url;
    req.body = cs->body != NULL ? cs->body : "";
    req.body_len = cs->len;
    req.mhd_conn = conn;
    resp.status = 200;
    /* Counted before answering, so a client that has its answer sees it. */
    atomic_fetch_add(&s->requests, 1);
    s->handler(s->ctx, &req, &resp);
    if (resp.delay_ms > 0)
        nap(s, resp.delay_ms);
    switch (resp.action) {
    case TS_HANG:
        nap(s, 600000);
        ret = MHD_NO;
        goto out;
    case TS_DROP:
        ret = MHD_NO;
        goto out;
    case TS_STALL: {
        struct ts_stall *st = calloc(1, sizeof(*st));
        if (st == NULL)
            goto out;
        st->server = s;
        st->stall_after = resp.stall_after;
        mr = MHD_create_response_from_callback(resp.stall_after + 1024 * 1024, 4096, stall_reader,
                                               st, stall_free);
        break;
    }
    case TS_CHUNKED: {
        struct ts_stall *st = calloc(1, sizeof(*st));
        if (st == NULL)
            goto out;
        st->server = s;
        st->stall_after = resp.body_len;
        st->chunked = 1;
        mr =
            MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stall_reader, st, stall_free);
        break;
    }
    case TS_RESPOND:
        mr = MHD_create_response_from_buffer(resp.body_len, resp.body != NULL ? resp.body : "",
                                             MHD_RESPMEM_MUST_COPY);
        break;
    }
    if (mr == NULL)
        goto out;
    for (i = 0; i < resp.n_headers; i++)
        MHD_add_response_header(mr, resp.headers[i][0], resp.headers[i][1]);
    ret = MHD_queue_response(conn, (unsigned)resp.status, mr);
    MHD_destroy_response(mr);
out:
    free(resp.body);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct test_server *s = cls;
    struct ts_conn_state *cs = *con_cls;

    (void)conn;
    (void)toe;
    (void)s;
    if (cs != NULL) {
        free(cs->body);
        free(cs);
    }
    *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct test_server *s = cls;

    (void)conn;
    (void)socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        atomic_fetch_add(&s->connections, 1);
}

struct test_server *test_server_start(const char *cert_pem, const char *key_pem,
                                      ts_handler_fn handler, void *ctx)
{
    struct test_server *s = NULL;
    struct sockaddr_in addr;
    const union MHD_DaemonInfo *info = NULL;
    unsigned int flags =
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;

    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->handler = handler;
    s->ctx = ctx;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (cert_pem != NULL) {
        flags |= MHD_USE_TLS;
        s->daemon = MHD_start_daemon(
            flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &addr,
            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION,
            on_connection, s, MHD_OPTION_HTTPS_MEM_CERT, cert_pem, MHD_OPTION_HTTPS_MEM_KEY,
            key_pem, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)256 * 1024, MHD_OPTION_END);
    } else {
        s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
                                     &addr, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                                     MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
                                     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)256 * 1024,
                                     MHD_OPTION_END);
    }
    if (s->daemon == NULL) {
        free(s);
        return NULL;
    }
    info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info != NULL ? info->port : 0;
    return s;
}

int test_server_port(const struct test_server *s)
{
    return s->port;
}

long test_server_connections(const struct test_server *s)
{
    return atomic_load(&((struct test_server *)s)->connections);
}

long test_server_requests(const struct test_server *s)
{
    return atomic_load(&((struct test_server *)s)->requests);
}

void test_server_stop(struct test_server *s)
{
    if (s == NULL)
        return;
    atomic_store(&s->stopping, 1);
    MHD_stop_daemon(s->daemon);
    free(s);
}

char *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n = 0;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        if (buf != NULL)
            buf[n] = '\0';
    }
    fclose(f);
    if (buf != NULL && len != NULL)
        *len = (size_t)n;
    return buf;
}

int test_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    int rc = 0;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    rc = system(cmd);
    return rc == -1 ? -1 : (rc >> 8) & 0xff;
}

int test_pki_make(struct test_pki *pki)
{
    char tmpl[] = "/tmp/crmsync-pki-XXXXXX";
    const char *d = NULL;

    memset(pki, 0, sizeof(*pki));
    d = mkdtemp(tmpl);
    if (d == NULL)
        return -1;
    snprintf(pki->dir, sizeof(pki->dir), "%s", d);
    snprintf(pki->ca_file, sizeof(pki->ca_file), "%s/ca.pem", d);
    snprintf(pki->cert_file, sizeof(pki->cert_file), "%s/server.pem", d);
    snprintf(pki->key_file, sizeof(pki->key_file), "%s/server.key", d);
    if (test_sh("cd %s && "
                "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                "-keyout ca.key -out ca.pem -days 2 -subj /CN=crmsync-test-ca "
                "-addext basicConstraints=critical,CA:TRUE "
                "-addext keyUsage=critical,keyCertSign,cRLSign >/dev/null 2>&1 && "
                "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                "-keyout server.key -out server.csr -subj /CN=localhost >/dev/null 2>&1 && "
                "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n"
                "extendedKeyUsage=serverAuth\\n' > ext.cnf && "
                "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
                "-days 2 -extfile ext.cnf -out server.pem >/dev/null 2>&1",
                d) != 0)
        return -1;
    pki->cert_pem = test_read_file(pki->cert_file, NULL);
    pki->key_pem = test_read_file(pki->key_file, NULL);
    if (pki->cert_pem == NULL || pki->key_pem == NULL)
        return -1;
    return 0;
}

void test_pki_free(struct test_pki *pki)
{
    if (pki->dir[0] != '\0')
        test_sh("rm -rf '%s'", pki->dir);
    free(pki->cert_pem);
    free(pki->key_pem);
    memset(pki, 0, sizeof(*pki));
}
