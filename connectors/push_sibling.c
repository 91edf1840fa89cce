/* The sibling fields a push record carries (connector.h, struct
 * push_sibling): which records want one, and reading the value the engine
 * attached. */
#include <string.h>

#include "connector.h"

int push_sibling_wanted(const struct push_sibling *s, const char *field)
{
    return s->when == NULL || strncmp(field, s->when, strlen(s->when)) == 0;
}

const char *push_record_sibling(const struct connector *conn, const struct push_record *rec,
                                const char *field)
{
    const struct push_sibling *s = conn->ops->push_siblings;

    if (s == NULL || rec->siblings == NULL)
        return NULL;
    for (size_t i = 0; s[i].field != NULL; i++) {
        if (strcmp(s[i].field, field) == 0)
            return rec->siblings[i];
    }
    return NULL;
}
