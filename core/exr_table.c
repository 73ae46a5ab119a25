/* Completeness (R7) of an OpenEXR from its offset table and its chunks'
 * leaders, read raw.
 *
 * The default proves every chunk is there: each table entry inside the
 * chunk area; each chunk's leader names the chunk its slot is for (its
 * scanline, or its tile and level) and holds a size that ends before the
 * next chunk starts or, for the last, inside the file. Leaders are read in
 * file order, those close together in one read. A zeroed leader, a flipped
 * table entry, an entry into the middle of another chunk and a zero-filled
 * tail all fail it. The quick check (CHUNKS_TABLE) reads the table and the
 * furthest chunk's leader only: it catches a writer that died (zero or
 * out-of-file entries) and a cut copy, not damage in the middle. Raw
 * reading also cannot be fooled by the library's table reconstruction. */
#include "exr_table.h"

#include "exr_tiles.h"
#include "namfs/leader_trail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAME 256      /* long attribute names; the library rejects longer */
#define LEADER_BATCH 4096 /* leaders this close together come in one read */

static uint32_t le32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t le64(const uint8_t *b)
{
    return (uint64_t)le32(b) | (uint64_t)le32(b + 4) << 32;
}

/* The header is a list of (name NUL, type NUL, int32 size, data) ended by
 * an empty name; the offset table follows it. */
static bool header_end(const struct frame_source *src, uint64_t *end)
{
    uint8_t buf[2 * MAX_NAME + 8];
    uint64_t off = 8;                                                 /* magic and version */
    uint64_t limit = src->file_size ? src->file_size : src->head_len; /* early: head only */

    while (off < limit) {
        ssize_t got = frame_source_pread(src, buf, sizeof buf, off);
        if (got <= 0)
            return false;
        if (buf[0] == 0) {
            *end = off + 1;
            return true;
        }
        size_t name = strnlen((const char *)buf, (size_t)got);
        size_t type = name + 1 < (size_t)got
                          ? strnlen((const char *)buf + name + 1, (size_t)got - name - 1)
                          : 0;
        size_t fixed = name + 1 + type + 1 + 4;
        if (name >= MAX_NAME || type == 0 || fixed > (size_t)got)
            return false;
        int32_t size = (int32_t)le32(buf + name + 1 + type + 1);
        if (size < 0)
            return false;
        off += fixed + (uint64_t)size;
    }
    return false;
}

bool exr_table_offset(const struct frame_source *src, uint64_t *at)
{
    return header_end(src, at);
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static bool entries_inside(const uint64_t *table, int32_t count, uint64_t first, uint64_t last,
                           char *why, size_t len)
{
    for (int32_t i = 0; i < count; i++)
        if (table[i] < first || table[i] > last) {
            snprintf(why, len,
                     "chunk %d: offset table entry %llu outside the chunk area "
                     "%llu-%llu%s",
                     i, (unsigned long long)table[i], (unsigned long long)first,
                     (unsigned long long)last, table[i] == 0 ? " (table never filled in)" : "");
            return false;
        }
    return true;
}

static bool gaps_hold_leaders(const uint64_t *sorted, int32_t count, uint64_t leader, char *why,
                              size_t len)
{
    for (int32_t i = 1; i < count; i++)
        if (sorted[i] - sorted[i - 1] < leader) {
            snprintf(why, len, "two chunks overlap at offsets %llu and %llu",
                     (unsigned long long)sorted[i - 1], (unsigned long long)sorted[i]);
            return false;
        }
    return true;
}

/* Writers lay chunks out in table order almost always, so the sort is
 * only paid for the rare file that does not. */
static bool none_overlap(const uint64_t *table, int32_t count, uint64_t leader, char *why,
                         size_t len)
{
    int32_t i = 1;

    while (i < count && table[i] > table[i - 1])
        i++;
    if (i == count)
        return gaps_hold_leaders(table, count, leader, why, len);
    uint64_t *sorted = malloc((size_t)count * sizeof *sorted);
    if (!sorted) {
        snprintf(why, len, "out of memory sorting %d chunk offsets", count);
        return false;
    }
    memcpy(sorted, table, (size_t)count * sizeof *sorted);
    qsort(sorted, (size_t)count, sizeof *sorted, compare_u64);
    bool ok = gaps_hold_leaders(sorted, count, leader, why, len);
    free(sorted);
    return ok;
}

/* The chunk furthest into the file: its leader's size must end inside
 * it, and for scanlines its y must be the one the table index implies. */
static bool furthest_chunk_fits(const struct frame_source *src, const struct frame_info *info,
                                const uint64_t *table, int lines_per_chunk, char *why, size_t len)
{
    bool tiled = info->exr.storage == EXR_TILED;
    size_t leader = tiled ? 20 : 8;
    uint8_t buf[20];
    int32_t at = 0;

    for (int32_t i = 1; i < info->exr.chunk_count; i++)
        if (table[i] > table[at])
            at = i;
    if (frame_source_pread(src, buf, leader, table[at]) != (ssize_t)leader) {
        snprintf(why, len, "chunk %d: leader unreadable at offset %llu", at,
                 (unsigned long long)table[at]);
        return false;
    }
    int32_t y = (int32_t)le32(buf);
    int64_t want_y = (int64_t)info->exr.data_window[1] + (int64_t)at * lines_per_chunk;
    if (!tiled && y != want_y) {
        snprintf(why, len, "chunk %d: expected scanline %lld in its leader, found %d", at,
                 (long long)want_y, y);
        return false;
    }
    uint64_t end = table[at] + leader + le32(buf + leader - 4);
    if (end > src->file_size) {
        snprintf(why, len, "last chunk (%d) expected to end at byte %llu, file has %llu", at,
                 (unsigned long long)end, (unsigned long long)src->file_size);
        return false;
    }
    return true;
}

/* A chunk's place in the file and the table slot that points there. */
struct chunk_slot {
    uint64_t offset;
    int32_t index;
};

static int compare_slots(const void *a, const void *b)
{
    const struct chunk_slot *x = a, *y = b;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

/* What one chunk's leader must say. */
struct leader_check {
    const struct frame_source *src;
    const struct frame_info *info;
    int lines_per_chunk;
    struct tile_grid grid; /* tiled only */
    size_t leader;         /* 8 scanline, 20 tiled */
    uint8_t batch[LEADER_BATCH];
    uint64_t batch_at;
    size_t batch_len;
};

/* The leader of sorted[k]: as the mount saw it written, else read together
 * with the leaders of the chunks after it that lie within one batch. NULL
 * if the file ends first. */
static const uint8_t *leader_of(struct leader_check *c, const struct chunk_slot *sorted,
                                int32_t count, int32_t k)
{
    uint64_t at = sorted[k].offset;
    const uint8_t *seen = c->src->trail ? leader_trail_find(c->src->trail, at) : NULL;

    if (seen)
        return seen; /* caught as it was written: no read */
    if (at >= c->batch_at && at + c->leader <= c->batch_at + c->batch_len)
        return c->batch + (at - c->batch_at);
    uint64_t end = at + c->leader;
    for (int32_t n = k + 1; n < count && sorted[n].offset + c->leader - at <= LEADER_BATCH; n++)
        end = sorted[n].offset + c->leader;
    ssize_t got = frame_source_pread(c->src, c->batch, (size_t)(end - at), at);
    c->batch_at = at;
    c->batch_len = got < 0 ? 0 : (size_t)got;
    return c->batch_len >= c->leader ? c->batch : NULL;
}

static bool leader_names_slot(const struct leader_check *c, const uint8_t *leader, int32_t index,
                              char *why, size_t len)
{
    int32_t found[4], want[4];

    if (c->info->exr.storage != EXR_TILED) { /* y, then the size */
        int64_t y = (int64_t)c->info->exr.data_window[1] + (int64_t)index * c->lines_per_chunk;
        found[0] = (int32_t)le32(leader);
        if (found[0] == y)
            return true;
        snprintf(why, len, "chunk %d: expected scanline %lld in its leader, found %d", index,
                 (long long)y, found[0]);
        return false;
    }
    for (int i = 0; i < 4; i++) /* tile x, y, level x, y, then the size */
        found[i] = (int32_t)le32(leader + 4 * i);
    tile_grid_slot(&c->grid, index, want);
    if (memcmp(found, want, sizeof want) == 0)
        return true;
    snprintf(why, len,
             "chunk %d: expected tile %d,%d of level %d,%d in its leader, found tile %d,%d of "
             "level %d,%d",
             index, want[0], want[1], want[2], want[3], found[0], found[1], found[2], found[3]);
    return false;
}

/* sorted[k]'s leader names its slot, and its data ends before the next
 * chunk (or, for the last, the file) begins. */
static bool chunk_whole(struct leader_check *c, const struct chunk_slot *sorted, int32_t count,
                        int32_t k, char *why, size_t len)
{
    const struct chunk_slot *s = &sorted[k];
    const uint8_t *leader = leader_of(c, sorted, count, k);

    if (!leader) {
        snprintf(why, len, "chunk %d: leader unreadable at offset %llu", s->index,
                 (unsigned long long)s->offset);
        return false;
    }
    if (!leader_names_slot(c, leader, s->index, why, len))
        return false;
    uint32_t size = le32(leader + c->leader - 4);
    uint64_t end = s->offset + c->leader + size;
    if (size == 0 || size > INT32_MAX) {
        snprintf(why, len, "chunk %d: expected a data size in its leader, found %d", s->index,
                 (int32_t)size);
        return false;
    }
    if (k + 1 == count && end > c->src->file_size) {
        snprintf(why, len, "last chunk (%d) expected to end at byte %llu, file has %llu", s->index,
                 (unsigned long long)end, (unsigned long long)c->src->file_size);
        return false;
    }
    if (k + 1 < count && end > sorted[k + 1].offset) {
        snprintf(why, len,
                 "chunk %d: expected its %u data bytes to end before chunk %d at byte %llu, "
                 "found them ending at byte %llu",
                 s->index, size, sorted[k + 1].index, (unsigned long long)sorted[k + 1].offset,
                 (unsigned long long)end);
        return false;
    }
    return true;
}

/* The slots in file order: writers lay chunks out in table order almost
 * always, so the sort is only paid for the rare file that does not. */
static struct chunk_slot *slots_in_file_order(const uint64_t *table, int32_t count)
{
    struct chunk_slot *slots = malloc((size_t)count * sizeof *slots);
    bool in_order = true;

    for (int32_t i = 0; slots && i < count; i++) {
        slots[i] = (struct chunk_slot){table[i], i};
        in_order = in_order && (i == 0 || table[i] > table[i - 1]);
    }
    if (slots && !in_order)
        qsort(slots, (size_t)count, sizeof *slots, compare_slots);
    return slots;
}

static bool every_leader_fits(const struct frame_source *src, const struct frame_info *info,
                              const uint64_t *table, int lines_per_chunk, char *why, size_t len)
{
    int32_t count = info->exr.chunk_count;
    struct leader_check *c = calloc(1, sizeof *c);
    struct chunk_slot *sorted = slots_in_file_order(table, count);
    bool ok = c && sorted;

    if (!ok)
        snprintf(why, len, "out of memory checking %d chunks", count);
    if (ok) {
        *c = (struct leader_check){.src = src,
                                   .info = info,
                                   .lines_per_chunk = lines_per_chunk,
                                   .leader = info->exr.storage == EXR_TILED ? 20 : 8};
        if (info->exr.storage == EXR_TILED && !tile_grid_build(&info->exr, &c->grid)) {
            snprintf(why, len, "tile description %ux%u has no chunk layout",
                     info->exr.tiling.tile_width, info->exr.tiling.tile_height);
            ok = false;
        }
    }
    for (int32_t k = 0; ok && k < count; k++)
        ok = chunk_whole(c, sorted, count, k, why, len);
    if (c)
        tile_grid_free(&c->grid);
    free(c);
    free(sorted);
    return ok;
}

bool exr_table_complete(const struct frame_source *src, const struct frame_info *info,
                        int lines_per_chunk, enum chunk_check mode, char *why, size_t why_len)
{
    int32_t count = info->exr.chunk_count;
    uint64_t leader = info->exr.storage == EXR_TILED ? 20 : 8;
    uint64_t start;

    if (!header_end(src, &start)) {
        snprintf(why, why_len, "header does not end inside the file");
        return false;
    }
    uint64_t table_bytes = (uint64_t)count * 8;
    if (count <= 0 || start + table_bytes + leader > src->file_size) {
        snprintf(why, why_len, "offset table of %d chunks does not fit in %llu bytes", count,
                 (unsigned long long)src->file_size);
        return false;
    }
    uint8_t *raw = malloc((size_t)table_bytes);
    uint64_t *table = malloc((size_t)count * sizeof *table);
    bool ok = raw && table &&
              frame_source_pread(src, raw, (size_t)table_bytes, start) == (ssize_t)table_bytes;
    if (!ok)
        snprintf(why, why_len, "offset table unreadable");
    for (int32_t i = 0; ok && i < count; i++)
        table[i] = le64(raw + 8 * (size_t)i);
    ok = ok &&
         entries_inside(table, count, start + table_bytes, src->file_size - leader, why, why_len);
    if (ok && mode == CHUNKS_TABLE)
        ok = none_overlap(table, count, leader, why, why_len) &&
             furthest_chunk_fits(src, info, table, lines_per_chunk, why, why_len);
    else if (ok)
        ok = every_leader_fits(src, info, table, lines_per_chunk, why, why_len);
    free(raw);
    free(table);
    return ok;
}
