/* Sequence rules (SPEC.md S1-S5) over hand-built frame names and headers:
 * fixed properties, gaps, padding per asset and per title, textless
 * inserts against their texted asset, duplicates, and scale. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "namfs/sequence.h"

#define TEXTED "t_s01e01_nam_16b/t_s01e01_nam_16b"
#define TEXTLESS "t_s01e01_nam-txtls_16b/t_s01e01_nam-txtls_16b"

static const float ap0[8] = {0.7347f, 0.2653f, 0.0f, 1.0f, 0.0001f, -0.077f, 0.32168f, 0.33767f};
static const float rec709[8] = {0.64f, 0.33f, 0.30f, 0.60f, 0.15f, 0.06f, 0.3127f, 0.3290f};

static struct frame_info dpx(uint32_t w, uint32_t h, int bits)
{
    struct frame_info f;

    memset(&f, 0, sizeof f);
    f.format = FRAME_DPX;
    f.width = w;
    f.height = h;
    f.components = 3;
    f.bit_depth = bits;
    f.dpx.descriptor = 50;
    f.dpx.transfer = 3;
    f.dpx.colorimetric = 1;
    f.dpx.bit_size = (uint8_t)bits;
    f.dpx.packing = 1;
    return f;
}

static struct frame_info exr(enum exr_codec codec, const float *chroma)
{
    struct frame_info f;
    static const char *const names[] = {"B", "G", "R"};

    memset(&f, 0, sizeof f);
    f.format = FRAME_EXR;
    f.width = 3840;
    f.height = 2160;
    f.components = 3;
    f.bit_depth = 16;
    f.exr.parts = 1;
    f.exr.codec = codec;
    f.exr.channel_count = 3;
    for (int i = 0; i < 3; i++) {
        snprintf(f.exr.channels[i].name, sizeof f.exr.channels[i].name, "%s", names[i]);
        f.exr.channels[i].sample = EXR_SAMPLE_HALF;
    }
    if (chroma) {
        f.exr.has_chromaticities = true;
        memcpy(f.exr.chromaticities, chroma, sizeof f.exr.chromaticities);
    }
    f.exr.aces_container_flag = -1;
    return f;
}

static struct frame_name name(const char *asset, const char *title, uint64_t frame, int padding)
{
    struct frame_name n;

    memset(&n, 0, sizeof n);
    n.kind = NAME_FRAME;
    snprintf(n.asset, sizeof n.asset, "%s", asset);
    snprintf(n.title, sizeof n.title, "%s", title);
    n.frame = frame;
    n.padding = padding;
    return n;
}

static struct frame_name textless(uint64_t frame, int padding)
{
    struct frame_name n = name(TEXTLESS, "t", frame, padding);

    n.textless = true;
    snprintf(n.texted_asset, sizeof n.texted_asset, "%s", TEXTED);
    return n;
}

/* What a test has open, freed by teardown even when an assertion fails. */
static struct seqset *current;
static struct status_range *open_gaps;

static struct seqset *new_set(void)
{
    current = seqset_new();
    assert_non_null(current);
    return current;
}

static void end_set(void)
{
    seqset_free(current);
    current = NULL;
}

static void report(const struct seqset *s, size_t i, struct asset_report *r)
{
    assert_true(seqset_report(s, i, r));
    open_gaps = r->gaps;
}

static void done_report(struct asset_report *r)
{
    free(r->gaps);
    r->gaps = open_gaps = NULL;
}

static int teardown(void **state)
{
    (void)state;
    free(open_gaps);
    open_gaps = NULL;
    end_set();
    return 0;
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("expected '%s' in '%s'", needle, haystack);
}

static void add_ok(struct seqset *s, const struct frame_name *n, const struct frame_info *f)
{
    struct verdict v;

    if (!seqset_add(s, n, f, &v) || v.rule != RULE_NONE)
        fail_msg("frame %llu of %s: expected pass, got %s (%s)", (unsigned long long)n->frame,
                 n->asset, rule_name(v.rule), v.message);
    assert_string_equal(v.message, "");
}

static void add_fails(struct seqset *s, const struct frame_name *n, const struct frame_info *f,
                      enum rule_id rule, struct verdict *v)
{
    bool ok = seqset_add(s, n, f, v);

    if (ok || v->rule != rule)
        fail_msg("frame %llu of %s: expected %s, got %s (%s)", (unsigned long long)n->frame,
                 n->asset, rule_name(rule), ok ? "pass" : rule_name(v->rule), v->message);
}

/* Adds frames first..last of one asset (16-bit UHD DPX). */
static void add_range(struct seqset *s, const char *asset, const char *title, uint64_t first,
                      uint64_t last, int padding)
{
    struct frame_info f = dpx(3840, 2160, 16);

    for (uint64_t i = first; i <= last; i++) {
        struct frame_name n = name(asset, title, i, padding);
        add_ok(s, &n, &f);
    }
}

/* Frames of asset a/a (padding 4) in the order given, as a farm lands them. */
static void add_each(struct seqset *s, const uint64_t *frames, size_t count)
{
    struct frame_info f = dpx(3840, 2160, 16);

    for (size_t i = 0; i < count; i++) {
        struct frame_name n = name("a/a", "a", frames[i], 4);
        add_ok(s, &n, &f);
    }
}

static void add_textless_range(struct seqset *s, uint64_t first, uint64_t last, int padding,
                               const struct frame_info *f)
{
    for (uint64_t i = first; i <= last; i++) {
        struct frame_name n = textless(i, padding);
        add_ok(s, &n, f);
    }
}

/* Index of asset key in the set, failing the test when absent. */
static size_t asset_index(const struct seqset *s, const char *key)
{
    struct asset_report r;

    for (size_t i = 0; i < seqset_asset_count(s); i++) {
        report(s, i, &r);
        bool hit = strcmp(r.asset, key) == 0;
        done_report(&r);
        if (hit)
            return i;
    }
    fail_msg("asset %s not in the set", key);
    return 0;
}

static void report_of(const struct seqset *s, const char *key, struct asset_report *r)
{
    report(s, asset_index(s, key), r);
}

/* ---- frame_props ---- */

static void props_from_dpx(void **state)
{
    (void)state;
    struct frame_info f = dpx(3840, 2160, 16);
    struct frame_props p;
    char text[200];

    frame_props_from_info(&f, &p);
    assert_int_equal(p.format, FRAME_DPX);
    assert_int_equal(p.width, 3840);
    assert_int_equal(p.height, 2160);
    assert_int_equal(p.bit_depth, 16);
    assert_int_equal(p.components, 3);
    assert_int_equal(p.codec, -1);
    assert_int_equal(p.packing, 1);
    assert_int_equal(p.transfer, 3);
    assert_int_equal(p.colorimetric, 1);
    assert_string_equal(p.channels, "descriptor 50");

    frame_props_describe(&p, text, sizeof text);
    assert_true(strlen(text) > 0);
    assert_contains(text, "DPX 3840x2160 16-bit");
    assert_contains(text, "transfer 3");
}

static void props_from_exr(void **state)
{
    (void)state;
    struct frame_info f = exr(EXR_CODEC_PIZ, ap0);
    struct frame_props p;
    char text[200];

    frame_props_from_info(&f, &p);
    assert_int_equal(p.format, FRAME_EXR);
    assert_int_equal(p.codec, EXR_CODEC_PIZ);
    assert_int_equal(p.packing, -1);
    assert_int_equal(p.transfer, -1);
    assert_int_equal(p.colorimetric, -1);
    assert_string_equal(p.channels, "B:half G:half R:half");
    assert_memory_equal(p.chromaticities, ap0, sizeof ap0);

    frame_props_describe(&p, text, sizeof text);
    assert_contains(text, "EXR 3840x2160 B:half G:half R:half PIZ");
    assert_null(strstr(text, "no-chromaticities"));

    f = exr(EXR_CODEC_ZIP, NULL);
    frame_props_from_info(&f, &p);
    frame_props_describe(&p, text, sizeof text);
    assert_contains(text, "ZIP no-chromaticities");
}

static void props_same_names_the_difference(void **state)
{
    (void)state;
    struct frame_info a = dpx(3840, 2160, 16), b = dpx(3840, 2160, 10);
    struct frame_props pa, pb;
    char why[200];

    frame_props_from_info(&a, &pa);
    frame_props_from_info(&b, &pb);
    assert_true(frame_props_same(&pa, &pa, why, sizeof why));
    assert_false(frame_props_same(&pa, &pb, why, sizeof why));
    assert_string_equal(why, "bit depth: expected 16, found 10");
}

/* ---- S1 ---- */

static void s1_identical_frames_pass(void **state)
{
    (void)state;
    struct seqset *s = new_set();
    struct frame_info f = exr(EXR_CODEC_PIZ, ap0);

    for (uint64_t i = 1; i <= 3; i++) {
        struct frame_name n = name("a/a", "a", i, 4);
        add_ok(s, &n, &f);
    }
    assert_int_equal(seqset_asset_count(s), 1);
    end_set();
}

static void s1_expect(const struct frame_info *first, const struct frame_info *second,
                      const char *what, const char *want, const char *found)
{
    struct seqset *s = new_set();
    struct frame_name n1 = name("a/a", "a", 1, 4), n2 = name("a/a", "a", 2, 4);
    struct verdict v;
    struct asset_report r;

    add_ok(s, &n1, first);
    add_fails(s, &n2, second, RULE_S1, &v);
    assert_contains(v.message, "first frame");
    assert_contains(v.message, what);
    assert_contains(v.message, want);
    assert_contains(v.message, found);

    /* the rejected frame is not recorded: frame 2 is still missing */
    report(s, 0, &r);
    assert_int_equal(r.count, 1);
    done_report(&r);
    add_ok(s, &n2, first);
    end_set();
}

static void s1_bit_depth_differs(void **state)
{
    (void)state;
    struct frame_info a = dpx(3840, 2160, 16), b = dpx(3840, 2160, 10);
    s1_expect(&a, &b, "bit depth", "expected 16", "found 10");
}

static void s1_size_differs(void **state)
{
    (void)state;
    struct frame_info a = dpx(3840, 2160, 16), b = dpx(4096, 2160, 16);
    s1_expect(&a, &b, "resolution", "expected 3840x2160", "found 4096x2160");
}

static void s1_format_differs(void **state)
{
    (void)state;
    struct frame_info a = dpx(3840, 2160, 16), b = exr(EXR_CODEC_PIZ, ap0);
    s1_expect(&a, &b, "format", "expected DPX", "found EXR");
}

static void s1_compression_differs(void **state)
{
    (void)state;
    struct frame_info a = exr(EXR_CODEC_PIZ, ap0), b = exr(EXR_CODEC_ZIP, ap0);
    s1_expect(&a, &b, "compression", "expected PIZ", "found ZIP");
}

static void s1_chromaticities_differ(void **state)
{
    (void)state;
    struct frame_info a = exr(EXR_CODEC_PIZ, ap0), b = exr(EXR_CODEC_PIZ, rec709);
    s1_expect(&a, &b, "chromaticities", "0.7347", "0.6400");
}

static void s1_transfer_differs(void **state)
{
    (void)state;
    struct frame_info a = dpx(3840, 2160, 16), b = dpx(3840, 2160, 16);
    b.dpx.transfer = 1;
    s1_expect(&a, &b, "transfer", "expected 3", "found 1");
}

static void s1_channels_differ(void **state)
{
    (void)state;
    struct frame_info a = dpx(3840, 2160, 16), b = dpx(3840, 2160, 16);
    b.dpx.descriptor = 51;
    b.components = 4;
    s1_expect(&a, &b, "channels", "descriptor 50", "descriptor 51");
}

static void s1_assets_are_independent(void **state)
{
    (void)state;
    struct seqset *s = new_set();
    struct frame_info f16 = dpx(3840, 2160, 16), f10 = dpx(3840, 2160, 10);
    struct frame_name a = name("a/a", "a", 1, 4), b = name("b/b", "b", 1, 4);

    add_ok(s, &a, &f16);
    add_ok(s, &b, &f10);
    assert_int_equal(seqset_asset_count(s), 2);
    end_set();
}

/* ---- S5 ---- */

static void s5_same_frame_twice(void **state)
{
    (void)state;
    struct seqset *s = new_set();
    struct frame_info f = dpx(3840, 2160, 16);
    struct frame_name n = name("x/x", "x", 1001, 4);
    struct verdict v;

    add_ok(s, &n, &f);
    add_fails(s, &n, &f, RULE_S5, &v);
    assert_contains(v.message, "frame 1001 of x/x");
    assert_contains(v.message, "already present");

    /* x.1001.dpx then x.01001.dpx: the same frame under another name */
    struct frame_name padded = name("x/x", "x", 1001, 5);
    add_fails(s, &padded, &f, RULE_S5, &v);
    assert_contains(v.message, "frame 1001");

    /* the same number in another asset is fine */
    struct frame_name other = name("y/y", "y", 1001, 4);
    add_ok(s, &other, &f);
    end_set();
}

/* ---- S3 ---- */

static void s3_zero_padded_wider_fails(void **state)
{
    (void)state;
    struct seqset *s = new_set();
    struct frame_info f = dpx(3840, 2160, 16);
    struct frame_name first = name("a/a", "a", 1, 4), wide = name("a/a", "a", 1000, 5);
    struct verdict v;

    add_ok(s, &first, &f);
    add_fails(s, &wide, &f, RULE_S3, &v); /* "01000" */
    assert_contains(v.message, "padded to 4 digits");
    assert_contains(v.message, "found 5");

    struct frame_name narrow = name("a/a", "a", 2, 3); /* "002" */
    add_fails(s, &narrow, &f, RULE_S3, &v);
    assert_contains(v.message, "padded to 4 digits");
    assert_contains(v.message, "found 3");
    end_set();
}

static void s3_number_outgrowing_padding_passes(void **state)
{
    (void)state;
    struct seqset *s = new_set();
    struct frame_info f = dpx(3840, 2160, 16);
    struct frame_name first = name("a/a", "a", 9999, 4), big = name("a/a", "a", 10000, 5);
    struct asset_report r;

    add_ok(s, &first, &f);
    add_ok(s, &big, &f);
    report(s, 0, &r);
    assert_int_equal(r.padding, 4);
    assert_int_equal(r.count, 2);
    assert_int_equal(r.gap_count, 0);
    done_report(&r);
    end_set();
}

/* Farms write out of order: frame 10000 of a 4-digit asset arriving first
 * must not make the correctly named 9999 an S3 failure. */
static void s3_out_of_order_overflow_passes(void **state)
{
    (void)state;
    struct seqset *s = new_set();
    struct frame_info f = dpx(3840, 2160, 16);
    struct frame_name big = name("a/a", "a", 10000, 5), first = name("a/a", "a", 9999, 4);

    add_ok(s, &big, &f);
    add_ok(s, &first, &f);
    end_set();
}

static void s3_title_paddings_differ(void **state)
{
    (void)state;
    struct seqset *s = new_set();
    struct frame_info f = dpx(3840, 2160, 16);
    struct frame_name e1 = name("t_s01e01/t_s01e01", "t", 1, 4);
    struct frame_name e2 = name("t_s01e02/t_s01e02", "t", 1, 6);
    struct verdict v;

    add_ok(s, &e1, &f);
    add_fails(s, &e2, &f, RULE_S3, &v);
    assert_contains(v.message, "title t");
    assert_contains(v.message, "padded to 4 digits");
    assert_contains(v.message, "found 6");
    assert_int_equal(seqset_asset_count(s), 1); /* the failing asset was not created */

    /* same padding in the same title passes; another title may differ */
    e2.padding = 4;
    add_ok(s, &e2, &f);
    struct frame_name other = name("u_s01e01/u_s01e01", "u", 1, 6);
    add_ok(s, &other, &f);
    assert_int_equal(seqset_asset_count(s), 3);
    end_set();
}

/* ---- S2 ---- */

static void s2_gaps_reported_exactly(void **state)
{
    (void)state;
    static const uint64_t frames[] = {9, 3, 1, 6, 2, 5}; /* out of order, like a farm */
    struct seqset *s = new_set();
    struct asset_report r;

    add_each(s, frames, sizeof frames / sizeof *frames);
    report(s, 0, &r);
    assert_string_equal(r.asset, "a/a");
    assert_false(r.textless);
    assert_int_equal(r.padding, 4);
    assert_int_equal(r.first, 1);
    assert_int_equal(r.last, 9);
    assert_int_equal(r.count, 6);
    assert_int_equal(r.gap_count, 2);
    assert_non_null(r.gaps);
    assert_int_equal(r.gaps[0].first, 4);
    assert_int_equal(r.gaps[0].last, 4);
    assert_int_equal(r.gaps[1].first, 7);
    assert_int_equal(r.gaps[1].last, 8);
    assert_int_equal(r.issue.rule, RULE_S2);
    assert_contains(r.issue.message, "2 gap(s)");
    assert_contains(r.issue.message, "1-9");
    assert_contains(r.issue.message, "first missing 4");
    assert_int_equal(r.props.bit_depth, 16);
    done_report(&r);

    /* filling the gaps clears the issue */
    add_range(s, "a/a", "a", 4, 4, 4);
    add_range(s, "a/a", "a", 7, 8, 4);
    report(s, 0, &r);
    assert_int_equal(r.gap_count, 0);
    assert_int_equal(r.issue.rule, RULE_NONE);
    done_report(&r);
    end_set();
}

/* The same gaps whether the frames fill most of their range (walked) or
 * few of them (sorted): a sparse asset, frames 1, 2, 1000 and 5000. */
static void s2_gaps_of_a_sparse_asset(void **state)
{
    (void)state;
    static const uint64_t frames[] = {5000, 2, 1000, 1};
    struct seqset *s = new_set();
    struct asset_report r;

    add_each(s, frames, sizeof frames / sizeof *frames);
    report(s, 0, &r);
    assert_int_equal(r.count, 4);
    assert_int_equal(r.gap_count, 2);
    assert_int_equal(r.gaps[0].first, 3);
    assert_int_equal(r.gaps[0].last, 999);
    assert_int_equal(r.gaps[1].first, 1001);
    assert_int_equal(r.gaps[1].last, 4999);
    done_report(&r);
    end_set();
}

static void s2_no_gaps_passes(void **state)
{
    (void)state;
    struct seqset *s = new_set();
    struct asset_report r;

    add_range(s, "a/a", "a", 86400, 86500, 6);
    report(s, 0, &r);
    assert_int_equal(r.first, 86400);
    assert_int_equal(r.last, 86500);
    assert_int_equal(r.count, 101);
    assert_int_equal(r.gap_count, 0);
    assert_int_equal(r.issue.rule, RULE_NONE);
    assert_string_equal(r.issue.message, "");
    done_report(&r);
    end_set();
}

static void s2_single_frame_has_no_gaps(void **state)
{
    (void)state;
    struct seqset *s = new_set();
    struct asset_report r;

    add_range(s, "a/a", "a", 7, 7, 4);
    report(s, 0, &r);
    assert_int_equal(r.count, 1);
    assert_int_equal(r.first, 7);
    assert_int_equal(r.last, 7);
    assert_int_equal(r.gap_count, 0);
    assert_int_equal(r.issue.rule, RULE_NONE);
    done_report(&r);
    end_set();
}

/* ---- S4 ---- */

static void s4_textless_props_differ_at_add(void **state)
{
    (void)state;
    struct seqset *s = new_set();
    struct frame_info f10 = dpx(3840, 2160, 10);
    struct frame_name t = textless(10, 4);
    struct verdict v;

    add_range(s, TEXTED, "t", 1, 100, 4);
    add_fails(s, &t, &f10, RULE_S4, &v);
    assert_contains(v.message, "textless insert differs from its texted asset");
    assert_contains(v.message, "bit depth: expected 16, found 10");
    assert_int_equal(seqset_asset_count(s), 1);
    end_set();
}

static void s4_textless_props_differ_texted_later(void **state)
{
    (void)state;
    struct seqset *s = new_set();
    struct frame_info f4096 = dpx(4096, 2160, 16);
    struct asset_report r;

    /* the insert lands first, so only the report can judge it */
    add_textless_range(s, 10, 20, 4, &f4096);
    add_range(s, TEXTED, "t", 1, 100, 4);
    report_of(s, TEXTLESS, &r);
    assert_true(r.textless);
    assert_int_equal(r.issue.rule, RULE_S4);
    assert_contains(r.issue.message, "resolution: expected 3840x2160, found 4096x2160");
    done_report(&r);
    end_set();
}

static void s4_texted_asset_missing(void **state)
{
    (void)state;
    struct seqset *s = new_set();
    struct frame_info f = dpx(3840, 2160, 16);
    struct asset_report r;

    add_textless_range(s, 10, 20, 4, &f);
    report(s, 0, &r);
    assert_true(r.textless);
    assert_int_equal(r.issue.rule, RULE_S4);
    assert_contains(r.issue.message, "expected its texted asset " TEXTED);
    assert_contains(r.issue.message, "found none");
    done_report(&r);
    end_set();
}

static void s4_frame_not_in_texted(void **state)
{
    (void)state;
    struct seqset *s = new_set();
    struct frame_info f = dpx(3840, 2160, 16);
    struct asset_report r;

    add_range(s, TEXTED, "t", 1, 100, 4);
    add_textless_range(s, 95, 105, 4, &f);
    report_of(s, TEXTLESS, &r);
    assert_int_equal(r.issue.rule, RULE_S4);
    assert_contains(r.issue.message, "textless frame 101");
    assert_contains(r.issue.message, "texted range 1-100");
    done_report(&r);
    end_set();
}

static void s4_matching_passes(void **state)
{
    (void)state;
    struct seqset *s = new_set();
    struct frame_info f = dpx(3840, 2160, 16);
    struct asset_report r;

    add_range(s, TEXTED, "t", 1, 100, 4);
    add_textless_range(s, 10, 20, 4, &f);
    assert_int_equal(seqset_asset_count(s), 2);
    report_of(s, TEXTLESS, &r);
    assert_true(r.textless);
    assert_int_equal(r.count, 11);
    assert_int_equal(r.issue.rule, RULE_NONE);
    done_report(&r);
    report_of(s, TEXTED, &r);
    assert_false(r.textless);
    assert_int_equal(r.issue.rule, RULE_NONE);
    done_report(&r);
    end_set();
}

/* Textless inserts are segmented frame ranges numbered like the texted
 * shots (partner spec): 10-19 + 50-59 of a complete texted asset is valid,
 * not an S2 gap. */
static void s4_segmented_inserts_pass(void **state)
{
    (void)state;
    struct seqset *s = new_set();
    struct frame_info f = dpx(3840, 2160, 16);
    struct asset_report r;

    add_range(s, TEXTED, "t", 1, 100, 4);
    add_textless_range(s, 10, 19, 4, &f);
    add_textless_range(s, 50, 59, 4, &f);
    report_of(s, TEXTLESS, &r);
    assert_int_equal(r.count, 20);
    assert_int_equal(r.issue.rule, RULE_NONE);
    done_report(&r);
    end_set();
}

/* ---- scale ---- */

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void many_frames_shuffled(void **state)
{
    (void)state;
    enum { N = 200000 };
    static uint64_t order[N];
    struct seqset *s = new_set();
    struct frame_info f = exr(EXR_CODEC_PIZ, ap0);
    struct frame_name n = name("big/big", "big", 0, 6);
    struct verdict v;
    struct asset_report r;
    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    struct timespec t0;

    for (size_t i = 0; i < N; i++)
        order[i] = 100000 + i;
    for (size_t i = N - 1; i > 0; i--) { /* Fisher-Yates with xorshift64 */
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        size_t j = (size_t)(rng % (i + 1));
        uint64_t tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t i = 0; i < N; i++) {
        n.frame = order[i];
        if (!seqset_add(s, &n, &f, &v))
            fail_msg("frame %llu: %s %s", (unsigned long long)n.frame, rule_name(v.rule),
                     v.message);
    }
    report(s, 0, &r);
    double took = seconds_since(&t0);
    assert_int_equal(seqset_asset_count(s), 1);
    assert_int_equal(r.count, N);
    assert_int_equal(r.first, 100000);
    assert_int_equal(r.last, 100000 + N - 1);
    assert_int_equal(r.gap_count, 0);
    assert_int_equal(r.issue.rule, RULE_NONE);
    done_report(&r);
    /* a hash set does this in milliseconds; anything quadratic takes minutes */
    if (took > 5.0)
        fail_msg("200000 frames took %.2f s", took);

    n.frame = order[N / 2]; /* every frame is really in the set */
    add_fails(s, &n, &f, RULE_S5, &v);
    end_set();
}

/* The mount forgets frames that are deleted, moved or rewritten. */
static void remove_and_fits(void **state)
{
    (void)state;
    struct seqset *s = new_set();
    struct frame_info f = dpx(3840, 2160, 16), other = dpx(4096, 2160, 16);
    struct frame_name n1 = name("a/a", "a", 1, 4), n2 = name("a/a", "a", 2, 4);
    struct verdict v;

    assert_true(seqset_fits(s, &n1, &f, &v));
    assert_true(seqset_fits(s, &n1, &f, &v)); /* fits records nothing */
    add_ok(s, &n1, &f);
    assert_false(seqset_fits(s, &n1, &f, &v));
    assert_string_equal(rule_name(v.rule), "S5");
    seqset_remove(s, "a/a", 1);
    assert_true(seqset_fits(s, &n1, &f, &v));   /* rewritten in place: fine again */
    assert_int_equal(seqset_asset_count(s), 0); /* its last frame went */
    add_ok(s, &n2, &other);                     /* so a new first frame fixes the properties */
}

static void remove_many(void **state)
{
    (void)state;
    struct seqset *s = new_set();
    struct frame_info f = dpx(3840, 2160, 16);
    struct frame_name n = name("b/b", "b", 0, 5);
    struct verdict v;
    struct asset_report r;

    for (uint64_t i = 0; i < 10000; i++) {
        n.frame = (i * 7919) % 10000;
        add_ok(s, &n, &f);
    }
    for (uint64_t i = 0; i < 10000; i += 2)
        seqset_remove(s, "b/b", i);
    for (uint64_t i = 0; i < 10000; i++) {
        n.frame = i;
        assert_int_equal(seqset_fits(s, &n, &f, &v), i % 2 == 0);
    }
    report(s, 0, &r);
    assert_int_equal(r.count, 5000);
    assert_int_equal(r.first, 1);
    assert_int_equal(r.last, 9999);
}

/* A frame's properties survive their text form (a shared catalog's
 * claims) exactly, chromaticities and channels included; junk is no
 * properties. */
static void props_round_trip_as_text(void **state)
{
    (void)state;
    struct frame_info infos[] = {exr(EXR_CODEC_PIZ, ap0), exr(EXR_CODEC_ZIP, NULL),
                                 dpx(3840, 2160, 10)};
    struct frame_props props, back;
    char text[512], why[200];

    for (size_t i = 0; i < sizeof infos / sizeof *infos; i++) {
        frame_props_from_info(&infos[i], &props);
        frame_props_encode(&props, text, sizeof text);
        assert_true(frame_props_decode(text, &back));
        assert_true(frame_props_same(&props, &back, why, sizeof why));
        assert_string_equal(back.channels, props.channels);
        assert_memory_equal(back.chromaticities, props.chromaticities, sizeof props.chromaticities);
    }
    assert_false(frame_props_decode("2 0 0", &back));
    assert_false(frame_props_decode("", &back));
}

/* Another host's first frame, adopted: this memory's first frame of the
 * asset is judged against it (S1), and the title's numbering it fixed
 * holds here too (S3); what is known already is not overridden. */
static void adopted_first_frames_judge(void **state)
{
    (void)state;
    struct seqset *s = new_set();
    struct frame_info theirs = dpx(3840, 2160, 16), mine = dpx(3840, 2160, 10);
    struct frame_props props;
    struct verdict v;
    struct frame_name n = name("a/show_s01e01", "show", 1002, 4);
    bool asset, title;
    int exact, at_most;

    assert_false(seqset_knows(s, &n, &asset, &title));
    struct frame_name first = name("a/show_s01e01", "show", 1001, 4);
    seqset_first_of(&first, &theirs, &props, &exact, &at_most);
    assert_int_equal(exact, 0); /* 1001: four digits, no zero: at most 4 */
    assert_int_equal(at_most, 4);
    assert_true(seqset_adopt(s, &n, &props, exact, at_most));
    assert_true(seqset_knows(s, &n, &asset, &title));
    assert_false(seqset_add(s, &n, &mine, &v));
    assert_int_equal(v.rule, RULE_S1);
    assert_true(seqset_add(s, &n, &theirs, &v));
    struct frame_name other = name("b/show_s01e02", "show", 1301, 5); /* 01301 */
    assert_false(seqset_add(s, &other, &theirs, &v));
    assert_int_equal(v.rule, RULE_S3);
    /* known already: an adoption changes nothing */
    seqset_first_of(&n, &mine, &props, &exact, &at_most);
    assert_true(seqset_adopt(s, &n, &props, 5, 0));
    n.frame = 1003;
    assert_true(seqset_add(s, &n, &theirs, &v));
    end_set();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(remove_and_fits, teardown),
        cmocka_unit_test_teardown(remove_many, teardown),
        cmocka_unit_test_teardown(props_from_dpx, teardown),
        cmocka_unit_test_teardown(props_round_trip_as_text, teardown),
        cmocka_unit_test_teardown(adopted_first_frames_judge, teardown),
        cmocka_unit_test_teardown(props_from_exr, teardown),
        cmocka_unit_test_teardown(props_same_names_the_difference, teardown),
        cmocka_unit_test_teardown(s1_identical_frames_pass, teardown),
        cmocka_unit_test_teardown(s1_bit_depth_differs, teardown),
        cmocka_unit_test_teardown(s1_size_differs, teardown),
        cmocka_unit_test_teardown(s1_format_differs, teardown),
        cmocka_unit_test_teardown(s1_compression_differs, teardown),
        cmocka_unit_test_teardown(s1_chromaticities_differ, teardown),
        cmocka_unit_test_teardown(s1_transfer_differs, teardown),
        cmocka_unit_test_teardown(s1_channels_differ, teardown),
        cmocka_unit_test_teardown(s1_assets_are_independent, teardown),
        cmocka_unit_test_teardown(s5_same_frame_twice, teardown),
        cmocka_unit_test_teardown(s3_zero_padded_wider_fails, teardown),
        cmocka_unit_test_teardown(s3_number_outgrowing_padding_passes, teardown),
        cmocka_unit_test_teardown(s3_out_of_order_overflow_passes, teardown),
        cmocka_unit_test_teardown(s3_title_paddings_differ, teardown),
        cmocka_unit_test_teardown(s2_gaps_reported_exactly, teardown),
        cmocka_unit_test_teardown(s2_gaps_of_a_sparse_asset, teardown),
        cmocka_unit_test_teardown(s2_no_gaps_passes, teardown),
        cmocka_unit_test_teardown(s2_single_frame_has_no_gaps, teardown),
        cmocka_unit_test_teardown(s4_textless_props_differ_at_add, teardown),
        cmocka_unit_test_teardown(s4_textless_props_differ_texted_later, teardown),
        cmocka_unit_test_teardown(s4_texted_asset_missing, teardown),
        cmocka_unit_test_teardown(s4_frame_not_in_texted, teardown),
        cmocka_unit_test_teardown(s4_matching_passes, teardown),
        cmocka_unit_test_teardown(s4_segmented_inserts_pass, teardown),
        cmocka_unit_test_teardown(many_frames_shuffled, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
