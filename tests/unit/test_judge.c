/* The per-file pipeline: naming first, then container (R6), magic vs name
 * (R8), header (R7/R9 when unreadable) and the frame rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dpx_fixture.h"
#include "namfs/judge.h"

#define SEQ "show_s01e01_nam_16b_sdr_aces110_ap0_log_20261124_178_64x32"
#define FRAME SEQ "/" SEQ ".001001.dpx"

static struct profile profile;
static uint8_t buf[FIXTURE_DPX_HEADER + 16384];

static int small_frames_profile(void **state)
{
    char err[300];

    (void)state;
    assert_true(profile_load_string("test.ini",
                                    "[delivery]\nformats = dpx, exr\nresolution = any\n"
                                    "colour = camera-native\n[testing]\nresolution_floor = 64x32\n",
                                    &profile, err, sizeof err));
    return 0;
}

static size_t good_dpx(void)
{
    struct dpx_spec s = dpx_spec_default();

    make_dpx_header(buf, &s);
    return FIXTURE_DPX_HEADER + dpx_spec_data_bytes(&s);
}

static enum judge_outcome judge(const char *path, size_t len, uint64_t size, bool complete,
                                struct judgement *j)
{
    struct frame_source src = {
        .head = buf, .head_len = len, .complete = complete, .file_size = size};
    return judge_file(path, &src, &profile, complete ? JUDGE_COMPLETE : JUDGE_EARLY, j);
}

static void expect_rule(const struct judgement *j, const char *rule, const char *words)
{
    assert_int_equal(j->outcome, JUDGED_FAIL);
    assert_string_equal(rule_name(j->verdict.rule), rule);
    if (words && !strstr(j->verdict.message, words))
        fail_msg("message '%s' lacks '%s'", j->verdict.message, words);
}

static void good_frame_passes(void **state)
{
    struct judgement j;
    size_t size = good_dpx();

    (void)state;
    assert_int_equal(judge(FRAME, size, size, true, &j), JUDGED_PASS);
    assert_true(j.is_frame);
    assert_int_equal(j.name.frame, 1001);
    assert_int_equal(j.name.padding, 6);
    assert_int_equal(j.info.completeness, COMPLETENESS_YES);
}

static void early_judgement_waits_for_the_header(void **state)
{
    struct judgement j;

    (void)state;
    good_dpx();
    assert_int_equal(judge(FRAME, 100, 0, false, &j), JUDGED_NEED_MORE);
    assert_true(j.need > 100);
    assert_int_equal(judge(FRAME, 700, 0, false, &j), JUDGED_NEED_MORE);
    assert_int_equal(j.need, 820);
    assert_int_equal(judge(FRAME, 820, 0, false, &j), JUDGED_PASS);
    buf[803] = 8; /* an 8-bit DPX is refused from its first bytes */
    assert_int_equal(judge(FRAME, 820, 0, false, &j), JUDGED_FAIL);
    expect_rule(&j, "R2", "found 8-bit");
}

static void r6_archives_and_movies(void **state)
{
    struct judgement j;

    (void)state;
    memset(buf, 0, sizeof buf);
    memcpy(buf, "PK\x03\x04", 4);
    judge("delivery.zip", 600, 600, true, &j);
    expect_rule(&j, "R6", "archive");
    memset(buf, 0, sizeof buf);
    memcpy(buf + 257, "ustar", 5);
    judge(SEQ "/frames.tar", 1024, 1024, true, &j);
    expect_rule(&j, "R6", "archive");
    memset(buf, 0, sizeof buf);
    memcpy(buf, "II*\0", 4);
    judge(SEQ "/" SEQ ".001001.tif", 600, 600, true, &j);
    expect_rule(&j, "R6", "TIFF image");
    memset(buf, 0, sizeof buf);
    memcpy(buf + 4, "ftyp", 4);
    judge("master.mov", 600, 600, true, &j);
    expect_rule(&j, "R6", "QuickTime");
    profile.allow_quicktime = true;
    assert_int_equal(judge("master.mov", 600, 600, true, &j), JUDGED_PASS);
    /* a zip, a PNG or a movie named like a frame is not what its name
     * says: R8 comes before every other frame rule (SPEC) */
    memset(buf, 0, sizeof buf);
    memcpy(buf, "PK\x03\x04", 4);
    judge(FRAME, 600, 600, true, &j);
    expect_rule(&j, "R8",
                "not what its name says: name says DPX, expected its magic number, "
                "found a zip archive");
    memset(buf, 0, sizeof buf);
    memcpy(buf, "\x89PNG", 4);
    judge(FRAME, 600, 600, true, &j);
    expect_rule(&j, "R8", "found a PNG image");
    memset(buf, 0, sizeof buf);
    memcpy(buf + 4, "ftyp", 4);
    judge(FRAME, 600, 600, true, &j);
    expect_rule(&j, "R8", "found a QuickTime/MP4 movie");
}

static void r8_names_and_magic(void **state)
{
    struct judgement j;
    static const uint8_t exr_magic[4] = {0x76, 0x2f, 0x31, 0x01};

    (void)state;
    memset(buf, 0, sizeof buf);
    memcpy(buf, exr_magic, 4);
    judge(FRAME, 600, 600, true, &j);
    expect_rule(&j, "R8", "name says DPX");
    memcpy(buf + 257, "ustar", 5); /* header text that looks like tar: still no archive */
    judge(FRAME, 600, 600, true, &j);
    expect_rule(&j, "R8", "name says DPX");
    size_t size = good_dpx();
    judge(SEQ "/notes.txt", size, size, true, &j);
    expect_rule(&j, "R8", "expected a .dpx name");
    judge(FRAME, 0, 0, true, &j);
    expect_rule(&j, "R7", "holds 0 bytes"); /* ImageMagick leaves this between its opens */
    memset(buf, 'a', 600);
    assert_int_equal(judge(SEQ "/notes.txt", 600, 600, true, &j), JUDGED_PASS);
    assert_false(j.is_frame);
}

static void unreadable_headers(void **state)
{
    struct judgement j;

    (void)state;
    good_dpx();
    judge(FRAME, 600, 600, true, &j);
    expect_rule(&j, "R7", "inside the DPX header");
    good_dpx();
    buf[772] = buf[773] = buf[774] = buf[775] = 0; /* zero width */
    judge(FRAME, 2048, 2048, true, &j);
    expect_rule(&j, "R9", "0 pixels per line");
}

static void r7_short_image_data(void **state)
{
    struct judgement j;
    size_t size = good_dpx();

    (void)state;
    /* the size field claims the full size, the file is one byte short */
    judge(FRAME, FIXTURE_DPX_HEADER, size - 1, true, &j);
    expect_rule(&j, "R7", "incomplete frame");
}

static void naming_comes_first(void **state)
{
    struct judgement j;
    size_t size = good_dpx();

    (void)state;
    judge("show/show.1001.dpx", size, size, true, &j);
    expect_rule(&j, "N3", "sequence folder 'show'");
    judge(SEQ "/other.001001.dpx", size, size, true, &j);
    expect_rule(&j, "N4", NULL);
    judge(SEQ "/.DS_Store", size, size, true, &j);
    expect_rule(&j, "N6", NULL);
    assert_int_equal(judge(SEQ "/checksum.txt", size, size, true, &j), JUDGED_SKIP);
    assert_int_equal(judge("ascmhl/0001_x.mhl", size, size, true, &j), JUDGED_SKIP);
}

/* judge_skips_by_name says what judge_file does without the bytes. */
static void skipped_by_name_alone(void **state)
{
    static const char *const paths[] = {
        SEQ "/checksum.txt",
        "ascmhl/0001_x.mhl",
        SEQ "/.namfs-tmp.checksum.txt.1a2b3c",
        ".namfs-tmp.ascmhl_chain.xml.9",
        FRAME,
        SEQ "/.DS_Store",
        SEQ "/notes.txt",
        "show/show.1001.dpx",
    };
    struct judgement j;
    size_t size = good_dpx();

    (void)state;
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        assert_int_equal(judge_skips_by_name(paths[i], &profile),
                         judge(paths[i], size, size, true, &j) == JUDGED_SKIP);
    assert_true(judge_skips_by_name(SEQ "/.namfs-tmp.checksum.txt.1a2b3c", &profile));
    assert_false(judge_skips_by_name(FRAME, &profile));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(good_frame_passes, small_frames_profile),
        cmocka_unit_test_setup(early_judgement_waits_for_the_header, small_frames_profile),
        cmocka_unit_test_setup(r6_archives_and_movies, small_frames_profile),
        cmocka_unit_test_setup(r8_names_and_magic, small_frames_profile),
        cmocka_unit_test_setup(unreadable_headers, small_frames_profile),
        cmocka_unit_test_setup(r7_short_image_data, small_frames_profile),
        cmocka_unit_test_setup(naming_comes_first, small_frames_profile),
        cmocka_unit_test_setup(skipped_by_name_alone, small_frames_profile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
