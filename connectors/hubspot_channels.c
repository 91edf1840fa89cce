/* The consent channels HubSpot keeps in custom contact properties (EMAIL
 * goes through the subscription API): a table of its own, which the map,
 * the identity helpers and the pull parser read, so that none of them
 * depends on another for it (tools/file-circles.py). */
#include "hubspot.h"

const char *const hs_property_channels[] = {"sms", "phone", "post", NULL};
