/* DPX (SMPTE 268M) header parsing, both byte orders. */
#ifndef NAMFS_DPX_H
#define NAMFS_DPX_H

#include "namfs/frame.h"

/* Bytes of header the parser reads: the file information header and
 * image element 0, up to and including its end-of-image padding field. */
#define DPX_HEADER_NEED 820

/* File information, image information and orientation headers. */
#define DPX_GENERIC_HEADER 1664

/* Larger sizes are refused as malformed: no archival frame comes near, and
 * it keeps the image size arithmetic far from overflow. */
#define DPX_MAX_DIMENSION 65536

/* Parses src->head into info. With src->complete, also records the real
 * file size for R7/R9. Never reads past head_len. */
enum parse_status dpx_parse(const struct frame_source *src, struct frame_info *info,
                            struct parse_result *res);

/* Components per pixel for a DPX descriptor code; 0 if unknown. */
int dpx_components(uint8_t descriptor);

/* Image data bytes for one element, rows padded to 32 bits; 0 when the
 * bit size/packing combination has no defined layout. */
uint64_t dpx_image_bytes(uint32_t width, uint32_t height, int components, int bit_size, int packing,
                         uint32_t eol_padding, uint32_t eoi_padding);

/* What header codes mean (dpx_names.c): "Logarithmic", "RGB", ... */
const char *dpx_transfer_name(uint8_t code);
const char *dpx_colorimetric_name(uint8_t code);
const char *dpx_descriptor_name(uint8_t code);
const char *dpx_packing_name(uint16_t code);

#endif
