/* The daemon's lifecycle: config, state lock, store, connectors, signals and
 * systemd notification, all on one libuv loop. */
#ifndef CRMSYNC_DAEMON_H
#define CRMSYNC_DAEMON_H

/* Runs until SIGTERM/SIGINT. Returns the process exit code. */
int daemon_run(const char *config_path);

#endif
