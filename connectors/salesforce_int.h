/* The Salesforce connector instance, shared by the I/O halves
 * (salesforce.c, salesforce_push.c, salesforce_pull.c). The pure halves
 * only see salesforce.h. */
#ifndef CRMSYNC_SALESFORCE_INT_H
#define CRMSYNC_SALESFORCE_INT_H

#include "salesforce.h"

enum { SF_AUTH_JWT = 0, SF_AUTH_CLIENT_CREDENTIALS = 1 };

struct salesforce_settings {
    char *login_url;
    int auth;
    char *client_id, *username, *private_key_file, *client_secret_file, *token_url;
    char *api_version;
    long session_lifetime_ms;
    char *external_id_field;
    int consent_mode, points_mode;
    char *points_field, *tier_field, *flag_purpose;
    char *email_flag, *phone_flag, *sms_flag, *post_flag;
    char *attribute_map, *last_name_placeholder;
    long bulk_threshold;
    long pull_interval_ms, lookback_ms, deleted_sweep_ms;
    long rate, burst, max_inflight, daily_reserve;
    long quota_retry_ms;
    char *ca_file;
    int allow_loopback_http;
    long request_timeout_ms;
};

extern const struct config_table salesforce_config;

struct oauth;
struct req_ctx;
struct sf_job;

struct salesforce {
    struct connector *conn;
    const struct salesforce_settings *cfg;
    struct sf_map map;
    char login[512];
    struct http_limits limits;
    struct http_client *http;
    struct oauth *oauth;
    uv_timer_t defer;
    int handles_open;
    int closing;
    void (*closed)(struct connector *conn);
    int bootstrapping;
    struct req_ctx *waiting;
    struct sf_job *done_q;
    struct sf_pull_state pull;
    /* The daily budget, from Sforce-Limit-Info. */
    long api_used, api_limit;
    int quota_exhausted, auth_failing;
    unsigned long refreshes_seen;
};

int sf_inside_reserve(const struct salesforce *sf);
void sf_op_push(struct connector *conn, struct push_batch *pb);
/* Answers the push batches queued by jobs (from the defer timer). */
void sf_flush_done(struct salesforce *sf);

#endif
