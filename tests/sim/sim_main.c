/* crmsim: a CRM simulator for tests and benchmarks. See README.md. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

int main(int argc, char **argv)
{
    static struct sim sim; /* large (fault script); zeroed */
    const struct sim_flavor_ops *flavor;
    char err[512] = "";
    sigset_t set;
    int sig = 0;
    int rc;

    sim_options_defaults(&sim.opt);
    rc = sim_options_parse_argv(&sim.opt, argc, argv, err, sizeof(err));
    if (rc != 0) {
        if (rc < 0)
            fprintf(stderr, "<3>crmsim: %s (see --help)\n", err);
        return rc < 0 ? 2 : 0;
    }
    flavor = sim_flavor_find(sim.opt.flavor);
    if (flavor == NULL) {
        fprintf(stderr, "<3>crmsim: --flavor '%s' is not one of the built-in flavours\n",
                sim.opt.flavor);
        return 2;
    }
    /* Block the stop signals before MHD starts its threads, so that only
     * sigwait() below sees them. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    rc = 1;
    if (sim_init(&sim, flavor, err, sizeof(err)) != 0 || sim_start(&sim, err, sizeof(err)) != 0) {
        fprintf(stderr, "<3>crmsim: %s\n", err);
        goto out;
    }
    {
        char host[128];
        const char *colon = strrchr(sim.opt.listen, ':');

        snprintf(host, sizeof(host), "%.*s", (int)(colon - sim.opt.listen), sim.opt.listen);
        /* First line on stdout, flushed: scripts read the port from it. */
        printf("listening %s:%u\n", host, (unsigned)sim.port);
        fflush(stdout);
    }
    fprintf(stderr, "<6>crmsim[%s]: ready on port %u%s\n", flavor->name, (unsigned)sim.port,
            sim.opt.tls_cert[0] ? " (TLS)" : "");
    sigwait(&set, &sig);
    fprintf(stderr, "<6>crmsim[%s]: signal %d, stopping\n", flavor->name, sig);
    rc = 0;
out:
    sim_stop(&sim);
    sim_fini(&sim);
    return rc;
}
