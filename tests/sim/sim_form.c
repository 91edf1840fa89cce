#include "sim_form.h"

#include <string.h>

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int sim_form_get(const char *body, size_t len, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    size_t i = 0;

    while (i < len) {
        size_t end = i;

        while (end < len && body[end] != '&')
            end++;
        if (end - i > nlen && strncmp(body + i, name, nlen) == 0 && body[i + nlen] == '=') {
            size_t o = 0;

            for (size_t k = i + nlen + 1; k < end; k++) {
                int c = (unsigned char)body[k];

                if (c == '+') {
                    c = ' ';
                } else if (c == '%') {
                    int hi, lo;

                    if (k + 2 >= end)
                        return -1;
                    hi = hexval(body[k + 1]);
                    lo = hexval(body[k + 2]);
                    if (hi < 0 || lo < 0)
                        return -1;
                    c = hi * 16 + lo;
                    k += 2;
                }
                if (o + 1 >= outlen)
                    return -1;
                out[o++] = (char)c;
            }
            out[o] = '\0';
            return 1;
        }
        i = end + 1;
    }
    return 0;
}
