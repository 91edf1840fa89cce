/* Read-only reports over the state, for crmsyncctl and the admin endpoint. */
#ifndef CRMSYNC_STORE_REPORT_H
#define CRMSYNC_STORE_REPORT_H

#include <jansson.h>

#include "store.h"

/* Builds the status document: change-log size, per connector cursors and
 * dead letters, last ingested files, pending resyncs. */
int store_report_status(struct store *st, json_t **out, struct error *err);

#endif
