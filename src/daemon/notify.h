/* systemd notification (Type=notify): READY, STATUS, RELOADING, STOPPING,
 * WATCHDOG. Outside systemd ($NOTIFY_SOCKET unset) these do nothing. */
#ifndef CRMSYNC_NOTIFY_H
#define CRMSYNC_NOTIFY_H

#include <stdint.h>

void notify_ready(const char *status);
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* RELOADING=1 with MONOTONIC_USEC, as systemd 253+ expects for
 * Type=notify-reload and tolerates before. */
void notify_reloading(void);
void notify_stopping(void);
void notify_watchdog(void);
/* The watchdog interval systemd asked for, in ms; 0 when none. */
uint64_t notify_watchdog_ms(void);

#endif
