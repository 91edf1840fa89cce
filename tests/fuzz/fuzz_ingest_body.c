/* The body of POST /v1/events (src/http_ingest_body.c): the first byte picks
 * JSON or JSON lines, the rest is the body. Every item is either a parsed
 * event with what the store needs, or malformed with a reason. */
#include "fuzz_util.h"
#include "http_ingest_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ingest_body b;
    struct error err = {""};
    enum ingest_body_type type;
    char *body;

    if (size == 0)
        return 0;
    type = (data[0] & 1) ? INGEST_BODY_NDJSON : INGEST_BODY_JSON;
    body = fuzz_str(data + 1, size - 1);
    if (ingest_body_parse(body, size - 1, type, &spool_default_vocab, "http", "client:fuzz", &b,
                          &err) == 0) {
        if (b.n == 0 || b.n > INGEST_BODY_MAX_EVENTS)
            __builtin_trap();
        for (size_t i = 0; i < b.n; i++) {
            const struct ingest_item *it = &b.items[i];
            if (!it->ok && it->reason[0] == '\0')
                __builtin_trap();
            for (size_t k = 0; it->ok && k < it->ev.n; k++) {
                const struct change *c = &it->ev.changes[k];
                if (c->member_key == NULL || c->field == NULL || c->value_json == NULL ||
                    c->idem_key == NULL)
                    __builtin_trap();
            }
        }
        ingest_body_release(&b);
    } else if (b.n != 0 || b.items != NULL) {
        __builtin_trap(); /* a refused body leaves nothing behind */
    }
    free(body);
    return 0;
}
