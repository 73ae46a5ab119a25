/* Internal: R7 for a single-part OpenEXR from its chunk offset table. */
#ifndef NAMFS_CORE_EXR_TABLE_H
#define NAMFS_CORE_EXR_TABLE_H

#include "namfs/frame.h"

/* True when every entry of the offset table points inside the file's
 * chunk area and, by mode, every chunk's leader names its slot and its
 * data ends before the next chunk (CHUNKS_LEADERS, CHUNKS_LIBRARY), or no
 * two chunks overlap and the furthest ends inside the file (CHUNKS_TABLE).
 * Otherwise false, with why. */
bool exr_table_complete(const struct frame_source *src, const struct frame_info *info,
                        int lines_per_chunk, enum chunk_check mode, char *why, size_t why_len);

/* Where the chunk offset table starts: just after the header. */
bool exr_table_offset(const struct frame_source *src, uint64_t *at);

#endif
