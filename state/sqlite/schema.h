#ifndef CRMSYNC_SCHEMA_H
#define CRMSYNC_SCHEMA_H

#include <sqlite3.h>

#include "error.h"

/* The schema version this build writes (PRAGMA user_version). */
int schema_latest_version(void);

/* Brings the database forward to the latest version, one migration per
 * transaction. A database from a newer version is refused. */
int schema_migrate(sqlite3 *db, struct error *err);

#endif
