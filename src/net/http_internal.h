/* Private to http.c / http_request.c: the client and request structures. */
#ifndef CRMSYNC_HTTP_INTERNAL_H
#define CRMSYNC_HTTP_INTERNAL_H

#include <curl/curl.h>
#include <uv.h>

#include "http.h"

struct http_client {
    uv_loop_t *loop;
    CURLM *multi;
    CURLSH *share;
    uv_timer_t timer;             /* curl's single timeout */
    uv_timer_t hold_timer;        /* the first delayed request's time */
    struct http_request *delayed; /* started, waiting for not_before_ms */
    struct http_sock *socks;      /* sockets being watched (for shutdown only) */
    struct http_options opts;
    char *ca_file; /* owned copies of the option strings */
    char *user_agent;
    struct http_request *inflight; /* doubly linked list of started requests */
    size_t n_inflight;
    CURL **easy_pool; /* reset easy handles kept for reuse */
    size_t n_pool;
    size_t open_handles; /* uv handles not yet through their close cb */
    int dispatching;     /* inside completion callbacks */
    int closing;
    int close_pending; /* http_client_close() called while dispatching */
    void (*on_closed)(void *arg);
    void *on_closed_arg;
};

struct http_request {
    struct http_client *client;
    CURL *easy;
    enum http_method method;
    char *url;
    int loopback_http; /* URL is http:// to a loopback address */
    struct curl_slist *headers;
    char *bearer; /* "Authorization: Bearer ..." (wiped) */
    char *body;
    size_t body_len;
    int sensitive;
    struct http_limits limits;
    uint64_t not_before_ms;          /* uv_hrtime ms; 0: at once */
    const uint64_t *hold;            /* a connector's Retry-After hold (uv_hrtime ms), or NULL */
    int held_back;                   /* curl was about to send it inside the hold */
    http_before_send_fn before_send; /* after a wait, before curl (may be NULL) */
    void *before_send_arg;
    int prepared; /* headers merged once (a held-back request is prepared again) */
    char conn[48];
    http_done_fn done;
    void *done_arg;
    struct http_result result;
    size_t body_cap;
    int too_large;
    struct http_request *prev, *next;
    char errbuf[CURL_ERROR_SIZE];
};

/* http_request.c */
/* When r may go: the later of its delay and its connector's hold. */
uint64_t http_request_not_before(const struct http_request *r);
int http_request_prepare(struct http_request *r, CURL *easy, struct error *err);
void http_request_finish(struct http_request *r, CURLcode code);
void http_result_release(struct http_result *res, int wipe);

#endif
