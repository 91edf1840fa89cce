/* The spool connector's internals, shared by spool.c (the connector: scans,
 * events, scheduling) and spool_file.c (one file: lines, reports, moves). */
#ifndef CRMSYNC_SPOOL_INT_H
#define CRMSYNC_SPOOL_INT_H

#include <limits.h>
#include <stdio.h>

#include "connector.h"
#include "spool_dir.h"
#include "spool_event.h"
#include "spool_watch.h"

struct spool_settings {
    char *dir;
    long scan_interval_ms;
    long settle_ms;
    long max_line;
    long max_rejected;
    char *purposes;
    char *channels;
    char *attributes;
    long keep_done_ms;
};

/* One input file, from its first line to its move out of the spool. */
struct spool_file {
    char name[NAME_MAX + 1];
    char shown[4 * NAME_MAX + 1]; /* name with control characters escaped */
    FILE *in;
    FILE *errf;      /* the report in failed/, opened on the first bad line */
    char errtmp[64]; /* its random name until it is published */
    long lineno;
    int64_t file_id;
    struct ingest_stats stats;
    int abandoned;      /* more than max_rejected bad lines */
    const char *status; /* done, done_with_errors, empty, failed */
};

struct spool {
    struct connector *conn;
    const struct spool_settings *cfg;
    struct spool_dir dir;
    struct spool_watch *watch;
    int inotify_fd; /* -1: no inotify, settle time only */
    uv_poll_t poll;
    uv_timer_t scan_timer;
    uv_timer_t work_timer;
    int64_t pruned_at; /* last done/ retention round (wall ms) */
    int handles_open;
    int closing;
    void (*closed)(struct connector *conn);

    char **lists[3]; /* purposes, channels, attributes: NULL-terminated */
    struct spool_vocab vocab;
    char *buf;
    size_t bufsize;

    /* Files ready at the last scan, taken in order. */
    char **queue;
    size_t nqueue, qpos;
    int rescan; /* something happened since that scan */

    /* The file being read, and the files finished in the open transaction
     * (moved out once it is committed). */
    struct spool_file cur;
    int have_cur;
    struct spool_file *finished;
    size_t nfinished, finished_cap;
    int failing; /* a database error: wait for the next scan tick */
};

/* spool_file.c */
/* Opens name for reading and records it (inside the open transaction).
 * Returns 0, 1 when the name is to be skipped (gone, or refused and moved
 * to failed/), -1 on a database error (err set). */
int spool_file_start(struct spool *s, const char *name, struct error *err);
/* Reads up to max lines of the current file into the open transaction;
 * *lines gets how many. Returns 1 when the file is finished (end of file,
 * or abandoned), 0 when max was reached, -1 on an error (err set). */
int spool_file_read(struct spool *s, long max, long *lines, struct error *err);
/* End of the current file inside the transaction: its status is recorded
 * and it joins s->finished. Returns 0 or -1 (err set). */
int spool_file_end(struct spool *s, struct error *err);
/* After the commit: reports published, files moved, lines logged. */
void spool_file_move_finished(struct spool *s);
/* After a failed transaction: nothing of it is kept; files stay. */
void spool_file_drop_all(struct spool *s);

#endif
