/* Member keys with a write in flight (docs/adobe_campaign.md "One write
 * in flight per member key"): a key is taken for a write and, released,
 * settles for key_settle before another write of it goes (Enterprise
 * twins). Jobs waiting for a key are woken through acc->wake_waiting
 * (adobe_push.c's, set by adobe.c), so that this file does not call back
 * into the push. Moved out of adobe.c (issue 18). */
#include <stdlib.h>
#include <string.h>

#include "adobe_int.h"

static void key_remove(struct adobe *acc, size_t i)
{
    free(acc->busy_keys[i]);
    acc->nbusy--;
    acc->busy_keys[i] = acc->busy_keys[acc->nbusy];
    acc->busy_until[i] = acc->busy_until[acc->nbusy];
}

int acc_key_busy(const struct adobe *acc, const char *key)
{
    for (size_t i = 0; i < acc->nbusy; i++) {
        if (strcmp(acc->busy_keys[i], key) == 0)
            return acc->busy_until[i] == 0 || acc->busy_until[i] > crm_mono_ms();
    }
    return 0;
}

int acc_key_take(struct adobe *acc, const char *key)
{
    char *copy;

    for (size_t i = 0; i < acc->nbusy; i++) {
        if (strcmp(acc->busy_keys[i], key) == 0) {
            acc->busy_until[i] = 0; /* settled, held again */
            return 0;
        }
    }
    if (acc->nbusy == acc->capbusy) {
        size_t cap = acc->capbusy ? acc->capbusy * 2 : 64;
        char **grown = realloc(acc->busy_keys, cap * sizeof(*grown));
        uint64_t *until;
        if (grown == NULL)
            return -1;
        acc->busy_keys = grown;
        until = realloc(acc->busy_until, cap * sizeof(*until));
        if (until == NULL)
            return -1;
        acc->busy_until = until;
        acc->capbusy = cap;
    }
    copy = strdup(key);
    if (copy == NULL)
        return -1;
    acc->busy_keys[acc->nbusy] = copy;
    acc->busy_until[acc->nbusy] = 0;
    acc->nbusy++;
    return 0;
}

/* Settled keys are dropped; jobs waiting for them start. */
static void settle_cb(uv_timer_t *t)
{
    struct adobe *acc = t->data;
    uint64_t now = crm_mono_ms(), next = 0;

    for (size_t i = 0; i < acc->nbusy;) {
        uint64_t u = acc->busy_until[i];
        if (u != 0 && u <= now) {
            key_remove(acc, i);
            continue;
        }
        if (u != 0 && (next == 0 || u < next))
            next = u;
        i++;
    }
    if (next != 0)
        uv_timer_start(&acc->settle_timer, settle_cb, next - now, 0);
    if (!acc->closing && acc->wake_waiting != NULL)
        acc->wake_waiting(acc);
}

void acc_key_release(struct adobe *acc, const char *key)
{
    for (size_t i = 0; i < acc->nbusy; i++) {
        if (strcmp(acc->busy_keys[i], key) != 0)
            continue;
        if (acc->cfg->key_settle_ms <= 0 || acc->closing) {
            key_remove(acc, i);
            return;
        }
        acc->busy_until[i] = crm_mono_ms() + (uint64_t)acc->cfg->key_settle_ms;
        /* Every key settles for the same time: a running timer is due
         * first. */
        if (!uv_is_active((uv_handle_t *)&acc->settle_timer))
            uv_timer_start(&acc->settle_timer, settle_cb, (uint64_t)acc->cfg->key_settle_ms, 0);
        return;
    }
}
