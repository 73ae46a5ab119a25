/* The tile grid of a tiled OpenEXR, computed from its data window and
 * tile description as OpenEXR's C++ library lays it out (ImfTiledMisc).
 *
 * Why not ask OpenEXRCore: 3.1.5 (Debian 12's) maps a ripmap tile to the
 * wrong table slot, so every ripmap reads as incomplete through it (fixed
 * upstream in 3.3.0). The count and order below are the file format's. */
#include "exr_tiles.h"

#include <stdlib.h>

static int round_log2(uint32_t x, bool up)
{
    int log = 0;
    bool remainder = false;

    for (; x > 1; x >>= 1, log++)
        remainder |= x & 1;
    return log + (up && remainder);
}

static int32_t level_size(int64_t size, int level, bool up)
{
    int64_t n = size >> level;

    if (up && (n << level) < size)
        n++;
    return n < 1 ? 1 : (int32_t)n;
}

static bool add_level(struct tile_grid *g, const struct exr_fields *e, int lx, int ly)
{
    const struct exr_tiling *t = &e->tiling;
    int64_t w = (int64_t)e->data_window[2] - e->data_window[0] + 1;
    int64_t h = (int64_t)e->data_window[3] - e->data_window[1] + 1;
    struct tile_level *l = &g->level[g->count++];

    l->lx = lx;
    l->ly = ly;
    l->across =
        (int32_t)(((int64_t)level_size(w, lx, t->round_up) + t->tile_width - 1) / t->tile_width);
    l->down =
        (int32_t)(((int64_t)level_size(h, ly, t->round_up) + t->tile_height - 1) / t->tile_height);
    l->first = g->chunks;
    g->chunks += (int64_t)l->across * l->down;
    return g->chunks <= INT32_MAX;
}

bool tile_grid_build(const struct exr_fields *e, struct tile_grid *g)
{
    const struct exr_tiling *t = &e->tiling;
    int64_t w = (int64_t)e->data_window[2] - e->data_window[0] + 1;
    int64_t h = (int64_t)e->data_window[3] - e->data_window[1] + 1;

    *g = (struct tile_grid){0};
    if (t->tile_width == 0 || t->tile_height == 0 || w < 1 || h < 1 || w > UINT32_MAX ||
        h > UINT32_MAX)
        return false;
    int nx = 1, ny = 1;
    if (t->levels == EXR_MIPMAP)
        nx = ny = round_log2((uint32_t)(w > h ? w : h), t->round_up) + 1;
    else if (t->levels == EXR_RIPMAP) {
        nx = round_log2((uint32_t)w, t->round_up) + 1;
        ny = round_log2((uint32_t)h, t->round_up) + 1;
    }
    g->level = malloc((size_t)nx * (size_t)ny * sizeof *g->level);
    if (!g->level)
        return false;
    bool ok = true;
    if (t->levels == EXR_RIPMAP)
        for (int ly = 0; ok && ly < ny; ly++)
            for (int lx = 0; ok && lx < nx; lx++)
                ok = add_level(g, e, lx, ly);
    else
        for (int l = 0; ok && l < nx; l++)
            ok = add_level(g, e, l, l);
    if (!ok)
        tile_grid_free(g);
    return ok;
}

void tile_grid_free(struct tile_grid *g)
{
    free(g->level);
    *g = (struct tile_grid){0};
}

void tile_grid_slot(const struct tile_grid *g, int64_t index, int32_t tile[4])
{
    int lo = 0, hi = g->count - 1;

    while (lo < hi) { /* the last level whose first chunk is at or before index */
        int mid = (lo + hi + 1) / 2;
        if (g->level[mid].first <= index)
            lo = mid;
        else
            hi = mid - 1;
    }
    const struct tile_level *l = &g->level[lo];
    int64_t within = index - l->first;
    tile[0] = (int32_t)(within % l->across);
    tile[1] = (int32_t)(within / l->across);
    tile[2] = l->lx;
    tile[3] = l->ly;
}
