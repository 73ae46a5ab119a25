/* The MHL history (ASC MHL 5.6.5): the mount's generations list only what
 * changed, files that left are named as gone, and the history read back
 * as a whole gives each file's newest record; checksum.txt rendered with
 * a filter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "namfs/catalog.h"
#include "namfs/manifest.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static void land(struct fixture *f, const char *path, const char *digest)
{
    struct catalog_file *row = calloc(1, sizeof *row);

    snprintf(row->path, sizeof row->path, "%s", path);
    row->size = 100;
    row->mtime_ns = 1700000000LL * 1000000000LL;
    row->hashed_at = 1700000001;
    row->digests.present = HASH_BIT(HASH_XXH128);
    snprintf(row->digests.text[HASH_XXH128], HASH_TEXT_MAX, "%s", digest);
    row->state = FILE_LANDED;
    row->frame = -1;
    assert_true(catalog_put_file(f->cat, row));
    free(row);
}

/* Writes the next generation; its sequence number, 0 when none was due. */
static int next_generation(struct fixture *f, bool changes_only)
{
    struct catalog_generation g;
    char err[300];

    f->now += 60; /* a new name each time */
    assert_true(mhl_write_generation(f->cat, f->root, "d", HASH_BIT(HASH_XXH128), changes_only,
                                     f->now, &g, err, sizeof err));
    return g.sequence;
}

static struct mhl_history history(struct fixture *f)
{
    struct mhl_history h;
    char err[300];

    assert_true(mhl_read_history(f->root, &h, err, sizeof err));
    return h;
}

/* The generation the record of path comes from: "ascmhl/000N_..." -> N. */
static int listed_in(const struct mhl_history *h, const char *path)
{
    const struct mhl_item *item = mhl_find(&h->files, path);
    return item ? atoi(item->generation + strlen(MHL_FOLDER) + 1) : 0;
}

static void lists_only_changes(void **state)
{
    struct fixture *f = *state;

    land(f, "a.txt", "0000000000000000000000000000000a");
    land(f, "b.txt", "0000000000000000000000000000000b");
    assert_int_equal(next_generation(f, true), 1);
    land(f, "c.txt", "0000000000000000000000000000000c");
    land(f, "a.txt", "000000000000000000000000000000aa"); /* rewritten */
    assert_int_equal(next_generation(f, true), 2);
    assert_int_equal(next_generation(f, true), 0); /* nothing new: none written */

    struct mhl_history h = history(f);
    assert_int_equal(h.files.count, 3);
    assert_int_equal(h.sequence, 2);
    assert_int_equal(listed_in(&h, "a.txt"), 2);
    assert_int_equal(listed_in(&h, "b.txt"), 1);
    assert_int_equal(listed_in(&h, "c.txt"), 2);
    assert_string_equal(mhl_find(&h.files, "a.txt")->digests.text[HASH_XXH128],
                        "000000000000000000000000000000aa");
    mhl_history_free(&h);
}

static void gone_files_leave_the_history(void **state)
{
    struct fixture *f = *state;
    const char *odd = "x [1] #2 *?.txt";

    land(f, "a.txt", "0000000000000000000000000000000a");
    land(f, odd, "0000000000000000000000000000000b");
    assert_int_equal(next_generation(f, true), 1);
    assert_true(catalog_delete_file(f->cat, odd));
    assert_true(catalog_delete_file(f->cat, "a.txt"));
    assert_int_equal(next_generation(f, true), 2); /* nothing landed, two left */

    struct mhl_history h = history(f);
    assert_int_equal(h.files.count, 0);
    assert_int_equal(h.gone.count, 2);
    assert_non_null(mhl_find(&h.gone, odd)); /* escaped and read back exactly */
    mhl_history_free(&h);

    assert_int_equal(next_generation(f, true), 0);        /* still gone: nothing new */
    land(f, "a.txt", "0000000000000000000000000000000a"); /* back, same bytes */
    assert_int_equal(next_generation(f, true), 3);
    h = history(f);
    assert_int_equal(listed_in(&h, "a.txt"), 3);
    assert_int_equal(h.gone.count, 1);
    assert_non_null(mhl_find(&h.gone, odd));
    mhl_history_free(&h);
}

static void full_generations_list_everything(void **state)
{
    struct fixture *f = *state;

    land(f, "a.txt", "0000000000000000000000000000000a");
    land(f, "b.txt", "0000000000000000000000000000000b");
    assert_int_equal(next_generation(f, true), 1);
    assert_int_equal(next_generation(f, false), 2);
    struct mhl_history h = history(f);
    assert_int_equal(listed_in(&h, "a.txt"), 2);
    assert_int_equal(listed_in(&h, "b.txt"), 2);
    mhl_history_free(&h);
}

static void no_history(void **state)
{
    struct fixture *f = *state;
    struct mhl_history h = history(f);

    assert_int_equal(h.files.count, 0);
    assert_int_equal(h.sequence, 0);
    assert_string_equal(h.newest, "");
    mhl_history_free(&h);
}

static bool not_b(void *ctx, const struct catalog_file *f)
{
    (void)ctx;
    return strcmp(f->path, "s/b.txt") != 0;
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
        cmocka_unit_test_setup_teardown(lists_only_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(gone_files_leave_the_history, setup, teardown),
        cmocka_unit_test_setup_teardown(full_generations_list_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(no_history, setup, teardown),
        cmocka_unit_test_setup_teardown(checksum_render_filters, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
