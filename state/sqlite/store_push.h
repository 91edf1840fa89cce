/* What the engine needs from the state to push: lane reads after a cursor,
 * shadows, push cursors, identities, push dead letters and acknowledgements.
 * Writes happen inside a transaction the engine opens (store_begin). */
#ifndef CRMSYNC_STORE_PUSH_H
#define CRMSYNC_STORE_PUSH_H

#include <stddef.h>
#include <stdint.h>

#include "change.h"
#include "store.h"

struct push_row {
    int64_t seq;
    const char *origin;
    const char *member_key;
    const char *kind;
    const char *field;
    const char *value;
    int64_t occurred_at;
    int64_t received_at; /* ms: when crmsyncd took the change (opt-out latency) */
};

/* Called per row; strings live until the callback returns. Non-zero stops. */
typedef int (*push_row_fn)(void *ctx, const struct push_row *row);

/* Reads effective changes of lane with after < seq <= upto (upto 0: no
 * bound), ascending, at most limit, for destination dest: a change with a
 * dead letter of dest (not asked to be retried) is left out. *n receives
 * the number of rows read. */
/* The text of the i-th statement of this module (NULL past the last), for
 * the test that checks their query plans. */
const char *store_push_statement(size_t i);

int store_push_read(struct store *st, const char *dest, int lane, int64_t after, int64_t upto,
                    int limit, push_row_fn fn, void *ctx, int *n, struct error *err);

int store_push_cursor_get(struct store *st, const char *dest, int lane, int64_t *seq,
                          struct error *err);
int store_push_cursor_set(struct store *st, const char *dest, int lane, int64_t seq,
                          struct error *err);

/* Shadow: hash of the value last confirmed in dest. *found = 0 when none. */
int store_shadow_get(struct store *st, const char *dest, const char *member, const char *field,
                     char hash[65], int *found, struct error *err);
int store_shadow_put(struct store *st, const char *dest, const char *member, const char *field,
                     const char *hash, struct error *err);
/* Records what is about to be sent to dest (before the request goes). */
int store_shadow_sent(struct store *st, const char *dest, const char *member, const char *field,
                      const char *hash, struct error *err);
/* *ours = 1 when hash is what dest was last confirmed to hold or last sent:
 * a pull reading it back is an echo of our own write, not a change. */
int store_shadow_is_ours(struct store *st, const char *dest, const char *member, const char *field,
                         const char *hash, int *ours, struct error *err);

/* Forgets every shadow of dest (full resync). */
int store_shadow_clear(struct store *st, const char *dest, struct error *err);

int store_identity_get(struct store *st, const char *member, const char *system, char *out,
                       size_t outsize, int *found, struct error *err);
int store_identity_put(struct store *st, const char *member, const char *system,
                       const char *remote_id, struct error *err);
/* Member key of a remote id, for pulls. *found = 0 when unknown. */
int store_identity_find(struct store *st, const char *system, const char *remote_id, char *out,
                        size_t outsize, int *found, struct error *err);

int store_push_dead_letter(struct store *st, const char *dest, int64_t seq, const char *origin,
                           const char *member, const char *field, const char *payload,
                           const char *reason, int attempts, struct error *err);

/* Records that system acknowledged change seq (Art. 19 export). */
int store_audit_ack(struct store *st, int64_t seq, const char *system, struct error *err);

/* Batch-level bookkeeping (issue 17): one call and one SQL statement per
 * batch, not one per record (state/store_batch.h). The record i is
 * (member[i], field[i]) with hash[i] (a shadow or sent hash) and, for
 * identities, remote_id[i]. n may be 0 (nothing is written). */
struct push_key {
    const char *member;
    const char *field;
    const char *hash;
};
/* store_shadow_sent() for each record. */
int store_shadow_sent_batch(struct store *st, const char *dest, const struct push_key *k, size_t n,
                            struct error *err);
/* store_shadow_put() for each record. */
int store_shadow_put_batch(struct store *st, const char *dest, const struct push_key *k, size_t n,
                           struct error *err);
/* store_identity_put() for each (member[i], remote_id[i]) of system. */
int store_identity_put_batch(struct store *st, const char *system, const char *const *member,
                             const char *const *remote_id, size_t n, struct error *err);
/* store_audit_ack() for each seq[i]. */
int store_audit_ack_batch(struct store *st, const int64_t *seq, size_t n, const char *system,
                          struct error *err);
/* store_identity_get() for each member[i], in one statement (issue 17):
 * found[i] = 1 and remote_id[i] the id when known. */
int store_identity_get_batch(struct store *st, const char *system, const char *const *member,
                             size_t n, char (*remote_id)[64], int *found, struct error *err);
/* store_shadow_get() for each record (k[i].hash is not read): found[i] = 1
 * and hash[i] the confirmed hash when the destination has one. */
int store_shadow_get_batch(struct store *st, const char *dest, const struct push_key *k, size_t n,
                           char (*hash)[65], int *found, struct error *err);

/* The current value of (member, field), malloc'd; NULL when none. */
int store_current_get(struct store *st, const char *member, const char *field, char **value,
                      struct error *err);

/* Effective changes in lane after seq (backlog), for status and backpressure. */
int store_push_backlog(struct store *st, int lane, int64_t after, int64_t *count,
                       struct error *err);

/* The newest seq in the change-log (0 when empty). */
int store_max_seq(struct store *st, int64_t *seq, struct error *err);

/* Queues a repair: a change (origin "repair") that offers the current value
 * of (member, field) to every destination again, for a CRM found holding
 * something else. *added = 0 when idem_key was queued already. */
/* Origin of a change that one destination must write even though its shadow
 * says it holds the value already: "resend:<destination>". */
#define STORE_RESEND_PREFIX "resend:"
/* Offers the current value of (member, field) to dest again, written whatever
 * its shadow says (HubSpot: an email status under a changed address). The
 * other destinations see it as an unchanged value. */
int store_append_resend(struct store *st, const char *dest, const char *member,
                        enum change_kind kind, const char *field, const char *value, int lane,
                        const char *idem_key, int *added, struct error *err);
int store_append_repair(struct store *st, const char *member, enum change_kind kind,
                        const char *field, const char *value, int lane, const char *idem_key,
                        int *added, struct error *err);

/* A connector's kept OAuth refresh token (rotated by the vendor). */
int store_token_get(struct store *st, const char *connector, char **token, struct error *err);
int store_token_put(struct store *st, const char *connector, const char *token, struct error *err);

/* Dead letters of dest that an operator asked to retry (crmsyncctl
 * dead-letters retry). Strings live during the call. */
typedef void (*dead_letter_fn)(void *ctx, int64_t id, const char *member, const char *field,
                               int64_t requested_at);
int store_dead_letter_retries(struct store *st, const char *dest, dead_letter_fn fn, void *ctx,
                              struct error *err);
int store_dead_letter_delete(struct store *st, int64_t id, struct error *err);

/* Full resync: forgets the pull watermark and the shadows of dest, and sets
 * its push cursors back to 0 so the whole current state is offered again
 * (shadows being empty, everything is pushed once; the next resync finds the
 * shadows equal and pushes nothing). Marks pending resync rows done. */
int store_resync_reset(struct store *st, const char *dest, struct error *err);

#endif
