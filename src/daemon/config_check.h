/* --check-config's connector pass: each CRM connector's own start-up
 * validation (what open() refuses: a missing token_file, missing
 * credentials, a bad subscriptions value, tiers out of order, an unknown
 * attribute_map key) run at check time, so that a configuration the daemon
 * cannot run is not called valid (issue 19). */
#ifndef CRMSYNC_CONFIG_CHECK_H
#define CRMSYNC_CONFIG_CHECK_H

#include <stdio.h>

#include "config.h"

/* Opens and closes every connector that pushes (the spool connector creates
 * its directories when it opens: it is not opened here) on a private loop;
 * no request is sent. Prints "file:line: [connector.NAME] cannot start:
 * why" to out per failure; returns how many failed. */
int config_check_connectors(const struct config *cfg, FILE *out);

/* Every key of a connector's attribute_map names a profile attribute some
 * input accepts (a spool connector's attributes; the HTTP ingest's default
 * vocabulary): a key no input can deliver is a typo the daemon would only
 * ever ignore. Skipped when nothing but CRMs feeds profiles. Prints
 * "file:line: ..." per key; returns how many. */
int config_check_attribute_maps(const struct config *cfg, FILE *out);

#endif
