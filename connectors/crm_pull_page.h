/* A pull page of a CRM connector (issue 13 part 1): its transaction, and
 * per field what the CRM holds and the change that makes, handed to the
 * host (pull_sink.pulled), which applies the change unless it is an echo
 * of our own write and tells the state what the CRM holds (the shadow;
 * drift is repaired by the engine). */
#ifndef CRMSYNC_CRM_PULL_PAGE_H
#define CRMSYNC_CRM_PULL_PAGE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "connector.h"

struct crm_page {
    struct connector *conn;
    const char *subsystem;
    int log_rejected; /* log a change the merge rules dead-lettered */
    long applied;     /* changes that changed the local state */
    struct error err; /* the sink's error when a call returned -1 */
    int open;         /* begun, not committed or aborted yet */
};

/* The change a pulled value makes: origin (the connector), member, kind,
 * field, value, when it happened, its idempotency key, the CRM record it
 * came from, and for consent the parsed value (may be NULL). The strings
 * are borrowed. */
struct change crm_pulled_change(const char *origin, const char *member, enum change_kind kind,
                                const char *field, const char *value_json, int64_t occurred_at,
                                const char *idem_key, const char *source_ref,
                                const struct consent_value *cv);

/* Per field of a pulled record: c is the change the CRM's value makes
 * (NULL: the CRM is not a source for it, only observe), projection what the
 * CRM holds. 0 to go on, -1 to stop (a state error). */
typedef int (*crm_field_fn)(void *arg, const char *member, enum change_kind kind, const char *field,
                            const struct change *c, const char *projection);

/* One pulled CRM record of a member, as its fields go to fn(arg, ...). */
struct crm_record {
    const char *origin; /* the connector */
    const char *id;     /* the CRM's record id */
    const char *member;
    crm_field_fn fn;
    void *arg;
};

/* One field of r: value_json NULL observes projection only; otherwise the
 * change (dated occurred, idempotency key "<origin>:<id>:<field>:<version>",
 * cv for consent or NULL) goes with it. fn's answer. */
int crm_record_field(const struct crm_record *r, enum change_kind kind, const char *field,
                     const char *value_json, int64_t occurred, const char *version,
                     const struct consent_value *cv, const char *projection);

/* A profile attribute attr of r that the CRM holds as text (not empty):
 * the change {"value": text} of field profile/<attr>, projection text. */
int crm_record_profile(const struct crm_record *r, const char *attr, const char *text,
                       int64_t occurred, const char *version);

/* A profile attribute attr of r that the CRM holds empty: no change (an
 * empty field is not taken as a clearing), projection "" observed; the
 * host records it as what the CRM holds and nothing else. */
int crm_record_profile_empty(const struct crm_record *r, const char *attr);

/* A profile attribute attr of r as the CRM returned it (v; NULL when
 * absent): text goes as crm_record_profile, empty (null or "") and the
 * text none (NULL: no such text; a placeholder we wrote for "no value")
 * as crm_record_profile_empty; another type is passed over (0). */
int crm_record_profile_json(const struct crm_record *r, const char *attr, const json_t *v,
                            const char *none, int64_t occurred, const char *version);

/* crm_field_fn over a page: arg is the struct crm_page (crm_page_field). */
int crm_page_field_fn(void *pg, const char *member, enum change_kind kind, const char *field,
                      const struct change *c, const char *projection);

void crm_page_init(struct crm_page *pg, struct connector *conn, const char *subsystem);

/* A page's transaction, as every CRM connector opens and ends it: the
 * connector is busy from begin until commit or abort, and the sink's error
 * lands in pg->err. begin: 0, or -1 (not busy, nothing open). commit
 * stores watermark (NULL: unchanged) with the page: 0, or -1 (the sink
 * rolled back). abort rolls the page back. */
int crm_page_begin(struct crm_page *pg);
int crm_page_commit(struct crm_page *pg, const char *watermark);
void crm_page_abort(struct crm_page *pg);

/* One element of a page's rows (a JSON array the CRM answered) applied
 * through pg: 0, or -1 (pg->err says why; the page must not be committed). */
typedef int (*crm_row_fn)(void *arg, struct crm_page *pg, json_t *row);

/* Begins pg and applies each element of rows in order with row(arg, pg,
 * element): 0 with the page open for the caller to commit, or -1 when it
 * could not begin or a row failed (crm_page_failed ends it). */
int crm_page_rows(struct crm_page *pg, json_t *rows, crm_row_fn row, void *arg);

/* The error tail of every page: a page that could not be applied is
 * rolled back when it is still open, and "<what> not applied: <the sink's
 * error>" is logged. */
void crm_page_failed(struct crm_page *pg, const char *what);

/* A pull cycle ended: status 0 (pages: how many it applied) or -1 (the
 * engine tries again later from the stored watermark). Logged, and told to
 * the host (host_services.pull_done), which schedules the next cycle. */
void crm_pull_done(struct connector *conn, const char *subsystem, int status, long pages);
/* The same for a connector that keeps the JSON document of its last page
 * (HubSpot, Salesforce): *root is released (NULL after) first. */
void crm_pull_end(struct connector *conn, const char *subsystem, int status, long pages,
                  json_t **root);

/* c: the change the CRM's value makes (NULL: only observe). projection:
 * what the CRM holds, in the connector's projection. 0, or -1 when the
 * sink failed (pg->err says why; the page must abort). */
int crm_page_field(struct crm_page *pg, const char *member, enum change_kind kind,
                   const char *field, const struct change *c, const char *projection);

#endif
