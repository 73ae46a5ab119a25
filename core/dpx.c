/* DPX header parsing by hand: the format is a fixed-layout struct, and no
 * library parses it from a buffer without wanting a path. Offsets follow
 * SMPTE 268M; SPEC.md "Header facts" lists the ones namfs uses. */
#include "namfs/dpx.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DPX_UNDEFINED32 0xffffffffu

struct reader {
    const uint8_t *p;
    bool big_endian;
};

static uint16_t rd16(const struct reader *r, size_t off)
{
    const uint8_t *b = r->p + off;
    return r->big_endian ? (uint16_t)(b[0] << 8 | b[1]) : (uint16_t)(b[1] << 8 | b[0]);
}

static uint32_t rd32(const struct reader *r, size_t off)
{
    const uint8_t *b = r->p + off;
    if (r->big_endian)
        return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    return (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
}

/* Padding fields use all-ones for "undefined", which means no padding. */
static uint32_t rd_padding(const struct reader *r, size_t off)
{
    uint32_t v = rd32(r, off);
    return v == DPX_UNDEFINED32 ? 0 : v;
}

int dpx_components(uint8_t descriptor)
{
    switch (descriptor) {
    case 1:
    case 2:
    case 3:
    case 4:
    case 6:
    case 8:
        return 1; /* single channel: R, G, B, alpha, luma, depth */
    case 7:
    case 100:
        return 2; /* colour difference, CbYCrY 4:2:2 */
    case 50:
    case 101:
    case 102:
        return 3; /* RGB, CbYaCrYa, CbYCr */
    case 51:
    case 52:
    case 103:
        return 4; /* RGBA, ABGR, CbYCrA */
    default:
        return 0;
    }
}

/* Bytes one row takes before end-of-line padding: the least a complete
 * frame holds. SPEC.md gives 16-bit rows as w*c*2; writers disagree on
 * padding 8/16-bit rows to 32 bits (FFmpeg does, OpenImageIO and
 * ImageMagick do not, whatever packing they declare), so those are taken
 * unpadded. 10- and 12-bit packed rows are real bit streams in words. */
static uint64_t row_bytes(uint64_t samples, int bit_size, int packing)
{
    switch (bit_size) {
    case 8:
        return samples;
    case 16:
        return samples * 2;
    case 32:
        return samples * 4;
    case 64:
        return samples * 8;
    case 10:
        return packing == 0 ? (samples * 10 + 31) / 32 * 4 : (samples + 2) / 3 * 4;
    case 12:
        return packing == 0 ? (samples * 12 + 31) / 32 * 4 : samples * 2;
    default:
        return 0;
    }
}

uint64_t dpx_image_bytes(uint32_t width, uint32_t height, int components, int bit_size, int packing,
                         uint32_t eol_padding, uint32_t eoi_padding)
{
    if (packing > 2 || components <= 0 || width > DPX_MAX_DIMENSION || height > DPX_MAX_DIMENSION)
        return 0;
    uint64_t row = row_bytes((uint64_t)width * (uint64_t)components, bit_size, packing);
    if (row == 0)
        return 0;
    return (uint64_t)height * (row + eol_padding) + eoi_padding;
}

static enum parse_status invalid(struct parse_result *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static enum parse_status invalid(struct parse_result *res, const char *fmt, ...)
{
    va_list ap;

    res->status = PARSE_INVALID;
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof res->message, fmt, ap);
    va_end(ap);
    return PARSE_INVALID;
}

static void read_fields(const struct reader *r, struct frame_info *info)
{
    struct dpx_fields *d = &info->dpx;

    d->big_endian = r->big_endian;
    memcpy(d->version, r->p + 8, 8);
    d->version[8] = '\0';
    d->header_data_offset = rd32(r, 4);
    d->file_size_field = rd32(r, 16);
    d->encryption_key = rd32(r, 660);
    d->element_count = rd16(r, 770);
    info->width = rd32(r, 772);
    info->height = rd32(r, 776);
    d->data_sign = rd32(r, 780);
    d->descriptor = r->p[800];
    d->transfer = r->p[801];
    d->colorimetric = r->p[802];
    d->bit_size = r->p[803];
    d->packing = rd16(r, 804);
    d->encoding = rd16(r, 806);
    d->element_data_offset = rd32(r, 808);
    d->eol_padding = rd_padding(r, 812);
    d->eoi_padding = rd_padding(r, 816);
    /* Writers that leave the element offset undefined rely on the file's. */
    d->data_offset = (d->element_data_offset == 0 || d->element_data_offset == DPX_UNDEFINED32)
                         ? d->header_data_offset
                         : d->element_data_offset;
    info->components = dpx_components(d->descriptor);
    info->bit_depth = d->bit_size;
    d->image_bytes = dpx_image_bytes(info->width, info->height, info->components, d->bit_size,
                                     d->packing, d->eol_padding, d->eoi_padding);
}

static void judge_completeness(const struct frame_source *src, struct frame_info *info)
{
    uint64_t promised = (uint64_t)info->dpx.data_offset + info->dpx.image_bytes;

    info->file_size = src->file_size;
    if (info->dpx.image_bytes == 0)
        return; /* no layout to compare with; rules report why (R9) */
    if (src->file_size >= promised) {
        info->completeness = COMPLETENESS_YES;
        return;
    }
    info->completeness = COMPLETENESS_NO;
    snprintf(info->incomplete_why, sizeof info->incomplete_why,
             "expected %llu bytes (data offset %u + image data %llu), found %llu",
             (unsigned long long)promised, info->dpx.data_offset,
             (unsigned long long)info->dpx.image_bytes, (unsigned long long)src->file_size);
}

enum parse_status dpx_parse(const struct frame_source *src, struct frame_info *info,
                            struct parse_result *res)
{
    struct reader r = {.p = src->head};

    memset(info, 0, sizeof *info);
    memset(res, 0, sizeof *res);
    info->format = FRAME_DPX;
    if (src->head_len < 4 || (src->head_len < DPX_HEADER_NEED && !src->complete)) {
        res->status = PARSE_NEED_MORE;
        res->need = DPX_HEADER_NEED;
        return PARSE_NEED_MORE;
    }
    if (memcmp(src->head, "SDPX", 4) == 0)
        r.big_endian = true;
    else if (memcmp(src->head, "XPDS", 4) != 0)
        return invalid(res,
                       "not a DPX magic number: expected SDPX or XPDS, found %02x %02x %02x %02x",
                       src->head[0], src->head[1], src->head[2], src->head[3]);
    res->truncated = src->head_len < DPX_HEADER_NEED;
    if (res->truncated)
        return invalid(res,
                       "file ends inside the DPX header: expected at least %d bytes, found %zu",
                       DPX_HEADER_NEED, src->head_len);
    read_fields(&r, info);
    if (info->width > DPX_MAX_DIMENSION || info->height > DPX_MAX_DIMENSION)
        return invalid(res, "image size out of range: %u pixels per line, %u lines (at most %d)",
                       info->width, info->height, DPX_MAX_DIMENSION);
    if (info->width == 0 || info->height == 0)
        return invalid(res, "image size undefined or zero: %u pixels per line, %u lines",
                       info->width, info->height);
    if (src->complete)
        judge_completeness(src, info);
    return PARSE_OK;
}
