/* OpenEXR header parsing through OpenEXRCore over a buffer: fields, every
 * codec, need-more on a prefix, and R7 completeness on truncated and
 * table-less files (which the library would otherwise "repair"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "namfs/exr.h"
#include "namgen_fixture.h"

static enum parse_status parse_checked(const struct generated *g, enum chunk_check chunks,
                                       struct frame_info *info, struct parse_result *res)
{
    struct frame_source src = {.head = g->bytes,
                               .head_len = g->len,
                               .complete = true,
                               .file_size = g->len,
                               .chunks = chunks};
    return exr_parse(&src, info, res);
}

static enum parse_status parse_whole(const struct generated *g, struct frame_info *info,
                                     struct parse_result *res)
{
    return parse_checked(g, CHUNKS_LEADERS, info, res);
}

static void fields(void **state)
{
    struct generated g = generate("exr", "--size 64x32 --compression zip --chroma ap0 "
                                         "--aces-flag 1");
    struct frame_info info;
    struct parse_result res;

    (void)state;
    assert_int_equal(parse_whole(&g, &info, &res), PARSE_OK);
    assert_int_equal(info.format, FRAME_EXR);
    assert_int_equal(info.width, 64);
    assert_int_equal(info.height, 32);
    assert_int_equal(info.components, 3);
    assert_int_equal(info.bit_depth, 16);
    assert_int_equal(info.exr.parts, 1);
    assert_int_equal(info.exr.storage, EXR_SCANLINE);
    assert_int_equal(info.exr.codec, EXR_CODEC_ZIP);
    assert_int_equal(info.exr.channel_count, 3);
    assert_string_equal(info.exr.channels[0].name, "B"); /* OpenEXR sorts channels */
    assert_int_equal(info.exr.channels[2].sample, EXR_SAMPLE_HALF);
    assert_true(info.exr.has_chromaticities);
    assert_true(info.exr.chromaticities[0] > 0.7346f && info.exr.chromaticities[0] < 0.7348f);
    assert_int_equal(info.exr.aces_container_flag, 1);
    assert_int_equal(info.exr.data_window[2], 63);
    assert_int_equal(info.exr.display_window[3], 31);
    assert_int_equal(info.exr.chunk_count, 2); /* ZIP: 16 lines per chunk */
    assert_int_equal(info.completeness, COMPLETENESS_YES);
    free(g.bytes);
}

static void every_codec(void **state)
{
    static const char *const names[] = {"none",  "rle", "zips", "zip",  "piz",
                                        "pxr24", "b44", "b44a", "dwaa", "dwab"};
    char args[96];

    (void)state;
    for (int c = 0; c < EXR_CODEC_COUNT; c++) {
        snprintf(args, sizeof args, "--size 40x20 --compression %s", names[c]);
        struct generated g = generate("exr", args);
        struct frame_info info;
        struct parse_result res;
        assert_int_equal(parse_whole(&g, &info, &res), PARSE_OK);
        assert_int_equal(info.exr.codec, c);
        assert_int_equal(exr_codec_from_name(names[c]), c);
        assert_int_equal(info.completeness, COMPLETENESS_YES);
        free(g.bytes);
    }
}

static void sample_types(void **state)
{
    struct frame_info info;
    struct parse_result res;

    (void)state;
    struct generated g = generate("exr", "--type float --channels RGBA");
    assert_int_equal(parse_whole(&g, &info, &res), PARSE_OK);
    assert_int_equal(info.components, 4);
    assert_int_equal(info.bit_depth, 32);
    assert_int_equal(info.exr.channels[0].sample, EXR_SAMPLE_FLOAT);
    assert_false(info.exr.has_chromaticities);
    assert_int_equal(info.exr.aces_container_flag, -1);
    free(g.bytes);
    g = generate("exr", "--type uint");
    assert_int_equal(parse_whole(&g, &info, &res), PARSE_OK);
    assert_int_equal(info.exr.channels[1].sample, EXR_SAMPLE_UINT);
    free(g.bytes);
}

static void tiled(void **state)
{
    struct generated g = generate("exr", "--size 100x70 --storage tiled --compression piz");
    struct frame_info info;
    struct parse_result res;

    (void)state;
    assert_int_equal(parse_whole(&g, &info, &res), PARSE_OK);
    assert_int_equal(info.exr.storage, EXR_TILED);
    assert_int_equal(info.exr.chunk_count, 4 * 3); /* 32x32 tiles */
    assert_int_equal(info.completeness, COMPLETENESS_YES);
    free(g.bytes);
    g = generate("exr", "--size 100x70 --storage tiled --truncate 10");
    assert_int_equal(parse_whole(&g, &info, &res), PARSE_OK);
    assert_int_equal(info.completeness, COMPLETENESS_NO);
    free(g.bytes);
}

static void prefix_needs_more(void **state)
{
    struct generated g = generate("exr", "--size 64x32");
    struct frame_info info;
    struct parse_result res;
    size_t len = 8;

    (void)state;
    for (;; len += 16) {
        struct frame_source src = {.head = g.bytes, .head_len = len};
        enum parse_status st = exr_parse(&src, &info, &res);
        if (st == PARSE_OK)
            break;
        assert_int_equal(st, PARSE_NEED_MORE);
        assert_true(res.need > len);
        assert_true(len < g.len);
    }
    /* the header alone gives a verdict on codec and channels ... */
    assert_int_equal(info.exr.codec, EXR_CODEC_NONE);
    assert_int_equal(info.components, 3);
    /* ... but not on completeness */
    assert_int_equal(info.completeness, COMPLETENESS_UNKNOWN);
    free(g.bytes);
}

static void truncated_is_incomplete(void **state)
{
    struct frame_info info;
    struct parse_result res;

    (void)state;
    struct generated g = generate("exr", "--size 64x32 --compression zip --truncate 1");
    assert_int_equal(parse_whole(&g, &info, &res), PARSE_OK);
    assert_int_equal(info.completeness, COMPLETENESS_NO);
    assert_true(strlen(info.incomplete_why) > 0);
    free(g.bytes);
    g = generate("exr", "--size 64x32 --zero-table");
    assert_int_equal(parse_whole(&g, &info, &res), PARSE_OK);
    assert_int_equal(info.completeness, COMPLETENESS_NO);
    free(g.bytes);
}

static uint64_t get64(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

static void put64(unsigned char *b, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8)
        b[i] = (unsigned char)v;
}

/* Where the offset table starts, found without parsing the header: the
 * first chunk of a freshly written file sits right after the table. */
static size_t find_table(const struct generated *g, int32_t count)
{
    for (size_t p = 8; p + 8 <= g->len; p++)
        if (get64(g->bytes + p) == p + (uint64_t)count * 8)
            return p;
    fail_msg("no offset table found");
    return 0;
}

/* Damaged tables: entries swapped so the chunk furthest into the file is
 * not the one its leader names, and entries that overlap. */
static void damaged_tables(void **state)
{
    struct generated g = generate("exr", "--size 64x48 --compression zip"); /* 3 chunks */
    struct frame_info info;
    struct parse_result res;

    (void)state;
    assert_int_equal(parse_whole(&g, &info, &res), PARSE_OK);
    assert_int_equal(info.completeness, COMPLETENESS_YES);
    size_t table = find_table(&g, info.exr.chunk_count);
    uint64_t t1 = get64(g.bytes + table + 8), t2 = get64(g.bytes + table + 16);
    put64(g.bytes + table + 8, t2);
    put64(g.bytes + table + 16, t1);
    assert_int_equal(parse_whole(&g, &info, &res), PARSE_OK);
    assert_int_equal(info.completeness, COMPLETENESS_NO);
    assert_string_equal(info.incomplete_why,
                        "chunk 2: expected scanline 32 in its leader, found 16");
    assert_int_equal(parse_checked(&g, CHUNKS_TABLE, &info, &res), PARSE_OK);
    assert_non_null(strstr(info.incomplete_why, "chunk 1: expected scanline 16"));
    put64(g.bytes + table + 8, t1);
    put64(g.bytes + table + 16, t1 + 4);
    assert_int_equal(parse_whole(&g, &info, &res), PARSE_OK);
    assert_int_equal(info.completeness, COMPLETENESS_NO);
    assert_non_null(strstr(info.incomplete_why, "chunk 1: expected its"));
    assert_non_null(strstr(info.incomplete_why, "to end before chunk 2"));
    assert_int_equal(parse_checked(&g, CHUNKS_TABLE, &info, &res), PARSE_OK);
    assert_non_null(strstr(info.incomplete_why, "overlap"));
    free(g.bytes);
}

/* A damaged leader in the middle of the file: the table still looks whole
 * (the quick check passes it), reading every chunk's leader does not. */
static void every_leader_catches_middle_damage(void **state)
{
    struct generated g = generate("exr", "--size 64x48 --compression zip"); /* 3 chunks */
    struct frame_info info;
    struct parse_result res;

    (void)state;
    assert_int_equal(parse_whole(&g, &info, &res), PARSE_OK);
    size_t table = find_table(&g, info.exr.chunk_count);
    uint64_t middle = get64(g.bytes + table + 8);
    put64(g.bytes + middle, 0); /* scanline and size of chunk 1 */
    assert_int_equal(parse_checked(&g, CHUNKS_TABLE, &info, &res), PARSE_OK);
    assert_int_equal(info.completeness, COMPLETENESS_YES);
    assert_int_equal(parse_whole(&g, &info, &res), PARSE_OK);
    assert_int_equal(info.completeness, COMPLETENESS_NO);
    assert_string_equal(info.incomplete_why,
                        "chunk 1: expected scanline 16 in its leader, found 0");
    assert_int_equal(parse_checked(&g, CHUNKS_LIBRARY, &info, &res), PARSE_OK);
    assert_int_equal(info.completeness, COMPLETENESS_NO);
    put64(g.bytes + middle, 16); /* the right scanline, size 0 */
    assert_int_equal(parse_whole(&g, &info, &res), PARSE_OK);
    assert_string_equal(info.incomplete_why,
                        "chunk 1: expected a data size in its leader, found 0");
    free(g.bytes);
}

static struct generated *reader_file;

static ssize_t read_from_file(void *ctx, void *buf, size_t n, uint64_t off)
{
    (void)ctx;
    if (off >= reader_file->len)
        return 0;
    size_t avail = reader_file->len - (size_t)off;
    n = n < avail ? n : avail;
    memcpy(buf, reader_file->bytes + off, n);
    return (ssize_t)n;
}

/* namctl hands in only the head and reads chunk leaders on demand. */
static void head_plus_reader(void **state)
{
    struct generated g = generate("exr", "--size 64x32 --compression zips");
    struct frame_info info;
    struct parse_result res;

    (void)state;
    reader_file = &g;
    struct frame_source src = {.head = g.bytes,
                               .head_len = 400,
                               .complete = true,
                               .file_size = g.len,
                               .read = read_from_file};
    assert_int_equal(exr_parse(&src, &info, &res), PARSE_OK);
    assert_int_equal(info.exr.chunk_count, 32);
    assert_int_equal(info.completeness, COMPLETENESS_YES);
    src.file_size = g.len - 1;
    assert_int_equal(exr_parse(&src, &info, &res), PARSE_OK);
    assert_int_equal(info.completeness, COMPLETENESS_NO);
    free(g.bytes);
}

static void corrupt_header_is_invalid(void **state)
{
    struct frame_info info;
    struct parse_result res;

    (void)state;
    struct generated g = generate("exr", "--poke 4=09"); /* file format version 9 */
    assert_int_equal(parse_whole(&g, &info, &res), PARSE_INVALID);
    assert_false(res.truncated);
    assert_non_null(strstr(res.message, "OpenEXR header unreadable"));
    free(g.bytes);
    g = generate("exr", "--truncate 1");
    g.len = 60; /* the whole file ends inside the header */
    assert_int_equal(parse_whole(&g, &info, &res), PARSE_INVALID);
    assert_true(res.truncated);
    free(g.bytes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fields),
        cmocka_unit_test(every_codec),
        cmocka_unit_test(sample_types),
        cmocka_unit_test(tiled),
        cmocka_unit_test(prefix_needs_more),
        cmocka_unit_test(truncated_is_incomplete),
        cmocka_unit_test(head_plus_reader),
        cmocka_unit_test(damaged_tables),
        cmocka_unit_test(every_leader_catches_middle_damage),
        cmocka_unit_test(corrupt_header_is_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
