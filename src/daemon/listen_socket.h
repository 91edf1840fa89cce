/* Opening the listening socket of an HTTP endpoint from its configured
 * address: "host:port", "[v6]:port", or an absolute path for a Unix socket.
 * A stale Unix socket left by a previous run is removed; one a live process
 * answers on is not taken. */
#ifndef CRMSYNC_LISTEN_SOCKET_H
#define CRMSYNC_LISTEN_SOCKET_H

#include <stddef.h>

#include "error.h"

struct listen_socket {
    int fd;
    int loopback;        /* 1: 127.0.0.0/8, ::1 or a Unix socket */
    char address[300];   /* as bound: "127.0.0.1:8443", "[::1]:8443", "unix:/path" */
    char unix_path[108]; /* to unlink at stop; "" for inet */
    int bind_errno;      /* after a failure: errno of bind() (EADDRINUSE for a live
                          * Unix socket), 0 when something else failed */
};

/* what names the option in errors ("ingest_listen"). Returns 0 with the
 * socket bound and listening, or -1 with err set (ls->fd = -1). */
int listen_socket_open(const char *spec, const char *what, int backlog, struct listen_socket *ls,
                       struct error *err);
/* Closes fd if still open and removes a Unix socket file. */
void listen_socket_close(struct listen_socket *ls);

#endif
