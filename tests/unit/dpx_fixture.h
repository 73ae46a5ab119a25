/* Builds DPX headers in memory for the unit tests: the fields namfs reads,
 * in either byte order, the rest all-ones ("undefined") as the standard
 * says. Independent of core/dpx.c so the two can disagree. */
#ifndef NAMFS_TEST_DPX_FIXTURE_H
#define NAMFS_TEST_DPX_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define FIXTURE_DPX_HEADER 2048

struct dpx_spec {
    bool little_endian;
    uint32_t width, height;
    uint8_t descriptor, transfer, colorimetric, bit_size;
    uint16_t packing, encoding, elements;
    uint32_t file_size; /* 0: header + image data */
    const char *version;
};

static inline struct dpx_spec dpx_spec_default(void)
{
    return (struct dpx_spec){.width = 64,
                             .height = 32,
                             .descriptor = 50,
                             .transfer = 3,
                             .colorimetric = 1,
                             .bit_size = 16,
                             .packing = 0,
                             .elements = 1,
                             .version = "V2.0"};
}

static inline void put16(uint8_t *b, bool le, uint16_t v)
{
    b[le ? 1 : 0] = (uint8_t)(v >> 8);
    b[le ? 0 : 1] = (uint8_t)v;
}

static inline void put32(uint8_t *b, bool le, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[le ? i : 3 - i] = (uint8_t)(v >> (8 * i));
}

/* Image data bytes the spec's frame carries (rows padded to 32 bits). */
static inline uint32_t dpx_spec_data_bytes(const struct dpx_spec *s)
{
    uint32_t c = s->descriptor == 51 ? 4 : 3, n = s->width * c, row;
    if (s->bit_size == 10 && s->packing != 0)
        row = (n + 2) / 3 * 4;
    else
        row = (n * s->bit_size + 31) / 32 * 4;
    return row * s->height;
}

static inline void make_dpx_header(uint8_t *b, const struct dpx_spec *s)
{
    bool le = s->little_endian;
    uint32_t size = s->file_size ? s->file_size : FIXTURE_DPX_HEADER + dpx_spec_data_bytes(s);

    memset(b, 0xff, FIXTURE_DPX_HEADER);
    memcpy(b, le ? "XPDS" : "SDPX", 4);
    put32(b + 4, le, FIXTURE_DPX_HEADER);
    memset(b + 8, 0, 8);
    memcpy(b + 8, s->version, strlen(s->version));
    put32(b + 16, le, size);
    put16(b + 768, le, 0);
    put16(b + 770, le, s->elements);
    put32(b + 772, le, s->width);
    put32(b + 776, le, s->height);
    put32(b + 780, le, 0);
    b[800] = s->descriptor;
    b[801] = s->transfer;
    b[802] = s->colorimetric;
    b[803] = s->bit_size;
    put16(b + 804, le, s->packing);
    put16(b + 806, le, s->encoding);
    put32(b + 808, le, FIXTURE_DPX_HEADER);
}

#endif
