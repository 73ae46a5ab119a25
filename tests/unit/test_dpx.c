/* DPX header parser: both byte orders, every field namfs reads, the
 * "need more bytes" answer, and the image size arithmetic (SPEC.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dpx_fixture.h"
#include "namfs/dpx.h"

static uint8_t header[FIXTURE_DPX_HEADER];

static enum parse_status parse(size_t len, bool complete, uint64_t size, struct frame_info *info,
                               struct parse_result *res)
{
    struct frame_source src = {
        .head = header, .head_len = len, .complete = complete, .file_size = size};
    return dpx_parse(&src, info, res);
}

static void check_fields(bool little)
{
    struct dpx_spec s = dpx_spec_default();
    struct frame_info info;
    struct parse_result res;

    s.little_endian = little;
    s.width = 3840;
    s.height = 2160;
    s.transfer = 1;
    s.colorimetric = 2;
    make_dpx_header(header, &s);
    assert_int_equal(parse(sizeof header, false, 0, &info, &res), PARSE_OK);
    assert_int_equal(info.format, FRAME_DPX);
    assert_int_equal(info.dpx.big_endian, !little);
    assert_int_equal(info.width, 3840);
    assert_int_equal(info.height, 2160);
    assert_int_equal(info.components, 3);
    assert_int_equal(info.bit_depth, 16);
    assert_int_equal(info.dpx.descriptor, 50);
    assert_int_equal(info.dpx.transfer, 1);
    assert_int_equal(info.dpx.colorimetric, 2);
    assert_int_equal(info.dpx.element_count, 1);
    assert_int_equal(info.dpx.data_offset, 2048);
    assert_string_equal(info.dpx.version, "V2.0");
    assert_int_equal(info.dpx.file_size_field, 2048 + 49766400);
    assert_int_equal(info.dpx.image_bytes, 49766400); /* SPEC.md: UHD RGB 16-bit */
    assert_int_equal(info.dpx.eol_padding, 0);        /* all-ones means none */
    assert_int_equal(info.completeness, COMPLETENESS_UNKNOWN);
}

static void big_endian_fields(void **state)
{
    (void)state;
    check_fields(false);
}

static void little_endian_fields(void **state)
{
    (void)state;
    check_fields(true);
}

static void ten_bit_sizes(void **state)
{
    (void)state;
    /* SPEC.md: UHD RGB 10-bit filled is 33,177,600 bytes of data. */
    assert_int_equal(dpx_image_bytes(3840, 2160, 3, 10, 1, 0, 0), 33177600);
    assert_int_equal(dpx_image_bytes(3840, 2160, 3, 10, 2, 0, 0), 33177600);
    /* packed: ceil(w*c*10/32)*4 per row; 1 pixel RGB = 30 bits -> 4 bytes */
    assert_int_equal(dpx_image_bytes(1, 1, 3, 10, 0, 0, 0), 4);
    assert_int_equal(dpx_image_bytes(2, 1, 3, 10, 0, 0, 0), 8); /* 60 bits */
    assert_int_equal(dpx_image_bytes(2, 1, 3, 10, 1, 0, 0), 8); /* 6 samples, 2 words */
    assert_int_equal(dpx_image_bytes(3, 1, 3, 10, 1, 0, 0), 12);
    assert_int_equal(dpx_image_bytes(3, 1, 3, 10, 0, 0, 0), 12); /* 90 bits -> 3 words */
    assert_int_equal(dpx_image_bytes(1, 1, 3, 16, 1, 0, 0), 6);  /* unpadded (SPEC.md) */
    assert_int_equal(dpx_image_bytes(10, 2, 3, 16, 1, 4, 100), 2 * (60 + 4) + 100);
    assert_int_equal(dpx_image_bytes(1, 1, 3, 16, 0, 0, 0), 6);  /* writers leave it unpadded */
    assert_int_equal(dpx_image_bytes(10, 2, 3, 10, 3, 0, 0), 0); /* no packing 3 */
    assert_int_equal(dpx_image_bytes(10, 2, 3, 7, 1, 0, 0), 0);  /* no 7-bit */
}

static void components_by_descriptor(void **state)
{
    (void)state;
    assert_int_equal(dpx_components(50), 3);
    assert_int_equal(dpx_components(51), 4);
    assert_int_equal(dpx_components(52), 4);
    assert_int_equal(dpx_components(6), 1);
    assert_int_equal(dpx_components(200), 0);
}

static void short_buffer_needs_more(void **state)
{
    struct dpx_spec s = dpx_spec_default();
    struct frame_info info;
    struct parse_result res;

    (void)state;
    make_dpx_header(header, &s);
    assert_int_equal(parse(100, false, 0, &info, &res), PARSE_NEED_MORE);
    assert_int_equal(res.need, DPX_HEADER_NEED);
    assert_int_equal(parse(DPX_HEADER_NEED - 1, false, 0, &info, &res), PARSE_NEED_MORE);
    assert_int_equal(parse(DPX_HEADER_NEED, false, 0, &info, &res), PARSE_OK);
    /* the whole file is this short: no more will come */
    assert_int_equal(parse(500, true, 500, &info, &res), PARSE_INVALID);
    assert_true(res.truncated);
    assert_non_null(strstr(res.message, "found 500"));
}

static void bad_magic_is_invalid(void **state)
{
    struct dpx_spec s = dpx_spec_default();
    struct frame_info info;
    struct parse_result res;

    (void)state;
    make_dpx_header(header, &s);
    memcpy(header, "SDPY", 4);
    assert_int_equal(parse(sizeof header, false, 0, &info, &res), PARSE_INVALID);
    assert_false(res.truncated);
    assert_non_null(strstr(res.message, "SDPX or XPDS"));
}

static void zero_size_is_invalid(void **state)
{
    struct dpx_spec s = dpx_spec_default();
    struct frame_info info;
    struct parse_result res;

    (void)state;
    s.width = 0;
    make_dpx_header(header, &s);
    assert_int_equal(parse(sizeof header, false, 0, &info, &res), PARSE_INVALID);
    assert_non_null(strstr(res.message, "0 pixels per line"));
}

static void completeness(void **state)
{
    struct dpx_spec s = dpx_spec_default();
    struct frame_info info;
    struct parse_result res;
    uint64_t full = FIXTURE_DPX_HEADER + dpx_spec_data_bytes(&s);

    (void)state;
    make_dpx_header(header, &s);
    assert_int_equal(parse(sizeof header, true, full, &info, &res), PARSE_OK);
    assert_int_equal(info.completeness, COMPLETENESS_YES);
    assert_int_equal(info.file_size, full);
    assert_int_equal(parse(sizeof header, true, full - 1, &info, &res), PARSE_OK);
    assert_int_equal(info.completeness, COMPLETENESS_NO);
    assert_non_null(strstr(info.incomplete_why, "found"));
}

static void undefined_element_offset_uses_header_offset(void **state)
{
    struct dpx_spec s = dpx_spec_default();
    struct frame_info info;
    struct parse_result res;

    (void)state;
    make_dpx_header(header, &s);
    memset(header + 808, 0xff, 4);
    assert_int_equal(parse(sizeof header, false, 0, &info, &res), PARSE_OK);
    assert_int_equal(info.dpx.data_offset, 2048);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(big_endian_fields),
        cmocka_unit_test(little_endian_fields),
        cmocka_unit_test(ten_bit_sizes),
        cmocka_unit_test(components_by_descriptor),
        cmocka_unit_test(short_buffer_needs_more),
        cmocka_unit_test(bad_magic_is_invalid),
        cmocka_unit_test(zero_size_is_invalid),
        cmocka_unit_test(completeness),
        cmocka_unit_test(undefined_element_offset_uses_header_offset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
