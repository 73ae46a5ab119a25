/* The per-asset summary every status view is made of (namfs/status.h),
 * and the text builder its views are written with (namfs/strbuf.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "namfs/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct catalog_file *row(const char *path, const char *asset, int64_t frame)
{
    static struct catalog_file f;
    memset(&f, 0, sizeof f);
    snprintf(f.path, sizeof f.path, "%s", path);
    snprintf(f.asset, sizeof f.asset, "%s", asset);
    f.frame = frame;
    f.size = 1000;
    f.state = frame >= 0 || !*asset ? FILE_LANDED : FILE_QUARANTINED;
    return &f;
}

static void gaps_are_ranges(void **state)
{
    (void)state;
    struct status st = {0};
    const int64_t frames[] = {7, 1, 2, 4, 10, 11, 12, 20};

    for (size_t i = 0; i < sizeof frames / sizeof *frames; i++)
        assert_true(status_count_landed(&st, row("a/a.x.dpx", "a/a", frames[i])));
    assert_true(status_count_landed(&st, row("notes.txt", "", -1))); /* no asset */
    status_finish(&st);
    assert_int_equal(st.count, 1);
    assert_int_equal(st.files, 9);
    const struct status_asset *a = &st.assets[0];
    assert_int_equal(a->count, 8);
    assert_int_equal(a->frames[0], 1);
    assert_int_equal(a->frames[7], 20);
    const struct status_range want[] = {{3, 3}, {5, 6}, {8, 9}, {13, 19}};
    assert_int_equal(a->gap_count, 4);
    for (size_t g = 0; g < 4; g++) {
        assert_int_equal(a->gaps[g].first, want[g].first);
        assert_int_equal(a->gaps[g].last, want[g].last);
    }
    struct strbuf b = {0};
    status_json_assets(&st, &b);
    char *json = strbuf_take(&b);
    assert_non_null(strstr(json, "\"gaps\": [[3, 3], [5, 6], [8, 9], [13, 19]]"));
    assert_non_null(strstr(json, "\"frames\": 8, \"first\": 1, \"last\": 20"));
    free(json);
    status_text_assets(&st, &b);
    char *text = strbuf_take(&b);
    assert_string_equal(text, "a/a\t8 frames\t1-20\t4 gap(s)\t0 rejected\t0.0 MB\n");
    free(text);
    status_free(&st);
}

/* A refusal counts against the asset of its folder, not a neighbour whose
 * name merely starts the same. */
static void refusals_count_against_their_folder(void **state)
{
    (void)state;
    struct status st = {0};

    assert_true(status_count_landed(&st, row("seq/seq.0001.dpx", "seq/seq", 1)));
    assert_true(status_count_landed(&st, row("seq2/seq2.0001.dpx", "seq2/seq2", 1)));
    assert_true(status_count_refused(&st, row("seq/seq.0002.dpx", "", -1)));
    assert_true(status_count_refused(&st, row("elsewhere.dpx", "", -1)));
    status_finish(&st);
    assert_int_equal(st.refused, 2);
    assert_int_equal(st.assets[0].refused, 1);
    assert_int_equal(st.assets[1].refused, 0);
    assert_int_equal(st.assets[0].gap_count, 0);
    status_free(&st);
}

/* The mount's way: assets put from its sequence memory, the rest from the
 * catalog's tallies; the same summary as counting every row. */
static void put_assets_and_tallies(void **state)
{
    (void)state;
    struct status st = {0};
    struct status_range *gaps = malloc(sizeof *gaps);

    assert_non_null(gaps);
    *gaps = (struct status_range){3, 4};
    assert_true(status_put_asset(&st, "zz/zz", 3, 1, 6, gaps, 1));
    assert_true(status_put_asset(&st, "seq/seq", 1, 7, 7, NULL, 0));
    const struct catalog_tally tallies[] = {
        {"seq", "seq/seq", FILE_LANDED, 1, 1, 500, 0, 0, 0},
        {"seq", "", FILE_LANDED, 2, 0, 20, 0, 0, 0},
        {"seq", "", FILE_QUARANTINED, 4, 0, 9, 0, 0, 0},
        {"zz", "zz/zz", FILE_LANDED, 3, 3, 3000, 0, 0, 0},
        {"zz", "zz/zz", FILE_CHANGED, 1, 1, 1000, 0, 0, 0},
        {"seq2", "", FILE_REJECTED, 1, 0, 1, 0, 0, 0},
        {"seq", "seq/seq", FILE_HELD, 1, 0, 77, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof tallies / sizeof *tallies; i++)
        assert_true(status_count_tally(&st, &tallies[i]));
    status_finish(&st);
    assert_int_equal(st.files, 6);
    assert_int_equal(st.bytes, 3520);
    assert_int_equal(st.refused, 5);
    struct strbuf b = {0};
    status_text_assets(&st, &b);
    char *text = strbuf_take(&b);
    assert_string_equal(text, "seq/seq\t1 frames\t7-7\t0 gap(s)\t4 rejected\t0.0 MB\n"
                              "zz/zz\t3 frames\t1-6\t1 gap(s)\t0 rejected\t0.0 MB\n");
    free(text);
    status_json_assets(&st, &b);
    char *json = strbuf_take(&b);
    assert_non_null(strstr(json, "\"frames\": 3, \"first\": 1, \"last\": 6, \"gaps\": [[3, 4]]"));
    assert_non_null(strstr(json, "\"refused\": 0, \"bytes\": 3000}"));
    free(json);
    status_free(&st);
}

static void json_strings_are_escaped(void **state)
{
    (void)state;
    struct strbuf b = {0};

    strbuf_json(&b, "tab\there \"quoted\" back\\slash \xff end \xc3\xa9");
    char *json = strbuf_take(&b);
    assert_string_equal(json,
                        "\"tab\\u0009here \\\"quoted\\\" back\\\\slash \\ufffd end \xc3\xa9\"");
    free(json);
    json = strbuf_take(&b); /* nothing added: "", not NULL */
    assert_string_equal(json, "");
    free(json);
}

/* A textless insert is told by its sequence folder's N3 asset type. */
static void textless_inserts_are_marked(void **state)
{
    (void)state;
    struct status st = {0};
    const char *texted = "show_s01e01_nam_16b_sdr_aces110_ap0_log_20261124_178_64x32";
    const char *insert = "show_s01e01_nam-txtls_16b_sdr_aces110_ap0_log_20261124_178_64x32";
    char key[512], path[600];

    snprintf(key, sizeof key, "%s/%s", texted, texted);
    snprintf(path, sizeof path, "%s.0001.dpx", key);
    assert_true(status_count_landed(&st, row(path, key, 1)));
    snprintf(key, sizeof key, "reel/%s/%s", insert, insert); /* under a reel folder too */
    snprintf(path, sizeof path, "%s.0001.dpx", key);
    assert_true(status_count_landed(&st, row(path, key, 1)));
    assert_true(status_count_landed(&st, row("misc/notes.0001.dpx", "misc/notes", 1)));
    status_finish(&st);
    assert_int_equal(st.count, 3);
    assert_false(st.assets[0].textless);
    assert_true(st.assets[1].textless);
    assert_false(st.assets[2].textless); /* not an N3 folder at all */
    status_free(&st);
}

/* S2 is judged once, for the mount's seal and namctl check alike: a
 * texted asset's gap fails it, naming the first missing frame; a textless
 * insert's gaps pass (S4 judges it against its texted asset). */
static void s2_spares_textless_inserts_only(void **state)
{
    (void)state;
    const struct status_range gaps[] = {{3, 3}, {6, 9}};
    struct verdict v;

    assert_false(status_judge_s2(false, 1, 12, gaps, 2, &v));
    assert_int_equal(v.rule, RULE_S2);
    assert_non_null(strstr(v.message, "2 gap(s) in frames 1-12, first missing 3"));
    assert_true(status_judge_s2(true, 1, 12, gaps, 2, &v));
    assert_int_equal(v.rule, RULE_NONE);
    assert_true(status_judge_s2(false, 1, 12, NULL, 0, &v));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gaps_are_ranges),
        cmocka_unit_test(refusals_count_against_their_folder),
        cmocka_unit_test(put_assets_and_tallies),
        cmocka_unit_test(json_strings_are_escaped),
        cmocka_unit_test(textless_inserts_are_marked),
        cmocka_unit_test(s2_spares_textless_inserts_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
