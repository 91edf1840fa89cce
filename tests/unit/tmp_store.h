/* A store in a fresh temporary directory for unit tests: the directory,
 * the database path in it and the open store, and their removal. Header
 * only: each unit test is one executable built from one test_*.c. */
#ifndef CRMSYNC_TEST_TMP_STORE_H
#define CRMSYNC_TEST_TMP_STORE_H

#include <stdio.h>
#include <stdlib.h>

#include "store.h"

/* dir (at least 64 bytes) becomes /tmp/crmsync-<name>-XXXXXX, path (at
 * least 128 bytes) <dir>/state.db, *st the store opened on it. */
static inline void tmp_store_open(char *dir, char *path, const char *name, struct store **st)
{
    struct store_options o = {0};
    struct error err = {""};

    snprintf(dir, 64, "/tmp/crmsync-%s-XXXXXX", name);
    assert_non_null(mkdtemp(dir));
    snprintf(path, 128, "%s/state.db", dir);
    o.path = path;
    if (store_open(&o, st, &err) != 0)
        fail_msg("%s", err.msg);
}

/* Closes st (NULL: already closed) and removes dir with everything in it. */
static inline void tmp_store_remove(const char *dir, struct store *st)
{
    char cmd[160];

    store_close(st);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

#endif
