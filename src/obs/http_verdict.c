/* See http_verdict.h. A fixed table, like the health registry's: a few
 * connectors, one entry each, the latest failure only. */
#include "http_verdict.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define VERDICT_MAX 64
#define VERDICT_NAME_MAX 64

struct verdict {
    char connector[VERDICT_NAME_MAX];
    long status;
    char endpoint[HTTP_VERDICT_ENDPOINT_MAX];
    int64_t at_ms;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct verdict table[VERDICT_MAX];
static size_t n_used;

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The entry of connector (made when absent, the oldest reused when the
 * table is full); called with the lock held. */
static struct verdict *entry(const char *connector, int make)
{
    struct verdict *oldest = NULL;

    for (size_t i = 0; i < n_used; i++) {
        if (strcmp(table[i].connector, connector) == 0)
            return &table[i];
        if (oldest == NULL || table[i].at_ms < oldest->at_ms)
            oldest = &table[i];
    }
    if (!make)
        return NULL;
    if (n_used < VERDICT_MAX)
        oldest = &table[n_used++];
    memset(oldest, 0, sizeof(*oldest));
    snprintf(oldest->connector, sizeof(oldest->connector), "%s", connector);
    return oldest;
}

void http_verdict_note(const char *connector, long status, const char *endpoint)
{
    struct verdict *v;

    if (connector == NULL || connector[0] == '\0' || (status > 0 && status < 400))
        return;
    pthread_mutex_lock(&lock);
    v = entry(connector, 1);
    v->status = status;
    snprintf(v->endpoint, sizeof(v->endpoint), "%s", endpoint != NULL ? endpoint : "");
    v->at_ms = wall_ms();
    pthread_mutex_unlock(&lock);
}

int http_verdict_is_rejection(long status)
{
    return status >= 400 && status < 500 && status != 408 && status != 429;
}

int http_verdict_rejecting(const char *connector, int64_t since_ms, long *status, char *endpoint,
                           size_t endpoint_size)
{
    const struct verdict *v;
    int rejecting = 0;

    pthread_mutex_lock(&lock);
    v = connector != NULL ? entry(connector, 0) : NULL;
    if (v != NULL && v->at_ms >= since_ms && http_verdict_is_rejection(v->status)) {
        rejecting = 1;
        *status = v->status;
        if (endpoint_size > 0)
            snprintf(endpoint, endpoint_size, "%s", v->endpoint);
    }
    pthread_mutex_unlock(&lock);
    return rejecting;
}

const char *http_verdict_config_hint(const char *type, long status)
{
    static const struct {
        const char *type;
        long status; /* 0: any other 4xx */
        const char *hint;
    } hints[] = {
        {"hubspot", 401,
         "token_file (auth = static), or client_id, client_secret_file and refresh_token_file "
         "(auth = oauth)"},
        {"hubspot", 403, "the scopes of the app whose token is in token_file (or of client_id)"},
        {"hubspot", 404, "base_url, and the ids in subscriptions"},
        {"hubspot", 0, "attribute_map, id_property, points_property, tier_property"},
        {"salesforce", 401,
         "client_id, username and private_key_file (auth = jwt), or client_secret_file"},
        {"salesforce", 403, "the permissions of the integration user (username) and of client_id"},
        {"salesforce", 404,
         "login_url, api_version, and the objects and fields of external_id_field, points_field, "
         "tier_field, attribute_map"},
        {"salesforce", 0, "attribute_map, external_id_field, points_field, tier_field"},
        {"adobe_campaign", 401, "client_id, client_secret_file and ims_url (Adobe IMS)"},
        {"adobe_campaign", 403, "the rights of the technical account of client_id, and scope"},
        {"adobe_campaign", 404, "base_url"},
        {"adobe_campaign", 0, "attribute_map, key, services"},
        {NULL, 401, "the connector's credentials"},
        {NULL, 403, "the connector's permissions in the CRM"},
        {NULL, 404, "the connector's base URL"},
        {NULL, 0, "the connector's field mapping (attribute_map)"},
    };

    for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++) {
        if (hints[i].type != NULL && (type == NULL || strcmp(hints[i].type, type) != 0))
            continue;
        if (hints[i].status == 0 || hints[i].status == status)
            return hints[i].hint;
    }
    return "the connector's options";
}

void http_verdict_reset(void)
{
    pthread_mutex_lock(&lock);
    memset(table, 0, sizeof(table));
    n_used = 0;
    pthread_mutex_unlock(&lock);
}
