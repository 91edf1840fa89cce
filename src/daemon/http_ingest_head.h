/* The deadline on a request's head (issue 16: slow headers). libmicrohttpd
 * bounds a connection only by its idle timeout, which every byte restarts:
 * a client that sends its headers a byte at a time holds a thread for as
 * long as it likes, and the access handler, where the body deadline lives
 * (http_ingest.c), is called only once the headers are in. Here a thread
 * of its own watches the connections whose head is not in yet: past the
 * deadline it answers 408 Request Timeout on the socket (plain HTTP; on
 * TLS the connection is only closed: the TLS session is libmicrohttpd's)
 * and shuts the socket down, which ends the connection's thread.
 *
 * The deadline runs from the connection's opening for its first request;
 * on a keep-alive connection from the next request line (an idle
 * connection between requests is the idle timeout's business, and a 408
 * there would be read by the client as the answer to its next request),
 * and at the latest idle timeout + header_timeout after the previous
 * request ended, so that a request line sent a byte at a time is bounded
 * too.
 *
 * Thread-safe: the libmicrohttpd callbacks call it from their threads. A
 * connection's socket is touched only while it is registered, and
 * libmicrohttpd closes it only after its close notification. */
#ifndef CRMSYNC_HTTP_INGEST_HEAD_H
#define CRMSYNC_HTTP_INGEST_HEAD_H

struct head_watch;
struct head_conn;

/* header_timeout_ms 0: no deadline (the thread still runs, idle); tls: no
 * 408 written, the connection is only closed. NULL when out of memory or
 * the thread cannot start. */
struct head_watch *head_watch_new(long header_timeout_ms, int tls);
/* After libmicrohttpd has stopped (no connection left). NULL is fine. */
void head_watch_free(struct head_watch *w);
/* A reload: applies to the deadlines set from now on. */
void head_watch_set_timeout(struct head_watch *w, long header_timeout_ms);

/* A connection was accepted (its socket fd): its first request's head is
 * due within header_timeout. NULL when out of memory (not watched). */
struct head_conn *head_watch_open(struct head_watch *w, int fd);
/* Its request line came (the next request on a keep-alive connection). */
void head_watch_request_line(struct head_watch *w, struct head_conn *c);
/* Its headers are in: 0, or -1 when the deadline has passed and the
 * connection was answered 408 (the caller closes it). */
int head_watch_headers_in(struct head_watch *w, struct head_conn *c);
/* A request ended and the connection stays open: the next request's head
 * is due within idle_ms + header_timeout at the latest. */
void head_watch_next(struct head_watch *w, struct head_conn *c, long idle_ms);
/* libmicrohttpd closes the connection: forgotten and freed. */
void head_watch_close(struct head_watch *w, struct head_conn *c);

/* 408s answered (or TLS connections closed) so far. */
long head_watch_expired(struct head_watch *w);

#endif
