/* The MHL history as a custody record (namfs/custody.h): an unsealed
 * asset is one ignore pattern, a seal lists every file once as original,
 * a changed sealed file is recorded as failed; histories read the way the
 * ASC's reference tool reads them (namfs/mhl.h), ignore patterns matched
 * as python-pathspec matches them (namfs/ignore.h); checksum.txt rendered
 * with a filter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "namfs/catalog.h"
#include "namfs/custody.h"
#include "namfs/ignore.h"
#include "namfs/manifest.h"
#include "namfs/mhl.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
    char dir[64];
    struct catalog *cat;
    int root;
    int64_t now;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char path[128], err[300];

    strcpy(f->dir, "/tmp/namfs-mhl-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(path, sizeof path, "%s.sqlite", f->dir);
    f->cat = catalog_open(path, err, sizeof err);
    f->root = open(f->dir, O_RDONLY | O_DIRECTORY);
    f->now = 1764000000;
    *state = f;
    return f->cat && f->root >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char command[200];

    catalog_close(f->cat);
    close(f->root);
    snprintf(command, sizeof command, "rm -rf %s %s.sqlite*", f->dir, f->dir);
    int rc = system(command);
    free(f);
    return rc;
}

#define SEQ "show_s01e01_nam_16b_sdr_aces110_ap0_log_20261124_178_64x32"

static void put(struct fixture *f, const char *path, const char *digest, int64_t frame,
                enum file_state state)
{
    struct catalog_file *row = calloc(1, sizeof *row);

    snprintf(row->path, sizeof row->path, "%s", path);
    row->size = 100;
    row->mtime_ns = 1700000000LL * 1000000000LL;
    row->hashed_at = 1700000001;
    row->digests.present = HASH_BIT(HASH_XXH128);
    snprintf(row->digests.text[HASH_XXH128], HASH_TEXT_MAX, "%s", digest);
    row->state = state;
    row->frame = frame;
    assert_true(catalog_put_file(f->cat, row));
    free(row);
}

static void land(struct fixture *f, const char *path, const char *digest)
{
    put(f, path, digest, -1, FILE_LANDED);
}

static void land_frame(struct fixture *f, int64_t frame, const char *digest)
{
    char path[300];
    snprintf(path, sizeof path, SEQ "/" SEQ ".%04lld.dpx", (long long)frame);
    put(f, path, digest, frame, FILE_LANDED);
}

/* Runs custody_update; the sequence it wrote, 0 when none was due. */
static int update(struct fixture *f, struct custody_counts *counts)
{
    struct catalog_generation g;
    struct custody_counts ignored;
    char err[600];

    f->now += 60; /* a new name each time */
    bool ok = custody_update(f->cat, f->root, "d", HASH_BIT(HASH_XXH128), f->now, &g,
                             counts ? counts : &ignored, err, sizeof err);
    if (!ok)
        fail_msg("%s", err);
    return g.sequence;
}

static struct mhl_history history(struct fixture *f)
{
    struct mhl_history h;
    char err[600];

    if (!mhl_read_history(f->root, &h, err, sizeof err))
        fail_msg("%s", err);
    return h;
}

static bool has_pattern(const struct mhl_history *h, const char *pattern)
{
    for (size_t i = 0; i < h->patterns.count; i++)
        if (strcmp(h->patterns.items[i], pattern) == 0)
            return true;
    return false;
}

/* Each expectation is python-pathspec 0.11's (the reference tool's
 * matcher): PathSpec.from_lines("gitwildmatch", [pattern]).match_file(path). */
static void ignore_matches_as_pathspec(void **state)
{
    (void)state;
    static const struct {
        const char *pattern, *path;
        bool ignored;
    } cases[] = {
        {"**/" SEQ "/", "/srv/d/" SEQ "/a.0001.dpx", true},
        {"**/" SEQ "/", "/srv/d/" SEQ, false},
        {"**/" SEQ "/", "/srv/d/x" SEQ "/a.dpx", false},
        {"**/docs/notes.txt", "/srv/d/docs/notes.txt", true},
        {"**/docs/notes.txt", "/srv/d/docs/notes.txt.bak", false},
        {"/docs/notes.txt", "/srv/d/docs/notes.txt", false}, /* mhl#174 */
        {"docs/notes.txt", "/srv/d/docs/notes.txt", false},
        {".*", "/srv/d/a/.namfs~1234~x.dpx", true},
        {".*", "/srv/d/a/b.dpx", false},
        {"*.????????.temp.*", "/srv/d/a/x.1a2b3c4d.temp.exr", true},
        {"*.????????.temp.*", "/srv/d/a/x.1a2b3c.temp.exr", false},
        {"ascmhl", "/srv/d/ascmhl", true},
        {"ascmhl/", "/srv/d/ascmhl/0001_x.mhl", true},
        {"*~", "/srv/d/a/b.txt~", true},
        {"#*", "/srv/d/#x", false},
        {"**/a\\[1\\]/", "/srv/d/a[1]/f", true},
        {"**/a[0-9]/", "/srv/d/a5/f", true},
        {"**/a[!0-9]/", "/srv/d/a5/f", false},
        {"**/", "/srv/d/a", true},
        {"a/**/b", "/srv/d/a/x/y/b", false},
        {"**/a/**/b", "/srv/d/srv/a/x/y/b", true},
        {"!**/x", "/srv/d/x/f", false},
        {"  *.tmp  ", "/srv/d/q/r.tmp", true},
    };
    char err[300];

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct strlist p = {0};
        assert_true(strlist_add(&p, cases[i].pattern));
        struct ignore_spec *spec = ignore_compile(&p, err, sizeof err);
        assert_non_null(spec);
        if (ignore_matches(spec, cases[i].path) != cases[i].ignored)
            fail_msg("%s against %s: expected %s", cases[i].pattern, cases[i].path,
                     cases[i].ignored ? "ignored" : "not ignored");
        ignore_free(spec);
        strlist_free(&p);
    }
    /* the last match decides: pathspec gives True False False */
    struct strlist p = {0};
    assert_true(strlist_add(&p, "**/a/") && strlist_add(&p, "!**/a/b"));
    struct ignore_spec *spec = ignore_compile(&p, err, sizeof err);
    assert_true(ignore_matches(spec, "/srv/d/a/f"));
    assert_false(ignore_matches(spec, "/srv/d/a/b/f"));
    assert_false(ignore_matches(spec, "/srv/d/a/b"));
    ignore_free(spec);
    strlist_free(&p);
    char *pattern = ignore_pattern_for("a b/c[1]", true);
    assert_string_equal(pattern, "**/a\\ b/c\\[1\\]/");
    free(pattern);
}

/* An asset being delivered is one pattern, written once: frames landing
 * later write no generation. */
static void unsealed_asset_is_one_pattern(void **state)
{
    struct fixture *f = *state;

    land_frame(f, 1001, "a1");
    land_frame(f, 1002, "a2");
    land(f, SEQ "/checksum.txt", "cc");
    assert_int_equal(update(f, NULL), 1);
    struct mhl_history h = history(f);
    assert_true(has_pattern(&h, "**/" SEQ "/"));
    assert_true(has_pattern(&h, ".*"));
    assert_int_equal(h.files.count, 0);
    mhl_history_free(&h);
    land_frame(f, 1003, "a3");
    land(f, SEQ "/checksum.txt", "cd");
    assert_int_equal(update(f, NULL), 0);
}

/* The seal lists every file of the asset exactly once, as original, with
 * the digest it landed with, and lifts the pattern. */
static void seal_lists_every_file_once(void **state)
{
    struct fixture *f = *state;
    struct custody_counts n;

    land_frame(f, 1001, "a1");
    land_frame(f, 1002, "a2");
    land(f, SEQ "/checksum.txt", "cc");
    assert_int_equal(update(f, NULL), 1);
    assert_true(catalog_seal(f->cat, SEQ, f->now));
    assert_int_equal(update(f, &n), 2);
    assert_int_equal(n.listed, 3);
    assert_int_equal(n.failed, 0);
    struct mhl_history h = history(f);
    assert_false(has_pattern(&h, "**/" SEQ "/"));
    assert_int_equal(h.files.count, 3);
    const struct mhl_item *item = mhl_truth_for(&h, SEQ "/" SEQ ".1002.dpx");
    assert_non_null(item);
    assert_string_equal(item->truth.text[HASH_XXH128], "a2");
    assert_non_null(strstr(item->generation, "ascmhl/0002_"));
    mhl_history_free(&h);
    assert_int_equal(update(f, NULL), 0); /* nothing listed twice */
}

/* A sealed file changed behind the mount is recorded as failed; its
 * original stays the truth. */
static void changed_sealed_file_is_failed(void **state)
{
    struct fixture *f = *state;
    struct custody_counts n;

    land_frame(f, 1001, "a1");
    assert_true(catalog_seal(f->cat, SEQ, f->now));
    assert_int_equal(update(f, NULL), 1);
    put(f, SEQ "/" SEQ ".1001.dpx", "ff", 1001, FILE_CHANGED);
    assert_int_equal(update(f, &n), 2);
    assert_int_equal(n.failed, 1);
    struct mhl_history h = history(f);
    const struct mhl_item *item = mhl_truth_for(&h, SEQ "/" SEQ ".1001.dpx");
    assert_string_equal(item->truth.text[HASH_XXH128], "a1");
    assert_non_null(item->failed_in);
    assert_string_equal(item->failed.text[HASH_XXH128], "ff");
    mhl_history_free(&h);
    assert_int_equal(update(f, NULL), 0); /* recorded once */
}

/* A file outside every asset is its own pattern until the root is sealed. */
static void loose_files_wait_for_the_root(void **state)
{
    struct fixture *f = *state;
    struct custody_counts n;

    land(f, "docs/notes.txt", "dd");
    land_frame(f, 1001, "a1");
    assert_int_equal(update(f, NULL), 1);
    struct mhl_history h = history(f);
    assert_true(has_pattern(&h, "**/docs/notes.txt"));
    mhl_history_free(&h);
    assert_true(catalog_seal(f->cat, "", f->now));
    assert_int_equal(update(f, &n), 2);
    assert_int_equal(n.listed, 2);
    h = history(f);
    assert_false(has_pattern(&h, "**/docs/notes.txt"));
    assert_false(has_pattern(&h, "**/" SEQ "/"));
    assert_non_null(mhl_truth_for(&h, "docs/notes.txt"));
    mhl_history_free(&h);
}

static void write_file(struct fixture *f, const char *rel, const char *text)
{
    int fd = openat(f->root, rel, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

#define HASH_ENTRY(path, extra, action, digest)                                                    \
    "<hash><path size=\"3\">" path "</path>" extra "<xxh128 action=\"" action                      \
    "\" hashdate=\"2026-01-01T00:00:00Z\">" digest "</xxh128></hash>"
#define GENERATION(hashes)                                                                         \
    "<?xml version=\"1.0\"?><hashlist version=\"2.0\" xmlns=\"urn:ASC:MHL:v2.0\"><creatorinfo>"    \
    "</creatorinfo><processinfo><process>in-place</process><ignore><pattern>.*</pattern>"          \
    "</ignore></processinfo><hashes>" hashes "</hashes></hashlist>"

/* The first original is the truth; a later one is not; a rename is
 * checked against the path it came from; failed is never a reference. */
static void history_read_the_asc_way(void **state)
{
    struct fixture *f = *state;
    size_t count;

    mkdirat(f->root, MHL_FOLDER, 0755);
    write_file(f, "ascmhl/0001_d_2026-01-01_000000Z.mhl",
               GENERATION(HASH_ENTRY("a.txt", "", "original", "11")
                              HASH_ENTRY("c.txt", "", "original", "33")));
    write_file(f, "ascmhl/0002_d_2026-01-01_000100Z.mhl",
               GENERATION(HASH_ENTRY("a.txt", "", "original", "22")
                              HASH_ENTRY("b.txt", "<previousPath>c.txt</previousPath>", "verified",
                                         "33") HASH_ENTRY("d.txt", "", "failed", "44")));
    struct mhl_history h = history(f);
    assert_int_equal(h.sequence, 2);
    assert_string_equal(mhl_truth_for(&h, "a.txt")->truth.text[HASH_XXH128], "11");
    assert_string_equal(mhl_truth_for(&h, "b.txt")->path, "c.txt");
    assert_null(mhl_truth_for(&h, "d.txt"));
    const char **expected = mhl_expected_paths(&h, &count);
    assert_int_equal(count, 3); /* a, b, d: c is expected as b */
    assert_string_equal(expected[0], "a.txt");
    assert_string_equal(expected[1], "b.txt");
    assert_string_equal(expected[2], "d.txt");
    free(expected);
    mhl_history_free(&h);
}

static bool not_b(void *ctx, const struct catalog_brief *f)
{
    (void)ctx;
    return strcmp(f->path, "s/b.txt") != 0;
}

/* The mount's checkpoints: a folder that did not change is not even
 * looked at; one rewritten at a high cost moments ago waits, unless
 * forced. */
static void checksum_rewrites_only_what_is_due(void **state)
{
    struct fixture *f = *state;
    struct checksum_memory m = {0};
    const uint32_t algos = HASH_BIT(HASH_XXH128);
    char err[600], text[400] = {0};
    struct stat st;

    assert_int_equal(mkdirat(f->root, SEQ, 0755), 0);
    land_frame(f, 1, "aa");
    assert_true(
        checksum_write_all(f->cat, f->root, HASH_XXH128, algos, &m, false, err, sizeof err));
    assert_int_equal(fstatat(f->root, SEQ "/checksum.txt", &st, 0), 0);
    assert_int_equal(unlinkat(f->root, SEQ "/checksum.txt", 0), 0);
    assert_true(
        checksum_write_all(f->cat, f->root, HASH_XXH128, algos, &m, false, err, sizeof err));
    assert_int_equal(fstatat(f->root, SEQ "/checksum.txt", &st, 0), -1); /* unchanged: skipped */
    assert_true(m.retry_in == 0);
    land_frame(f, 2, "bb");
    assert_int_equal(m.count, 1);
    m.folders[0].cost = 1000; /* its last rewrite took that long */
    assert_true(
        checksum_write_all(f->cat, f->root, HASH_XXH128, algos, &m, false, err, sizeof err));
    assert_int_equal(fstatat(f->root, SEQ "/checksum.txt", &st, 0), -1); /* deferred */
    assert_true(m.retry_in > 9000);
    assert_true(checksum_write_all(f->cat, f->root, HASH_XXH128, algos, &m, true, err, sizeof err));
    int fd = openat(f->root, SEQ "/checksum.txt", O_RDONLY);
    assert_true(fd >= 0 && read(fd, text, sizeof text - 1) > 0);
    close(fd);
    assert_non_null(strstr(text, ".0001.dpx\t100\txxh128\taa\n"));
    assert_non_null(strstr(text, ".0002.dpx\t100\txxh128\tbb\n"));
    struct stat before, after;
    assert_int_equal(fstatat(f->root, SEQ "/checksum.txt", &before, 0), 0);
    assert_true(checksum_write_dir(f->cat, f->root, SEQ, HASH_XXH128, algos, err, sizeof err));
    assert_int_equal(fstatat(f->root, SEQ "/checksum.txt", &after, 0), 0);
    assert_int_equal(before.st_ino, after.st_ino); /* the same bytes: left as it was */
    land_frame(f, 3, "cc");
    assert_true(checksum_write_dir(f->cat, f->root, SEQ, HASH_XXH128, algos, err, sizeof err));
    assert_int_equal(fstatat(f->root, SEQ "/checksum.txt", &after, 0), 0);
    assert_int_not_equal(before.st_ino, after.st_ino); /* replaced whole */
    struct catalog_file *row = malloc(sizeof *row);
    assert_true(row && catalog_get_file(f->cat, SEQ "/checksum.txt", row));
    assert_int_equal(row->size, after.st_size); /* its row is the file written */
    free(row);
    checksum_memory_free(&m);
}

/* checksum.txt rendered with a filter leaves out exactly what it rejects. */
static void checksum_render_filters(void **state)
{
    struct fixture *f = *state;
    char err[300];

    land(f, "s/a.txt", "aa");
    land(f, "s/b.txt", "bb");
    land(f, "s/c.txt", "cc");
    char *all = checksum_render(f->cat, "s", HASH_XXH128, err, sizeof err);
    char *kept = checksum_render_if(f->cat, "s", HASH_XXH128, not_b, NULL, err, sizeof err);
    assert_non_null(all);
    assert_non_null(kept);
    assert_string_equal(all, "a.txt\t100\txxh128\taa\nb.txt\t100\txxh128\tbb\n"
                             "c.txt\t100\txxh128\tcc\n");
    assert_string_equal(kept, "a.txt\t100\txxh128\taa\nc.txt\t100\txxh128\tcc\n");
    free(all);
    free(kept);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ignore_matches_as_pathspec),
        cmocka_unit_test_setup_teardown(unsealed_asset_is_one_pattern, setup, teardown),
        cmocka_unit_test_setup_teardown(seal_lists_every_file_once, setup, teardown),
        cmocka_unit_test_setup_teardown(changed_sealed_file_is_failed, setup, teardown),
        cmocka_unit_test_setup_teardown(loose_files_wait_for_the_root, setup, teardown),
        cmocka_unit_test_setup_teardown(history_read_the_asc_way, setup, teardown),
        cmocka_unit_test_setup_teardown(checksum_render_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(checksum_rewrites_only_what_is_due, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
