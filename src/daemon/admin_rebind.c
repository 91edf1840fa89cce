/* Moving the admin endpoint on a reload (admin_rebind in admin.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "admin_internal.h"

/* The port an inet endpoint listens on ("127.0.0.1:9187", "[::1]:9187"),
 * 0 for a Unix socket. */
static long port_of(const char *address)
{
    const char *colon = strrchr(address, ':');

    if (address[0] == '/' || strncmp(address, "unix:", 5) == 0 || colon == NULL)
        return 0;
    return strtol(colon + 1, NULL, 10);
}

int admin_same_options(const struct admin *a, const struct admin_options *opts)
{
    struct admin_limits lim;

    admin_limits_of(opts, &lim);
    return strcmp(a->listen, opts->listen) == 0 && lim.allow_remote == a->lim.allow_remote &&
           lim.max_connections == a->lim.max_connections &&
           lim.per_ip_connections == a->lim.per_ip_connections &&
           lim.request_timeout_ms == a->lim.request_timeout_ms &&
           lim.connections_per_minute == a->lim.connections_per_minute;
}

/* The new endpoint starts before the old one stops, so an address that
 * cannot be bound leaves the old one serving, untouched. The exception is an
 * address that conflicts with the old one itself (the same port on a
 * wildcard address, or the same address under another name): then the old
 * one has to go first, and comes back if the new one still cannot bind. */
int admin_rebind(struct admin **ap, const struct admin_options *opts, struct error *err)
{
    struct admin *old = *ap;
    struct admin *fresh = NULL;
    struct admin_options o = *opts;
    struct admin_options back = {NULL, NULL, old->busy_timeout_ms, old->lim};
    struct error again = {""};
    long port = port_of(opts->listen);
    int bind_errno = 0, ignored;
    int rc = -1;

    if (admin_start_at(&o, &fresh, &bind_errno, err) == 0) {
        admin_stop(old);
        *ap = fresh;
        rc = 0;
        goto out;
    }
    if (bind_errno != EADDRINUSE || port == 0 || port != port_of(old->ls.address))
        goto out; /* not a conflict with ourselves: keep the old endpoint */
    back.listen = strdup(old->listen);
    back.state_path = strdup(old->state_path);
    if (back.listen == NULL || back.state_path == NULL) {
        error_set(err, "admin: out of memory");
        goto out;
    }
    admin_stop(old);
    *ap = NULL;
    if (admin_start_at(&o, &fresh, &ignored, err) == 0) {
        *ap = fresh;
        rc = 0;
        goto out;
    }
    if (admin_start_at(&back, ap, &ignored, &again) != 0) {
        struct error first = *err; /* err->msg cannot be its own argument */
        error_set(err, "%s; and the previous address %s could not be bound again: %s", first.msg,
                  back.listen, again.msg);
    }
out:
    free((char *)back.listen);
    free((char *)back.state_path);
    return rc;
}
