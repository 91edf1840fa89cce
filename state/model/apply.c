/* The names of the apply results (apply.h), part of the canonical model so
 * that a connector or the daemon can print one without the SQLite store. */
#include "apply.h"

const char *apply_result_name(enum apply_result r)
{
    static const char *const names[] = {"applied", "unchanged", "duplicate", "rejected", "erased"};
    return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}
