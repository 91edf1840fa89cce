/* Signals set intent; the loop does the work (STYLE.md 7): a signal handler
 * only records "reload", "resync" or "stop" and arms a zero-delay control
 * timer, so two signals in a row coalesce into one action, taken between
 * pages, never inside a transaction.
 *
 * Reload: the new configuration is loaded and validated first; if it is bad
 * the old one keeps running. Otherwise the connectors are closed (each
 * finishes the page it is on: pages are atomic) and reopened from the new
 * configuration. */
#include "daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#include "admin.h"
#include "config.h"
#include "connector.h"
#include "engine.h"
#include "hardening.h"
#include "health.h"
#include "http_ingest.h"
#include "http_ingest_conf.h"
#include "ingest.h"
#include "lockfile.h"
#include "http_result.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "ratelimit.h"
#include "store.h"
#include "store_ctl.h"
#include "store_progress.h"
#include "store_purge.h"
#include "retention.h"
#include "wal_worker.h"
#include "audit_check.h"
#include "done_scrub.h"
#include "store_tombstone.h"
#include "timefmt.h"

/* How often the CRMs' request budgets, as their headers report them, are
 * written to the state for crmsyncctl status: one small transaction at most
 * this often, and only when a figure moved. */
#define QUOTA_SAVE_MS 5000

struct daemon {
    uv_loop_t loop;
    const char *config_path;
    struct config *cfg;
    struct config *pending_cfg; /* a validated reload waiting for connectors to close */
    struct store *store;
    struct ingest ingest;
    const char **origins;
    struct admin *admin;       /* NULL when [daemon] admin_listen is unset */
    struct http_ingest *http;  /* NULL when [ingest] listen is unset */
    char state_path[PATH_MAX]; /* of the open store: a reload does not move it */
    struct engine *engine;     /* pushes and pull timers; rebuilt on reload */

    struct connector *conns;
    size_t n_conns;
    size_t n_closing;

    uv_signal_t sig_hup, sig_usr1, sig_term, sig_int;
    uv_timer_t control, watchdog, grace, quota;
    uv_timer_t retention; /* src/retention.h */
    struct retention_totals retained;
    struct audit_check *audit; /* the audit chain's periodic walk (audit_check.h) */
    struct done_scrub *scrub;  /* erased members out of spool done/ (done_scrub.h) */
    struct wal_worker *wal;    /* checkpoints off the loop (wal_worker.h); NULL: SQLite's own */

    int64_t purge_from; /* erasures up to this seq are purged (store_purge.h) */
    int want_reload, want_resync, want_stop;
    int stopping;
    int lock_fd;
    int exit_code;
};

static void after_connectors_closed(struct daemon *d);

static void apply_log_level(const struct config *cfg)
{
    log_set_level((enum log_level)cfg->daemon.log_level);
    /* Here too because it is applied at start and at every reload. */
    http_retry_after_cap_set(cfg->daemon.max_retry_after_ms);
}

/* The engine's options from [daemon]: the retry policy of pushed records. */
static void engine_options_of(const struct config *cfg, struct engine_options *o)
{
    engine_options_defaults(o);
    o->retry.max_elapsed_ms = cfg->daemon.retry_give_up_after_ms;
    o->retry.max_attempts = (int)cfg->daemon.retry_max_attempts;
    o->retry.cap_ms = cfg->daemon.retry_backoff_max_ms;
    o->backlog_bound = cfg->daemon.backlog_bound;
    o->unreachable_after_ms = cfg->daemon.unreachable_after_ms;
    health_set_urgent_max_age(cfg->daemon.urgent_max_age_ms);
}

/* Origins rank in the order their connectors are configured: the first is
 * trusted most when two changes carry the same timestamp. */
static int build_origins(struct daemon *d, const struct config *cfg)
{
    const char **o = calloc(cfg->n_connectors + 1, sizeof(*o));

    if (o == NULL)
        return -1;
    for (size_t i = 0; i < cfg->n_connectors; i++)
        o[i] = cfg->connectors[i].name;
    free(d->origins);
    d->origins = o;
    d->ingest.policy.origin_priority = d->origins;
    d->ingest.policy.n_origin_priority = cfg->n_connectors;
    return 0;
}

static int open_connectors(struct daemon *d)
{
    size_t n = d->cfg->n_connectors;
    int failed = 0;

    struct health_connector *hc = calloc(n ? n : 1, sizeof(*hc));

    d->conns = calloc(n ? n : 1, sizeof(*d->conns));
    if (d->conns == NULL || hc == NULL) {
        free(hc);
        return -1;
    }
    d->n_conns = n;
    health_clear_reason(HEALTH_CONNECTOR_FAILED);
    health_clear_reason(HEALTH_DESTINATION_UNREACHABLE); /* the new engine tells again */
    health_clear_reason(HEALTH_DESTINATION_REJECTING);
    /* Declared before they open: engine_add sets each destination's backlog
     * bound in this list (declared after, a fresh start lost every bound
     * and /healthz never said backlog_over_bound). */
    for (size_t i = 0; i < n; i++) {
        const struct connector_ops *ops = connector_find_type(d->cfg->connectors[i].type);
        /* A destination is a connector that takes pushes (it has a batch size). */
        hc[i] = (struct health_connector){d->cfg->connectors[i].name, d->cfg->connectors[i].type,
                                          ops != NULL && ops->max_batch > 0};
    }
    health_set_connectors(hc, n);
    for (size_t i = 0; i < n; i++) {
        const struct connector_config *cc = &d->cfg->connectors[i];
        struct connector *c = &d->conns[i];
        struct error err = {""};

        c->ops = connector_find_type(cc->type);
        c->name = cc->name;
        c->settings = cc->settings;
        c->loop = &d->loop;
        c->sink = &d->ingest.sink;
        c->host = &d->ingest.host;
        c->owner = d;
        c->page_max_changes = d->cfg->state.txn_max_changes;
        if (c->ops == NULL || c->ops->open(c, &err) != 0) {
            metrics_declare_connector(cc->name, hc[i].destination, 0);
            log_error("daemon", cc->name, "cannot start connector: %s", err.msg);
            health_raise(HEALTH_CONNECTOR_FAILED, cc->name, "cannot start: %s", err.msg);
            failed = 1;
            continue;
        }
        metrics_declare_connector(cc->name, hc[i].destination, 1);
        if (c->pull_interval_ms > 0 || c->ops->push != NULL) {
            /* The engine owns its pulls (timer, backpressure) and pushes. */
            if (engine_add(d->engine, c, &err) != 0) {
                log_error("daemon", cc->name, "cannot schedule connector: %s", err.msg);
                failed = 1;
            }
            continue;
        }
        c->ops->pull(c);
    }
    free(hc);
    return failed ? -1 : 0;
}

static void connector_closed(struct connector *c)
{
    struct daemon *d = c->owner;

    if (--d->n_closing == 0)
        after_connectors_closed(d);
}

static void close_connectors(struct daemon *d)
{
    /* No new batch or pull from here; those in flight complete (with a
     * cancel) while the connectors close, and their results are recorded. */
    if (d->engine != NULL)
        engine_stop(d->engine);
    d->n_closing = d->n_conns + 1; /* +1: guard until every close is issued */
    for (size_t i = 0; i < d->n_conns; i++) {
        struct connector *c = &d->conns[i];
        if (c->ops != NULL)
            c->ops->close(c, connector_closed);
        else
            d->n_closing--;
    }
    if (--d->n_closing == 0)
        after_connectors_closed(d);
}

/* Writes the quota figures that changed since the last call. */
static void save_quotas(struct daemon *d)
{
    struct store_quota rows[64];
    struct ratelimit *rls[64];
    struct error err = {""};
    int64_t now = timefmt_now_ms();
    size_t n = 0;

    for (size_t i = 0; i < d->n_conns && n < sizeof(rows) / sizeof(rows[0]); i++) {
        struct ratelimit *rl = d->conns[i].ratelimit;
        if (rl == NULL || !rl->quota_changed || rl->quota_limit <= 0)
            continue;
        rows[n] = (struct store_quota){d->conns[i].name, "daily", rl->quota_remaining,
                                       rl->quota_limit, now};
        rls[n++] = rl;
        metrics_gauge_set(METRIC_QUOTA_REMAINING, (const char *[]){d->conns[i].name},
                          (double)rl->quota_remaining);
    }
    if (n == 0)
        return;
    if (store_quota_save(d->store, rows, n, &err) != 0) {
        log_warn("daemon", NULL, "cannot save CRM quotas: %s", err.msg);
        return;
    }
    for (size_t i = 0; i < n; i++)
        rls[i]->quota_changed = 0;
}

/* Drops the member key of erasures every CRM has confirmed (only the
 * tombstone's salted hash stays, DESIGN.md §2). */
static void purge_erasures(struct daemon *d)
{
    const char *dests[64];
    struct error err = {""};
    int64_t purged = 0;
    size_t n = 0;

    for (size_t i = 0; i < d->n_conns && n < sizeof(dests) / sizeof(dests[0]); i++) {
        if (d->conns[i].ops->push != NULL)
            dests[n++] = d->conns[i].name;
    }
    if (store_erasure_purge(d->store, dests, n, &d->purge_from, &purged, &err) != 0)
        log_warn("daemon", NULL, "erasure purge: %s (tried again later)", err.msg);
    else if (purged > 0)
        log_info("daemon", NULL,
                 "erasure: %lld member key(s) purged, every CRM confirmed (tombstones stay)",
                 (long long)purged);
    /* The erased data and, after the purge, the key out of the WAL too. */
    if (store_checkpoint_after_erasure(d->store, purged > 0, &err) < 0)
        log_warn("daemon", NULL, "checkpoint after an erasure: %s (tried again later)", err.msg);
}

/* Every QUOTA_SAVE_MS: quota figures, the erasure purge, done/ after erasures. */
static void quota_cb(uv_timer_t *t)
{
    struct daemon *d = t->data;

    save_quotas(d);
    purge_erasures(d);
    done_scrub_poke(d->scrub, d->cfg, store_tombstone_total(d->store));
}

/* Compaction, key pruning and vacuum, one short step per firing. */
static void retention_cb(uv_timer_t *t)
{
    struct daemon *d = t->data;
    const char *dests[64];
    size_t n = 0;
    uint64_t next;

    for (size_t i = 0; i < d->n_conns && n < sizeof(dests) / sizeof(dests[0]); i++) {
        if (d->conns[i].ops->push != NULL)
            dests[n++] = d->conns[i].name;
    }
    /* While connectors restart (reload), their cursors are not known. */
    if (d->conns == NULL && d->cfg->n_connectors > 0)
        next = 1000;
    else {
        struct retention_policy policy = {
            d->cfg->state.change_retention_ms,  d->cfg->state.dedup_window_ms,
            d->cfg->state.audit_retention_ms,   d->cfg->state.audit_archive,
            d->cfg->state.history_retention_ms, d->cfg->state.ledger_retention_ms,
        };
        next = retention_round(d->store, dests, n, &policy, &d->retained);
    }
    uv_timer_start(&d->retention, retention_cb, next, 0);
}

static void close_handle(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void close_walked(uv_handle_t *h, void *arg)
{
    (void)arg;
    close_handle(h);
}

static void finish_stop(struct daemon *d)
{
    close_handle((uv_handle_t *)&d->sig_hup);
    close_handle((uv_handle_t *)&d->sig_usr1);
    close_handle((uv_handle_t *)&d->sig_term);
    close_handle((uv_handle_t *)&d->sig_int);
    close_handle((uv_handle_t *)&d->control);
    close_handle((uv_handle_t *)&d->watchdog);
    close_handle((uv_handle_t *)&d->grace);
    close_handle((uv_handle_t *)&d->quota);
    close_handle((uv_handle_t *)&d->retention);
    audit_check_close(d->audit); /* frees it once closed: not ours any more */
    d->audit = NULL;
    done_scrub_close(d->scrub);
    d->scrub = NULL;
}

static void after_connectors_closed(struct daemon *d)
{
    struct error err = {""};

    save_quotas(d); /* the engine owns the buckets that hold them */
    engine_free(d->engine);
    d->engine = NULL;
    d->ingest.engine = NULL;
    free(d->conns);
    d->conns = NULL;
    d->n_conns = 0;
    if (d->stopping) {
        log_info("daemon", NULL, "all connectors stopped");
        finish_stop(d);
        return;
    }
    if (d->pending_cfg != NULL) {
        config_free(d->cfg);
        d->cfg = d->pending_cfg;
        d->pending_cfg = NULL;
        apply_log_level(d->cfg);
        audit_check_set_interval(d->audit, d->cfg->daemon.audit_verify_interval_ms);
        build_origins(d, d->cfg);
        struct engine_options eo;
        engine_options_of(d->cfg, &eo);
        if (engine_new(&d->loop, d->store, &eo, &d->engine, &err) != 0) {
            log_error("daemon", NULL, "%s", err.msg);
            return;
        }
        d->ingest.engine = d->engine;
        if (open_connectors(d) != 0)
            log_error("daemon", NULL, "some connectors failed to start after reload");
        log_notice("daemon", NULL, "configuration reloaded: %zu connector(s)", d->n_conns);
        notify_ready("running");
    }
}

static void grace_expired(uv_timer_t *t)
{
    struct daemon *d = t->data;
    log_error("daemon", NULL, "connectors did not stop within %ld ms; exiting anyway",
              d->cfg->daemon.shutdown_grace_ms);
    uv_stop(&d->loop);
}

static void do_stop(struct daemon *d)
{
    if (d->stopping)
        return;
    d->stopping = 1;
    notify_stopping();
    /* No more events over HTTP: what is queued is answered 503. */
    http_ingest_stop(d->http);
    d->http = NULL;
    log_notice("daemon", NULL, "stopping: draining %zu connector(s)", d->n_conns);
    uv_timer_start(&d->grace, grace_expired, (uint64_t)d->cfg->daemon.shutdown_grace_ms, 0);
    uv_unref((uv_handle_t *)&d->grace);
    if (d->n_closing > 0)
        return; /* a reload is closing them already; its completion sees stopping */
    config_free(d->pending_cfg);
    d->pending_cfg = NULL;
    close_connectors(d);
}

/* admin_listen changed: serve on the new address, or stop, or start. On a
 * bind failure the endpoint stays where it was. Runs on the loop, before
 * the connectors are reopened; the admin thread is joined and restarted. */
/* The admin endpoint's options from a configuration. */
static struct admin_options admin_options_of(const struct config *c, const char *state_path)
{
    struct admin_options ao = {c->daemon.admin_listen,
                               state_path,
                               c->state.busy_timeout_ms,
                               {c->daemon.admin_allow_remote, c->daemon.admin_max_connections,
                                c->daemon.admin_per_ip_connections,
                                c->daemon.admin_request_timeout_ms,
                                c->daemon.admin_connections_per_minute}};
    return ao;
}

static void reload_admin(struct daemon *d, const struct config *next)
{
    const char *want = next->daemon.admin_listen;
    struct admin_options ao = admin_options_of(next, d->state_path);
    struct error err = {""};

    if (d->admin != NULL && want != NULL && admin_same_options(d->admin, &ao))
        return;
    if (d->admin == NULL && want == NULL)
        return;
    if (want == NULL) {
        log_notice("admin", NULL, "admin_listen removed: admin endpoint on %s stopped",
                   admin_address(d->admin));
        admin_stop(d->admin);
        d->admin = NULL;
    } else if (d->admin == NULL) {
        if (admin_start(&ao, &d->admin, &err) != 0)
            log_error("admin", NULL, "admin endpoint not started on %s: %s", want, err.msg);
    } else if (admin_rebind(&d->admin, &ao, &err) != 0) {
        if (d->admin != NULL)
            log_error("admin", NULL, "cannot move the admin endpoint to %s, it stays on %s: %s",
                      want, admin_address(d->admin), err.msg);
        else
            log_error("admin", NULL, "admin endpoint stopped: %s", err.msg);
    }
}

static void do_reload(struct daemon *d)
{
    struct config *next = NULL;
    struct error err = {""};

    notify_reloading();
    log_notice("daemon", NULL, "reloading configuration from %s", d->config_path);
    if (config_load(d->config_path, connector_config_lookup, &next, &err) != 0) {
        log_error("daemon", NULL, "new configuration rejected, keeping the running one: %s",
                  err.msg);
        notify_ready("running (last reload failed: see log)");
        metrics_counter_add(METRIC_RELOADS, (const char *[]){"failed"}, 1);
        return;
    }
    metrics_counter_add(METRIC_RELOADS, (const char *[]){"ok"}, 1);
    reload_admin(d, next);
    http_ingest_apply_reload(d->http, next, d->state_path);
    if (strcmp(next->state.path, d->cfg->state.path) != 0)
        log_warn("daemon", NULL, "state.path changed to %s: takes effect only after a restart",
                 next->state.path);
    if (d->n_closing > 0) {
        /* A reload is in progress: the newest configuration wins. */
        config_free(d->pending_cfg);
        d->pending_cfg = next;
        return;
    }
    d->pending_cfg = next;
    close_connectors(d);
}

/* SIGUSR1: crmsyncctl may have recorded requests naming connectors first;
 * a bare signal (kill -USR1) is recorded here as a request for all. */
static void do_resync(struct daemon *d)
{
    struct error err = {""};
    struct store_resync_taken t = {0};

    if (store_resync_take(d->store, &t, &err) == 0 && t.all == 0 && t.n == 0 &&
        (store_record_resync(d->store, NULL, &err) != 0 ||
         store_resync_take(d->store, &t, &err) != 0))
        log_error("daemon", NULL, "cannot record resync request: %s", err.msg);
    if (err.msg[0] != '\0')
        t.all = 1; /* the request could not be read: the signal still means "resync" */
    if (t.all) {
        log_notice("daemon", NULL, "full resync requested for all connectors");
        metrics_counter_add(METRIC_RESYNCS, (const char *[]){"all"}, 1);
    }
    for (size_t i = 0; i < d->n_conns; i++) {
        struct connector *c = &d->conns[i];
        if (!t.all && !store_resync_taken_has(&t, c->name))
            continue;
        if (!t.all) {
            log_notice("daemon", c->name, "full resync requested");
            metrics_counter_add(METRIC_RESYNCS, (const char *[]){c->name}, 1);
        }
        if (d->engine != NULL && engine_resync(d->engine, c->name))
            continue; /* the engine drains, resets, re-pulls and re-pushes */
        if (c->ops != NULL && c->priv != NULL && c->ops->resync != NULL)
            c->ops->resync(c);
    }
    /* Today's connectors reset their watermark synchronously; the engine will
     * mark a request finished when its re-push is done instead. */
    if (store_resync_finish_started(d->store, &err) != 0)
        log_error("daemon", NULL, "cannot mark resync requests done: %s", err.msg);
    store_resync_taken_free(&t);
}

static void control_cb(uv_timer_t *t)
{
    struct daemon *d = t->data;

    if (d->want_stop) {
        d->want_stop = 0;
        do_stop(d);
    }
    if (d->stopping)
        return;
    if (d->want_reload) {
        d->want_reload = 0;
        do_reload(d);
    }
    if (d->want_resync) {
        d->want_resync = 0;
        do_resync(d);
    }
}

static void signal_cb(uv_signal_t *h, int signum)
{
    struct daemon *d = h->data;

    switch (signum) {
    case SIGHUP:
        d->want_reload = 1;
        break;
    case SIGUSR1:
        d->want_resync = 1;
        break;
    default:
        d->want_stop = 1;
        break;
    }
    uv_timer_start(&d->control, control_cb, 0, 0);
}

static void watchdog_cb(uv_timer_t *t)
{
    (void)t;
    notify_watchdog();
}

static int ensure_dir_of(const char *path, char *dir, size_t size, struct error *err)
{
    char tmp[PATH_MAX];

    snprintf(tmp, sizeof(tmp), "%s", path);
    snprintf(dir, size, "%s", dirname(tmp));
    if (mkdir(dir, 0750) != 0 && errno != EEXIST)
        return error_set(err, "cannot create state directory %s: %s", dir, strerror(errno));
    return 0;
}

/* [ingest]: the HTTP ingest listener. Started with the daemon; a reload
 * applies its limits, timeouts, scopes and verification, not its address
 * (src/http_ingest_conf.c). */
static int start_http_ingest(struct daemon *d, struct error *err)
{
    struct http_ingest_options o;

    if (http_ingest_check_settings(&d->cfg->ingest, err) != 0)
        return -1;
    http_ingest_options_of(d->cfg, d->state_path, &o);
    return http_ingest_start(&d->loop, &d->ingest, &o, &d->http, err);
}

static void start_signal(struct daemon *d, uv_signal_t *h, int signum)
{
    uv_signal_init(&d->loop, h);
    h->data = d;
    uv_signal_start(h, signal_cb, signum);
}

/* Before anything is read or created: no file of ours open to others, no
 * core file with tokens in it (issue 14 items 8 and 12); then the
 * configuration. Logs its own failure. */
static int load_config(struct daemon *d, const char *config_path)
{
    struct error err = {""};

    hardening_umask();
    if (hardening_core_dumps_early(&err) != 0) {
        log_error("daemon", NULL, "%s", err.msg);
        return -1;
    }
    if (metrics_init() != 0) {
        log_error("daemon", NULL, "out of memory");
        return -1;
    }
    if (config_load(config_path, connector_config_lookup, &d->cfg, &err) != 0) {
        log_error("daemon", NULL, "invalid configuration:\n%s", err.msg);
        return -1;
    }
    apply_log_level(d->cfg);
    return 0;
}

/* The state directory checked and locked, the store opened, the admin
 * endpoint started (it answers /healthz before the connectors run). */
static int open_state(struct daemon *d, struct error *err)
{
    struct store_options so = {0};
    char state_dir[PATH_MAX];

    if (hardening_core_dumps(d->cfg->daemon.allow_core_dumps, err) != 0)
        return -1;
    if (ensure_dir_of(d->cfg->state.path, state_dir, sizeof(state_dir), err) != 0)
        return -1;
    if (hardening_check_state_dir(state_dir, err) != 0)
        return -1;
    d->lock_fd = lockfile_acquire(state_dir, err);
    if (d->lock_fd < 0)
        return -1;
    if (hardening_state_files(d->cfg->state.path, err) != 0)
        return -1;
    so.path = d->cfg->state.path;
    so.synchronous_normal = d->cfg->state.synchronous == STATE_SYNC_NORMAL;
    so.busy_timeout_ms = d->cfg->state.busy_timeout_ms;
    if (store_open(&so, &d->store, err) != 0)
        return -1;
    snprintf(d->state_path, sizeof(d->state_path), "%s", d->cfg->state.path);
    if (d->cfg->daemon.admin_listen != NULL) {
        struct admin_options ao = admin_options_of(d->cfg, d->state_path);
        if (admin_start(&ao, &d->admin, err) != 0)
            return -1;
    }
    ingest_init(&d->ingest, d->store, NULL, 0);
    if (build_origins(d, d->cfg) != 0)
        return error_set(err, "out of memory");
    return 0;
}

/* The loop, its timers and the signals; nothing here fails. */
static void start_loop(struct daemon *d)
{
    uint64_t wd_ms;

    uv_loop_init(&d->loop);
    uv_timer_init(&d->loop, &d->control);
    uv_timer_init(&d->loop, &d->watchdog);
    uv_timer_init(&d->loop, &d->grace);
    uv_timer_init(&d->loop, &d->quota);
    uv_timer_init(&d->loop, &d->retention);
    d->control.data = d->watchdog.data = d->grace.data = d->quota.data = d->retention.data = d;
    uv_timer_start(&d->quota, quota_cb, QUOTA_SAVE_MS, QUOTA_SAVE_MS);
    uv_timer_start(&d->retention, retention_cb, 1000, 0);
    start_signal(d, &d->sig_hup, SIGHUP);
    start_signal(d, &d->sig_usr1, SIGUSR1);
    start_signal(d, &d->sig_term, SIGTERM);
    start_signal(d, &d->sig_int, SIGINT);
    wd_ms = d->cfg->daemon.watchdog_ms > 0 ? (uint64_t)d->cfg->daemon.watchdog_ms
                                           : notify_watchdog_ms();
    if (wd_ms > 0)
        uv_timer_start(&d->watchdog, watchdog_cb, wd_ms / 2, wd_ms / 2);
}

/* The engine, the HTTP ingest and the connectors; then, unless a connector
 * that could not start stops the daemon, the audit check, the done/ scrub
 * and "running". Fails only before the connectors open. */
/* audit_check's busy: some destination has changes not pushed yet (the
 * audit walk waits for them; audit_check.h). */
static int pushes_busy(void *arg)
{
    struct daemon *d = arg;
    const char *name;

    return d->engine != NULL && engine_max_backlog(d->engine, &name) > 0;
}

static int start_work(struct daemon *d, struct error *err)
{
    struct engine_options eopts;

    engine_options_of(d->cfg, &eopts);
    if (engine_new(&d->loop, d->store, &eopts, &d->engine, err) != 0)
        return -1;
    d->ingest.engine = d->engine;
    if (d->cfg->ingest.listen != NULL && start_http_ingest(d, err) != 0)
        return -1;
    if (open_connectors(d) != 0) {
        if (d->cfg->daemon.connector_start_failure == CONNECTOR_START_FATAL) {
            /* Issue 19: it used to run on as if healthy. The connectors that
             * did open are drained and closed as at SIGTERM. */
            log_error("daemon", NULL,
                      "a connector cannot start (see above): exiting; with [daemon] "
                      "connector_start_failure = unhealthy it would run without it");
            d->exit_code = 1;
            do_stop(d);
        } else {
            log_error("daemon", NULL,
                      "some connectors failed to start (see above); running without them "
                      "(connector_start_failure = unhealthy): /healthz says connector_failed");
        }
    }
    /* Created last: nothing above may fail after it (it is freed through
     * the loop only). */
    if (!d->stopping) {
        d->audit = audit_check_new(&d->loop, d->state_path, d->cfg->state.busy_timeout_ms,
                                   d->cfg->daemon.audit_verify_interval_ms);
        if (d->audit == NULL)
            log_error("daemon", NULL, "out of memory: the audit chain is not verified");
        audit_check_set_busy(d->audit, pushes_busy, d);
        d->scrub = done_scrub_new(&d->loop, d->state_path, d->cfg->state.busy_timeout_ms);
        if (d->scrub == NULL)
            log_error("daemon", NULL, "out of memory: erased members stay in spool done/ files");
    }
    if (!d->stopping) {
        log_notice("daemon", NULL, "crmsyncd %s running: state %s, %zu connector(s)",
                   CRMSYNC_VERSION, d->cfg->state.path, d->n_conns);
        if (d->cfg->n_connectors == 0)
            log_warn("daemon", NULL,
                     "the configuration has no [connector.NAME] section: nothing is synced "
                     "(add connectors, then systemctl reload crmsyncd)");
        notify_ready("running");
    }
    /* Opened last, when nothing can fail before the loop runs: a run on
     * the thread pool must be over before the store closes, and only the
     * loop's final run below waits for it. */
    d->wal = wal_worker_start(&d->loop, d->store, d->state_path);
    return 0;
}

/* After the loop ran: either every handle closed (clean drain) or the
 * grace timer stopped the loop: close what is left so the loop can be
 * closed. */
static void close_loop(struct daemon *d)
{
    if (d->n_conns > 0 || d->n_closing > 0)
        log_warn("daemon", NULL, "exiting with %zu connector(s) not fully closed", d->n_closing);
    http_ingest_stop(d->http); /* only left when the loop ended without a stop */
    d->http = NULL;
    finish_stop(d);
    engine_free(d->engine); /* only left when the grace period ran out */
    d->engine = NULL;
    uv_walk(&d->loop, close_walked, NULL);
    uv_run(&d->loop, UV_RUN_DEFAULT); /* a checkpoint run ends here too */
    wal_worker_stop(d->wal, d->store);
    d->wal = NULL;
    uv_loop_close(&d->loop);
    log_notice("daemon", NULL, "stopped");
}

int daemon_run(const char *config_path)
{
    struct daemon d;
    struct error err = {""};
    int rc = 1;

    memset(&d, 0, sizeof(d));
    d.config_path = config_path;
    d.lock_fd = -1;
    if (load_config(&d, config_path) != 0)
        goto out;
    if (open_state(&d, &err) != 0)
        goto fail;
    start_loop(&d);
    if (start_work(&d, &err) != 0)
        goto fail;
    uv_run(&d.loop, UV_RUN_DEFAULT);
    close_loop(&d);
    rc = d.exit_code;
    goto out;
fail:
    log_error("daemon", NULL, "%s", err.msg);
out:
    admin_stop(d.admin);
    store_close(d.store);
    lockfile_release(d.lock_fd);
    config_free(d.pending_cfg);
    config_free(d.cfg);
    free(d.conns);
    free(d.origins);
    metrics_shutdown();
    return rc;
}
