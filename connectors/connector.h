/* The one interface between the daemon and a CRM or input (DESIGN.md §5),
 * a static table of functions like SQLite's VFS. New hooks are appended,
 * never reordered.
 *
 * A connector never touches SQLite: what it pulls goes through the pull
 * sink, which applies one page in one transaction together with the new
 * watermark, so a crash re-reads at most one page and adds nothing twice.
 * What else the host offers (identities, current values, holds, resend,
 * observe, tokens) is a separate, versioned table: struct host_services. */
#ifndef CRMSYNC_CONNECTOR_H
#define CRMSYNC_CONNECTOR_H

#include <stddef.h>
#include <uv.h>

#include "apply.h"
#include "change.h"
#include "config.h"
#include "error.h"

struct connector;
struct ratelimit;

/* One record to write to a CRM: the latest value of (member, field). */
struct push_record {
    int64_t seq; /* the change it carries */
    const char *member_key;
    enum change_kind kind;
    const char *field;      /* consent/marketing/email, points/balance, segment/vip, ... */
    const char *value_json; /* canonical value */
    const char *remote_id;  /* this CRM's id of the member; NULL when unknown */
    /* The member's current local values of the sibling fields the connector
     * declares (connector_ops.push_siblings), in the order declared:
     * canonical JSON, NULL where the member has none or the record's field
     * does not want that sibling. NULL when none are declared. Read with
     * push_record_sibling(). */
    const char *const *siblings;
};

/* A field of the member that a push record needs besides its own to be
 * written (HubSpot addresses an email subscription by the member's
 * "profile/email"; Salesforce creates a Contact with its "profile/last_name"). */
struct push_sibling {
    const char *field; /* the sibling's canonical field; NULL ends the list */
    const char *when;  /* attached to records whose field starts with this; NULL: every record */
};

/* 1 when a record of field wants sibling s. */
int push_sibling_wanted(const struct push_sibling *s, const char *field);
/* The current value (canonical JSON) of sibling field that the engine
 * attached to rec, or NULL (none, or not declared by conn's type). */
const char *push_record_sibling(const struct connector *conn, const struct push_record *rec,
                                const char *field);

enum push_outcome {
    PUSH_OK = 0, /* written (or already so): the shadow is updated */
    PUSH_RETRY,  /* not written, worth trying later (retry_after_ms) */
    PUSH_REJECT, /* will never be accepted as is: dead letter with reason */
    /* Not written because the CRM holds a newer value that local state has
     * not seen yet (e.g. a withdrawal made in the CRM after our grant): the
     * engine pulls that CRM at once instead, and the newer value comes in
     * through the merge rules. No shadow update, no dead letter. */
    PUSH_STALE,
};

struct push_result {
    enum push_outcome outcome;
    long retry_after_ms; /* -1: none given */
    /* The vendor's message for RETRY/REJECT, malloc'd by
     * push_result_set_reason(), NULL when none; push_results_clear() frees
     * it. Not an array: most records are answered OK, and 256 bytes in every
     * result made each record in flight that much heavier (issue 17). */
    char *reason;
    char remote_id[64]; /* the CRM's id of the member, when learnt */
    /* RETRY because the CRM or the way to it failed (outage, 401, quota),
     * not because of this record: the attempt does not count towards the
     * record's retry limit and the whole destination backs off. */
    int not_record_fault;
};

/* Sets r->reason (replacing any) to the message, cut at 255 bytes like the
 * array it replaces. Out of memory leaves no reason (read as empty). */
void push_result_set_reason(struct push_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* r->reason, or "" when none. */
const char *push_result_reason(const struct push_result *r);
/* Frees the reasons of res[0..n) (res may be NULL when n is 0). */
void push_results_clear(struct push_result *res, size_t n);

struct push_batch {
    struct connector *conn;
    char class_key[64];
    int lane; /* enum change_lane: 0 is the priority lane */
    size_t n;
    const struct push_record *records;
    struct push_result *results; /* n entries, zeroed, for the connector */
    void (*done)(struct push_batch *batch);
    void *engine; /* the engine's */
};

/* Where pulled changes go: a page's transaction. All calls for one page
 * happen inside one loop callback: begin, then any number of
 * pulled/change/reject, then commit or abort. */
struct pull_sink {
    void *ctx;
    int (*begin)(void *ctx, struct connector *conn, struct error *err);
    /* Applies one change of an input (spool, HTTP ingest); *res says what
     * became of it. A CRM's values go through pulled(). */
    int (*change)(void *ctx, struct connector *conn, const struct change *c, enum apply_result *res,
                  struct error *err);
    /* Files a record that could not be turned into a change. */
    int (*reject)(void *ctx, struct connector *conn, const struct dead_letter_in *dl,
                  struct error *err);
    /* Stores the watermark (may be NULL: unchanged) and commits. */
    int (*commit)(void *ctx, struct connector *conn, const char *watermark, struct error *err);
    void (*abort)(void *ctx, struct connector *conn);
    /* Bookkeeping of input files (spool), for status. */
    int (*file_begin)(void *ctx, struct connector *conn, const char *name, int64_t *id,
                      struct error *err);
    int (*file_finish)(void *ctx, struct connector *conn, int64_t id,
                       const struct ingest_stats *stats, const char *status, struct error *err);
    /* A CRM holds `projection` (the connector's project() text; for
     * points/balance the balance as a decimal) for (member, field), and c is
     * the change its value makes (NULL: the CRM is not a source for the
     * field). The echo rule lives here, in the host, for every connector: c
     * is not applied when it is our own write coming back (the local value
     * already projects to projection, or projection is what this connector
     * last confirmed or sent for the field). Then the host observes
     * projection (host_services.observe); a profile attribute held empty
     * with no c is only recorded as the shadow (crm_record_profile_empty).
     * *res: what became of c
     * (APPLY_UNCHANGED for an echo or no c). 0, or -1 (the page must abort). */
    int (*pulled)(void *ctx, struct connector *conn, const char *member, enum change_kind kind,
                  const char *field, const struct change *c, const char *projection,
                  enum apply_result *res, struct error *err);
};

/* The version of struct host_services this tree builds; a connector that
 * calls an entry added in version N checks host->version >= N first. */
#define HOST_SERVICES_VERSION 1

/* What the host offers a connector besides the page transaction (DESIGN.md
 * §5): a versioned table like sqlite3_io_methods (iVersion). Entries are
 * appended, never reordered; `version` says which exist. */
struct host_services {
    int version; /* HOST_SERVICES_VERSION of the host that filled it */
    void *ctx;
    /* The stored pull watermark (malloc'd, NULL when none: pull everything). */
    char *(*watermark)(void *ctx, struct connector *conn);
    /* A pull cycle ended (ok = 0 on success); the engine schedules the next. */
    void (*pull_done)(void *ctx, struct connector *conn, int status);
    /* The connector takes writes again (its setup finished): the engine
     * ends the pause that its "not ready" answers caused and pushes now,
     * instead of when the pause runs out. */
    void (*resume)(void *ctx, struct connector *conn);
    /* A vendor hold (Retry-After) of a request family the connector limits
     * itself ("search"): kept across restarts. save_hold: nothing of family
     * before now + ms; load_hold: ms left of the kept one (0: none). */
    void (*save_hold)(void *ctx, struct connector *conn, const char *family, long ms);
    long (*load_hold)(void *ctx, struct connector *conn, const char *family);
    /* 1 when projection is what this connector last confirmed or sent for
     * (member, field): what the CRM holds is our own write, not a change
     * made there. */
    int (*sent_here)(void *ctx, struct connector *conn, const char *member, const char *field,
                     const char *projection);
    /* Offers the local value of (member, field) to this connector again,
     * to be written even though the CRM is believed to hold it (HubSpot:
     * statuses are kept per address, and the address changed). key names
     * the cause: the same key offers once. */
    void (*resend)(void *ctx, struct connector *conn, const char *member, const char *field,
                   const char *key);
    /* Identity map of this CRM: member key <-> remote record id. Also holds
     * other named remote ids a connector must keep across restarts (e.g.
     * "segment:vip" -> "list:42"). A remote id is unique per CRM, so named
     * ids must be namespaced ("list:42") to never collide with a record id.
     * member_of/remote_id return 1 when found, 0 when not, -1 on error.
     * learn_identity works inside or outside a page. */
    int (*member_of)(void *ctx, struct connector *conn, const char *remote_id, char *out,
                     size_t outsize);
    int (*remote_id)(void *ctx, struct connector *conn, const char *member_key, char *out,
                     size_t outsize);
    void (*learn_identity)(void *ctx, struct connector *conn, const char *member_key,
                           const char *remote_id);
    /* The local current value of (member, field), malloc'd canonical JSON,
     * or NULL when none (e.g. "profile/email" to address a subscription). */
    char *(*current)(void *ctx, struct connector *conn, const char *member, const char *field);
    /* Inside a page: this CRM holds `projection` for (member, field) and
     * is not a source of it (pull_sink.pulled does this after its change).
     * Updates the shadow; when the local state projects to something else
     * (the CRM drifted, or lost a race the local value won), queues a
     * repair so the engine writes the local value back. */
    int (*observe)(void *ctx, struct connector *conn, const char *member, enum change_kind kind,
                   const char *field, const char *projection, struct error *err);
    /* OAuth: a rotated refresh token to keep, and the one kept (malloc'd,
     * NULL when none). Tokens are secrets: never logged. */
    void (*persist_token)(void *ctx, struct connector *conn, const char *refresh_token);
    char *(*load_token)(void *ctx, struct connector *conn);
};

struct connector_ops {
    int version;                       /* 1 */
    const char *type;                  /* "spool", "hubspot", "salesforce", ... */
    size_t max_batch;                  /* vendor maximum records per write request */
    const struct config_table *config; /* declared options of [connector.NAME] */
    /* Sets up the instance (conn->settings parsed already); may start
     * handles on conn->loop. */
    int (*open)(struct connector *conn, struct error *err);
    /* Starts (or continues) pulling from the watermark; results go to the
     * sink. Called by the daemon on its schedule; a connector that watches
     * its own input (spool) may also pull by itself. */
    void (*pull)(struct connector *conn);
    /* Stops work and closes handles; calls done(conn) once every handle is
     * closed (libuv close callbacks have run). */
    void (*close)(struct connector *conn, void (*done)(struct connector *conn));
    /* Resets the connector's own pull state for a full resync (the engine
     * has cleared the watermark and shadows); followed by pull(). */
    void (*resync)(struct connector *conn);

    /* --- version 1, push side (NULL push: the connector only pulls) --- */

    /* Sends one batch: every record gets a result, then batch->done(batch)
     * is called exactly once, from a loop callback (never from push()). */
    void (*push)(struct connector *conn, struct push_batch *batch);
    /* Which request a record goes in: records with the same class share a
     * batch (e.g. "contacts", "subscriptions", "list:vip"). NULL: one class. */
    void (*batch_class)(struct connector *conn, const struct push_record *rec, char *out,
                        size_t outsize);
    /* What the CRM stores of a value, as text: the engine hashes it for the
     * shadow, so a value that differs only in what the CRM does not keep
     * (a timestamp, a proof reference) is not pushed again. NULL: the
     * canonical value itself. Returns 0 or -1 (not representable: reject);
     * on -1, out holds why for the dead letter, naming the option that
     * decides it when the configuration is the cause, or "". */
    int (*project)(struct connector *conn, enum change_kind kind, const char *field,
                   const char *value_json, char *out, size_t outsize);
    /* Points go to this CRM as a balance per member (field "points/balance",
     * value {"balance":N} computed from the ledger at send time) rather than
     * one record per transaction. */
    int points_as_balance;

    /* --- appended (issue 12): batches cut by what they cost --- */

    /* How many of the request's inputs (of at most max_batch) rec adds to
     * a batch of its class; member_new: no record of its member is in the
     * batch yet. NULL: one per member (every record of a member shares one
     * input, as a contact upsert). HubSpot's statuses batch write takes one
     * input per record (each subscription of an address), so a batch is cut
     * at max_batch records there, not at max_batch members. */
    size_t (*record_cost)(struct connector *conn, const struct push_record *rec, int member_new);

    /* --- appended (issue 13): the sibling fields a push record carries --- */

    /* The fields of the member whose current local values the connector
     * needs to write a record, terminated by an entry with field NULL;
     * NULL: none. The engine reads them when it plans a batch, in the
     * pass's snapshot, once per member of the batch, and attaches them
     * (push_record.siblings), so a connector never asks the host for them
     * record by record (host_services.current). */
    const struct push_sibling *push_siblings;

    /* --- appended (issue 17): a batch no larger than what goes at once --- */

    /* The most request inputs (counted as for max_batch) a batch of class
     * should carry when `waiting` inputs of that class are ready: what one
     * request takes, unless a batch that large goes as one job anyway
     * (Salesforce: Bulk API 2.0 at or above bulk_threshold Contact rows,
     * else collections of 200). The engine asks with an upper bound of
     * what waits before it plans, then with the plan's size, and cuts the
     * plan to the second answer: a batch the connector would send as
     * several requests one after another only held its records in flight
     * longer (and their memory). NULL or 0: max_batch. */
    size_t (*batch_max)(struct connector *conn, const char *class_key, size_t waiting);
};

/* One configured instance. */
struct connector {
    const struct connector_ops *ops;
    char *name;           /* NAME of [connector.NAME] */
    const void *settings; /* parsed by ops->config, owned by the config */
    uv_loop_t *loop;
    struct pull_sink *sink;
    const struct host_services *host; /* the host's services (NULL: none) */
    void *priv;                       /* the connector's own state */
    void *owner;                      /* the daemon's bookkeeping */
    int busy;                         /* set by the connector while a page is open */
    long page_max_changes;            /* most changes per page ([state] txn_max_changes) */
    /* Set by a pushing connector in open(), from its settings. */
    long max_inflight;           /* push requests in flight at once */
    long pull_interval_ms;       /* 0: the connector pulls by itself */
    double rate, burst;          /* request budget (token bucket) */
    struct ratelimit *ratelimit; /* the engine's bucket; connectors feed it
                                    the vendor's headers */
    /* The vendor counts `rate` requests per window of this length rather
     * than refilling a bucket (Adobe Campaign's TPS: 1 s): the budget then
     * passes at most `rate` in any such window (ratelimit_set_window). 0:
     * a bucket only. Set in open(), like rate. */
    long rate_window_ms;
    /* How points go to this instance, when it depends on its settings
     * (Salesforce: contact fields or Loyalty Management journals);
     * CONNECTOR_POINTS_DEFAULT follows ops->points_as_balance. */
    int points_mode;
};

enum {
    CONNECTOR_POINTS_DEFAULT = 0,
    CONNECTOR_POINTS_BALANCE = 1,      /* field points/balance, {"balance":N} */
    CONNECTOR_POINTS_TRANSACTIONS = 2, /* one record per ledger transaction */
};

/* The registry of connector types. */
const struct connector_ops *connector_find_type(const char *type);
/* The i-th registered type (for listings); NULL past the end. */
const struct connector_ops *connector_type_at(size_t i);
/* config_lookup_fn for config_load(). */
const struct config_table *connector_config_lookup(const char *type);

#endif
