#ifndef CRMSYNC_SCHEMA_H
#define CRMSYNC_SCHEMA_H

#include <sqlite3.h>

#include "error.h"

/* The schema version this build writes (PRAGMA user_version). */
int schema_latest_version(void);

/* Brings the database forward to the latest version, one migration per
 * transaction. A database from a newer version is refused. The connection
 * needs store_register_functions() first: migrations call them. */
int schema_migrate(sqlite3 *db, struct error *err);

/* Registers the SQL functions the store's statements and the migrations
 * call: crmsync_body_hash() (v9), crmsync_sha256() (v14's audit
 * redaction), crmsync_hash_blob() (v16's audit hashes). Declared here, not
 * in the store's internal header, so that any program migrating a
 * database (bench_ingest_ref) registers the same ones. */
int store_register_functions(sqlite3 *db);

#endif
