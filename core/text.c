#include "namfs/text.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

size_t text_utf8_length(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (n == 0 || s[0] > 0xf4)
        return 0;
    uint32_t cp = s[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

bool text_is_plain(const char *text)
{
    const unsigned char *s = (const unsigned char *)text;

    while (*s) {
        size_t n = text_utf8_length(s);
        if (n == 0 || *s < 0x20 || *s == 0x7f)
            return false;
        s += n;
    }
    return true;
}

/* Copies in to out, each byte text_is_plain would not pass (and, when
 * escaping, each backslash) replaced by `with`, or escaped when with is
 * '\0'. */
static const char *rewrite(const char *in, char *out, size_t len, char with)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t o = 0;

    while (*s && o + 5 < len) {
        size_t n = text_utf8_length(s);
        if (!with && *s == '\\') {
            out[o++] = '\\';
            out[o++] = '\\';
            n = 1;
        } else if (n == 0 || *s < 0x20 || *s == 0x7f) {
            if (with)
                out[o++] = with;
            else
                o += (size_t)snprintf(out + o, len - o, "\\x%02x", *s);
            n = 1;
        } else {
            memcpy(out + o, s, n);
            o += n;
        }
        s += n;
    }
    out[o] = '\0';
    return out;
}

const char *text_sanitize(const char *in, char *out, size_t len, char with)
{
    return rewrite(in, out, len, with);
}

const char *text_escape(const char *in, char *out, size_t len)
{
    return rewrite(in, out, len, '\0');
}
