#include "listen_socket.h"

#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int open_unix(const char *path, const char *what, struct listen_socket *ls,
                     struct error *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat stbuf;

    if (strlen(path) >= sizeof(sa.sun_path) || strlen(path) >= sizeof(ls->unix_path))
        return error_set(err, "%s: socket path %s is too long", what, path);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (lstat(path, &stbuf) == 0 && S_ISSOCK(stbuf.st_mode)) {
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        if (probe >= 0)
            close(probe);
        if (live) {
            ls->bind_errno = EADDRINUSE;
            return error_set(err, "%s: %s is in use by another process", what, path);
        }
        unlink(path);
    }
    ls->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ls->fd < 0 || bind(ls->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        if (ls->fd >= 0)
            ls->bind_errno = errno;
        return error_set(err, "%s: cannot bind %s: %s", what, path, strerror(errno));
    }
    snprintf(ls->unix_path, sizeof(ls->unix_path), "%s", path);
    snprintf(ls->address, sizeof(ls->address), "unix:%s", path);
    ls->loopback = 1;
    return 0;
}

/* 127.0.0.0/8, ::1, and 127.0.0.0/8 mapped into IPv6 ([::ffff:127.0.0.1]). */
static int is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return 0;
}

static int open_inet(const char *spec, const char *what, struct listen_socket *ls,
                     struct error *err)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[256], port[16], h[NI_MAXHOST] = "", p[NI_MAXSERV] = "";
    const char *colon = strrchr(spec, ':');
    const char *hp = spec;
    size_t hl;
    int one = 1;
    int g;
    int rc = -1;

    if (colon == NULL || colon == spec || colon[1] == '\0' || strlen(colon + 1) >= sizeof(port))
        return error_set(err, "%s '%s': expected host:port or a socket path", what, spec);
    hl = (size_t)(colon - spec);
    if (spec[0] == '[' && hl >= 2 && spec[hl - 1] == ']') {
        hp++;
        hl -= 2;
    }
    if (hl >= sizeof(host))
        return error_set(err, "%s '%s': host too long", what, spec);
    memcpy(host, hp, hl);
    host[hl] = '\0';
    snprintf(port, sizeof(port), "%s", colon + 1);
    g = getaddrinfo(host, port, &hints, &res);
    if (g != 0) {
        error_set(err, "%s: cannot resolve %s port %s: %s", what, host, port, gai_strerror(g));
        goto out;
    }
    ls->fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ls->fd < 0) {
        error_set(err, "%s: socket: %s", what, strerror(errno));
        goto out;
    }
    setsockopt(ls->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(ls->fd, res->ai_addr, res->ai_addrlen) != 0) {
        ls->bind_errno = errno;
        error_set(err, "%s: cannot bind %s:%s: %s", what, host, port, strerror(errno));
        goto out;
    }
    if (getsockname(ls->fd, (struct sockaddr *)&ss, &sl) == 0 &&
        getnameinfo((struct sockaddr *)&ss, sl, h, sizeof(h), p, sizeof(p),
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0)
        snprintf(ls->address, sizeof(ls->address), ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s",
                 h, p);
    ls->loopback = is_loopback(&ss);
    rc = 0;
out:
    if (res != NULL)
        freeaddrinfo(res);
    return rc;
}

int listen_socket_open(const char *spec, const char *what, int backlog, struct listen_socket *ls,
                       struct error *err)
{
    int rc;

    memset(ls, 0, sizeof(*ls));
    ls->fd = -1;
    rc = spec[0] == '/' ? open_unix(spec, what, ls, err) : open_inet(spec, what, ls, err);
    if (rc == 0 && listen(ls->fd, backlog) != 0)
        rc = error_set(err, "%s: listen: %s", what, strerror(errno));
    if (rc != 0)
        listen_socket_close(ls);
    return rc;
}

void listen_socket_close(struct listen_socket *ls)
{
    if (ls->fd >= 0)
        close(ls->fd);
    ls->fd = -1;
    if (ls->unix_path[0] != '\0')
        unlink(ls->unix_path);
    ls->unix_path[0] = '\0';
}
