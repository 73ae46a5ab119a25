/* Completeness (R7) of an OpenEXR from its offset table, read raw.
 *
 * OpenEXRCore can read every chunk's leader (exr_read_*_chunk_info), but
 * that is one read per chunk: 2160 for an uncompressed UHD frame, over a
 * millisecond. The table says the same thing for a fraction: a writer that
 * died leaves zero or out-of-file entries, a cut copy leaves the furthest
 * chunk short. So: every entry inside the chunk area, none overlapping,
 * and the furthest chunk's leader (its scanline and size) checked against
 * the file's end. Raw reading also cannot be fooled by the library's
 * table reconstruction. */
#include "exr_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAME 256 /* long attribute names; the library rejects longer */

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

bool exr_table_complete(const struct frame_source *src, const struct frame_info *info,
                        int lines_per_chunk, char *why, size_t why_len)
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
         entries_inside(table, count, start + table_bytes, src->file_size - leader, why, why_len) &&
         none_overlap(table, count, leader, why, why_len) &&
         furthest_chunk_fits(src, info, table, lines_per_chunk, why, why_len);
    free(raw);
    free(table);
    return ok;
}
