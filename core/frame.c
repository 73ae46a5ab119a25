/* Format dispatch by magic number: a file is judged by what it is, not by
 * what its name claims (R8 compares the two). */
#include "namfs/frame.h"

#include "namfs/dpx.h"
#include "namfs/exr.h"

#include <string.h>

static const uint8_t exr_magic[4] = {0x76, 0x2f, 0x31, 0x01};

ssize_t frame_source_pread(const struct frame_source *src, void *buf, size_t n, uint64_t off)
{
    size_t got = 0;

    if (off < src->head_len) {
        got = src->head_len - off < n ? src->head_len - (size_t)off : n;
        memcpy(buf, src->head + off, got);
    }
    while (src->complete && src->read && got < n) {
        ssize_t r = src->read(src->read_ctx, (uint8_t *)buf + got, n - got, off + got);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

static bool parse_dimension(const char **text, uint32_t *out)
{
    uint32_t v = 0;
    const char *p = *text;

    for (; *p >= '0' && *p <= '9' && v <= 65536; p++)
        v = v * 10 + (uint32_t)(*p - '0');
    if (p == *text || v == 0 || v > 65536)
        return false;
    *text = p;
    *out = v;
    return true;
}

bool frame_parse_size(const char *text, uint32_t *width, uint32_t *height)
{
    uint32_t w, h;

    if (!parse_dimension(&text, &w) || *text++ != 'x' || !parse_dimension(&text, &h) || *text)
        return false;
    *width = w;
    *height = h;
    return true;
}

enum frame_format frame_sniff(const uint8_t *head, size_t len)
{
    if (len < 4)
        return FRAME_UNKNOWN;
    if (memcmp(head, "SDPX", 4) == 0 || memcmp(head, "XPDS", 4) == 0)
        return FRAME_DPX;
    if (memcmp(head, exr_magic, 4) == 0)
        return FRAME_EXR;
    return FRAME_UNKNOWN;
}

const char *frame_format_name(enum frame_format format)
{
    switch (format) {
    case FRAME_DPX:
        return "DPX";
    case FRAME_EXR:
        return "EXR";
    case FRAME_UNKNOWN:
        break;
    }
    return "unknown";
}

enum parse_status frame_parse(const struct frame_source *src, struct frame_info *info,
                              struct parse_result *res)
{
    switch (frame_sniff(src->head, src->head_len)) {
    case FRAME_DPX:
        return dpx_parse(src, info, res);
    case FRAME_EXR:
        return exr_parse(src, info, res);
    case FRAME_UNKNOWN:
        break;
    }
    memset(info, 0, sizeof *info);
    memset(res, 0, sizeof *res);
    if (src->head_len < 4 && !src->complete) {
        res->status = PARSE_NEED_MORE;
        res->need = 4;
        return PARSE_NEED_MORE;
    }
    res->status = PARSE_INVALID;
    strcpy(res->message, "no DPX or OpenEXR magic number");
    return PARSE_INVALID;
}
