/* RFC 3339 timestamps: parse, and a parsed value formats and parses back to
 * the same instant. */
#include "fuzz_util.h"
#include "timefmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_str(data, size);
    int64_t ms = 0, back = 0;
    char buf[64];

    if (timefmt_parse_rfc3339(s, &ms) == 0) {
        timefmt_format_rfc3339(ms, buf, sizeof(buf));
        if (timefmt_parse_rfc3339(buf, &back) != 0 || back != ms)
            __builtin_trap();
    }
    free(s);
    return 0;
}
