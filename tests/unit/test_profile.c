/* Delivery profile: built-in defaults, every key of a full profile, and
 * every mistake naming file:line, the key and what was expected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "namfs/profile.h"

#define BIT(n) (1u << (n))
#define RULE_BIT(r) ((uint64_t)1 << (r))

/* Lines 1-4: a minimal valid profile; tests append from line 5 on. */
#define BASE "[delivery]\nformats = dpx\nresolution = any\ncolour = camera-native\n"

static const char full_profile[] = "; every key namfs knows\n"    /* 1 */
                                   "[delivery]\n"                 /* 2 */
                                   "formats = dpx, exr\n"         /* 3 */
                                   "resolution = 4096x2160\n"     /* 4 */
                                   "colour = aces\n"              /* 5 */
                                   "allow_dpx10 = yes\n"          /* 6 */
                                   "dpx_transfer = 1, 3, 0\n"     /* 7 */
                                   "exr_compression = piz, zip\n" /* 8 */
                                   "aces_container_flag = required\n"
                                   "allow_quicktime = on\n"
                                   "reels = true\n"
                                   "\n"
                                   "[rules]\n"
                                   "relax = R9, n6\n"
                                   "\n"
                                   "[naming]\n"
                                   "checks = off\n"
                                   "\n"
                                   "[manifest]\n"
                                   "checksum = md5\n"
                                   "mhl = xxh128, md5 , sha1\n"
                                   "\n"
                                   "[testing]\n"
                                   "resolution_floor = 1920x1080\n";

static void assert_contains(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("expected '%s' in '%s'", needle, haystack);
}

static void load_ok(const char *name, const char *text, struct profile *p)
{
    char err[400] = "";

    if (!profile_load_string(name, text, p, err, sizeof err))
        fail_msg("expected %s to load, got: %s", name, err);
}

/* Loads text as "bad.ini" expecting a failure; every needle must be in the message. */
static void expect_error(const char *text, const char *const *needles)
{
    struct profile p;
    char err[400] = "";

    if (profile_load_string("bad.ini", text, &p, err, sizeof err))
        fail_msg("expected a load failure for:\n%s", text);
    assert_true(strlen(err) > 0);
    for (; *needles; needles++)
        assert_contains(err, *needles);
}

#define EXPECT_ERROR(text, ...)                                                                    \
    do {                                                                                           \
        static const char *const needles_[] = {__VA_ARGS__, NULL};                                 \
        expect_error(text, needles_);                                                              \
    } while (0)

static void check_full(const struct profile *p)
{
    assert_true(p->allow_dpx);
    assert_true(p->allow_exr);
    assert_int_equal(p->width, 4096);
    assert_int_equal(p->height, 2160);
    assert_int_equal(p->colour, COLOUR_ACES);
    assert_true(p->allow_dpx10);
    assert_int_equal(p->dpx_transfers, BIT(0) | BIT(1) | BIT(3));
    assert_int_equal(p->exr_codecs, BIT(EXR_CODEC_PIZ) | BIT(EXR_CODEC_ZIP));
    assert_false(profile_allows_codec(p, EXR_CODEC_NONE));
    assert_false(profile_allows_codec(p, EXR_CODEC_ZIPS));
    assert_true(p->aces_flag_required);
    assert_true(p->allow_quicktime);
    assert_true(p->reels);
    for (int r = RULE_N1; r <= RULE_N6; r++)
        assert_false(profile_enforces(p, (enum rule_id)r));
    assert_false(profile_enforces(p, RULE_R9));
    assert_true(profile_enforces(p, RULE_R4));
    assert_true(profile_enforces(p, RULE_S2));
    assert_int_equal(p->checksum_hash, HASH_MD5);
    assert_int_equal(p->mhl_hashes, BIT(HASH_XXH128) | BIT(HASH_MD5) | BIT(HASH_SHA1));
    assert_int_equal(p->floor_width, 1920);
    assert_int_equal(p->floor_height, 1080);
    assert_true(p->testing);
}

/* ---- defaults ---- */

static void defaults(void **state)
{
    (void)state;
    struct profile p;
    char list[128];

    memset(&p, 0xa5, sizeof p);
    profile_default(&p);
    assert_string_equal(p.source, "built-in default");
    assert_true(p.allow_dpx);
    assert_true(p.allow_exr);
    assert_int_equal(p.width, 0);
    assert_int_equal(p.height, 0);
    assert_int_equal(p.floor_width, 3840);
    assert_int_equal(p.floor_height, 2160);
    assert_false(p.testing);
    assert_false(p.allow_dpx10);
    assert_int_equal(p.dpx_transfers, BIT(1) | BIT(3));
    assert_int_equal(p.colour, COLOUR_CAMERA_NATIVE);
    assert_false(p.aces_flag_required);
    assert_false(p.allow_quicktime);
    assert_false(p.reels);
    assert_int_equal(p.relaxed, 0);
    assert_int_equal(p.checksum_hash, HASH_XXH128);
    assert_string_equal(hash_algo_name(p.checksum_hash), "xxh128");
    assert_int_equal(p.mhl_hashes, BIT(HASH_XXH128));

    for (int c = 0; c < EXR_CODEC_COUNT; c++) {
        bool want =
            c == EXR_CODEC_NONE || c == EXR_CODEC_ZIP || c == EXR_CODEC_ZIPS || c == EXR_CODEC_PIZ;
        if (profile_allows_codec(&p, (enum exr_codec)c) != want)
            fail_msg("codec %d: expected %s", c, want ? "allowed" : "refused");
    }
    assert_false(profile_allows_codec(&p, EXR_CODEC_COUNT));
    profile_codec_list(&p, list, sizeof list);
    assert_string_equal(list, "NONE, ZIPS, ZIP, PIZ");
    profile_transfer_list(&p, list, sizeof list);
    assert_string_equal(list, "1, 3");

    for (int r = RULE_R1; r < RULE_COUNT; r++)
        if (!profile_enforces(&p, (enum rule_id)r))
            fail_msg("default profile relaxes %s", rule_name((enum rule_id)r));
}

static void hash_names(void **state)
{
    (void)state;
    assert_string_equal(hash_algo_name(HASH_XXH128), "xxh128");
    assert_string_equal(hash_algo_name(HASH_XXH64), "xxh64");
    assert_string_equal(hash_algo_name(HASH_MD5), "md5");
    assert_string_equal(hash_algo_name(HASH_C4), "c4");
    assert_string_equal(hash_algo_name(HASH_ALGO_COUNT), "?");
}

/* ---- valid profiles ---- */

static void full_profile_sets_every_field(void **state)
{
    (void)state;
    struct profile p;

    load_ok("full.ini", full_profile, &p);
    assert_string_equal(p.source, "full.ini");
    check_full(&p);
}

static void minimal_profile_keeps_defaults(void **state)
{
    (void)state;
    struct profile p;

    load_ok("min.ini", BASE, &p);
    assert_true(p.allow_dpx);
    assert_false(p.allow_exr); /* formats = dpx only */
    assert_int_equal(p.width, 0);
    assert_int_equal(p.colour, COLOUR_CAMERA_NATIVE);
    assert_int_equal(p.floor_width, 3840);
    assert_int_equal(p.floor_height, 2160);
    assert_false(p.allow_dpx10);
    assert_int_equal(p.dpx_transfers, BIT(1) | BIT(3));
    assert_int_equal(p.relaxed, 0);
    assert_int_equal(p.checksum_hash, HASH_XXH128);
}

static void other_valid_values(void **state)
{
    (void)state;
    struct profile p;

    load_ok("ok.ini",
            "[delivery]\nformats = EXR\nresolution = 3840X2160\ncolour = Camera-Native\n"
            "allow_dpx10 = 0\nreels = no\naces_container_flag = optional\n"
            "[naming]\nchecks = on\n[manifest]\nchecksum = xxh64be\n",
            &p);
    assert_false(p.allow_dpx);
    assert_true(p.allow_exr);
    assert_int_equal(p.width, 3840);
    assert_int_equal(p.height, 2160);
    assert_false(p.allow_dpx10);
    assert_false(p.reels);
    assert_false(p.aces_flag_required);
    assert_int_equal(p.checksum_hash, HASH_XXH64);
    for (int r = RULE_N1; r <= RULE_N6; r++)
        assert_true(profile_enforces(&p, (enum rule_id)r));
}

static void naming_checks_off_relaxes_n_rules(void **state)
{
    (void)state;
    struct profile p;

    load_ok("n.ini", BASE "[naming]\nchecks = off\n", &p);
    for (int r = RULE_N1; r <= RULE_N5; r++)
        assert_false(profile_enforces(&p, (enum rule_id)r));
    assert_true(profile_enforces(&p, RULE_R9));
    assert_true(profile_enforces(&p, RULE_S3));
}

static void relax_list(void **state)
{
    (void)state;
    struct profile p;

    load_ok("r.ini", BASE "[rules]\nrelax = N3\n", &p);
    assert_int_equal(p.relaxed, RULE_BIT(RULE_N3));
    load_ok("r.ini", BASE "[rules]\nrelax = r9 , N1\n", &p);
    assert_int_equal(p.relaxed, RULE_BIT(RULE_R9) | RULE_BIT(RULE_N1));
}

static void testing_floor_allows_small_resolution(void **state)
{
    (void)state;
    struct profile p;

    /* the floor is judged on the whole file: [testing] may come after */
    load_ok("t.ini",
            "[delivery]\nformats = dpx\nresolution = 1920x1080\ncolour = aces\n"
            "[testing]\nresolution_floor = 64x64\n",
            &p);
    assert_int_equal(p.width, 1920);
    assert_int_equal(p.floor_width, 64);
    assert_int_equal(p.floor_height, 64);
    assert_true(p.testing);
}

/* ---- mistakes ---- */

static void bad_bool(void **state)
{
    (void)state;
    EXPECT_ERROR(BASE "allow_dpx10 = maybe\n", "bad.ini:5:", "allow_dpx10",
                 "expected true/false, yes/no, on/off or 1/0", "'maybe'");
    EXPECT_ERROR(BASE "; comment\n\nreels = 2\n", "bad.ini:7:", "reels",
                 "expected true/false, yes/no", "'2'");
}

static void first_mistake_wins(void **state)
{
    (void)state;
    EXPECT_ERROR(BASE "allow_quicktime = sure\ndpx_transfer = 99\n",
                 "bad.ini:5:", "allow_quicktime");
}

/* An unknown key names the keys the section expects. */
static void unknown_key_delivery(void **state)
{
    (void)state;
    EXPECT_ERROR(BASE "frobnicate = 1\n", "bad.ini:5:", "frobnicate", "unknown key", "expected");
}

static void unknown_key_other_sections(void **state)
{
    (void)state;
    EXPECT_ERROR(BASE "[manifest]\nhash = md5\n", "bad.ini:6:", ".hash'", "unknown key",
                 "expected checksum, mhl");
    EXPECT_ERROR(BASE "[naming]\ncheck = off\n", "bad.ini:6:", ".check'", "expected checks");
    EXPECT_ERROR(BASE "[rules]\nrelaxed = N1\n", "bad.ini:6:", ".relaxed'", "expected relax");
    EXPECT_ERROR(BASE "[testing]\nfloor = 1x1\n", "bad.ini:6:", ".floor'",
                 "expected resolution_floor");
}

static void unknown_section(void **state)
{
    (void)state;
    EXPECT_ERROR(BASE "[extra]\nkey = value\n", "bad.ini:6:", ".key'", "unknown section [extra]",
                 "expected delivery, rules, naming, manifest, testing");
}

static void bad_resolution(void **state)
{
    (void)state;
    EXPECT_ERROR("[delivery]\nformats = dpx\nresolution = 4k\ncolour = aces\n",
                 "bad.ini:3:", ".resolution'", "expected WIDTHxHEIGHT", "'4k'");
    EXPECT_ERROR("[delivery]\nformats = dpx\nresolution = 3840x\ncolour = aces\n",
                 "bad.ini:3:", "'3840x'");
    EXPECT_ERROR("[delivery]\nformats = dpx\nresolution = 0x2160\ncolour = aces\n",
                 "bad.ini:3:", "'0x2160'");
}

/* A resolution below the R1 floor is reported with its key and line. */
static void resolution_below_floor(void **state)
{
    (void)state;
    EXPECT_ERROR("[delivery]\nformats = dpx\nresolution = 1920x1080\ncolour = aces\n",
                 "bad.ini:3:", "resolution", "expected at least 3840x2160", "1920x1080");
}

static void resolution_below_floor_rejected(void **state)
{
    (void)state;
    /* one dimension below is enough (SPEC.md R1: "in either dimension") */
    EXPECT_ERROR("[delivery]\nformats = dpx\nresolution = 4096x1716\ncolour = aces\n", "bad.ini",
                 "resolution", "expected at least 3840x2160", "4096x1716");
}

static void missing_required_keys(void **state)
{
    (void)state;
    EXPECT_ERROR("[delivery]\nresolution = any\ncolour = aces\n",
                 "bad.ini:3:", "missing required key 'delivery.formats'");
    EXPECT_ERROR("[delivery]\nformats = exr\ncolour = aces\n",
                 "bad.ini:3:", "missing required key 'delivery.resolution'");
    EXPECT_ERROR("[delivery]\nformats = exr\nresolution = any\n\n",
                 "bad.ini:4:", "missing required key 'delivery.colour'");
    EXPECT_ERROR("", "bad.ini", "missing required key 'delivery.formats'");
}

static void relax_forbidden_rule(void **state)
{
    (void)state;
    EXPECT_ERROR(BASE "[rules]\nrelax = R9, R4\n", "bad.ini:6:", ".relax'",
                 "expected rule ids that may be relaxed (R9, N1..N6)", "'R4'");
    EXPECT_ERROR(BASE "[rules]\nrelax = S2\n", "bad.ini:6:", "'S2'");
    EXPECT_ERROR(BASE "[rules]\nrelax = X7\n", "bad.ini:6:", "'X7'");
}

static void bad_codec(void **state)
{
    (void)state;
    EXPECT_ERROR(BASE "exr_compression = piz, zip2\n", "bad.ini:5:", ".exr_compression'",
                 "expected none, zip, zips and/or piz", "'zip2'");
}

/* R4 cannot be relaxed: a profile cannot admit lossy codecs (or RLE). */
static void lossy_codec_refused(void **state)
{
    (void)state;
    EXPECT_ERROR(BASE "exr_compression = piz, dwaa\n", "bad.ini:5:", ".exr_compression'",
                 "expected", "dwaa");
    EXPECT_ERROR(BASE "exr_compression = b44\n", "bad.ini:5:", ".exr_compression'", "b44");
}

static void bad_transfer(void **state)
{
    (void)state;
    EXPECT_ERROR(BASE "dpx_transfer = 1, 14\n", "bad.ini:5:", ".dpx_transfer'",
                 "expected DPX transfer codes 0..13", "'14'");
    EXPECT_ERROR(BASE "dpx_transfer = log\n", "bad.ini:5:", "'log'");
}

static void bad_checksum(void **state)
{
    (void)state;
    EXPECT_ERROR(BASE "[manifest]\nchecksum = sha256\n", "bad.ini:6:", ".checksum'",
                 "expected xxh128, xxh64be or md5", "'sha256'");
    EXPECT_ERROR(BASE "[manifest]\nmhl = xxh128, crc32\n", "bad.ini:6:", ".mhl'",
                 "expected ASC MHL hash formats", "'crc32'");
}

static void other_bad_values(void **state)
{
    (void)state;
    EXPECT_ERROR("[delivery]\nformats = dpx, mov\nresolution = any\ncolour = aces\n",
                 "bad.ini:2:", ".formats'", "expected dpx and/or exr", "'mov'");
    EXPECT_ERROR("[delivery]\nformats =\nresolution = any\ncolour = aces\n",
                 "bad.ini:2:", ".formats'", "expected a comma-separated list");
    EXPECT_ERROR("[delivery]\nformats = dpx\nresolution = any\ncolour = rec709\n",
                 "bad.ini:4:", ".colour'", "expected camera-native or aces", "'rec709'");
    EXPECT_ERROR(BASE "aces_container_flag = maybe\n", "bad.ini:5:", ".aces_container_flag'",
                 "expected optional or required");
    EXPECT_ERROR(BASE "[naming]\nchecks = perhaps\n", "bad.ini:6:", ".checks'",
                 "expected true/false, yes/no, on/off or 1/0");
    EXPECT_ERROR(BASE "[testing]\nresolution_floor = small\n", "bad.ini:6:", ".resolution_floor'",
                 "expected WIDTHxHEIGHT", "'small'");
}

static void syntax_error_line(void **state)
{
    (void)state;
    EXPECT_ERROR(BASE "; fine\nallow_dpx10\n", "bad.ini:6:", "syntax error",
                 "expected '[section]' or 'key = value'");
    EXPECT_ERROR("[delivery]\nformats = dpx\nresolution = any\ncolour = aces\njust words\n",
                 "bad.ini:5:", "syntax error");
}

/* A syntax error is reported at its line, before later key errors. */
static void unterminated_section_line(void **state)
{
    (void)state;
    EXPECT_ERROR("[delivery\nformats = dpx\nresolution = any\ncolour = aces\n",
                 "bad.ini:1:", "syntax error");
}

/* ---- files ---- */

/* A folder opens for reading on Linux; it must not read as an empty
 * profile ("missing required key"). */
static void load_folder(void **state)
{
    (void)state;
    struct profile p;
    char err[400] = "";

    assert_false(profile_load("/tmp", &p, err, sizeof err));
    assert_contains(err, "/tmp");
    assert_contains(err, "expected a profile file, found a folder");
}

/* namctl --profile <(...) hands a pipe over: it is a profile like a file. */
static void load_pipe(void **state)
{
    (void)state;
    static const char text[] = "[delivery]\nformats = dpx\nresolution = any\ncolour = aces\n";
    struct profile p;
    char err[400] = "", path[64];
    int fds[2];

    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fds[1]);
    snprintf(path, sizeof path, "/dev/fd/%d", fds[0]);
    assert_true(profile_load(path, &p, err, sizeof err));
    assert_int_equal(p.colour, COLOUR_ACES);
    close(fds[0]);
}

static void load_missing_path(void **state)
{
    (void)state;
    struct profile p;
    char err[400] = "";
    const char *path = "/nonexistent-namfs-dir/profile.ini";

    assert_false(profile_load(path, &p, err, sizeof err));
    assert_contains(err, path);
    assert_contains(err, "cannot open it");
}

static char *write_temp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/namfs-profile-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

static void load_real_file(void **state)
{
    (void)state;
    struct profile p;
    char err[400] = "", want[128];
    char *path = write_temp(full_profile);

    bool ok = profile_load(path, &p, err, sizeof err);
    if (!ok) {
        unlink(path);
        fail_msg("expected %s to load: %s", path, err);
    }
    assert_string_equal(p.source, path);
    check_full(&p);

    /* a mistake in a file names the file and line */
    unlink(path);
    path = write_temp(BASE "\nallow_dpx10 = sometimes\n");
    ok = profile_load(path, &p, err, sizeof err);
    unlink(path);
    assert_false(ok);
    snprintf(want, sizeof want, "%s:6:", path);
    assert_contains(err, want);
    assert_contains(err, ".allow_dpx10'");
    assert_contains(err, "'sometimes'");
}

/* Mistakes that would otherwise leave a surprise in force. */
static void silent_traps_are_errors(void **state)
{
    char long_comment[400];

    (void)state;
    EXPECT_ERROR(BASE "exr_compression = zip\nexr_compression = piz\n",
                 "bad.ini:6:", "expected once", "first on line 5");
    EXPECT_ERROR(BASE "exr_compression = zip,\n    piz\n", "bad.ini:5:", "exr_compression");
    EXPECT_ERROR(BASE "exr_compression = zip,,piz\n", "bad.ini:5:", "empty item");
    EXPECT_ERROR(BASE "exr_compression = zip,\n", "bad.ini:5:", "empty item");
    EXPECT_ERROR("[delivery]\nformats = dpx\nresolution = 3840x 2160\ncolour = aces\n",
                 "bad.ini:3:", "resolution");
    memset(long_comment, 'c', sizeof long_comment);
    long_comment[0] = ';';
    long_comment[sizeof long_comment - 1] = '\0';
    char text[1024];
    snprintf(text, sizeof text, "%s%s\n", BASE, long_comment);
    EXPECT_ERROR(text, "bad.ini:5:", "line longer than");
    EXPECT_ERROR("", "bad.ini:1:", "missing required key");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(hash_names),
        cmocka_unit_test(full_profile_sets_every_field),
        cmocka_unit_test(minimal_profile_keeps_defaults),
        cmocka_unit_test(other_valid_values),
        cmocka_unit_test(naming_checks_off_relaxes_n_rules),
        cmocka_unit_test(relax_list),
        cmocka_unit_test(testing_floor_allows_small_resolution),
        cmocka_unit_test(bad_bool),
        cmocka_unit_test(first_mistake_wins),
        cmocka_unit_test(unknown_key_delivery),
        cmocka_unit_test(unknown_key_other_sections),
        cmocka_unit_test(unknown_section),
        cmocka_unit_test(bad_resolution),
        cmocka_unit_test(resolution_below_floor),
        cmocka_unit_test(resolution_below_floor_rejected),
        cmocka_unit_test(missing_required_keys),
        cmocka_unit_test(relax_forbidden_rule),
        cmocka_unit_test(bad_codec),
        cmocka_unit_test(lossy_codec_refused),
        cmocka_unit_test(bad_transfer),
        cmocka_unit_test(bad_checksum),
        cmocka_unit_test(other_bad_values),
        cmocka_unit_test(syntax_error_line),
        cmocka_unit_test(unterminated_section_line),
        cmocka_unit_test(silent_traps_are_errors),
        cmocka_unit_test(load_missing_path),
        cmocka_unit_test(load_folder),
        cmocka_unit_test(load_pipe),
        cmocka_unit_test(load_real_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
