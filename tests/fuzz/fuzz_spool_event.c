/* One spool line (docs/spool-format.md) through the real parser. */
#include "fuzz_util.h"
#include "spool_event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = fuzz_str(data, size);
    struct spool_event ev;
    struct error err = {""};

    if (spool_event_parse(line, size, &spool_default_vocab, "shop", "fuzz.jsonl:1", &ev, &err) ==
        0) {
        /* Every change carries what the store needs. */
        for (size_t i = 0; i < ev.n; i++) {
            if (ev.changes[i].member_key == NULL || ev.changes[i].field == NULL ||
                ev.changes[i].value_json == NULL || ev.changes[i].idem_key == NULL)
                __builtin_trap();
        }
    }
    spool_event_release(&ev);
    free(line);
    return 0;
}
