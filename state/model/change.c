#include "change.h"

#include <string.h>

static const char *const kind_names[] = {"consent", "points",  "tier",
                                         "segment", "profile", "erase"};

const char *change_kind_name(enum change_kind kind)
{
    if ((unsigned)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
        return "?";
    return kind_names[kind];
}

int change_kind_parse(const char *name, enum change_kind *out)
{
    for (unsigned i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
        if (strcmp(name, kind_names[i]) == 0) {
            *out = (enum change_kind)i;
            return 0;
        }
    }
    return -1;
}

static const char *const status_names[] = {"unknown", "granted", "denied"};

const char *consent_status_name(enum consent_status status)
{
    if ((unsigned)status >= sizeof(status_names) / sizeof(status_names[0]))
        return "?";
    return status_names[status];
}

int consent_status_parse(const char *name, enum consent_status *out)
{
    for (unsigned i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++) {
        if (strcmp(name, status_names[i]) == 0) {
            *out = (enum consent_status)i;
            return 0;
        }
    }
    return -1;
}

enum change_lane change_lane_of(const struct change *c)
{
    if (c->kind == CHANGE_ERASE)
        return LANE_URGENT;
    if (c->kind == CHANGE_CONSENT && c->consent.status == CONSENT_DENIED)
        return LANE_URGENT;
    if (c->kind == CHANGE_POINTS || c->kind == CHANGE_TIER)
        return LANE_POINTS;
    return LANE_BULK;
}
