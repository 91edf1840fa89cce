/* See store_tombstone.h. The same lookup as the apply path's, through the
 * prepared statement it uses; free when nobody was ever erased. */
#include "store_tombstone.h"

#include <sqlite3.h>

#include "store_internal.h"

int store_member_erased(struct store *st, const char *member_key, int *erased, struct error *err)
{
    char h[65];
    int s;

    *erased = 0;
    if (st->tombstone_count == 0 || member_key == NULL)
        return 0;
    store_member_hash(st, member_key, h);
    sqlite3_bind_text(st->get_tomb, 1, h, -1, SQLITE_TRANSIENT);
    s = sqlite3_step(st->get_tomb);
    sqlite3_reset(st->get_tomb);
    if (s == SQLITE_ROW)
        *erased = 1;
    else if (s != SQLITE_DONE)
        return store_sql_error(st, err, "read tombstone");
    return 0;
}

int64_t store_tombstone_total(const struct store *st)
{
    return st->tombstone_count;
}
