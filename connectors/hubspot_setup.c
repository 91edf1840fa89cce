/* The HubSpot connector's setup (docs/hubspot.md): the custom contact
 * properties it writes are listed, the missing ones created, then the
 * connector is ready to push. Moved out of hubspot.c (issue 18). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubspot.h"
#include "log.h"
#include "metrics.h"

struct prop_spec {
    char name[160];
    const char *type, *field_type;
    int unique;
};

static void setup_retry(struct hubspot *hs);

struct setup_ctx {
    struct hubspot *hs;
    json_t *todo; /* property definitions still to create, in order */
    size_t next;
    int failed; /* a property could not be created: not ready */
};

/* Ready only when every property exists: pushing before that would have
 * HubSpot refuse the values ("property does not exist") and dead-letter
 * them. A failed creation retries the whole setup later. */
static void setup_done(struct setup_ctx *sc)
{
    struct hubspot *hs = sc->hs;
    int failed = sc->failed;

    hs->setup_pending = 0;
    json_decref(sc->todo);
    free(sc);
    if (hs->closing)
        return;
    if (failed) {
        log_warn("hubspot", hs->conn->name, "contact properties not ready; retrying setup");
        setup_retry(hs);
        return;
    }
    hs->ready = 1;
    metrics_gauge_set(METRIC_HUBSPOT_READY, (const char *[]){hs->conn->name}, 1);
    log_info("hubspot", hs->conn->name, "contact properties ready");
    if (hs->conn->host != NULL && hs->conn->host->resume != NULL)
        hs->conn->host->resume(hs->conn->host->ctx, hs->conn);
}

static void prop_created(struct http_result *res, void *arg);

/* Creates the missing properties one at a time: all at once, the requests
 * queued behind a 429 still went out inside its Retry-After hold (chaos
 * hubspot-faults counted 4 to 28 such requests per run). A hold stops the
 * round; the setup starts again when it is over. */
static void create_next(struct setup_ctx *sc)
{
    struct hubspot *hs = sc->hs;

    while (sc->next < json_array_size(sc->todo)) {
        json_t *def = json_array_get(sc->todo, sc->next++);
        char *text;
        int rc;

        if (hs->closing || crm_held_ms(hs->conn) > 0) {
            sc->failed = 1;
            break;
        }
        text = json_dumps(def, JSON_COMPACT);
        rc = text == NULL ? -1
                          : hs_request(hs, HTTP_POST, hs_path(hs, HS_V_PROPERTIES, ""), text,
                                       prop_created, sc);
        free(text);
        if (rc == 0) {
            log_info("hubspot", hs->conn->name, "creating contact property %s",
                     json_string_value(json_object_get(def, "name")));
            return;
        }
        sc->failed = 1;
    }
    setup_done(sc);
}

static void prop_created(struct http_result *res, void *arg)
{
    struct setup_ctx *sc = arg;

    if (res->cls != HTTP_CLASS_OK && res->status != 409) {
        char msg[200], st[32];
        hs_error_message(res->body, msg, sizeof(msg));
        log_error("hubspot", sc->hs->conn->name, "cannot create a contact property: %s %s",
                  http_result_label(res, st, sizeof(st)), msg[0] ? msg : res->error);
        sc->failed = 1;
    }
    if (sc->failed)
        sc->next = json_array_size(sc->todo); /* the whole setup is tried again */
    create_next(sc);
}

static void props_listed(struct http_result *res, void *arg)
{
    struct setup_ctx *sc = arg;
    struct hubspot *hs = sc->hs;
    json_t *root, *have, *wanted;
    size_t i;
    json_t *v;

    if (res->cls != HTTP_CLASS_OK) {
        log_warn("hubspot", hs->conn->name, "cannot list contact properties (%s); retrying",
                 res->status ? "HTTP error" : res->error);
        free(sc);
        hs->setup_pending = 0;
        setup_retry(hs);
        return;
    }
    root = json_loads(res->body ? res->body : "", 0, NULL);
    have = json_object();
    json_array_foreach(json_object_get(root, "results"), i, v)
    {
        const char *name = json_string_value(json_object_get(v, "name"));
        if (name != NULL)
            json_object_set_new(have, name, json_true());
    }
    json_decref(root);
    if (crm_held_ms(hs->conn) > 0) {
        /* A 429 came meanwhile: try the whole setup again after the hold. */
        json_decref(have);
        free(sc);
        hs->setup_pending = 0;
        setup_retry(hs);
        return;
    }
    wanted = hs_mapped_properties(&hs->map);
    sc->todo = json_array();
    json_array_foreach(wanted, i, v)
    {
        const char *name = json_string_value(v);
        const char *type = "string", *ftype = "text";
        size_t len = strlen(name);

        if (json_object_get(have, name) != NULL || strcmp(name, "lastmodifieddate") == 0 ||
            crm_pairs_key_of(&hs->map.attrs, name) != NULL || strcmp(name, "email") == 0)
            continue;
        if (strcmp(name, hs->map.points_property) == 0) {
            type = "number";
            ftype = "number";
        } else if (len > 5 && strcmp(name + len - 5, "_date") == 0) {
            type = "datetime";
            ftype = "date";
        }
        json_array_append_new(
            sc->todo, json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "name", name, "label", name,
                                "type", type, "fieldType", ftype, "groupName", "contactinformation",
                                "hasUniqueValue", strcmp(name, hs->map.id_property) == 0));
    }
    json_decref(wanted);
    json_decref(have);
    create_next(sc);
}

static void setup_timer_cb(uv_timer_t *t);

void hs_setup_start(struct hubspot *hs)
{
    struct setup_ctx *sc;
    uint64_t hold;

    if (hs->closing || hs->ready || hs->setup_pending)
        return;
    hold = crm_held_ms(hs->conn);
    if (hold > 0) {
        uv_timer_start(&hs->setup_timer, setup_timer_cb, hold + 1, 0);
        return;
    }
    sc = calloc(1, sizeof(*sc));
    if (sc == NULL)
        return;
    sc->hs = hs;
    hs->setup_pending = 1;
    if (hs_request(hs, HTTP_GET, hs_path(hs, HS_V_PROPERTIES, ""), NULL, props_listed, sc) != 0) {
        free(sc);
        hs->setup_pending = 0;
        setup_retry(hs);
    }
}

static void setup_timer_cb(uv_timer_t *t)
{
    hs_setup_start(t->data);
}

static void setup_retry(struct hubspot *hs)
{
    if (!hs->closing)
        uv_timer_start(&hs->setup_timer, setup_timer_cb, 5000, 0);
}
