/* Read-only reports over the state, for crmsyncctl and the admin endpoint. */
#ifndef CRMSYNC_STORE_REPORT_H
#define CRMSYNC_STORE_REPORT_H

#include <jansson.h>

#include "store.h"

/* Builds the status document: change-log size, per connector cursors and
 * dead letters, last ingested files, pending resyncs. */
int store_report_status(struct store *st, json_t **out, struct error *err);

/* One connector: pull watermark, push cursors per lane, last ingested input
 * that succeeded and the last one that did not, dead letters filed for it
 * (as destination) and from it (as origin). */
int store_report_connector(struct store *st, const char *name, json_t **out, struct error *err);

/* Names of connectors the database has seen (cursors, push cursors, files). */
int store_report_known_connectors(struct store *st, json_t **out, struct error *err);

#endif
