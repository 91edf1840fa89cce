/* See store_audit_meta.h. */
#include "store_audit_meta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_audit_archive.h"

void store_audit_meta_free(struct archive_meta *m)
{
    free(m->path);
    m->path = NULL;
}

int store_audit_meta_read(struct store *st, struct archive_meta *m, struct error *err)
{
    sqlite3_stmt *q = NULL;
    int s;

    memset(m, 0, sizeof(*m));
    if (sqlite3_prepare_v2(st->db,
                           "SELECT key, value FROM meta WHERE key IN ('audit_archive_path',"
                           " 'audit_archive_head', 'audit_archive_rows', 'audit_archive_bytes')",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sql_error(st, err, "read audit archive checkpoint");
    for (;;) {
        s = sqlite3_step(q);
        if (s != SQLITE_ROW)
            break;
        const char *k = (const char *)sqlite3_column_text(q, 0);
        const char *v = (const char *)sqlite3_column_text(q, 1);
        if (strcmp(k, "audit_archive_path") == 0) {
            free(m->path);
            m->path = strdup(v);
        } else if (strcmp(k, "audit_archive_head") == 0) {
            snprintf(m->head, sizeof(m->head), "%s", v);
        } else if (strcmp(k, "audit_archive_rows") == 0) {
            m->rows = strtoll(v, NULL, 10);
        } else {
            m->bytes = strtoll(v, NULL, 10);
        }
    }
    sqlite3_finalize(q);
    if (s != SQLITE_DONE) {
        store_audit_meta_free(m);
        return store_sql_error(st, err, "read audit archive checkpoint");
    }
    return 0;
}

int store_audit_archive_head(struct store *st, char head[65], struct error *err)
{
    struct archive_meta m;

    head[0] = '\0';
    if (store_audit_meta_read(st, &m, err) != 0)
        return -1;
    if (m.path != NULL)
        memcpy(head, m.head, 65);
    store_audit_meta_free(&m);
    return 0;
}
