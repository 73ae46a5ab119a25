#include "display.h"

#include "namfs/text.h"

#include <string.h>

const char *display(const char *in, char *out, size_t len)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t o = 0;

    while (*s && o + 5 < len) {
        size_t n = text_utf8_length(s);
        if (n == 0 || *s < 0x20 || *s == 0x7f) {
            out[o++] = '?';
            s++;
            continue;
        }
        memcpy(out + o, s, n);
        o += n;
        s += n;
    }
    out[o] = '\0';
    return out;
}
