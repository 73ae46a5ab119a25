/* The catalog against BACKING (core/reconcile.c): at mount, what was added
 * while unmounted is judged and hashed and what went is forgotten; a landed
 * frame changed behind the mount, while unmounted or mounted, is reported
 * and never re-baselined (M3), and recorded as failed once sealed. Driven
 * on a temporary folder without FUSE, as test_stage.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "stage_fixture.h"

#include "namfs/mhl.h"

#include <fcntl.h>

/* A name libfuse gives a file deleted while open (backing_hidden_by_fuse). */
#define FUSE_HIDDEN "/" SEQ "/.fuse_hidden0000002a00000001"

static int setup(void **state)
{
    return fixture_setup(state, "reconcile");
}

static int teardown(void **state)
{
    return fixture_teardown(state);
}

/* An unmount: the last manifests written, the stage gone. */
static void unmount(struct fixture *f)
{
    stage_stop(f->stage);
    stage_free(f->stage);
    f->stage = NULL;
}

/* ---- frames, paths, digests ---- */

/* Frame n lands through the stage with the bytes of seed. */
static void land(struct fixture *f, unsigned n, uint32_t seed)
{
    char path[PATH_LEN];
    struct frame *fr = malloc(sizeof *fr);
    struct stage_handle h;
    bool cacheable;

    assert_non_null(fr);
    good_frame(fr, seed);
    frame_path(path, n, 4);
    assert_int_equal(stage_open(f->stage, path, O_CREAT | O_WRONLY, 0644, &f->who, &h, &cacheable),
                     0);
    assert_int_equal(stage_write(f->stage, &h, path, (const char *)fr->bytes, fr->len, 0),
                     (int)fr->len);
    assert_int_equal(stage_flush(f->stage, &h, path), 0);
    stage_release(f->stage, &h, path);
    free(fr);
}

/* Writes len bytes of seed's frame straight into BACKING (behind the
 * stage's back), in place: no truncation, as a careless copy would. */
static void write_behind(struct fixture *f, unsigned n, uint32_t seed, size_t len, char *digest)
{
    char path[PATH_LEN], where[PATH_LEN];
    struct frame *fr = malloc(sizeof *fr);

    assert_non_null(fr);
    good_frame(fr, seed);
    len = len ? len : fr->len;
    frame_path(path, n, 4);
    in_backing(f, path, where);
    int fd = open(where, O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, fr->bytes, len, 0), (ssize_t)len);
    assert_int_equal(close(fd), 0);
    if (digest)
        xxh128_text(fr->bytes, len, digest);
    free(fr);
}

/* A change behind the mount is seen by size, mtime or ctime (stage.c
 * stage_unchanged_since); one of the same size made in the same clock
 * tick as the landing would look unchanged, so the tests let one pass. */
static void next_tick(void)
{
    nanosleep(&(struct timespec){0, 30 * 1000 * 1000}, NULL);
}

static void frame_digest(uint32_t seed, char *digest)
{
    struct frame *fr = malloc(sizeof *fr);

    assert_non_null(fr);
    good_frame(fr, seed);
    xxh128_text(fr->bytes, fr->len, digest);
    free(fr);
}

/* ---- at mount ---- */

/* While unmounted: frame 1 rewritten with other bytes of the same size,
 * frame 2 deleted, frame 4 added whole, frame 5 added cut short (R7).
 * The next mount's reconcile counts the four, reports frame 1 as changed
 * (M3: no digest, never re-baselined), forgets frame 2, lands 4 and
 * quarantines 5; frame 3 stays as it was. */
static void reconcile_at_mount_catches_up(void **state)
{
    struct fixture *f = *state;
    char path[PATH_LEN], where[PATH_LEN], rewritten[DIGEST_LEN], added[DIGEST_LEN],
        kept[DIGEST_LEN], digest[DIGEST_LEN];
    size_t changed = 99;

    for (unsigned n = 1; n <= 3; n++)
        land(f, n, n);
    unmount(f);
    next_tick();
    write_behind(f, 1, 9, 0, rewritten);
    frame_path(path, 2, 4);
    in_backing(f, path, where);
    assert_int_equal(unlink(where), 0);
    write_behind(f, 4, 4, 0, added);
    write_behind(f, 5, 5, 6000, NULL);

    assert_true(open_stage(f));
    assert_true(stage_reconcile(f->stage, true, &changed));
    assert_int_equal(changed, 4);
    frame_path(path, 1, 4);
    assert_false(stage_digest(f->stage, path, HASH_XXH128, digest, sizeof digest));
    char verdict[600];
    assert_true(stage_verdict(f->stage, path, verdict, sizeof verdict));
    assert_contains(verdict, "M3: changed in BACKING behind the mount");
    assert_contains(verdict, rewritten);
    frame_path(path, 2, 4);
    assert_false(stage_digest(f->stage, path, HASH_XXH128, digest, sizeof digest));
    frame_path(path, 3, 4);
    frame_digest(3, kept);
    assert_digest(f, path, kept);
    frame_path(path, 4, 4);
    assert_digest(f, path, added);

    frame_path(path, 5, 4);
    in_backing(f, path, where);
    assert_false(exists(where));
    snprintf(where, sizeof where, "%s/quarantine%s", f->state, path);
    assert_true(exists(where));
    char *rejected = stage_render_rejected(f->stage);
    assert_contains(rejected, SEQ "/" SEQ ".0005.dpx\tR7\t");
    free(rejected);
    assert_logged(f, SEQ ".0005.dpx", "R7");
}

/* Nothing changed while unmounted: nothing is judged again. */
static void reconcile_of_an_unchanged_delivery_changes_nothing(void **state)
{
    struct fixture *f = *state;
    size_t changed = 99;

    land(f, 1, 1);
    land(f, 2, 2);
    unmount(f);
    assert_true(open_stage(f));
    assert_true(stage_reconcile(f->stage, true, &changed));
    assert_int_equal(changed, 0);
}

/* A file deleted while open that a crash left under libfuse's hidden
 * name: its user deleted it, so the mount removes it, but only at mount;
 * while mounted it may still be open (reconcile.c remove_left_hidden). */
static void fuse_hidden_removed_at_mount_only(void **state)
{
    struct fixture *f = *state;
    char where[PATH_LEN];
    size_t changed = 99;

    land(f, 1, 1);
    unmount(f);
    in_backing(f, FUSE_HIDDEN, where);
    assert_true(write_text(where, "deleted while open"));
    assert_true(open_stage(f));
    assert_true(stage_reconcile(f->stage, false, &changed));
    assert_true(exists(where));
    assert_int_equal(changed, 0); /* neither judged nor landed */
    assert_true(stage_reconcile(f->stage, true, &changed));
    assert_false(exists(where));
    assert_logged(f, ".fuse_hidden0000002a00000001", "removed");
}

/* ---- behind the mount, while mounted (M3) ---- */

/* A landed frame rewritten in BACKING while mounted: the checkpoint's
 * look-out reports it (M3) and takes it out of checksum.txt; its new bytes
 * are never listed, and the mount shows no digest for it. */
static void checkpoint_reports_frame_changed_behind(void **state)
{
    struct fixture *f = *state;
    char path[PATH_LEN], old[DIGEST_LEN], now[DIGEST_LEN], digest[DIGEST_LEN];

    land(f, 1, 1);
    land(f, 2, 2);
    frame_digest(1, old);
    stage_checkpoint(f->stage);
    char *listed = checksum_txt(f);
    assert_contains(listed, old);
    free(listed);

    next_tick();
    write_behind(f, 1, 3, 0, now);
    stage_checkpoint(f->stage);
    listed = checksum_txt(f);
    if (strstr(listed, old) || strstr(listed, now) || !strstr(listed, ".0002.dpx"))
        fail_msg("checksum.txt must list frame 2 only:\n%s", listed);
    free(listed);
    frame_path(path, 1, 4);
    assert_false(stage_digest(f->stage, path, HASH_XXH128, digest, sizeof digest));
    assert_logged(f, path + 1, "changed in BACKING behind the mount");
    char *status = stage_render_status(f->stage);
    assert_contains(status, "changed\t" SEQ "/" SEQ ".0001.dpx");
    free(status);
}

/* The look-out's rounds walk the landed files in slices, on from where
 * the last round stopped and round again: a change behind the mount is
 * found by the round whose slice holds it, not by one before. */
static void look_out_walks_in_slices(void **state)
{
    struct fixture *f = *state;
    char path[PATH_LEN], digest[DIGEST_LEN];

    for (unsigned n = 1; n <= 5; n++)
        land(f, n, n);
    stage_checkpoint(f->stage);
    next_tick();
    write_behind(f, 5, 9, 0, NULL);
    frame_path(path, 5, 4);
    stage_look_out(f->stage, 2); /* two rows, frame 5 not among them */
    assert_true(stage_digest(f->stage, path, HASH_XXH128, digest, sizeof digest));
    int rounds = 1;
    while (stage_digest(f->stage, path, HASH_XXH128, digest, sizeof digest) && rounds++ < 8)
        stage_look_out(f->stage, 2);
    assert_in_range(rounds, 2, 4); /* frames 1-4 and a manifest or two before it */
    assert_logged(f, path + 1, "changed in BACKING behind the mount");
    next_tick();
    write_behind(f, 1, 9, 0, NULL);
    frame_path(path, 1, 4);
    rounds = 0; /* on from frame 5: the end, then round again from the start */
    while (stage_digest(f->stage, path, HASH_XXH128, digest, sizeof digest) && rounds++ < 8)
        stage_look_out(f->stage, 2);
    assert_in_range(rounds, 1, 4);
}

/* The same in a sealed asset: the next generation records what was found
 * as failed; the original stays the truth and checksum.txt, listed with
 * the asset, is left as it was. */
static void sealed_frame_changed_behind_is_recorded_failed(void **state)
{
    struct fixture *f = *state;
    char old[DIGEST_LEN], now[DIGEST_LEN], err[600];
    struct mhl_history h;

    land(f, 1, 1);
    frame_digest(1, old);
    assert_int_equal(stage_seal(f->stage, "/" SEQ), 0);
    char *sealed = checksum_txt(f);
    next_tick();
    write_behind(f, 1, 3, 0, now);
    stage_checkpoint(f->stage);
    char *listed = checksum_txt(f);
    assert_string_equal(listed, sealed);
    free(listed);
    free(sealed);
    int root = open(f->backing, O_RDONLY | O_DIRECTORY);
    assert_true(root >= 0);
    if (!mhl_read_history(root, &h, err, sizeof err))
        fail_msg("%s", err);
    close(root);
    const struct mhl_item *item = mhl_truth_for(&h, SEQ "/" SEQ ".0001.dpx");
    assert_non_null(item);
    assert_string_equal(item->truth.text[HASH_XXH128], old);
    assert_non_null(item->failed_in);
    assert_string_equal(item->failed.text[HASH_XXH128], now);
    assert_int_equal(h.sequence, 2); /* the seal's, then the failure's */
    mhl_history_free(&h);
}

/* A landed frame deleted in BACKING while mounted leaves the catalog and
 * the next checksum.txt. */
static void checkpoint_forgets_frame_removed_behind(void **state)
{
    struct fixture *f = *state;
    char path[PATH_LEN], where[PATH_LEN], gone[DIGEST_LEN], digest[DIGEST_LEN];

    land(f, 1, 1);
    land(f, 2, 2);
    frame_digest(2, gone);
    stage_checkpoint(f->stage);
    frame_path(path, 2, 4);
    in_backing(f, path, where);
    assert_int_equal(unlink(where), 0);
    stage_checkpoint(f->stage);
    char *listed = checksum_txt(f);
    assert_contains(listed, SEQ ".0001.dpx\t");
    assert_null(strstr(listed, gone));
    free(listed);
    assert_false(stage_digest(f->stage, path, HASH_XXH128, digest, sizeof digest));
    assert_logged(f, path, "removed from BACKING behind the mount");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reconcile_at_mount_catches_up, setup, teardown),
        cmocka_unit_test_setup_teardown(reconcile_of_an_unchanged_delivery_changes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(fuse_hidden_removed_at_mount_only, setup, teardown),
        cmocka_unit_test_setup_teardown(checkpoint_reports_frame_changed_behind, setup, teardown),
        cmocka_unit_test_setup_teardown(sealed_frame_changed_behind_is_recorded_failed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(checkpoint_forgets_frame_removed_behind, setup, teardown),
        cmocka_unit_test_setup_teardown(look_out_walks_in_slices, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
