/* OpenEXR header parsing through OpenEXRCore, over a frame_source. */
#ifndef NAMFS_EXR_H
#define NAMFS_EXR_H

#include "namfs/frame.h"

/* Parses the header in src into info. When src->complete, also reads the
 * chunk table and every chunk's leader through the library: a chunk that
 * is missing or lies outside the file makes the frame incomplete (R7). */
enum parse_status exr_parse(const struct frame_source *src, struct frame_info *info,
                            struct parse_result *res);

/* "NONE", "ZIP", ...; as OpenEXR names them. */
const char *exr_codec_name(enum exr_codec codec);

/* Parses "zip", "PIZ", ... into a codec; -1 if unknown. */
int exr_codec_from_name(const char *name);

const char *exr_sample_name(enum exr_sample sample);

#endif
