/* OpenEXR header parsing through OpenEXRCore, over a frame_source. */
#ifndef NAMFS_EXR_H
#define NAMFS_EXR_H

#include "namfs/frame.h"

/* Parses the header in src into info. When src->complete, also reads the
 * chunk table and, as far as src->chunks says, the chunks' leaders: a
 * chunk that is missing, misplaced or lies outside the file makes the
 * frame incomplete (R7). */
enum parse_status exr_parse(const struct frame_source *src, struct frame_info *info,
                            struct parse_result *res);

/* Every channel of the (first) part, in the file's order: frame_info
 * keeps only the first FRAME_MAX_CHANNELS. Returns the count, -1 if the
 * header is unreadable. */
typedef void (*exr_channel_fn)(void *ctx, const char *name, enum exr_sample sample);
int exr_each_channel(const struct frame_source *src, exr_channel_fn each, void *ctx);

/* "NONE", "ZIP", ...; as OpenEXR names them. */
const char *exr_codec_name(enum exr_codec codec);

/* Parses "zip", "PIZ", ... into a codec; -1 if unknown. */
int exr_codec_from_name(const char *name);

const char *exr_sample_name(enum exr_sample sample);

#endif
