/* HTTP client benchmark: 100,000 small GETs and 10,000 POSTs of a 100-record
 * JSON body over keep-alive, 16 in flight, against a local server; then the
 * same load from the curl command line tool (--parallel --parallel-max 16)
 * as a reference. Prints requests/s, CPU seconds per 1,000 requests and peak
 * RSS for both. The server runs in a child process so its CPU is not counted.
 *
 * Usage: bench_http [gets posts]   (defaults 100000 10000)
 * Plain HTTP on 127.0.0.1: the simulators' setup; TLS cost is the same
 * OpenSSL in both clients. Build without sanitizers for meaningful numbers. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "http.h"

#define INFLIGHT 16

/* ---- a minimal keep-alive HTTP/1.1 server (child process) ---- */

struct srv_conn {
    uv_tcp_t tcp;
    char *buf;
    size_t len, cap;
};

static void srv_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct srv_conn *c = h->data;

    if (c->cap - c->len < 65536) {
        c->cap = c->cap * 2 + 65536;
        c->buf = realloc(c->buf, c->cap);
    }
    (void)suggested;
    b->base = c->buf + c->len;
    b->len = c->cap - c->len - 1; /* room for a NUL */
}

static void srv_closed(uv_handle_t *h)
{
    struct srv_conn *c = h->data;
    free(c->buf);
    free(c);
}

static void srv_written(uv_write_t *w, int status)
{
    (void)status;
    free(w);
}

static const char get_resp[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                               "Content-Length: 11\r\n\r\n{\"ok\":true}";

static void srv_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct srv_conn *c = s->data;
    size_t off = 0;

    (void)b;
    if (n < 0) {
        uv_close((uv_handle_t *)s, srv_closed);
        return;
    }
    c->len += (size_t)n;
    for (;;) {
        char *hdr_end = NULL;
        char *p = NULL;
        size_t clen = 0;
        size_t total = 0;
        uv_write_t *w = NULL;
        uv_buf_t out;

        c->buf[c->len] = '\0';
        hdr_end = strstr(c->buf + off, "\r\n\r\n");
        if (hdr_end == NULL)
            break;
        for (p = c->buf + off; p < hdr_end; p = strstr(p, "\r\n") + 2) {
            if (strncasecmp(p, "Content-Length:", 15) == 0)
                clen = strtoul(p + 15, NULL, 10);
        }
        total = (size_t)(hdr_end + 4 - (c->buf + off)) + clen;
        if (c->len - off < total)
            break;
        off += total;
        w = malloc(sizeof(*w));
        out = uv_buf_init((char *)get_resp, sizeof(get_resp) - 1);
        uv_write(w, s, &out, 1, srv_written);
    }
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
    if (c->cap - c->len < 2)
        c->buf = realloc(c->buf, c->cap += 65536);
}

static void srv_accept(uv_stream_t *server, int status)
{
    struct srv_conn *c = calloc(1, sizeof(*c));

    (void)status;
    c->cap = 65536;
    c->buf = malloc(c->cap);
    uv_tcp_init(server->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) == 0) {
        uv_tcp_nodelay(&c->tcp, 1);
        uv_read_start((uv_stream_t *)&c->tcp, srv_alloc, srv_read);
    } else {
        uv_close((uv_handle_t *)&c->tcp, srv_closed);
    }
}

static void run_server(int port_fd)
{
    uv_loop_t loop;
    uv_tcp_t server;
    struct sockaddr_in addr;
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    int port = 0;

    uv_loop_init(&loop);
    uv_tcp_init(&loop, &server);
    uv_ip4_addr("127.0.0.1", 0, &addr);
    uv_tcp_bind(&server, (struct sockaddr *)&addr, 0);
    uv_listen((uv_stream_t *)&server, 128, srv_accept);
    uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &len);
    port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
    if (write(port_fd, &port, sizeof(port)) != sizeof(port))
        _exit(1);
    close(port_fd);
    uv_run(&loop, UV_RUN_DEFAULT);
    _exit(0);
}

/* ---- our client ---- */

struct load {
    uv_loop_t *loop;
    struct http_client *client;
    const char *url;
    enum http_method method;
    const char *body;
    size_t body_len;
    long to_start;
    long inflight;
    long ok;
    long failed;
};

static void start_one(struct load *l);

static void on_done(struct http_result *res, void *arg)
{
    struct load *l = arg;

    l->inflight--;
    if (res->cls == HTTP_CLASS_OK && res->body_len == 11)
        l->ok++;
    else
        l->failed++;
    if (l->to_start > 0)
        start_one(l);
    else if (l->inflight == 0)
        uv_stop(l->loop);
}

static void start_one(struct load *l)
{
    struct error err = {{0}};
    struct http_request *r = http_request_new(l->client, l->method, l->url, &err);

    if (r == NULL) {
        fprintf(stderr, "request: %s\n", err.msg);
        exit(1);
    }
    if (l->body != NULL)
        http_request_set_body(r, "application/json", l->body, l->body_len);
    l->to_start--;
    l->inflight++;
    if (http_request_start(r, on_done, l, &err) < 0) {
        fprintf(stderr, "start: %s\n", err.msg);
        exit(1);
    }
}

static double now_s(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static double cpu_s(const struct rusage *ru)
{
    return (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec / 1e6 +
           (double)ru->ru_stime.tv_sec + (double)ru->ru_stime.tv_usec / 1e6;
}

struct figures {
    double wall;
    double cpu;
    long n;
    long failed;
};

static void print_row(const char *who, const char *what, const struct figures *f, long rss_kb)
{
    printf("%-8s %-6s %8ld req  %9.0f req/s  %7.4f CPU s/1000 req  peak RSS %6.1f MB%s\n", who,
           what, f->n, (double)f->n / f->wall, f->cpu * 1000.0 / (double)f->n,
           (double)rss_kb / 1024.0, f->failed ? "  (FAILURES)" : "");
}

static void run_ours(const char *url, enum http_method m, const char *body, long n,
                     struct figures *out)
{
    uv_loop_t loop;
    struct http_options o;
    struct error err = {{0}};
    struct load l;
    struct rusage r0, r1;
    double t0 = 0;
    int i = 0;

    uv_loop_init(&loop);
    http_options_defaults(&o);
    o.allow_loopback_http = 1;
    o.max_host_connections = INFLIGHT;
    memset(&l, 0, sizeof(l));
    if (http_client_new(&loop, &o, &l.client, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    l.loop = &loop;
    l.url = url;
    l.method = m;
    l.body = body;
    l.body_len = body != NULL ? strlen(body) : 0;
    l.to_start = n;
    getrusage(RUSAGE_SELF, &r0);
    t0 = now_s();
    for (i = 0; i < INFLIGHT && l.to_start > 0; i++)
        start_one(&l);
    uv_run(&loop, UV_RUN_DEFAULT);
    out->wall = now_s() - t0;
    getrusage(RUSAGE_SELF, &r1);
    out->cpu = cpu_s(&r1) - cpu_s(&r0);
    out->n = l.ok + l.failed;
    out->failed = l.failed;
    http_client_close(l.client, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
}

/* curl CLI over a config file of n URLs; returns its figures and RSS. */
static void run_curl(const char *url, const char *body_file, long n, struct figures *out,
                     long *rss_kb)
{
    char cfg[] = "/tmp/bench_http_urls_XXXXXX";
    int fd = mkstemp(cfg);
    FILE *f = fdopen(fd, "w");
    struct rusage ru;
    double t0 = 0;
    pid_t pid = 0;
    int status = 0;
    long i = 0;

    for (i = 0; i < n; i++)
        fprintf(f, "url = \"%s\"\noutput = \"/dev/null\"\n", url);
    fclose(f);
    t0 = now_s();
    pid = fork();
    if (pid == 0) {
        /* --parallel draws a progress bar even with -s on 7.88. */
        if (freopen("/dev/null", "w", stderr) == NULL)
            _exit(126);
        if (body_file != NULL) {
            char data[512];
            snprintf(data, sizeof(data), "@%s", body_file);
            execlp("curl", "curl", "-s", "--parallel", "--parallel-max", "16", "-H",
                   "Content-Type: application/json", "--data-binary", data, "-K", cfg,
                   (char *)NULL);
        } else {
            execlp("curl", "curl", "-s", "--parallel", "--parallel-max", "16", "-K", cfg,
                   (char *)NULL);
        }
        _exit(127);
    }
    wait4(pid, &status, 0, &ru);
    out->wall = now_s() - t0;
    out->cpu = cpu_s(&ru);
    out->n = n;
    out->failed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    *rss_kb = ru.ru_maxrss;
    unlink(cfg);
}

int main(int argc, char **argv)
{
    long gets = argc > 1 ? atol(argv[1]) : 100000;
    long posts = argc > 2 ? atol(argv[2]) : 10000;
    int pfd[2];
    int port = 0;
    pid_t server = 0;
    char get_url[128], post_url[128];
    char body_file[] = "/tmp/bench_http_body_XXXXXX";
    char *body = NULL;
    size_t off = 0;
    struct figures fg, fp, cg, cp;
    struct rusage ru;
    long curl_rss_get = 0, curl_rss_post = 0;
    int i = 0;
    FILE *f = NULL;

    if (pipe(pfd) < 0)
        return 1;
    server = fork();
    if (server == 0) {
        close(pfd[0]);
        run_server(pfd[1]);
    }
    close(pfd[1]);
    if (read(pfd[0], &port, sizeof(port)) != sizeof(port))
        return 1;
    close(pfd[0]);
    snprintf(get_url, sizeof(get_url), "http://127.0.0.1:%d/get", port);
    snprintf(post_url, sizeof(post_url), "http://127.0.0.1:%d/post", port);

    /* 100 records, about 14 KB: the shape of a batch upsert. */
    body = malloc(64 * 1024);
    if (body == NULL)
        return 1;
    off += (size_t)snprintf(body + off, 64 * 1024 - off, "{\"inputs\":[");
    for (i = 0; i < 100; i++)
        off += (size_t)snprintf(body + off, 64 * 1024 - off,
                                "%s{\"idProperty\":\"member_key\",\"id\":\"M%08d\",\"properties\":"
                                "{\"email\":\"member%d@example.com\",\"loyalty_points\":\"%d\","
                                "\"loyalty_tier\":\"gold\",\"consent_email\":\"granted\"}}",
                                i ? "," : "", i, i, i * 37);
    snprintf(body + off, 64 * 1024 - off, "]}");
    f = fdopen(mkstemp(body_file), "w");
    fputs(body, f);
    fclose(f);

    run_ours(get_url, HTTP_GET, NULL, gets, &fg);
    run_ours(post_url, HTTP_POST, body, posts, &fp);
    getrusage(RUSAGE_SELF, &ru);
    run_curl(get_url, NULL, gets, &cg, &curl_rss_get);
    run_curl(post_url, body_file, posts, &cp, &curl_rss_post);

    printf("bench_http: %ld GETs, %ld POSTs of %zu bytes, %d in flight, keep-alive, "
           "loopback\n",
           gets, posts, strlen(body), INFLIGHT);
    print_row("crmsync", "GET", &fg, ru.ru_maxrss);
    print_row("crmsync", "POST", &fp, ru.ru_maxrss);
    print_row("curl", "GET", &cg, curl_rss_get);
    print_row("curl", "POST", &cp, curl_rss_post);
    printf("CPU per request vs curl: GET %.2fx, POST %.2fx (target <= 1.5x); "
           "crmsync peak RSS %.1f MB (target <= 16 MB)\n",
           (fg.cpu / (double)fg.n) / (cg.cpu / (double)cg.n),
           (fp.cpu / (double)fp.n) / (cp.cpu / (double)cp.n), (double)ru.ru_maxrss / 1024.0);
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
    unlink(body_file);
    free(body);
    return 0;
}
