/* Every connector type the daemon knows. Adding a CRM is one line here. */
#include <string.h>

#include "connector.h"

extern const struct connector_ops spool_connector_ops;
extern const struct connector_ops hubspot_connector_ops;
extern const struct connector_ops salesforce_connector_ops;
extern const struct connector_ops adobe_campaign_connector_ops;

static const struct connector_ops *const registry[] = {
    &spool_connector_ops,
    &hubspot_connector_ops,
    &salesforce_connector_ops,
    &adobe_campaign_connector_ops,
};

const struct connector_ops *connector_find_type(const char *type)
{
    for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++) {
        if (strcmp(registry[i]->type, type) == 0)
            return registry[i];
    }
    return NULL;
}

const struct config_table *connector_config_lookup(const char *type)
{
    const struct connector_ops *ops = connector_find_type(type);
    return ops ? ops->config : NULL;
}

const struct connector_ops *connector_type_at(size_t i)
{
    return i < sizeof(registry) / sizeof(registry[0]) ? registry[i] : NULL;
}
