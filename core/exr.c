/* OpenEXR header parsing through OpenEXRCore's C API, reading from a
 * frame_source instead of a path. The library is told to be strict and
 * never to rebuild a missing chunk table (SPEC.md: otherwise a truncated
 * or table-less file reads as fine). */
#include "namfs/exr.h"

#include "exr_table.h"
#include "exr_tiles.h"

#include <openexr.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Bound what a hostile header can make the library allocate: a header
 * claiming a huge attribute or image would otherwise cost gigabytes of
 * memory before any check fails. Real headers and chunk tables of UHD and
 * larger frames need far less. */
#define EXR_MAX_DIMENSION 65536
#define EXR_MAX_ALLOCATION (16u << 20)

struct exr_stream {
    const struct frame_source *src;
    bool ran_short;  /* a read wanted bytes the head does not have yet */
    bool hit_end;    /* a read of a complete file reached past its end */
    uint64_t wanted; /* furthest byte any read asked for */
    char error[PARSE_MESSAGE_MAX];
};

static const char *const codec_names[EXR_CODEC_COUNT] = {
    "NONE", "RLE", "ZIPS", "ZIP", "PIZ", "PXR24", "B44", "B44A", "DWAA", "DWAB",
};

const char *exr_codec_name(enum exr_codec codec)
{
    return (unsigned)codec < EXR_CODEC_COUNT ? codec_names[codec] : "unknown";
}

int exr_codec_from_name(const char *name)
{
    for (int c = 0; c < EXR_CODEC_COUNT; c++)
        if (strcasecmp(name, codec_names[c]) == 0)
            return c;
    return -1;
}

const char *exr_sample_name(enum exr_sample sample)
{
    switch (sample) {
    case EXR_SAMPLE_UINT:
        return "uint";
    case EXR_SAMPLE_HALF:
        return "half";
    case EXR_SAMPLE_FLOAT:
        return "float";
    }
    return "unknown";
}

/* Short reads are fine for the library's header scanner, which reads in
 * blocks; they only mean "need more" if the parse then fails. */
static int64_t stream_read(exr_const_context_t ctxt, void *userdata, void *buffer, uint64_t sz,
                           uint64_t offset, exr_stream_error_func_ptr_t error_cb)
{
    struct exr_stream *s = userdata;
    const struct frame_source *src = s->src;

    (void)ctxt;
    (void)error_cb;
    if (offset + sz > s->wanted)
        s->wanted = offset + sz;
    ssize_t got = frame_source_pread(src, buffer, sz, offset);
    if (got >= 0 && (uint64_t)got < sz) {
        if (src->complete)
            s->hit_end = true;
        else
            s->ran_short = true;
    }
    return got;
}

static int64_t stream_size(exr_const_context_t ctxt, void *userdata)
{
    struct exr_stream *s = userdata;

    (void)ctxt;
    return s->src->complete ? (int64_t)s->src->file_size : -1;
}

static void *bounded_alloc(size_t bytes)
{
    return bytes > EXR_MAX_ALLOCATION ? NULL : malloc(bytes);
}

static void stream_error(exr_const_context_t ctxt, exr_result_t code, const char *msg)
{
    struct exr_stream *s = NULL;

    if (exr_get_user_data(ctxt, (void **)&s) == EXR_ERR_SUCCESS && s && !s->error[0])
        snprintf(s->error, sizeof s->error, "%s (%s)", msg, exr_get_error_code_as_string(code));
}

static void read_channels(exr_const_context_t ctxt, struct frame_info *info)
{
    const exr_attr_chlist_t *list = NULL;
    struct exr_fields *e = &info->exr;

    if (exr_get_channels(ctxt, 0, &list) != EXR_ERR_SUCCESS || !list)
        return;
    info->components = list->num_channels;
    info->bit_depth = 16;
    for (int i = 0; i < list->num_channels; i++) {
        const exr_attr_chlist_entry_t *ch = &list->entries[i];
        if (ch->pixel_type != EXR_PIXEL_HALF)
            info->bit_depth = 32;
        if (i >= FRAME_MAX_CHANNELS)
            continue;
        snprintf(e->channels[i].name, sizeof e->channels[i].name, "%s", ch->name.str);
        e->channels[i].sample = (enum exr_sample)ch->pixel_type;
        e->channel_count = i + 1;
    }
}

static void read_windows(exr_const_context_t ctxt, struct frame_info *info)
{
    exr_attr_box2i_t dw, disp;

    memset(&dw, 0, sizeof dw);
    memset(&disp, 0, sizeof disp);
    struct exr_fields *e = &info->exr;

    exr_get_data_window(ctxt, 0, &dw);
    exr_get_display_window(ctxt, 0, &disp);
    e->data_window[0] = dw.min.x, e->data_window[1] = dw.min.y;
    e->data_window[2] = dw.max.x, e->data_window[3] = dw.max.y;
    e->display_window[0] = disp.min.x, e->display_window[1] = disp.min.y;
    e->display_window[2] = disp.max.x, e->display_window[3] = disp.max.y;
    info->width = (uint32_t)((int64_t)dw.max.x - dw.min.x + 1);
    info->height = (uint32_t)((int64_t)dw.max.y - dw.min.y + 1);
}

static void read_colour(exr_const_context_t ctxt, struct exr_fields *e)
{
    exr_attr_chromaticities_t c;
    int32_t flag;

    e->aces_container_flag = -1;
    if (exr_attr_get_chromaticities(ctxt, 0, "chromaticities", &c) == EXR_ERR_SUCCESS) {
        const float v[8] = {c.red_x,  c.red_y,  c.green_x, c.green_y,
                            c.blue_x, c.blue_y, c.white_x, c.white_y};
        e->has_chromaticities = true;
        memcpy(e->chromaticities, v, sizeof v);
    }
    if (exr_attr_get_int(ctxt, 0, "acesImageContainerFlag", &flag) == EXR_ERR_SUCCESS)
        e->aces_container_flag = flag;
}

/* A tiled file's chunk count is its tile grid's: OpenEXRCore 3.1.5
 * miscounts ripmaps that carry no chunkCount attribute (exr_tiles.c). */
static void read_tiling(exr_const_context_t ctxt, struct exr_fields *e)
{
    uint32_t xs = 0, ys = 0;
    exr_tile_level_mode_t mode = EXR_TILE_ONE_LEVEL;
    exr_tile_round_mode_t round = EXR_TILE_ROUND_DOWN;
    struct tile_grid grid;

    if (e->storage != EXR_TILED ||
        exr_get_tile_descriptor(ctxt, 0, &xs, &ys, &mode, &round) != EXR_ERR_SUCCESS)
        return;
    e->tiling = (struct exr_tiling){.tile_width = xs,
                                    .tile_height = ys,
                                    .levels = (enum exr_level_mode)mode,
                                    .round_up = round == EXR_TILE_ROUND_UP};
    if (tile_grid_build(e, &grid))
        e->chunk_count = (int32_t)grid.chunks;
    tile_grid_free(&grid);
}

static void read_header(exr_const_context_t ctxt, struct frame_info *info)
{
    struct exr_fields *e = &info->exr;
    exr_storage_t storage = EXR_STORAGE_SCANLINE;
    exr_compression_t codec = EXR_COMPRESSION_NONE;

    exr_get_count(ctxt, &e->parts);
    exr_get_storage(ctxt, 0, &storage);
    exr_get_compression(ctxt, 0, &codec);
    exr_get_chunk_count(ctxt, 0, &e->chunk_count);
    e->storage = (enum exr_storage)storage;
    e->codec = (enum exr_codec)codec;
    read_windows(ctxt, info);
    read_tiling(ctxt, e);
    read_channels(ctxt, info);
    read_colour(ctxt, e);
}

static bool chunk_fits(exr_result_t rv, const exr_chunk_info_t *ci, uint64_t file_size, char *why,
                       size_t len)
{
    if (rv != EXR_ERR_SUCCESS) {
        snprintf(why, len, "chunk unreadable: %s", exr_get_default_error_message(rv));
        return false;
    }
    if (ci->data_offset + ci->packed_size <= file_size)
        return true;
    snprintf(why, len, "chunk %d expected to end at byte %llu, file has %llu", ci->idx,
             (unsigned long long)(ci->data_offset + ci->packed_size),
             (unsigned long long)file_size);
    return false;
}

static bool level_complete(exr_const_context_t ctxt, int lx, int ly, uint64_t file_size, char *why,
                           size_t len)
{
    int32_t tw = 0, th = 0, lw = 0, lh = 0;
    exr_chunk_info_t ci;

    if (exr_get_tile_sizes(ctxt, 0, lx, ly, &tw, &th) != EXR_ERR_SUCCESS ||
        exr_get_level_sizes(ctxt, 0, lx, ly, &lw, &lh) != EXR_ERR_SUCCESS || tw <= 0 || th <= 0) {
        snprintf(why, len, "tile level %d,%d has no readable size", lx, ly);
        return false;
    }
    for (int ty = 0; ty < (lh + th - 1) / th; ty++)
        for (int tx = 0; tx < (lw + tw - 1) / tw; tx++)
            if (!chunk_fits(exr_read_tile_chunk_info(ctxt, 0, tx, ty, lx, ly, &ci), &ci, file_size,
                            why, len))
                return false;
    return true;
}

/* SPEC.md's definition of R7: every chunk's info readable through the
 * library, and inside the file. One read per chunk. Ripmaps are left to
 * the raw check: OpenEXRCore 3.1.5 reads their tiles from the wrong table
 * slots (exr_tiles.c). */
static bool every_chunk_complete(exr_const_context_t ctxt, const struct frame_info *info, int lines,
                                 char *why, size_t len)
{
    exr_chunk_info_t ci;
    uint32_t xs, ys;
    exr_tile_level_mode_t mode = EXR_TILE_ONE_LEVEL;
    exr_tile_round_mode_t round;
    int32_t nx = 1, ny = 1;

    if (info->exr.storage == EXR_SCANLINE) {
        for (int64_t y = info->exr.data_window[1]; y <= info->exr.data_window[3]; y += lines)
            if (!chunk_fits(exr_read_scanline_chunk_info(ctxt, 0, (int)y, &ci), &ci,
                            info->file_size, why, len))
                return false;
        return true;
    }
    exr_get_tile_descriptor(ctxt, 0, &xs, &ys, &mode, &round);
    if (mode == EXR_TILE_RIPMAP_LEVELS)
        return true;
    exr_get_tile_levels(ctxt, 0, &nx, &ny);
    for (int ly = 0; ly < ny; ly++)
        for (int lx = 0; lx < nx; lx++)
            if (lx == ly && !level_complete(ctxt, lx, ly, info->file_size, why, len))
                return false;
    return true;
}

/* R7 from the chunk offset table and leaders (exr_table.c), and with
 * CHUNKS_LIBRARY through the library as well; deep and multi-part files
 * are refused by R4 before completeness matters. */
static void judge_completeness(exr_const_context_t ctxt, const struct frame_source *src,
                               struct frame_info *info)
{
    int32_t lines = 1;
    char *why = info->incomplete_why;
    size_t len = sizeof info->incomplete_why;

    if (info->exr.parts != 1 ||
        (info->exr.storage != EXR_SCANLINE && info->exr.storage != EXR_TILED))
        return;
    exr_get_scanlines_per_chunk(ctxt, 0, &lines);
    bool ok = exr_table_complete(src, info, lines, src->chunks, why, len) &&
              (src->chunks != CHUNKS_LIBRARY || every_chunk_complete(ctxt, info, lines, why, len));
    info->completeness = ok ? COMPLETENESS_YES : COMPLETENESS_NO;
}

static enum parse_status header_failed(const struct exr_stream *s, exr_result_t rv,
                                       struct parse_result *res)
{
    if (s->ran_short) {
        res->status = PARSE_NEED_MORE;
        res->need = s->wanted > s->src->head_len ? s->wanted : s->src->head_len + 1;
        return PARSE_NEED_MORE;
    }
    res->status = PARSE_INVALID;
    res->truncated = s->hit_end;
    snprintf(res->message, sizeof res->message, "OpenEXR header unreadable: %.160s",
             s->error[0] ? s->error : exr_get_default_error_message(rv));
    return PARSE_INVALID;
}

/* Opens the header in src for reading, strictly: no chunk table rebuilt. */
static exr_result_t start_read(struct exr_stream *s, exr_context_t *ctxt)
{
    exr_context_initializer_t init = EXR_DEFAULT_CONTEXT_INITIALIZER;

    init.user_data = s;
    init.read_fn = stream_read;
    init.size_fn = stream_size;
    init.error_handler_fn = stream_error;
    init.alloc_fn = bounded_alloc;
    init.free_fn = free;
    init.max_image_width = init.max_image_height = EXR_MAX_DIMENSION;
    init.max_tile_width = init.max_tile_height = EXR_MAX_DIMENSION;
    init.flags = EXR_CONTEXT_FLAG_STRICT_HEADER | EXR_CONTEXT_FLAG_DISABLE_CHUNK_RECONSTRUCTION;
    return exr_start_read(ctxt, "frame.exr", &init);
}

enum parse_status exr_parse(const struct frame_source *src, struct frame_info *info,
                            struct parse_result *res)
{
    struct exr_stream s = {.src = src};
    exr_context_t ctxt = NULL;

    memset(info, 0, sizeof *info);
    memset(res, 0, sizeof *res);
    info->format = FRAME_EXR;
    exr_result_t rv = start_read(&s, &ctxt);
    if (rv != EXR_ERR_SUCCESS) {
        exr_finish(&ctxt);
        return header_failed(&s, rv, res);
    }
    read_header(ctxt, info);
    if (info->exr.parts != 1 || !exr_table_offset(src, &info->exr.table_offset))
        info->exr.table_offset = 0;
    if (src->complete) {
        info->file_size = src->file_size;
        judge_completeness(ctxt, src, info);
    }
    exr_finish(&ctxt);
    return PARSE_OK;
}

int exr_each_channel(const struct frame_source *src, exr_channel_fn each, void *ctx)
{
    struct exr_stream s = {.src = src};
    exr_context_t ctxt = NULL;
    const exr_attr_chlist_t *list = NULL;
    int count = -1;

    if (start_read(&s, &ctxt) == EXR_ERR_SUCCESS &&
        exr_get_channels(ctxt, 0, &list) == EXR_ERR_SUCCESS && list) {
        for (int i = 0; i < list->num_channels; i++)
            each(ctx, list->entries[i].name.str, (enum exr_sample)list->entries[i].pixel_type);
        count = list->num_channels;
    }
    exr_finish(&ctxt);
    return count;
}
