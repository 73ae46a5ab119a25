/* Internal: the chunks a tiled OpenEXR's tile description implies. */
#ifndef NAMFS_CORE_EXR_TILES_H
#define NAMFS_CORE_EXR_TILES_H

#include "namfs/frame.h"

/* One resolution level: its tiles are chunks first .. first+across*down-1
 * of the offset table, row by row. */
struct tile_level {
    int32_t lx, ly;
    int32_t across, down;
    int64_t first;
};

/* The levels in the order the offset table lists them: mipmaps by level,
 * ripmaps by y level, then x level (OpenEXR's TileOffsets). */
struct tile_grid {
    struct tile_level *level;
    int count;
    int64_t chunks;
};

/* Lays out the grid of e's data window and tiling. False when the
 * description is impossible (zero tile size, out of memory). */
bool tile_grid_build(const struct exr_fields *e, struct tile_grid *g);
void tile_grid_free(struct tile_grid *g);

/* The tile (x, y, level x, level y) table slot index is for. */
void tile_grid_slot(const struct tile_grid *g, int64_t index, int32_t tile[4]);

#endif
