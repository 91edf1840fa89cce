/* The flavour registry: adding a flavour is one line here plus its file. */
#include <string.h>

#include "sim.h"

static const struct sim_flavor_ops *const flavors[] = {
    &sim_flavor_hubspot,
    &sim_flavor_salesforce,
    &sim_flavor_adobe,
};

const struct sim_flavor_ops *sim_flavor_find(const char *name)
{
    for (size_t i = 0; i < sizeof(flavors) / sizeof(flavors[0]); i++) {
        if (strcmp(flavors[i]->name, name) == 0)
            return flavors[i];
    }
    return NULL;
}
