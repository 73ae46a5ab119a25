/* The chunk leaders of an OpenEXR, caught as its bytes are written.
 *
 * A frame written through the mount passes every byte through namfs once;
 * an OpenEXR's chunks follow one another from the end of the offset table,
 * each leader saying how long its chunk is. Following that chain through
 * writes in file order keeps every leader, so R7's check of each chunk
 * (exr_table.c) reads none of them back. Writes out of order (a writer
 * seeking ahead, a rewrite of chunk bytes) stop the trail: the check then
 * reads the leaders it lacks from the file. Rewrites of the header and
 * table (OpenEXR fills its table in last) do not. */
#ifndef NAMFS_LEADER_TRAIL_H
#define NAMFS_LEADER_TRAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LEADER_MAX 20 /* a tile's: x, y, level x, level y, size */

struct seen_leader {
    uint64_t offset;
    uint8_t bytes[LEADER_MAX];
};

struct leader_trail {
    uint64_t chunks_at;  /* where the first chunk starts; 0: idle */
    bool following;      /* false once a write came out of order */
    uint64_t written_to; /* chunk bytes written in order end here */
    uint64_t next;       /* where the next leader starts */
    size_t leader;       /* 8 for scanlines, 20 for tiles */
    uint8_t partial[LEADER_MAX];
    size_t partial_len;       /* a leader cut by the end of a write */
    struct seen_leader *seen; /* in file order */
    size_t count, cap;
};

/* Follows the chunks from chunks_at on; any earlier trail is dropped. */
void leader_trail_start(struct leader_trail *t, uint64_t chunks_at, bool tiled);

/* n bytes written at off. */
void leader_trail_write(struct leader_trail *t, const uint8_t *buf, size_t n, uint64_t off);

/* The leader seen at offset, or NULL. */
const uint8_t *leader_trail_find(const struct leader_trail *t, uint64_t offset);

/* The file was cut to size: leaders past it go; at or before the first
 * chunk the trail follows again from there. */
void leader_trail_cut(struct leader_trail *t, uint64_t size);

/* Bytes from off on changed without a write (a punched or zeroed range). */
void leader_trail_changed(struct leader_trail *t, uint64_t off);

/* Forgets everything; the trail follows nothing until started again. */
void leader_trail_reset(struct leader_trail *t);

#endif
