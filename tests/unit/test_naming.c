/* Naming (SPEC.md N1-N4, N6): path classification, the N3 folder fields,
 * the N4 frame file name, frame number and padding, textless and reels,
 * and what a relaxed profile lets through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "namfs/naming.h"
#include "namfs/profile.h"
#include "namfs/verdict.h"

#define FOLDER "mytitle_s01e01_nam_16b_sdr_aces110_ap0_linear_20261124_178_3840x2160"
#define TXTLS "mytitle_s01e01_nam-txtls_16b_sdr_aces110_ap0_linear_20261124_178_3840x2160"

static struct profile def;

static int setup(void **state)
{
    (void)state;
    profile_default(&def);
    return 0;
}

/* "<folder>/<folder>.<digits>.<ext>" */
static const char *frame_path(char *buf, size_t len, const char *folder, const char *digits,
                              const char *ext)
{
    snprintf(buf, len, "%s/%s.%s.%s", folder, folder, digits, ext);
    return buf;
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("expected '%s' in '%s'", needle, haystack);
}

static void assert_fails(const char *relpath, const struct profile *p, enum rule_id rule,
                         struct frame_name *out, struct verdict *v)
{
    bool ok = naming_parse(relpath, p, out, v);
    if (ok || v->rule != rule)
        fail_msg("%s: expected %s, got %s (%s)", relpath, rule_name(rule),
                 ok ? "pass" : rule_name(v->rule), v->message);
}

static void assert_passes(const char *relpath, const struct profile *p, struct frame_name *out,
                          struct verdict *v)
{
    bool ok = naming_parse(relpath, p, out, v);
    if (!ok || v->rule != RULE_NONE)
        fail_msg("%s: expected pass, got %s (%s)", relpath, rule_name(v->rule), v->message);
    assert_string_equal(v->message, "");
}

static void load_profile(struct profile *p, const char *extra)
{
    char text[512], err[256];

    snprintf(text, sizeof text,
             "[delivery]\nformats = dpx, exr\nresolution = any\ncolour = camera-native\n%s", extra);
    if (!profile_load_string("test.ini", text, p, err, sizeof err))
        fail_msg("profile did not load: %s", err);
}

/* ---- a valid frame ---- */

static void valid_frame_parses(void **state)
{
    (void)state;
    struct frame_name n;
    struct verdict v;
    char path[400];

    assert_passes(frame_path(path, sizeof path, FOLDER, "086400", "exr"), &def, &n, &v);
    assert_int_equal(n.kind, NAME_FRAME);
    assert_int_equal(n.named_format, FRAME_EXR);
    assert_int_equal(n.frame, 86400);
    assert_int_equal(n.padding, 6);
    assert_string_equal(n.asset, FOLDER "/" FOLDER);
    assert_string_equal(n.title, "mytitle");
    assert_false(n.textless);
    assert_string_equal(n.texted_asset, "");

    const struct declared *d = &n.declared;
    assert_true(d->present);
    assert_string_equal(d->title, "mytitle");
    assert_string_equal(d->episode, "s01e01");
    assert_int_equal(d->bit_depth, 16);
    assert_string_equal(d->range, "sdr");
    assert_string_equal(d->aces_version, "aces110");
    assert_string_equal(d->colour_space, "ap0");
    assert_string_equal(d->transfer, "linear");
    assert_string_equal(d->date, "20261124");
    assert_string_equal(d->aspect, "178");
    assert_int_equal(d->width, 3840);
    assert_int_equal(d->height, 2160);
}

static void frame_number_and_padding(void **state)
{
    (void)state;
    struct frame_name n;
    struct verdict v;
    char path[400];

    assert_passes(frame_path(path, sizeof path, FOLDER, "0001", "dpx"), &def, &n, &v);
    assert_int_equal(n.named_format, FRAME_DPX);
    assert_int_equal(n.frame, 1);
    assert_int_equal(n.padding, 4);

    assert_passes(frame_path(path, sizeof path, FOLDER, "12345678", "dpx"), &def, &n, &v);
    assert_int_equal(n.frame, 12345678);
    assert_int_equal(n.padding, 8);

    assert_passes(frame_path(path, sizeof path, FOLDER, "0", "exr"), &def, &n, &v);
    assert_int_equal(n.frame, 0);
    assert_int_equal(n.padding, 1);
}

static void nested_delivery_path(void **state)
{
    (void)state;
    struct frame_name n;
    struct verdict v;

    assert_passes("season1/" FOLDER "/" FOLDER ".1001.exr", &def, &n, &v);
    assert_string_equal(n.asset, "season1/" FOLDER "/" FOLDER);
    assert_int_equal(n.frame, 1001);
}

static void title_with_underscores(void **state)
{
    (void)state;
    struct frame_name n;
    struct verdict v;
    char path[400];
    const char *folder =
        "my_long_title_s02e10_nam_10b_hdr_aces130_ap0_acescct_20250101_239_4096x2160";

    assert_passes(frame_path(path, sizeof path, folder, "1001", "dpx"), &def, &n, &v);
    assert_string_equal(n.declared.title, "my_long_title");
    assert_string_equal(n.title, "my_long_title");
    assert_string_equal(n.declared.episode, "s02e10");
    assert_int_equal(n.declared.bit_depth, 10);
    assert_string_equal(n.declared.range, "hdr");
    assert_string_equal(n.declared.transfer, "acescct");
    assert_string_equal(n.declared.aspect, "239");
    assert_int_equal(n.declared.width, 4096);
    assert_int_equal(n.declared.height, 2160);
}

/* ---- N1 ---- */

static void n1_space_fails(void **state)
{
    (void)state;
    struct frame_name n;
    struct verdict v;

    assert_fails("my folder/" FOLDER ".0001.dpx", &def, RULE_N1, &n, &v);
    assert_contains(v.message, "'my folder'");
    assert_contains(v.message, "expected only A-Z a-z 0-9 . _ -");
}

static void n1_at_sign_fails(void **state)
{
    (void)state;
    struct frame_name n;
    struct verdict v;

    assert_fails(FOLDER "/" FOLDER "@.0001.dpx", &def, RULE_N1, &n, &v);
    assert_contains(v.message, FOLDER "@.0001.dpx");
    assert_contains(v.message, "expected only");
}

static void n1_unicode_byte_fails(void **state)
{
    (void)state;
    struct frame_name n;
    struct verdict v;

    assert_fails("caf\xc3\xa9/" FOLDER ".0001.dpx", &def, RULE_N1, &n, &v);
    assert_contains(v.message, "caf\xc3\xa9");
}

static void n1_allowed_characters_pass(void **state)
{
    (void)state;
    struct frame_name n;
    struct verdict v;

    /* '-' and '.' in fields that allow them, digits, both cases */
    const char *folder = "Title-2_Seg-A_nam_16b_sdr_aces1.3_ap0_log_20261124_1.78_3840x2160";
    char path[400];
    assert_passes(frame_path(path, sizeof path, folder, "0001", "dpx"), &def, &n, &v);
    assert_string_equal(n.declared.title, "Title-2");
    assert_string_equal(n.declared.episode, "Seg-A");
}

static void n1_relaxed_passes(void **state)
{
    (void)state;
    struct profile p;
    struct frame_name n;
    struct verdict v;
    const char *folder = "my title_s01e01_nam_16b_sdr_aces110_ap0_linear_20261124_178_3840x2160";
    char path[400];

    frame_path(path, sizeof path, folder, "0001", "dpx");
    assert_fails(path, &def, RULE_N1, &n, &v);
    assert_contains(v.message, "'my title_s01e01");
    load_profile(&p, "[rules]\nrelax = N1\n");
    assert_false(profile_enforces(&p, RULE_N1));
    assert_passes(path, &p, &n, &v);
    assert_string_equal(n.declared.title, "my title");
}

/* ---- N2 ---- */

/* A valid path of exactly len characters: "<pad>/<folder>/<folder>.0001.dpx". */
static void path_of_length(char *buf, size_t cap, size_t len)
{
    size_t tail = 2 * strlen(FOLDER) + strlen("/") + strlen(".0001.dpx");
    size_t pad = len - tail - 1; /* pad + '/' */

    assert_true(len > tail + 1 && len < cap);
    memset(buf, 'd', pad);
    snprintf(buf + pad, cap - pad, "/%s/%s.0001.dpx", FOLDER, FOLDER);
    assert_int_equal(strlen(buf), len);
}

static void n2_256_passes(void **state)
{
    (void)state;
    struct frame_name n;
    struct verdict v;
    char path[400];

    path_of_length(path, sizeof path, 256);
    assert_passes(path, &def, &n, &v);
    assert_int_equal(n.kind, NAME_FRAME);
}

static void n2_257_fails(void **state)
{
    (void)state;
    struct frame_name n;
    struct verdict v;
    char path[400];

    path_of_length(path, sizeof path, 257);
    assert_fails(path, &def, RULE_N2, &n, &v);
    assert_contains(v.message, "257");
    assert_contains(v.message, "at most 256");
}

static void n2_relaxed_passes(void **state)
{
    (void)state;
    struct profile p;
    struct frame_name n;
    struct verdict v;
    char path[400];

    load_profile(&p, "[rules]\nrelax = N2\n");
    path_of_length(path, sizeof path, 300);
    assert_passes(path, &p, &n, &v);
    assert_int_equal(n.frame, 1);
}

/* ---- N3 ---- */

static void expect_n3(const char *folder, const char *field, const char *found)
{
    struct frame_name n;
    struct verdict v;
    char path[600];

    assert_fails(frame_path(path, sizeof path, folder, "0001", "dpx"), &def, RULE_N3, &n, &v);
    assert_contains(v.message, folder);
    assert_contains(v.message, field);
    assert_contains(v.message, "expected");
    if (found)
        assert_contains(v.message, found);
}

static void n3_title_empty(void **state)
{
    (void)state;
    expect_n3("_s01e01_nam_16b_sdr_aces110_ap0_linear_20261124_178_3840x2160", "field 1 (title)",
              NULL);
}

static void n3_episode_bad(void **state)
{
    (void)state;
    expect_n3("mytitle_s01.e01_nam_16b_sdr_aces110_ap0_linear_20261124_178_3840x2160",
              "field 2 (season-episode", "'s01.e01'");
}

/* An empty season-episode field is an N3 mistake like any empty field. */
static void n3_episode_empty(void **state)
{
    (void)state;
    expect_n3("mytitle__nam_16b_sdr_aces110_ap0_linear_20261124_178_3840x2160",
              "field 2 (season-episode", NULL);
}

static void n3_asset_type_bad(void **state)
{
    (void)state;
    expect_n3("mytitle_s01e01_nom_16b_sdr_aces110_ap0_linear_20261124_178_3840x2160",
              "field 3 (asset type): expected nam or nam-txtls", "'nom'");
}

static void n3_bit_depth_12b(void **state)
{
    (void)state;
    expect_n3("mytitle_s01e01_nam_12b_sdr_aces110_ap0_linear_20261124_178_3840x2160",
              "field 4 (bit depth): expected 10b or 16b", "'12b'");
}

static void n3_range_xdr(void **state)
{
    (void)state;
    expect_n3("mytitle_s01e01_nam_16b_xdr_aces110_ap0_linear_20261124_178_3840x2160",
              "field 5 (dynamic range): expected sdr or hdr", "'xdr'");
}

static void n3_aces_version_empty(void **state)
{
    (void)state;
    expect_n3("mytitle_s01e01_nam_16b_sdr__ap0_linear_20261124_178_3840x2160",
              "field 6 (aces version)", NULL);
}

static void n3_colour_space_empty(void **state)
{
    (void)state;
    expect_n3("mytitle_s01e01_nam_16b_sdr_aces110__linear_20261124_178_3840x2160",
              "field 7 (colour space)", NULL);
}

static void n3_transfer_empty(void **state)
{
    (void)state;
    expect_n3("mytitle_s01e01_nam_16b_sdr_aces110_ap0__20261124_178_3840x2160",
              "field 8 (transfer)", NULL);
}

static void n3_date_bad_month(void **state)
{
    (void)state;
    expect_n3("mytitle_s01e01_nam_16b_sdr_aces110_ap0_linear_20261340_178_3840x2160",
              "field 9 (date): expected YYYYMMDD", "'20261340'");
}

static void n3_date_short(void **state)
{
    (void)state;
    expect_n3("mytitle_s01e01_nam_16b_sdr_aces110_ap0_linear_2026112_178_3840x2160",
              "field 9 (date)", "'2026112'");
}

/* The date must exist: 30 February does not. */
static void n3_date_impossible_day(void **state)
{
    (void)state;
    expect_n3("mytitle_s01e01_nam_16b_sdr_aces110_ap0_linear_20260230_178_3840x2160",
              "field 9 (date)", "'20260230'");
}

static void n3_aspect_bad(void **state)
{
    (void)state;
    expect_n3("mytitle_s01e01_nam_16b_sdr_aces110_ap0_linear_20261124_wide_3840x2160",
              "field 10 (aspect ratio)", "'wide'");
}

static void n3_resolution_bad(void **state)
{
    (void)state;
    expect_n3("mytitle_s01e01_nam_16b_sdr_aces110_ap0_linear_20261124_178_3840by2160",
              "field 11 (resolution): expected WIDTHxHEIGHT", "'3840by2160'");
    expect_n3("mytitle_s01e01_nam_16b_sdr_aces110_ap0_linear_20261124_178_3840x",
              "field 11 (resolution)", "'3840x'");
    expect_n3("mytitle_s01e01_nam_16b_sdr_aces110_ap0_linear_20261124_178_0x2160",
              "field 11 (resolution)", "'0x2160'");
    expect_n3("mytitle_s01e01_nam_16b_sdr_aces110_ap0_linear_20261124_178_3840x2160x1",
              "field 11 (resolution)", "'3840x2160x1'");
}

static void n3_too_few_fields(void **state)
{
    (void)state;
    expect_n3("mytitle_s01e01_nam_16b_sdr", "expected <title>_<episode>", "found 5 fields");
}

static void n3_frame_at_root_fails(void **state)
{
    (void)state;
    struct frame_name n;
    struct verdict v;

    assert_fails(FOLDER ".0001.dpx", &def, RULE_N3, &n, &v);
    assert_contains(v.message, "delivery root");
}

static void parse_folder_direct(void **state)
{
    (void)state;
    struct declared d;
    char why[240];

    assert_true(naming_parse_folder(FOLDER, &d, why, sizeof why));
    assert_true(d.present);
    assert_false(d.textless);
    assert_int_equal(d.width, 3840);

    assert_true(naming_parse_folder(TXTLS, &d, why, sizeof why));
    assert_true(d.textless);

    assert_false(naming_parse_folder("a_b_c", &d, why, sizeof why));
    assert_false(d.present);
    assert_contains(why, "found 3 fields");

    assert_false(naming_parse_folder(
        "mytitle_s01e01_nam_16b_sdr_aces110_ap0_linear_20261124_178_3840x2160_extra", &d, why,
        sizeof why));
    assert_false(d.present);
    /* the ten fixed fields are taken from the right: "nam" lands in field 2 */
    assert_contains(why, "field 3 (asset type)");
    assert_contains(why, "'16b'");
}

/* ---- N4 ---- */

static void n4_stem_differs_from_folder(void **state)
{
    (void)state;
    struct frame_name n;
    struct verdict v;

    assert_fails(FOLDER "/othername.0001.dpx", &def, RULE_N4, &n, &v);
    assert_contains(v.message, "othername.0001.dpx");
    assert_contains(v.message, "expected the name " FOLDER ".<frame>.dpx");
    assert_contains(v.message, "found stem 'othername'");
}

static void n4_uppercase_extension(void **state)
{
    (void)state;
    struct frame_name n;
    struct verdict v;
    char path[400];

    assert_fails(frame_path(path, sizeof path, FOLDER, "0001", "DPX"), &def, RULE_N4, &n, &v);
    assert_int_equal(n.kind, NAME_FRAME);
    assert_int_equal(n.named_format, FRAME_DPX);
    assert_contains(v.message, FOLDER ".0001.DPX");
    assert_contains(v.message, "expected <name>.<frame>.dpx or .exr");
}

static void n4_missing_dot_before_frame(void **state)
{
    (void)state;
    struct frame_name n;
    struct verdict v;

    assert_fails(FOLDER "/" FOLDER "_0001.dpx", &def, RULE_N4, &n, &v);
    assert_contains(v.message, FOLDER "_0001.dpx");
    assert_contains(v.message, "expected <name>.<frame>.dpx");
}

static void n4_no_frame_number(void **state)
{
    (void)state;
    struct frame_name n;
    struct verdict v;

    /* the stem's own trailing digits (the resolution) are no frame number */
    assert_fails(FOLDER "/" FOLDER ".dpx", &def, RULE_N4, &n, &v);
    assert_contains(v.message, "expected <name>.<frame>.dpx");
    /* no digits at all: S5, a file name carries exactly one frame number */
    assert_fails("notes/readme.dpx", &def, RULE_S5, &n, &v);
    assert_contains(v.message, "'readme.dpx': expected one frame number");
}

/* Relaxing N3 leaves N4 (frame name = folder name) enforced. */
static void n4_enforced_when_only_n3_relaxed(void **state)
{
    (void)state;
    struct profile p;
    struct frame_name n;
    struct verdict v;

    load_profile(&p, "[rules]\nrelax = N3\n");
    assert_true(profile_enforces(&p, RULE_N4));
    assert_passes("shots/shots.0001.dpx", &p, &n, &v);
    assert_fails("shots/othername.0001.dpx", &p, RULE_N4, &n, &v);
    assert_contains(v.message, "othername");
}

/* ---- N6 and other kinds ---- */

static void n6_system_files(void **state)
{
    (void)state;
    static const char *const names[] = {
        ".DS_Store", "._foo.dpx", "Thumbs.db", ".name.dpx.AbC123", "foo~", "x.swp",
    };
    struct frame_name n;
    struct verdict v;
    char path[400];

    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        assert_true(naming_is_system(names[i]));
        snprintf(path, sizeof path, "%s/%s", FOLDER, names[i]);
        assert_fails(path, &def, RULE_N6, &n, &v);
        assert_int_equal(n.kind, NAME_SYSTEM);
        assert_contains(v.message, names[i]);
        assert_contains(v.message, "hidden, system or temp file");
    }
    /* a hidden folder makes everything under it a system file */
    assert_fails(".Trashes/" FOLDER ".0001.dpx", &def, RULE_N6, &n, &v);
    assert_int_equal(n.kind, NAME_SYSTEM);
}

static void n6_ordinary_names_are_not_system(void **state)
{
    (void)state;
    assert_false(naming_is_system(FOLDER ".0001.dpx"));
    assert_false(naming_is_system("checksum.txt"));
    assert_false(naming_is_system("notes.txt"));
    assert_false(naming_is_system("a.tmpl"));
}

static void n6_relaxed_passes_as_system(void **state)
{
    (void)state;
    struct profile p;
    struct frame_name n;
    struct verdict v;

    load_profile(&p, "[rules]\nrelax = N6\n");
    assert_passes(FOLDER "/.DS_Store", &p, &n, &v);
    assert_int_equal(n.kind, NAME_SYSTEM);
}

static void manifests(void **state)
{
    (void)state;
    struct frame_name n;
    struct verdict v;

    assert_passes(FOLDER "/checksum.txt", &def, &n, &v);
    assert_int_equal(n.kind, NAME_MANIFEST);
    assert_passes("checksum.txt", &def, &n, &v);
    assert_int_equal(n.kind, NAME_MANIFEST);
    assert_passes("ascmhl/0001_delivery_2026-11-24_120000Z.mhl", &def, &n, &v);
    assert_int_equal(n.kind, NAME_MANIFEST);
    assert_passes("ascmhl/ascmhl_chain.xml", &def, &n, &v);
    assert_int_equal(n.kind, NAME_MANIFEST);

    /* the partner's label is lower case: anything else is just a file */
    assert_passes(FOLDER "/Checksum.txt", &def, &n, &v);
    assert_int_equal(n.kind, NAME_OTHER);
}

static void other_files(void **state)
{
    (void)state;
    struct frame_name n;
    struct verdict v;

    assert_passes(FOLDER "/notes.txt", &def, &n, &v);
    assert_int_equal(n.kind, NAME_OTHER);
    assert_int_equal(n.named_format, FRAME_UNKNOWN);
    assert_passes("README", &def, &n, &v);
    assert_int_equal(n.kind, NAME_OTHER);
    /* N1 still applies to other files */
    assert_fails(FOLDER "/my notes.txt", &def, RULE_N1, &n, &v);
}

/* ---- textless and reels ---- */

static void textless_asset(void **state)
{
    (void)state;
    struct frame_name n;
    struct verdict v;
    char path[400];

    assert_passes(frame_path(path, sizeof path, TXTLS, "1001", "exr"), &def, &n, &v);
    assert_true(n.textless);
    assert_true(n.declared.textless);
    assert_string_equal(n.asset, TXTLS "/" TXTLS);
    assert_string_equal(n.texted_asset, FOLDER "/" FOLDER);
    assert_string_equal(n.title, "mytitle");

    /* the texted asset's own parse gives the same key */
    struct frame_name t;
    assert_passes(frame_path(path, sizeof path, FOLDER, "1001", "exr"), &def, &t, &v);
    assert_string_equal(t.asset, n.texted_asset);
}

static void reels_mode(void **state)
{
    (void)state;
    struct profile p;
    struct frame_name n;
    struct verdict v;

    load_profile(&p, "reels = true\n");
    assert_true(p.reels);
    assert_passes(FOLDER "/r01/" FOLDER ".0001.dpx", &p, &n, &v);
    assert_int_equal(n.kind, NAME_FRAME);
    assert_string_equal(n.asset, FOLDER "/r01/" FOLDER);
    assert_int_equal(n.frame, 1);
    assert_true(n.declared.present);
    assert_string_equal(n.title, "mytitle");

    struct frame_name r2;
    assert_passes(FOLDER "/r02/" FOLDER ".0001.dpx", &p, &r2, &v);
    assert_string_not_equal(r2.asset, n.asset); /* one sequence per reel */

    /* stem must still be the sequence folder, not the reel */
    assert_fails(FOLDER "/r01/r01.0001.dpx", &p, RULE_N4, &n, &v);

    /* without reels mode the reel folder is taken for the sequence folder */
    assert_fails(FOLDER "/r01/" FOLDER ".0001.dpx", &def, RULE_N3, &n, &v);
    assert_contains(v.message, "'r01'");
}

/* ---- relaxed naming ---- */

static void relaxed_checks_off(void **state)
{
    (void)state;
    struct profile p;
    struct frame_name n;
    struct verdict v;

    load_profile(&p, "[naming]\nchecks = off\n");
    assert_passes("My Shots/weird name.000123.DPX", &p, &n, &v);
    assert_int_equal(n.kind, NAME_FRAME);
    assert_int_equal(n.named_format, FRAME_DPX);
    assert_string_equal(n.asset, "My Shots/weird name");
    assert_string_equal(n.title, "My Shots/weird name");
    assert_int_equal(n.frame, 123);
    assert_int_equal(n.padding, 6);
    assert_false(n.declared.present);

    /* the same name fails under the default profile */
    assert_fails("My Shots/weird name.000123.DPX", &def, RULE_N1, &n, &v);
}

static void relaxed_n3(void **state)
{
    (void)state;
    struct profile p;
    struct frame_name n;
    struct verdict v;

    load_profile(&p, "[rules]\nrelax = N3\n");
    assert_false(profile_enforces(&p, RULE_N3));
    assert_passes("shots/shots.086400.exr", &p, &n, &v);
    assert_string_equal(n.asset, "shots/shots");
    assert_string_equal(n.title, "shots/shots");
    assert_int_equal(n.frame, 86400);
    assert_int_equal(n.padding, 6);
    assert_false(n.declared.present);
    assert_false(n.textless);

    assert_fails("shots/shots.086400.exr", &def, RULE_N3, &n, &v);
    assert_contains(v.message, "'shots'");
}

/* N6: writers' temp names are held in the mount until renamed, anywhere
 * in the path; frame names, and names merely containing "temp", are not. */
static void writer_temp_names_are_held(void **state)
{
    (void)state;
    assert_true(naming_is_held("seq/.seq.0001.dpx.Ab3xYz"));        /* rsync */
    assert_true(naming_is_held("/seq/seq.0001.1a2b3c4d.temp.exr")); /* OpenImageIO */
    assert_true(naming_is_held("seq/seq.0001.dpx.part"));           /* curl */
    assert_true(naming_is_held("seq/seq.0001.dpx.partial"));        /* rclone */
    assert_true(naming_is_held("seq/x.TMP"));
    assert_true(naming_is_held(".cache/seq/seq.0001.dpx")); /* in a hidden folder */
    assert_false(naming_is_held("seq/seq.0001.exr"));
    assert_false(naming_is_held("seq/temp.0001.exr"));
    assert_false(naming_is_held("seq/seq.temp.exr"));
    assert_false(naming_is_held("seq/seq.0001.partial.exr"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(writer_temp_names_are_held),
        cmocka_unit_test(valid_frame_parses),
        cmocka_unit_test(frame_number_and_padding),
        cmocka_unit_test(nested_delivery_path),
        cmocka_unit_test(title_with_underscores),
        cmocka_unit_test(n1_space_fails),
        cmocka_unit_test(n1_at_sign_fails),
        cmocka_unit_test(n1_unicode_byte_fails),
        cmocka_unit_test(n1_allowed_characters_pass),
        cmocka_unit_test(n1_relaxed_passes),
        cmocka_unit_test(n2_256_passes),
        cmocka_unit_test(n2_257_fails),
        cmocka_unit_test(n2_relaxed_passes),
        cmocka_unit_test(n3_title_empty),
        cmocka_unit_test(n3_episode_bad),
        cmocka_unit_test(n3_episode_empty),
        cmocka_unit_test(n3_asset_type_bad),
        cmocka_unit_test(n3_bit_depth_12b),
        cmocka_unit_test(n3_range_xdr),
        cmocka_unit_test(n3_aces_version_empty),
        cmocka_unit_test(n3_colour_space_empty),
        cmocka_unit_test(n3_transfer_empty),
        cmocka_unit_test(n3_date_bad_month),
        cmocka_unit_test(n3_date_short),
        cmocka_unit_test(n3_date_impossible_day),
        cmocka_unit_test(n3_aspect_bad),
        cmocka_unit_test(n3_resolution_bad),
        cmocka_unit_test(n3_too_few_fields),
        cmocka_unit_test(n3_frame_at_root_fails),
        cmocka_unit_test(parse_folder_direct),
        cmocka_unit_test(n4_stem_differs_from_folder),
        cmocka_unit_test(n4_uppercase_extension),
        cmocka_unit_test(n4_missing_dot_before_frame),
        cmocka_unit_test(n4_no_frame_number),
        cmocka_unit_test(n4_enforced_when_only_n3_relaxed),
        cmocka_unit_test(n6_system_files),
        cmocka_unit_test(n6_ordinary_names_are_not_system),
        cmocka_unit_test(n6_relaxed_passes_as_system),
        cmocka_unit_test(manifests),
        cmocka_unit_test(other_files),
        cmocka_unit_test(textless_asset),
        cmocka_unit_test(reels_mode),
        cmocka_unit_test(relaxed_checks_off),
        cmocka_unit_test(relaxed_n3),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
