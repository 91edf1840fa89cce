/* Shared by the libFuzzer harnesses: the input as a NUL-terminated string. */
#ifndef CRMSYNC_FUZZ_UTIL_H
#define CRMSYNC_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* malloc'd copy with a terminating NUL (so ASan sees reads past the end). */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#endif
