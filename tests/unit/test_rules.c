/* Frame rules R1-R9 and N5, each both ways, on frame_info values built by
 * hand so every field can be set to the case under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "namfs/exr.h"
#include "namfs/rules.h"

static const float AP0[8] = {0.7347f, 0.2653f, 0.0f, 1.0f, 0.0001f, -0.077f, 0.32168f, 0.33767f};
static const float REC709[8] = {0.64f, 0.33f, 0.30f, 0.60f, 0.15f, 0.06f, 0.3127f, 0.3290f};

static struct profile profile;

static int reset_profile(void **state)
{
    (void)state;
    profile_default(&profile);
    return 0;
}

static struct frame_info good_dpx(void)
{
    struct frame_info f;

    memset(&f, 0, sizeof f);
    f.format = FRAME_DPX;
    f.width = 3840;
    f.height = 2160;
    f.components = 3;
    f.bit_depth = 16;
    f.file_size = 2048 + 49766400;
    f.completeness = COMPLETENESS_YES;
    strcpy(f.dpx.version, "V2.0");
    f.dpx.element_count = 1;
    f.dpx.descriptor = 50;
    f.dpx.transfer = 3;
    f.dpx.colorimetric = 1;
    f.dpx.bit_size = 16;
    f.dpx.encryption_key = 0xffffffffu;
    f.dpx.data_offset = f.dpx.header_data_offset = 2048;
    f.dpx.image_bytes = 49766400;
    f.dpx.file_size_field = 2048 + 49766400;
    return f;
}

static struct frame_info good_exr(void)
{
    struct frame_info f;
    static const char *const names[3] = {"B", "G", "R"};

    memset(&f, 0, sizeof f);
    f.format = FRAME_EXR;
    f.width = 3840;
    f.height = 2160;
    f.components = 3;
    f.bit_depth = 16;
    f.completeness = COMPLETENESS_YES;
    f.exr.parts = 1;
    f.exr.storage = EXR_SCANLINE;
    f.exr.codec = EXR_CODEC_PIZ;
    f.exr.channel_count = 3;
    for (int i = 0; i < 3; i++) {
        strcpy(f.exr.channels[i].name, names[i]);
        f.exr.channels[i].sample = EXR_SAMPLE_HALF;
    }
    f.exr.data_window[2] = f.exr.display_window[2] = 3839;
    f.exr.data_window[3] = f.exr.display_window[3] = 2159;
    f.exr.has_chromaticities = true;
    memcpy(f.exr.chromaticities, AP0, sizeof AP0);
    f.exr.aces_container_flag = -1;
    return f;
}

/* Judges f completely and checks the outcome: rule == RULE_NONE for a
 * pass, else that rule with `words` in the message. */
static void expect(const struct frame_info *f, const struct declared *d, enum rule_id rule,
                   const char *words)
{
    struct verdict v;
    bool passed = rules_judge_frame(f, &profile, d, JUDGE_COMPLETE, &v);

    if (rule == RULE_NONE) {
        assert_true(passed);
        assert_int_equal(v.rule, RULE_NONE);
        return;
    }
    assert_false(passed);
    assert_string_equal(rule_name(v.rule), rule_name(rule));
    if (words && !strstr(v.message, words))
        fail_msg("message '%s' lacks '%s'", v.message, words);
}

static void good_frames_pass(void **state)
{
    struct frame_info d = good_dpx(), e = good_exr();

    (void)state;
    expect(&d, NULL, RULE_NONE, NULL);
    expect(&e, NULL, RULE_NONE, NULL);
}

static void r1_resolution(void **state)
{
    struct frame_info f = good_dpx();

    (void)state;
    f.width = 1920;
    expect(&f, NULL, RULE_R1, "expected at least 3840x2160, found 1920x2160");
    f = good_exr();
    f.height = 2000;
    expect(&f, NULL, RULE_R1, "found 3840x2000");
    f = good_exr();
    f.exr.display_window[2] = 1919;
    expect(&f, NULL, RULE_R1, "display window");
    f = good_dpx();
    f.width = 4096;
    expect(&f, NULL, RULE_NONE, NULL); /* "any at or above UHD" by default */
    profile.width = 4096;
    profile.height = 2160;
    f = good_dpx();
    expect(&f, NULL, RULE_R1, "archival resolution 4096x2160, found 3840x2160");
}

static void r1_testing_floor(void **state)
{
    struct frame_info f = good_dpx();

    (void)state;
    f.width = 64;
    f.height = 32;
    expect(&f, NULL, RULE_R1, NULL);
    profile.floor_width = 64;
    profile.floor_height = 32;
    expect(&f, NULL, RULE_NONE, NULL);
}

static void r2_dpx_bit_depth_and_transfer(void **state)
{
    struct frame_info f = good_dpx();

    (void)state;
    f.dpx.bit_size = 8;
    f.bit_depth = 8;
    expect(&f, NULL, RULE_R2, "expected 16-bit DPX, found 8-bit");
    f = good_dpx();
    f.dpx.bit_size = f.bit_depth = 12;
    expect(&f, NULL, RULE_R2, "found 12-bit");
    f = good_dpx();
    f.dpx.transfer = 2; /* linear belongs in EXR */
    expect(&f, NULL, RULE_R2, "found 2");
    f.dpx.transfer = 1; /* printing density is log */
    expect(&f, NULL, RULE_NONE, NULL);
    f.dpx.transfer = 0; /* user-defined only when the profile says so */
    expect(&f, NULL, RULE_R2, NULL);
    profile.dpx_transfers |= 1u;
    expect(&f, NULL, RULE_NONE, NULL);
    profile.allow_dpx = false;
    expect(&f, NULL, RULE_R4, "found DPX"); /* an EXR-only (linear) project */
}

static void r3_ten_bit_dpx(void **state)
{
    struct frame_info f = good_dpx();

    (void)state;
    f.dpx.bit_size = f.bit_depth = 10;
    f.dpx.packing = 1;
    expect(&f, NULL, RULE_R3, "allow_dpx10");
    profile.allow_dpx10 = true;
    expect(&f, NULL, RULE_NONE, NULL);
}

static void r4_exr_channels_codec_layout(void **state)
{
    struct frame_info f = good_exr();

    (void)state;
    f.exr.channels[1].sample = EXR_SAMPLE_FLOAT;
    f.bit_depth = 32;
    expect(&f, NULL, RULE_R4, "channel G float");
    f = good_exr();
    f.exr.channels[0].sample = EXR_SAMPLE_UINT;
    expect(&f, NULL, RULE_R4, "uint");
    static const enum exr_codec lossy[] = {EXR_CODEC_DWAA, EXR_CODEC_DWAB,  EXR_CODEC_B44,
                                           EXR_CODEC_B44A, EXR_CODEC_PXR24, EXR_CODEC_RLE};
    for (size_t i = 0; i < sizeof lossy / sizeof lossy[0]; i++) {
        f = good_exr();
        f.exr.codec = lossy[i];
        expect(&f, NULL, RULE_R4, exr_codec_name(lossy[i]));
    }
    static const enum exr_codec lossless[] = {EXR_CODEC_NONE, EXR_CODEC_ZIP, EXR_CODEC_ZIPS,
                                              EXR_CODEC_PIZ};
    for (size_t i = 0; i < 4; i++) {
        f = good_exr();
        f.exr.codec = lossless[i];
        expect(&f, NULL, RULE_NONE, NULL);
    }
    profile.exr_codecs = 1u << EXR_CODEC_PIZ; /* a profile may narrow the list */
    f.exr.codec = EXR_CODEC_ZIP;
    expect(&f, NULL, RULE_R4, "expected compression PIZ, found ZIP");
    f = good_exr();
    f.exr.parts = 2;
    expect(&f, NULL, RULE_R4, "single-part");
    f = good_exr();
    f.exr.storage = EXR_DEEP_SCANLINE;
    expect(&f, NULL, RULE_R4, "deep");
    f = good_exr();
    f.exr.storage = EXR_TILED;
    expect(&f, NULL, RULE_NONE, NULL);
}

static void r5_aces(void **state)
{
    struct frame_info f = good_exr();

    (void)state;
    memcpy(f.exr.chromaticities, REC709, sizeof REC709);
    expect(&f, NULL, RULE_NONE, NULL); /* camera-native: not judged */
    profile.colour = COLOUR_ACES;
    expect(&f, NULL, RULE_R5, "expected AP0");
    f.exr.has_chromaticities = false;
    expect(&f, NULL, RULE_R5, "found none");
    f = good_exr();
    expect(&f, NULL, RULE_NONE, NULL);
    f.exr.chromaticities[6] += 0.00005f; /* within 1e-4 */
    expect(&f, NULL, RULE_NONE, NULL);
    f.exr.chromaticities[6] += 0.001f;
    expect(&f, NULL, RULE_R5, NULL);
    f = good_dpx();
    expect(&f, NULL, RULE_R5, "found DPX");
    f = good_exr();
    profile.aces_flag_required = true;
    expect(&f, NULL, RULE_R5, "acesImageContainerFlag");
    f.exr.aces_container_flag = 1;
    expect(&f, NULL, RULE_NONE, NULL);
}

static void r7_completeness(void **state)
{
    struct frame_info f = good_exr();

    (void)state;
    f.completeness = COMPLETENESS_NO;
    strcpy(f.incomplete_why, "chunk for scanline 2144 missing");
    expect(&f, NULL, RULE_R7, "scanline 2144");
    f = good_dpx();
    f.completeness = COMPLETENESS_NO;
    strcpy(f.incomplete_why, "expected 49768448 bytes");
    expect(&f, NULL, RULE_R7, "49768448");
}

static void r9_dpx_consistency(void **state)
{
    struct frame_info f;

    (void)state;
    f = good_dpx();
    strcpy(f.dpx.version, "V3.0");
    expect(&f, NULL, RULE_R9, "V3.0");
    f = good_dpx();
    f.dpx.element_count = 2;
    expect(&f, NULL, RULE_R9, "found 2");
    f = good_dpx();
    f.dpx.data_sign = 1;
    expect(&f, NULL, RULE_R9, "unsigned");
    f = good_dpx();
    f.dpx.encryption_key = 0x1234;
    expect(&f, NULL, RULE_R9, "encryption");
    f = good_dpx();
    f.dpx.encoding = 1;
    expect(&f, NULL, RULE_R9, "RLE");
    f = good_dpx();
    f.dpx.file_size_field = 12345; /* ImageMagick 6 does this */
    expect(&f, NULL, RULE_R9, "file size field");
    profile.relaxed |= (uint64_t)1 << RULE_R9;
    expect(&f, NULL, RULE_NONE, NULL);
    f = good_dpx();
    f.dpx.encoding = 1; /* relaxing R9 relaxes bookkeeping, not structure */
    expect(&f, NULL, RULE_R9, "RLE");
    profile.relaxed = 0;
    f = good_dpx();
    f.dpx.data_offset = f.dpx.header_data_offset = 768; /* inside the generic header */
    expect(&f, NULL, RULE_R9, "1664-byte generic header");
    f = good_dpx();
    f.dpx.header_data_offset = 8192;
    expect(&f, NULL, RULE_R9, "offsets to agree");
}

static void picture_channels(void **state)
{
    struct frame_info f = good_dpx();

    (void)state;
    f.dpx.descriptor = 6; /* luma only */
    expect(&f, NULL, RULE_R2, "RGB or RGBA");
    f.dpx.descriptor = 51;
    expect(&f, NULL, RULE_NONE, NULL);
    f = good_exr();
    strcpy(f.exr.channels[0].name, "Y");
    expect(&f, NULL, RULE_R4, "found Y");
    f = good_exr();
    f.exr.channel_count = f.components = 2;
    expect(&f, NULL, RULE_R4, "found 2 channels");
    f = good_exr();
    f.exr.channel_count = f.components = 4;
    strcpy(f.exr.channels[3].name, "A");
    f.exr.channels[3].sample = EXR_SAMPLE_HALF;
    expect(&f, NULL, RULE_NONE, NULL);
}

static void r1_exr_windows(void **state)
{
    struct frame_info f = good_exr();

    (void)state;
    f.exr.data_window[0] += 1000; /* same size, elsewhere */
    f.exr.data_window[2] += 1000;
    expect(&f, NULL, RULE_R1, "data window to be the display window");
}

static struct declared declared_uhd(void)
{
    struct declared d;

    memset(&d, 0, sizeof d);
    d.present = true;
    d.bit_depth = 16;
    d.width = 3840;
    d.height = 2160;
    strcpy(d.colour_space, "ap0");
    strcpy(d.transfer, "linear");
    return d;
}

static void n5_declared_fields(void **state)
{
    struct frame_info f = good_exr();
    struct declared d = declared_uhd();

    (void)state;
    expect(&f, &d, RULE_NONE, NULL);
    d.bit_depth = 10;
    expect(&f, &d, RULE_N5, "declares 10b");
    d = declared_uhd();
    d.width = 4096;
    expect(&f, &d, RULE_N5, "declares 4096x2160, found 3840x2160");
    d = declared_uhd();
    strcpy(d.transfer, "log");
    expect(&f, &d, RULE_N5, "declares log");
    d = declared_uhd();
    memcpy(f.exr.chromaticities, REC709, sizeof REC709);
    expect(&f, &d, RULE_N5, "declares ap0");
    f = good_dpx();
    d = declared_uhd();
    expect(&f, &d, RULE_N5, "declares linear");
    strcpy(d.transfer, "log");
    expect(&f, &d, RULE_NONE, NULL);
    profile.relaxed |= (uint64_t)1 << RULE_N5;
    d.bit_depth = 10;
    expect(&f, &d, RULE_NONE, NULL);
}

/* The early stage judges only fields writers never patch later. */
static void early_stage_skips_patched_fields(void **state)
{
    struct frame_info f = good_dpx();
    struct verdict v;

    (void)state;
    f.dpx.file_size_field = 0; /* oiiotool patches it at the end */
    f.dpx.element_count = 0;   /* and this */
    f.completeness = COMPLETENESS_NO;
    f.dpx.transfer = 2;
    assert_true(rules_judge_frame(&f, &profile, NULL, JUDGE_EARLY, &v));
    assert_false(rules_judge_frame(&f, &profile, NULL, JUDGE_COMPLETE, &v));
    f.dpx.bit_size = f.bit_depth = 8;
    assert_false(rules_judge_frame(&f, &profile, NULL, JUDGE_EARLY, &v));
    assert_string_equal(rule_name(v.rule), "R2");
    /* an EXR header is whole before it parses: its chromaticities are final */
    f = good_exr();
    f.completeness = COMPLETENESS_NO;
    memcpy(f.exr.chromaticities, REC709, sizeof REC709);
    profile.colour = COLOUR_ACES;
    assert_false(rules_judge_frame(&f, &profile, NULL, JUDGE_EARLY, &v));
    assert_string_equal(rule_name(v.rule), "R5");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(good_frames_pass, reset_profile),
        cmocka_unit_test_setup(r1_resolution, reset_profile),
        cmocka_unit_test_setup(r1_testing_floor, reset_profile),
        cmocka_unit_test_setup(r2_dpx_bit_depth_and_transfer, reset_profile),
        cmocka_unit_test_setup(r3_ten_bit_dpx, reset_profile),
        cmocka_unit_test_setup(r4_exr_channels_codec_layout, reset_profile),
        cmocka_unit_test_setup(r5_aces, reset_profile),
        cmocka_unit_test_setup(r7_completeness, reset_profile),
        cmocka_unit_test_setup(r9_dpx_consistency, reset_profile),
        cmocka_unit_test_setup(n5_declared_fields, reset_profile),
        cmocka_unit_test_setup(picture_channels, reset_profile),
        cmocka_unit_test_setup(r1_exr_windows, reset_profile),
        cmocka_unit_test_setup(early_stage_skips_patched_fields, reset_profile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
