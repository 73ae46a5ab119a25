/* Mutation fuzzing of the header parsers inside the unit suite: thousands
 * of corrupted DPX and OpenEXR headers, parsed as prefixes and as whole
 * files. Under the sanitizer build any out-of-bounds read fails the test;
 * in both builds every result must be one of the three parse outcomes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dpx_fixture.h"
#include "namfs/frame.h"
#include "namgen_fixture.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

static void mutate(uint8_t *bytes, size_t len, size_t region)
{
    int edits = 1 + (int)(next_random() % 8);
    for (int i = 0; i < edits; i++) {
        size_t at = next_random() % region;
        switch (next_random() % 3) {
        case 0:
            bytes[at] = (uint8_t)next_random();
            break;
        case 1:
            bytes[at] = 0xff;
            break;
        default:
            memset(bytes + at, 0, (len - at) < 4 ? len - at : 4);
        }
    }
}

/* Parses exactly len bytes copied to the heap, so ASan sees any overrun. */
static void parse_exactly(const uint8_t *bytes, size_t len, bool complete)
{
    uint8_t *copy = malloc(len ? len : 1);
    struct frame_info info;
    struct parse_result res;

    assert_non_null(copy);
    memcpy(copy, bytes, len);
    struct frame_source src = {
        .head = copy, .head_len = len, .complete = complete, .file_size = len};
    enum parse_status st = frame_parse(&src, &info, &res);
    assert_true(st == PARSE_OK || st == PARSE_NEED_MORE || st == PARSE_INVALID);
    if (st == PARSE_NEED_MORE)
        assert_true(res.need > len || !complete);
    free(copy);
}

static void fuzz(const uint8_t *seed, size_t len, size_t region, int rounds)
{
    uint8_t *work = malloc(len);

    assert_non_null(work);
    for (int i = 0; i < rounds; i++) {
        memcpy(work, seed, len);
        mutate(work, len, region);
        size_t cut = next_random() % (len + 1);
        parse_exactly(work, len, true);
        parse_exactly(work, cut, false);
        parse_exactly(work, cut, true);
    }
    free(work);
}

static void dpx_headers(void **state)
{
    static uint8_t frame[FIXTURE_DPX_HEADER + 12288];
    struct dpx_spec s = dpx_spec_default();

    (void)state;
    make_dpx_header(frame, &s);
    fuzz(frame, sizeof frame, FIXTURE_DPX_HEADER, 20000);
    s.little_endian = true;
    make_dpx_header(frame, &s);
    fuzz(frame, sizeof frame, FIXTURE_DPX_HEADER, 20000);
}

static void exr_headers(void **state)
{
    static const char *const variants[] = {
        "--size 32x16 --compression zip --chroma ap0",
        "--size 40x40 --storage tiled --compression piz",
        "--size 16x8 --compression b44 --type float",
    };

    (void)state;
    for (size_t v = 0; v < 3; v++) {
        struct generated g = generate("exr", variants[v]);
        size_t region = g.len < 600 ? g.len : 600; /* header and chunk table */
        fuzz(g.bytes, g.len, region, 3000);
        free(g.bytes);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dpx_headers),
        cmocka_unit_test(exr_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
