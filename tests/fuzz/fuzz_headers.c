/* Header parsers: Retry-After (delta-seconds or HTTP-date) and Salesforce's
 * Sforce-Limit-Info. The first byte picks the parser. */
#include "fuzz_util.h"
#include "http_result.h"
#include "ratelimit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s;
    long ms = -1, used = 0, limit = 0;

    if (size < 1)
        return 0;
    s = fuzz_str(data + 1, size - 1);
    if (data[0] & 1) {
        if (http_parse_retry_after(s, (time_t)1795000000, &ms) == 0 && (ms < 0 || ms > 86400000L))
            __builtin_trap(); /* documented: >= 0, capped at one day */
    } else if (ratelimit_parse_sforce(s, &used, &limit) == 0 && (used < 0 || limit <= 0)) {
        __builtin_trap();
    }
    free(s);
    return 0;
}
