/* application/x-www-form-urlencoded bodies (OAuth token requests). Pure. */
#ifndef CRMSIM_FORM_H
#define CRMSIM_FORM_H

#include <stddef.h>

/* Finds `name` in the body and percent/plus-decodes its value into out.
 * Returns 1 if found, 0 if not, -1 if malformed or longer than outlen - 1. */
int sim_form_get(const char *body, size_t len, const char *name, char *out, size_t outlen);

#endif
