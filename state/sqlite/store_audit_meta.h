/* The audit archive's checkpoint in the meta table (issue 18: split out of
 * store_audit_archive.c): read by the audit's head (store_audit.c) as well
 * as by the archive, which writes it. */
#ifndef CRMSYNC_STORE_AUDIT_META_H
#define CRMSYNC_STORE_AUDIT_META_H

#include <stdint.h>

#include "store_internal.h"

struct archive_meta {
    char *path; /* NULL: no archive yet */
    char head[65];
    int64_t rows;
    int64_t bytes;
};

void store_audit_meta_free(struct archive_meta *m);
/* The checkpoint (m->path NULL: no archive yet); 0, or -1 with err. */
int store_audit_meta_read(struct store *st, struct archive_meta *m, struct error *err);

#endif
