/* "name=value, name=value" maps and "a, b, c" lists of connector options
 * (subscriptions, attribute_map, services, ...), parsed once for every
 * connector. Pure. */
#ifndef CRMSYNC_CRM_PAIRS_H
#define CRMSYNC_CRM_PAIRS_H

#include <stddef.h>

#include "error.h"

struct crm_pair {
    char *key;
    char *val;
};

struct crm_pairs {
    struct crm_pair *p;
    size_t n;
};

/* Parses text ("" or NULL: no pairs). Blanks around names and values are
 * dropped; an empty entry between commas is skipped; an entry without '=',
 * or with an empty name or value, is refused with what (the option's name)
 * in the message. 0, or -1 with err set (out left empty). */
int crm_pairs_parse(const char *text, const char *what, struct crm_pairs *out, struct error *err);
void crm_pairs_free(struct crm_pairs *ps);
/* The value of key, or NULL. */
const char *crm_pairs_get(const struct crm_pairs *ps, const char *key);
/* The first key whose value is val, or NULL. */
const char *crm_pairs_key_of(const struct crm_pairs *ps, const char *val);

struct crm_list {
    char **v;
    size_t n;
};

/* "a, b, c" -> items (blanks dropped, empty items skipped). 0 or -1. */
int crm_list_parse(const char *text, struct crm_list *out, struct error *err);
void crm_list_free(struct crm_list *l);
/* 1 when item is in the list. */
int crm_list_has(const struct crm_list *l, const char *item);
/* Appends a copy of item unless the list has it. 0, or -1 (out of memory:
 * the list is unchanged). */
int crm_list_add(struct crm_list *l, const char *item);

#endif
