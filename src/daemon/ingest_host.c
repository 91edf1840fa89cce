/* Host services the daemon offers connectors beside the page transaction
 * (connector.h, struct host_services): watermark, identities, current values,
 * observations of what a CRM holds (shadow and repair), kept tokens, and
 * the end of a pull. They go through the state module; connectors never
 * touch SQLite. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "hash.h"
#include "ingest.h"
#include "http_result.h"
#include "log.h"
#include "metrics.h"
#include "store_holds.h"
#include "store_push.h"
#include "store_tombstone.h"
#include "timefmt.h"

static char *host_watermark(void *ctx, struct connector *conn)
{
    struct ingest *ing = ctx;
    struct error err = {""};
    char *wm = NULL;

    if (store_get_watermark(ing->store, conn->name, &wm, &err) != 0)
        log_error("ingest", conn->name, "%s", err.msg);
    return wm;
}

static void host_pull_done(void *ctx, struct connector *conn, int status)
{
    struct ingest *ing = ctx;

    metrics_counter_add(METRIC_PULLS, (const char *[]){conn->name, status == 0 ? "ok" : "failed"},
                        1);
    if (status == 0)
        metrics_gauge_set(METRIC_LAST_SUCCESS, (const char *[]){conn->name, "pull"},
                          (double)timefmt_now_ms() / 1000.0);
    if (ing->engine != NULL)
        engine_pull_done(ing->engine, conn, status);
}

static void host_resume(void *ctx, struct connector *conn)
{
    struct ingest *ing = ctx;

    if (ing->engine != NULL)
        engine_resume(ing->engine, conn);
}

static void host_save_hold(void *ctx, struct connector *conn, const char *family, long ms)
{
    struct ingest *ing = ctx;
    struct error err = {""};

    if (store_hold_save(ing->store, conn->name, family, timefmt_now_ms() + ms, ms, &err) != 0)
        log_warn("ingest", conn->name, "cannot keep a Retry-After hold: %s", err.msg);
}

static long host_load_hold(void *ctx, struct connector *conn, const char *family)
{
    struct ingest *ing = ctx;
    struct error err = {""};
    long left = store_hold_left(ing->store, conn->name, family, timefmt_now_ms(), &err);

    if (err.msg[0] != '\0')
        log_warn("ingest", conn->name, "cannot read a kept Retry-After hold: %s", err.msg);
    return left > http_retry_after_cap() ? http_retry_after_cap() : left;
}

static int host_sent_here(void *ctx, struct connector *conn, const char *member, const char *field,
                          const char *projection)
{
    struct ingest *ing = ctx;
    struct error err = {""};
    char hash[65];
    int ours = 0;

    sha256_hex(projection, strlen(projection), hash);
    if (store_shadow_is_ours(ing->store, conn->name, member, field, hash, &ours, &err) != 0)
        log_warn("ingest", conn->name, "%s", err.msg);
    return ours;
}

static void host_resend(void *ctx, struct connector *conn, const char *member, const char *field,
                        const char *key)
{
    struct ingest *ing = ctx;
    struct error err = {""};
    char *value = NULL, idem[512];
    enum change_kind kind = CHANGE_PROFILE;
    int added = 0, lane = LANE_BULK;

    if (store_current_get(ing->store, member, field, &value, &err) != 0 || value == NULL)
        goto out;
    if (strncmp(field, "consent/", 8) == 0) {
        kind = CHANGE_CONSENT;
        if (strstr(value, "\"status\":\"denied\"") != NULL)
            lane = LANE_URGENT;
    }
    snprintf(idem, sizeof(idem), "resend:%s:%s:%s:%s", conn->name, member, field, key);
    if (store_append_resend(ing->store, conn->name, member, kind, field, value, lane, idem, &added,
                            &err) == 0 &&
        added && ing->engine != NULL)
        engine_kick(ing->engine);
out:
    if (err.msg[0] != '\0')
        log_warn("ingest", conn->name, "cannot offer %s again: %s", field, err.msg);
    free(value);
}

static int host_member_of(void *ctx, struct connector *conn, const char *remote_id, char *out,
                          size_t outsize)
{
    struct ingest *ing = ctx;
    struct error err = {""};
    int found = 0;

    if (store_identity_find(ing->store, conn->name, remote_id, out, outsize, &found, &err) != 0) {
        log_error("ingest", conn->name, "%s", err.msg);
        return -1;
    }
    return found;
}

static int erased(struct ingest *ing, struct connector *conn, const char *member);

/* An erased member has no record in the CRM as far as a pull is concerned
 * (issue 19): the identity stays only until the erasure is purged, for the
 * push that deletes the record, and a pull that then sees that record
 * deleted must take it as our own erasure coming back, not as a deletion
 * made in the CRM ("its member's data will be written to a new Contact"). */
static int host_remote_id(void *ctx, struct connector *conn, const char *member, char *out,
                          size_t outsize)
{
    struct ingest *ing = ctx;
    struct error err = {""};
    int found = 0;

    if (store_identity_get(ing->store, member, conn->name, out, outsize, &found, &err) != 0) {
        log_error("ingest", conn->name, "%s", err.msg);
        return -1;
    }
    if (found == 1 && erased(ing, conn, member)) {
        log_debug("ingest", conn->name, "record %s: its member was erased here; not read back",
                  out);
        out[0] = '\0';
        return 0;
    }
    return found;
}

/* After an erasure nothing keyed by the member is written again, whatever
 * a CRM still (or again) holds: 1 when the member is erased (or when that
 * cannot be told: writing nothing is the safe side). */
static int erased(struct ingest *ing, struct connector *conn, const char *member)
{
    struct error err = {""};
    int yes = 0;

    if (store_member_erased(ing->store, member, &yes, &err) != 0) {
        log_error("ingest", conn->name, "%s", err.msg);
        return 1;
    }
    return yes;
}

static void host_learn_identity(void *ctx, struct connector *conn, const char *member,
                                const char *remote_id)
{
    struct ingest *ing = ctx;
    struct error err = {""};

    if (erased(ing, conn, member))
        return;
    if (store_identity_put(ing->store, member, conn->name, remote_id, &err) != 0)
        log_error("ingest", conn->name, "%s", err.msg);
}

static char *host_current(void *ctx, struct connector *conn, const char *member, const char *field)
{
    struct ingest *ing = ctx;
    struct error err = {""};
    char *value = NULL;

    if (store_current_get(ing->store, member, field, &value, &err) != 0)
        log_error("ingest", conn->name, "%s", err.msg);
    return value;
}

/* The local value of (member, field) as this connector would write it. */
static int local_projection(struct ingest *ing, struct connector *conn, enum change_kind kind,
                            const char *member, const char *field, char **value, char *out,
                            size_t outsize, struct error *err)
{
    *value = NULL;
    if (kind == CHANGE_POINTS) {
        int64_t balance = 0;
        char buf[64];
        if (store_points_balance(ing->store, member, timefmt_now_ms(), &balance, err) != 0)
            return -1;
        if (balance == 0)
            return 0; /* no ledger: nothing to hold the CRM to */
        snprintf(buf, sizeof(buf), "{\"balance\":%" PRId64 "}", balance);
        *value = strdup(buf);
    } else if (store_current_get(ing->store, member, field, value, err) != 0) {
        return -1;
    }
    if (*value == NULL)
        return 0;
    if (conn->ops->project == NULL) {
        snprintf(out, outsize, "%s", *value);
        return 1;
    }
    if (conn->ops->project(conn, kind, field, *value, out, outsize) != 0)
        return 0;
    return 1;
}

int ingest_host_hold(struct ingest *ing, struct connector *conn, const char *member,
                     const char *field, const char *projection, struct error *err)
{
    char hash[65];

    if (erased(ing, conn, member))
        return 0; /* no shadow under an erased key */
    sha256_hex(projection, strlen(projection), hash);
    return store_shadow_put(ing->store, conn->name, member, field, hash, err);
}

static int host_observe(void *ctx, struct connector *conn, const char *member,
                        enum change_kind kind, const char *field, const char *projection,
                        struct error *err)
{
    struct ingest *ing = ctx;
    char hash[65], local[1024], idem[512], lh[65];
    char *value = NULL;
    int have, added = 0;
    int rc = -1;

    if (erased(ing, conn, member))
        return 0; /* no shadow, no repair under an erased key */
    sha256_hex(projection, strlen(projection), hash);
    if (store_shadow_put(ing->store, conn->name, member, field, hash, err) != 0)
        goto out;
    have = local_projection(ing, conn, kind, member, field, &value, local, sizeof(local), err);
    if (have < 0)
        goto out;
    if (have == 0 || strcmp(local, projection) == 0) {
        rc = 0;
        goto out;
    }
    if (kind == CHANGE_POINTS && conn->points_mode == CONNECTOR_POINTS_TRANSACTIONS) {
        /* This CRM gets transactions, never a balance: a different balance
         * there is drift to report, not a value to write back. */
        char masked[64];
        log_warn_member("ingest", conn->name, member, 0,
                        "points balance of member %s differs in the CRM (%s there, %s here): drift",
                        log_mask(member, masked, sizeof(masked)), projection, local);
        ing->drifts++;
        rc = 0;
        goto out;
    }
    /* The CRM holds something else than the local state: queue the local
     * value again. The key names both sides, so observing the same drift
     * twice queues one repair. */
    sha256_hex(local, strlen(local), lh);
    snprintf(idem, sizeof(idem), "repair:%s:%s:%s:%.16s:%.16s", conn->name, member, field, hash,
             lh);
    {
        int lane = LANE_BULK;
        if (kind == CHANGE_POINTS || kind == CHANGE_TIER)
            lane = LANE_POINTS;
        else if (kind == CHANGE_CONSENT && strstr(value, "\"status\":\"denied\"") != NULL)
            lane = LANE_URGENT;
        if (store_append_repair(ing->store, member, kind, field, value, lane, idem, &added, err) !=
            0)
            goto out;
    }
    if (added) {
        char masked[64];
        log_notice_member("ingest", conn->name, member, 0,
                          "%s of member %s differs in the CRM; writing it back", field,
                          log_mask(member, masked, sizeof(masked)));
        ing->repairs++;
    }
    rc = 0;
out:
    free(value);
    return rc;
}

static void host_persist_token(void *ctx, struct connector *conn, const char *token)
{
    struct ingest *ing = ctx;
    struct error err = {""};

    if (store_token_put(ing->store, conn->name, token, &err) != 0)
        log_error("ingest", conn->name, "cannot keep the rotated refresh token: %s", err.msg);
}

static char *host_load_token(void *ctx, struct connector *conn)
{
    struct ingest *ing = ctx;
    struct error err = {""};
    char *token = NULL;

    if (store_token_get(ing->store, conn->name, &token, &err) != 0)
        log_error("ingest", conn->name, "%s", err.msg);
    return token;
}

void ingest_host_init(struct ingest *ing)
{
    ing->host.version = HOST_SERVICES_VERSION;
    ing->host.ctx = ing;
    ing->host.watermark = host_watermark;
    ing->host.pull_done = host_pull_done;
    ing->host.resume = host_resume;
    ing->host.save_hold = host_save_hold;
    ing->host.load_hold = host_load_hold;
    ing->host.sent_here = host_sent_here;
    ing->host.resend = host_resend;
    ing->host.member_of = host_member_of;
    ing->host.remote_id = host_remote_id;
    ing->host.learn_identity = host_learn_identity;
    ing->host.current = host_current;
    ing->host.observe = host_observe;
    ing->host.persist_token = host_persist_token;
    ing->host.load_token = host_load_token;
}
