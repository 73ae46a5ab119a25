/* The staging engine (namfs/stage.h) driven the way fs/namfs drives it,
 * on a temporary BACKING and without FUSE: every assertion is made at the
 * instant a call returns, as landing_cases.py does through a mount. The
 * rule ids (R*, S*, N*, M*) are SPEC.md's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "stage_fixture.h"

#include <dirent.h>
#include <sqlite3.h>

static int setup(void **state)
{
    return fixture_setup(state, "stage");
}

static int teardown(void **state)
{
    return fixture_teardown(state);
}

/* ---- frames, paths, digests ---- */

static void in_quarantine(const struct fixture *f, const char *path, char *out)
{
    snprintf(out, PATH_LEN, "%s/quarantine%s", f->state, path);
}

static off_t size_of(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 ? st.st_size : -1;
}

/* ---- the calls a writer's open, write and close make ---- */

static int open_writer(struct fixture *f, const char *path, int flags, struct stage_handle *h)
{
    bool cacheable;
    return stage_open(f->stage, path, flags, 0644, &f->who, h, &cacheable);
}

/* Writes [from, to) as one request; its rc. */
static int write_range(struct fixture *f, struct stage_handle *h, const char *path,
                       const uint8_t *bytes, size_t from, size_t to)
{
    return stage_write(f->stage, h, path, (const char *)bytes + from, to - from, (off_t)from);
}

/* Writes bytes in the pieces a writer sends: the header in three (the
 * early judgement needs the first 820 bytes), then 4 KiB at a time. 0, or
 * the first failing write's rc. */
static int write_pieces(struct fixture *f, struct stage_handle *h, const char *path,
                        const uint8_t *bytes, size_t len)
{
    for (size_t from = 0, to; from < len; from = to) {
        to = from < 100 ? 100 : from < 820 ? 820 : from < 2048 ? 2048 : from + 4096;
        to = to < len ? to : len;
        int rc = write_range(f, h, path, bytes, from, to);
        if (rc != (int)(to - from))
            return rc < 0 ? rc : -EIO;
    }
    return 0;
}

/* open(O_CREAT), the writes, close(): the rc of the close's FLUSH. */
static int write_file(struct fixture *f, const char *path, const struct frame *fr)
{
    struct stage_handle h;

    assert_int_equal(open_writer(f, path, O_CREAT | O_WRONLY | O_TRUNC, &h), 0);
    assert_int_equal(write_pieces(f, &h, path, fr->bytes, fr->len), 0);
    int rc = stage_flush(f->stage, &h, path);
    stage_release(f->stage, &h, path);
    return rc;
}

/* Frame n (4 digits) lands with the bytes of seed; its digest in digest. */
static void land(struct fixture *f, unsigned n, uint32_t seed, char *digest)
{
    char path[PATH_LEN];
    struct frame *fr = malloc(sizeof *fr);

    assert_non_null(fr);
    good_frame(fr, seed);
    frame_path(path, n, 4);
    assert_int_equal(write_file(f, path, fr), 0);
    if (digest)
        xxh128_text(fr->bytes, fr->len, digest);
    free(fr);
}

static void assert_no_digest(struct fixture *f, const char *path)
{
    char digest[DIGEST_LEN];

    if (stage_digest(f->stage, path, HASH_XXH128, digest, sizeof digest))
        fail_msg("%s still has a digest: %s", path, digest);
}

/* ---- landing (landing.h, R7/R8, M1, M3) ---- */

/* A frame written in pieces through one handle lands at its close(): the
 * digest is the bytes' own XXH3-128 as flush returns; until then BACKING
 * holds it under an in-flight name only, and from then on, on disk, under
 * its own (M3), so the next checkpoint lists it (M1). */
static void frame_lands_with_its_digest(void **state)
{
    struct fixture *f = *state;
    struct frame *fr = malloc(sizeof *fr);
    struct stage_handle h;
    char path[PATH_LEN], expected[DIGEST_LEN], verdict[600], line[PATH_LEN + 128];

    good_frame(fr, 1);
    xxh128_text(fr->bytes, fr->len, expected);
    frame_path(path, 1, 4);
    char where[PATH_LEN];
    in_backing(f, path, where);
    assert_int_equal(open_writer(f, path, O_CREAT | O_WRONLY, &h), 0);
    assert_int_equal(write_pieces(f, &h, path, fr->bytes, fr->len), 0);
    assert_false(exists(where)); /* in flight: no partial frame under its name */
    assert_int_equal(stage_flush(f->stage, &h, path), 0);
    assert_digest(f, path, expected);
    assert_true(stage_verdict(f->stage, path, verdict, sizeof verdict));
    assert_string_equal(verdict, "pass");
    FILE *in = fopen(where, "rb"); /* BACKING has it, whole, at flush */
    uint8_t *bytes = malloc(fr->len + 1);
    assert_non_null(in);
    assert_int_equal(fread(bytes, 1, fr->len + 1, in), fr->len);
    assert_memory_equal(bytes, fr->bytes, fr->len);
    fclose(in);
    free(bytes);
    stage_release(f->stage, &h, path);
    stage_checkpoint(f->stage);
    char *listed = checksum_txt(f);
    snprintf(line, sizeof line, SEQ ".0001.dpx\t%zu\txxh128\t%s\n", fr->len, expected);
    assert_non_null(listed);
    assert_string_equal(listed, line);
    free(listed);
    free(fr);
}

/* WRITING: no digest is answered before the close, nor the old one while
 * a landed frame is written again (landing.h). */
static void digest_is_enodata_while_written(void **state)
{
    struct fixture *f = *state;
    struct frame *fr = malloc(sizeof *fr), *other = malloc(sizeof *other);
    struct stage_handle h;
    char path[PATH_LEN], expected[DIGEST_LEN];

    good_frame(fr, 1);
    good_frame(other, 2);
    frame_path(path, 1, 4);
    assert_int_equal(open_writer(f, path, O_CREAT | O_WRONLY, &h), 0);
    assert_int_equal(write_range(f, &h, path, fr->bytes, 0, fr->len / 2), (int)(fr->len / 2));
    assert_int_equal(stage_digest_current(f->stage, path), -ENODATA);
    assert_no_digest(f, path);
    assert_int_equal(write_range(f, &h, path, fr->bytes, fr->len / 2, fr->len),
                     (int)(fr->len - fr->len / 2));
    assert_int_equal(stage_digest_current(f->stage, path), -ENODATA);
    assert_int_equal(stage_flush(f->stage, &h, path), 0);
    assert_int_equal(stage_digest_current(f->stage, path), 0);
    stage_release(f->stage, &h, path);

    /* written again in place: pixels 4096..5096 from another frame */
    assert_int_equal(open_writer(f, path, O_WRONLY, &h), 0);
    assert_int_equal(write_range(f, &h, path, other->bytes, 4096, 5096), 1000);
    assert_int_equal(stage_digest_current(f->stage, path), -ENODATA);
    memcpy(fr->bytes + 4096, other->bytes + 4096, 1000);
    xxh128_text(fr->bytes, fr->len, expected);
    assert_int_equal(stage_flush(f->stage, &h, path), 0);
    assert_digest(f, path, expected);
    stage_release(f->stage, &h, path);
    free(fr);
    free(other);
}

/* R2: an 8-bit DPX is refused from its header (the profile takes 16-bit,
 * or 10-bit under R3). The write that completes the header fails, and
 * every later one; the close fails; the frame has left BACKING for the
 * quarantine with its reason as flush returns. */
static void bad_header_refused_early_R2(void **state)
{
    struct fixture *f = *state;
    struct frame *fr = malloc(sizeof *fr);
    struct dpx_spec spec = dpx_spec_default();
    struct stage_handle h;
    char path[PATH_LEN], where[PATH_LEN], reason_path[PATH_LEN + 8];

    spec.bit_size = 8;
    make_frame(fr, &spec, 1);
    frame_path(path, 1, 4);
    assert_int_equal(open_writer(f, path, O_CREAT | O_WRONLY, &h), 0);
    assert_int_equal(write_range(f, &h, path, fr->bytes, 0, 100), 100); /* not whole yet */
    assert_int_equal(write_range(f, &h, path, fr->bytes, 100, 820), -EINVAL);
    assert_int_equal(write_range(f, &h, path, fr->bytes, 820, fr->len), -EINVAL);
    assert_int_equal(stage_flush(f->stage, &h, path), -EINVAL);
    in_backing(f, path, where);
    assert_false(exists(where));
    struct stat st;
    assert_int_equal(stage_stat(f->stage, path, &st), -ENOENT);
    in_quarantine(f, path, where);
    assert_int_equal(size_of(where), 820); /* what reached BACKING before the refusal */
    snprintf(reason_path, sizeof reason_path, "%s.reason", where);
    char *reason = slurp(reason_path);
    assert_contains(reason, SEQ "/" SEQ ".0001.dpx\tR2\t");
    free(reason);
    char *rejected = stage_render_rejected(f->stage);
    assert_contains(rejected, SEQ "/" SEQ ".0001.dpx\tR2\t");
    free(rejected);
    assert_logged(f, path, "R2");
    char by[64]; /* the log says who wrote it (a farm user behind Samba) */
    snprintf(by, sizeof by, "written by uid %u, pid %d", (unsigned)getuid(), (int)getpid());
    assert_logged(f, "R2", by);
    stage_release(f->stage, &h, path);
    free(fr);
}

/* Two handles write one file: the close of the first, while the second
 * has written and not closed, settles nothing; the last one's lands both
 * writers' bytes (landing.h, WRITING -> SETTLING). */
static void two_handles_last_flush_settles(void **state)
{
    struct fixture *f = *state;
    struct frame *fr = malloc(sizeof *fr), *other = malloc(sizeof *other);
    struct stage_handle a, b;
    char path[PATH_LEN], expected[DIGEST_LEN];

    good_frame(fr, 1);
    good_frame(other, 2);
    frame_path(path, 1, 4);
    assert_int_equal(open_writer(f, path, O_CREAT | O_WRONLY, &a), 0);
    assert_int_equal(open_writer(f, path, O_WRONLY, &b), 0);
    assert_int_equal(write_pieces(f, &a, path, fr->bytes, fr->len), 0);
    assert_int_equal(write_range(f, &b, path, other->bytes, 4096, 5096), 1000);
    assert_int_equal(stage_flush(f->stage, &a, path), 0);
    assert_int_equal(stage_digest_current(f->stage, path), -ENODATA);
    assert_no_digest(f, path);
    assert_int_equal(stage_flush(f->stage, &b, path), 0);
    memcpy(fr->bytes + 4096, other->bytes + 4096, 1000);
    xxh128_text(fr->bytes, fr->len, expected);
    assert_digest(f, path, expected);
    stage_release(f->stage, &a, path);
    stage_release(f->stage, &b, path);
    free(fr);
    free(other);
}

/* The refusal of a rewrite of a landed frame that cuts it short: the
 * rewrite worked on a copy in flight, so BACKING keeps the landed frame
 * with its digest (M5), and the refused bytes are in the quarantine,
 * listed with R7 under the name they were written as. */
static void assert_rewrite_refused_R7(struct fixture *f, const char *path, off_t size,
                                      off_t landed_size, const char *landed_digest)
{
    char where[PATH_LEN];

    in_backing(f, path, where);
    assert_int_equal(size_of(where), landed_size);
    assert_digest(f, path, landed_digest);
    in_quarantine(f, path, where);
    assert_int_equal(size_of(where), size);
    char *rejected = stage_render_rejected(f->stage);
    assert_contains(rejected, SEQ ".0001.dpx\tR7\t");
    free(rejected);
    char *why = stage_seal_state(f->stage, "/" SEQ);
    assert_string_equal(why, "sealable"); /* the frame is there, as it landed */
    free(why);
    assert_logged(f, SEQ ".0001.dpx", "R7");
    assert_logged(f, "R7", "written by uid");
}

/* A truncate by path of a landed frame is judged as any rewrite: half a
 * frame misses the bytes its header promises (R7), so the truncate fails
 * with EINVAL and the landed frame stays. */
static void truncate_by_path_rejudges_R7(void **state)
{
    struct fixture *f = *state;
    char path[PATH_LEN], where[PATH_LEN], digest[DIGEST_LEN];

    land(f, 1, 1, digest);
    frame_path(path, 1, 4);
    in_backing(f, path, where);
    off_t whole = size_of(where);
    assert_int_equal(stage_truncate(f->stage, path, whole / 2), -EINVAL);
    assert_rewrite_refused_R7(f, path, whole / 2, whole, digest);
}

/* A truncating reopen of a landed frame (O_TRUNC) that writes half a
 * frame: its close refuses it (R7); the landed frame stays. */
static void truncating_reopen_rejudges_R7(void **state)
{
    struct fixture *f = *state;
    struct frame *fr = malloc(sizeof *fr);
    struct stage_handle h;
    char path[PATH_LEN], digest[DIGEST_LEN];

    land(f, 1, 1, digest);
    good_frame(fr, 2);
    frame_path(path, 1, 4);
    assert_int_equal(open_writer(f, path, O_WRONLY | O_TRUNC, &h), 0);
    assert_int_equal(stage_digest_current(f->stage, path), -ENODATA);
    assert_int_equal(write_pieces(f, &h, path, fr->bytes, fr->len / 2), 0);
    assert_int_equal(stage_flush(f->stage, &h, path), -EINVAL);
    stage_release(f->stage, &h, path);
    assert_rewrite_refused_R7(f, path, (off_t)(fr->len / 2), (off_t)fr->len, digest);
    free(fr);
}

/* M3: a landed frame truncated to nothing is "a frame not written yet"
 * (settle.c), neither landed nor refused. Its old digest must not be
 * answered as current, nor listed by the next checksum.txt: it no longer
 * describes the file. */
static void truncated_to_empty_keeps_no_stale_digest(void **state)
{
    struct fixture *f = *state;
    char path[PATH_LEN], old[DIGEST_LEN], digest[DIGEST_LEN] = "";

    land(f, 1, 1, old);
    land(f, 2, 2, NULL); /* the folder keeps a landed frame, so checksum.txt stays */
    frame_path(path, 1, 4);
    assert_int_equal(stage_truncate(f->stage, path, 0), 0);
    /* what the mount's user.namfs.xxh128 answers (fs/namfs/ops.c namfs_value) */
    bool answered = stage_digest_current(f->stage, path) == 0 &&
                    stage_digest(f->stage, path, HASH_XXH128, digest, sizeof digest);
    stage_checkpoint(f->stage);
    char *listed = checksum_txt(f);
    assert_non_null(listed);
    bool stale_answer = answered && strcmp(digest, old) == 0;
    bool stale_listing = strstr(listed, old) != NULL;
    if (stale_answer || stale_listing)
        print_error("checksum.txt:\n%s", listed);
    free(listed); /* before failing: a leak would hide the failure's cause */
    if (stale_answer || stale_listing)
        fail_msg("the empty frame keeps its old digest %s: answered as current: %s; listed by "
                 "checksum.txt: %s",
                 old, stale_answer ? "yes" : "no", stale_listing ? "yes" : "no");
}

/* ---- S5: one frame number, one file ---- */

struct racer {
    struct fixture *f;
    const struct frame *fr;
    pthread_barrier_t *barrier;
    char path[PATH_LEN];
    int opened, written, flushed;
};

/* One writer of the race: open, write, then close at the same instant as
 * the other. No cmocka assertion here: they longjmp, not across threads. */
static void *race(void *arg)
{
    struct racer *r = arg;
    struct stage_handle h;

    r->opened = open_writer(r->f, r->path, O_CREAT | O_WRONLY, &h);
    r->written = r->opened ? r->opened : write_pieces(r->f, &h, r->path, r->fr->bytes, r->fr->len);
    pthread_barrier_wait(r->barrier);
    if (r->opened == 0) {
        r->flushed = stage_flush(r->f->stage, &h, r->path);
        stage_release(r->f->stage, &h, r->path);
    }
    return NULL;
}

/* Both writers of frame n, as x.<n>.dpx and x.0<n>.dpx, at once. */
static void run_round(struct fixture *f, const struct frame *fr, unsigned n, struct racer r[2])
{
    pthread_barrier_t barrier;
    pthread_t threads[2];

    pthread_barrier_init(&barrier, NULL, 2);
    for (int i = 0; i < 2; i++) {
        r[i] = (struct racer){.f = f, .fr = fr, .barrier = &barrier};
        frame_path(r[i].path, n, 4 + i);
        assert_int_equal(pthread_create(&threads[i], NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&barrier);
}

/* One round: exactly one flush 0 and one -EINVAL; the winner landed, the
 * loser left BACKING. The winner is unlinked, so that the asset is empty
 * again. True when the loser was refused for S5. */
static bool race_once(struct fixture *f, const struct frame *fr, unsigned n)
{
    struct racer r[2];
    char where[PATH_LEN], digest[DIGEST_LEN], verdict[600];

    run_round(f, fr, n, r);
    assert_int_equal(r[0].written, 0);
    assert_int_equal(r[1].written, 0);
    if (!((r[0].flushed == 0 && r[1].flushed == -EINVAL) ||
          (r[0].flushed == -EINVAL && r[1].flushed == 0)))
        fail_msg("frame %u: flushes returned %d and %d; expected one 0, one -EINVAL", n,
                 r[0].flushed, r[1].flushed);
    int loser = r[0].flushed == 0 ? 1 : 0, winner = 1 - loser;
    xxh128_text(fr->bytes, fr->len, digest);
    assert_digest(f, r[winner].path, digest);
    in_backing(f, r[loser].path, where);
    assert_false(exists(where));
    assert_true(stage_verdict(f->stage, r[loser].path, verdict, sizeof verdict));
    /* S5 while the winner is in the asset; S3 when an earlier round's
     * winner fixed the title's padding (sequence.c title_allows) */
    if (strncmp(verdict, "S5: ", 4) != 0 && strncmp(verdict, "S3: ", 4) != 0)
        fail_msg("frame %u: the loser's verdict is '%s'", n, verdict);
    assert_int_equal(stage_unlink(f->stage, r[winner].path), 0);
    return strncmp(verdict, "S5: ", 4) == 0;
}

/* S5: two writers of one frame number under two paddings close at the
 * same instant into an empty asset, where either alone would land:
 * exactly one close succeeds, every time (the catalog's reservation). */
static void s5_race_exactly_one_lands(void **state)
{
    struct fixture *f = *state;
    struct frame *fr = malloc(sizeof *fr);
    int s5 = 0;

    good_frame(fr, 1);
    for (unsigned n = 3001; n < 3021; n++) {
        bool was_s5 = race_once(f, fr, n);
        if (n == 3001)
            assert_true(was_s5); /* no padding is fixed yet: only S5 can refuse */
        s5 += was_s5;
    }
    print_message("S5 race: 20 of 20 rounds one landed; %d refusals S5, %d S3\n", s5, 20 - s5);
    free(fr);
}

/* ---- changes by name (N4) ---- */

/* A landed frame moved to another frame's name is judged under it: the
 * sequence takes its new number (the gap it leaves is S2), and a name
 * that breaks N4 refuses it. */
static void rename_of_landed_frame_rejudges_it(void **state)
{
    struct fixture *f = *state;
    char two[PATH_LEN], four[PATH_LEN], where[PATH_LEN], digest[DIGEST_LEN];
    const char *stray = "/" SEQ "/other_name.0004.dpx";

    land(f, 1, 1, NULL);
    land(f, 2, 2, digest);
    frame_path(two, 2, 4);
    frame_path(four, 4, 4);
    assert_int_equal(stage_rename(f->stage, two, four, 0), 0);
    assert_no_digest(f, two);
    assert_digest(f, four, digest);
    char *json = stage_render_status_json(f->stage);
    assert_contains(json, "\"frames\": 2, \"first\": 1, \"last\": 4, \"gaps\": [[2, 3]]");
    free(json);
    char *why = stage_seal_state(f->stage, "/" SEQ);
    assert_contains(why, "S2: " SEQ "/" SEQ ": frames 2-3 missing");
    free(why);

    /* a name that breaks a rule: judged before BACKING moves it, refused */
    assert_int_equal(stage_rename(f->stage, four, stray, 0), -EINVAL);
    in_backing(f, stray, where);
    assert_false(exists(where));
    assert_digest(f, four, digest);
    assert_logged(f, "other_name.0004.dpx", "N4");
}

/* N4: frames are named after their folder, so a folder carrying landed
 * frames keeps its name; one without any may move. */
static void folder_with_landed_frames_keeps_its_name_N4(void **state)
{
    struct fixture *f = *state;
    char where[PATH_LEN];
    const char *moved = "/show_s01e02_nam_16b_sdr_aces110_ap0_log_20261124_178_64x32";

    land(f, 1, 1, NULL);
    assert_int_equal(stage_rename(f->stage, "/" SEQ, moved, 0), -EPERM);
    in_backing(f, "/" SEQ, where);
    assert_true(exists(where));
    assert_logged(f, "/" SEQ, "N4");
    assert_int_equal(stage_mkdir(f->stage, "/empty", 0755, &f->who), 0);
    assert_int_equal(stage_rename(f->stage, "/empty", "/still_empty", 0), 0);
}

/* A landed frame deleted through the mount leaves the catalog, and the
 * next checksum.txt (M1) lists only what is left. */
static void unlink_forgets_landed_frame(void **state)
{
    struct fixture *f = *state;
    char one[PATH_LEN], two[PATH_LEN], where[PATH_LEN], gone[DIGEST_LEN], kept[DIGEST_LEN];

    land(f, 1, 1, gone);
    land(f, 2, 2, kept);
    frame_path(one, 1, 4);
    frame_path(two, 2, 4);
    assert_int_equal(stage_unlink(f->stage, one), 0);
    assert_no_digest(f, one);
    in_backing(f, one, where);
    assert_false(exists(where));
    assert_digest(f, two, kept);
    stage_checkpoint(f->stage);
    char *listed = checksum_txt(f);
    assert_contains(listed, kept);
    assert_null(strstr(listed, gone));
    assert_null(strstr(listed, SEQ ".0001.dpx"));
    free(listed);
}

/* ---- seal (S2) ---- */

/* A complete asset seals; from then on nothing in it may change. */
static void seal_complete_asset_then_read_only(void **state)
{
    struct fixture *f = *state;
    struct stage_handle h;
    char one[PATH_LEN], three[PATH_LEN];

    land(f, 1, 1, NULL);
    land(f, 2, 2, NULL);
    char *why = stage_seal_state(f->stage, "/" SEQ);
    assert_string_equal(why, "sealable");
    free(why);
    assert_int_equal(stage_seal(f->stage, "/" SEQ), 0);
    why = stage_seal_state(f->stage, "/" SEQ);
    assert_string_equal(why, "sealed");
    free(why);
    frame_path(one, 1, 4);
    frame_path(three, 3, 4);
    assert_int_equal(open_writer(f, three, O_CREAT | O_WRONLY, &h), -EROFS);
    assert_int_equal(open_writer(f, one, O_WRONLY, &h), -EROFS);
    assert_int_equal(stage_may_change(f->stage, one), -EROFS);
    assert_int_equal(stage_unlink(f->stage, one), -EROFS);
    char *listed = checksum_txt(f); /* the seal wrote the final manifests */
    assert_contains(listed, SEQ ".0002.dpx\t");
    free(listed);
}

/* S2: frames 1 and 3 without 2 do not seal, and the state says why. */
static void seal_refused_with_a_gap_S2(void **state)
{
    struct fixture *f = *state;

    land(f, 1, 1, NULL);
    land(f, 3, 3, NULL);
    assert_int_equal(stage_seal(f->stage, "/" SEQ), -EBUSY);
    char *why = stage_seal_state(f->stage, "/" SEQ);
    assert_contains(why, "S2: " SEQ "/" SEQ ": frame 2 missing");
    free(why);
    assert_logged(f, "not sealed", "S2");
    assert_int_equal(stage_may_change(f->stage, "/" SEQ "/" SEQ ".0002.dpx"), 0);
}

/* ---- views ---- */

/* .namfs/status.json (namctl(1), schema 1): the asset, its frames, its
 * range and gaps, as the closes returned. */
static void status_json_counts_the_asset(void **state)
{
    struct fixture *f = *state;

    land(f, 1, 1, NULL);
    land(f, 2, 2, NULL);
    land(f, 4, 4, NULL);
    char *json = stage_render_status_json(f->stage);
    assert_contains(json, "\"schema\": 1");
    assert_contains(json, "{\"asset\": \"" SEQ "/" SEQ "\", \"textless\": false, \"frames\": 3, "
                          "\"first\": 1, \"last\": 4, \"gaps\": [[3, 3]], \"refused\": 0");
    assert_contains(json, "\"totals\": {\"files\": 3,");
    free(json);
}

/* namctl(1) documents the field hashed_bytes (bytes hashed through this
 * mount) in status.json, schema 1. */
static void status_json_names_hashed_bytes(void **state)
{
    struct fixture *f = *state;

    land(f, 1, 1, NULL);
    char *json = stage_render_status_json(f->stage);
    bool named = json && strstr(json, "\"hashed_bytes\": 14336,");
    if (!named)
        print_error("status.json:\n%s", json ? json : "(nothing)");
    free(json);
    if (!named)
        fail_msg("status.json lacks \"hashed_bytes\": 14336 (namctl(1), schema 1)");
}

/* ---- the rest of the transitions (landing.h) ---- */

/* pread64 fails with EIO at or past fail_reads_from while it is set: a
 * disk that cannot give back what it took (the build wraps pread64 for
 * this binary only: tests/unit/meson.build). */
static _Atomic long long fail_reads_from = -1;
ssize_t __real_pread64(int fd, void *buf, size_t n, off_t off);
ssize_t __wrap_pread64(int fd, void *buf, size_t n, off_t off);

ssize_t __wrap_pread64(int fd, void *buf, size_t n, off_t off)
{
    long long from = fail_reads_from;
    if (from >= 0 && off >= from) {
        errno = EIO;
        return -1;
    }
    return __real_pread64(fd, buf, n, off);
}

/* A dup'd descriptor's close() is a second FLUSH of the handle: the first
 * settled the file, the second changes nothing. A write after it (a
 * descriptor passed on) reopens the file, and the release settles it
 * where no writer can be told: a header now broken is refused there,
 * logged and listed, its bytes in the quarantine. */
static void dup_closes_then_a_late_write(void **state)
{
    struct fixture *f = *state;
    struct frame *fr = malloc(sizeof *fr);
    struct stage_handle h;
    char path[PATH_LEN], quarantined[PATH_LEN + 128], expected[DIGEST_LEN];

    good_frame(fr, 3);
    frame_path(path, 1, 4);
    xxh128_text(fr->bytes, fr->len, expected);
    assert_int_equal(open_writer(f, path, O_CREAT | O_WRONLY, &h), 0);
    assert_int_equal(write_pieces(f, &h, path, fr->bytes, fr->len), 0);
    assert_int_equal(stage_flush(f->stage, &h, path), 0);
    assert_digest(f, path, expected);
    assert_int_equal(stage_flush(f->stage, &h, path), 0);
    assert_digest(f, path, expected);
    const char not_dpx[4] = "JUNK"; /* the magic number goes: R8 */
    assert_int_equal(stage_write(f->stage, &h, path, not_dpx, sizeof not_dpx, 0), 4);
    assert_int_equal(stage_digest_current(f->stage, path), -ENODATA);
    stage_release(f->stage, &h, path);
    assert_no_digest(f, path);
    in_quarantine(f, path, quarantined);
    assert_true(exists(quarantined));
    char *rejected = stage_render_rejected(f->stage);
    assert_contains(rejected, SEQ ".0001.dpx");
    free(rejected);
    free(fr);
}

/* A frame renamed over one still open for writing, as libfuse does it:
 * the open file first leaves under a hidden name (the delete of a file
 * still open), then the rename. The open file is no part of the delivery
 * any more: its close() settles nothing, and its name carries the frame
 * moved there. */
static void rename_over_an_open_file(void **state)
{
    struct fixture *f = *state;
    struct frame *fr = malloc(sizeof *fr);
    struct stage_handle h;
    char open_path[PATH_LEN], moved[PATH_LEN], expected[DIGEST_LEN];
    const char *hidden = "/" SEQ "/.fuse_hidden0000000700000001";

    good_frame(fr, 4);
    frame_path(open_path, 1, 4);
    frame_path(moved, 2, 4);
    land(f, 2, 5, expected);
    assert_int_equal(open_writer(f, open_path, O_CREAT | O_WRONLY, &h), 0);
    assert_int_equal(write_pieces(f, &h, open_path, fr->bytes, fr->len), 0);
    assert_int_equal(stage_rename(f->stage, open_path, hidden, 0), 0);
    assert_int_equal(stage_rename(f->stage, moved, open_path, 0), 0);
    assert_int_equal(stage_flush(f->stage, &h, hidden), 0);
    stage_release(f->stage, &h, hidden);
    assert_int_equal(stage_unlink(f->stage, hidden), 0); /* libfuse, at the last release */
    assert_digest(f, open_path, expected);
    assert_no_digest(f, moved);
    char *rejected = stage_render_rejected(f->stage);
    assert_string_equal(rejected, "");
    free(rejected);
    free(fr);
}

/* A landing the catalog cannot record (another connection holds its write
 * lock past the busy timeout): close() returns 0 and the mount turns
 * read-only; the frame is in BACKING under its name, on disk, as close()
 * returns, before its release, for the next recovery to land (the unmount
 * that may come before a FUSE release must not leave it in flight). */
static void unrecorded_landing_is_in_place_at_close(void **state)
{
    struct fixture *f = *state;
    struct frame *fr = malloc(sizeof *fr);
    struct stage_handle h;
    char path[PATH_LEN], where[PATH_LEN], db[PATH_LEN];
    sqlite3 *locker = NULL;

    good_frame(fr, 7);
    frame_path(path, 1, 4);
    in_backing(f, path, where);
    snprintf(db, sizeof db, "%s/catalog.sqlite", f->state);
    assert_int_equal(open_writer(f, path, O_CREAT | O_WRONLY, &h), 0);
    assert_int_equal(write_pieces(f, &h, path, fr->bytes, fr->len), 0);
    assert_int_equal(sqlite3_open(db, &locker), SQLITE_OK);
    assert_int_equal(sqlite3_exec(locker, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(stage_flush(f->stage, &h, path), 0);
    assert_true(exists(where));
    uint8_t *bytes = malloc(fr->len + 1);
    FILE *in = fopen(where, "rb");
    assert_non_null(in);
    assert_int_equal(fread(bytes, 1, fr->len + 1, in), fr->len); /* whole, nothing more */
    fclose(in);
    assert_memory_equal(bytes, fr->bytes, fr->len);
    free(bytes);
    assert_int_equal(stage_may_change(f->stage, path), -EROFS);
    assert_logged(f, SEQ ".0001.dpx", "reserving a frame");
    assert_logged(f, "read-only from now on", "cannot record");
    sqlite3_exec(locker, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(locker);
    stage_release(f->stage, &h, path);
    assert_true(exists(where));
    free(fr);
}

/* The catch-up read of a file written out of order fails: its close()
 * says EIO, and the file is neither landed nor refused (no digest, not in
 * the quarantine). Its release tries again; the disk reads, and it lands. */
static void failed_catch_up_is_eio(void **state)
{
    struct fixture *f = *state;
    struct frame *fr = malloc(sizeof *fr);
    struct stage_handle h;
    char path[PATH_LEN], expected[DIGEST_LEN];

    good_frame(fr, 6);
    frame_path(path, 1, 4);
    xxh128_text(fr->bytes, fr->len, expected);
    assert_int_equal(open_writer(f, path, O_CREAT | O_WRONLY, &h), 0);
    /* the tail first: the hash's prefix stops at 4096, the rest is caught up */
    assert_int_equal(write_range(f, &h, path, fr->bytes, 4096, fr->len), (int)(fr->len - 4096));
    assert_int_equal(write_pieces(f, &h, path, fr->bytes, 4096), 0);
    fail_reads_from = 4096;
    assert_int_equal(stage_flush(f->stage, &h, path), -EIO);
    assert_int_equal(stage_digest_current(f->stage, path), -ENODATA);
    assert_no_digest(f, path);
    char *rejected = stage_render_rejected(f->stage);
    assert_string_equal(rejected, "");
    free(rejected);
    assert_logged(f, SEQ ".0001.dpx", "cannot hash");
    fail_reads_from = -1;
    stage_release(f->stage, &h, path);
    assert_digest(f, path, expected);
    free(fr);
}

/* ---- N6: held files ---- */

/* A writer's temp file (curl's .part) is held: it lands as nothing, its
 * digest is kept, status lists it and the seal waits for it; renamed to
 * its final name it is judged there and lands with that digest, and no
 * manifest ever names the temp file. */
static void temp_file_renamed_into_place(void **state)
{
    struct fixture *f = *state;
    struct frame *fr = malloc(sizeof *fr);
    char temp[PATH_LEN], final[PATH_LEN], expected[DIGEST_LEN];

    land(f, 1, 1, NULL);
    good_frame(fr, 2);
    xxh128_text(fr->bytes, fr->len, expected);
    frame_path(final, 2, 4);
    snprintf(temp, sizeof temp, "%s.part", final);
    assert_int_equal(write_file(f, temp, fr), 0);
    char *json = stage_render_status_json(f->stage);
    assert_contains(json, "\"held\": [\n    {\"path\": \"" SEQ "/" SEQ ".0002.dpx.part\"");
    free(json);
    char *why = stage_seal_state(f->stage, "/" SEQ);
    assert_contains(why, "N6: " SEQ "/" SEQ ".0002.dpx.part is held");
    free(why);
    assert_int_equal(stage_rename(f->stage, temp, final, 0), 0);
    assert_digest(f, final, expected);
    assert_no_digest(f, temp);
    why = stage_seal_state(f->stage, "/" SEQ);
    assert_string_equal(why, "sealable");
    free(why);
    stage_checkpoint(f->stage);
    char *sums = checksum_txt(f);
    assert_contains(sums, SEQ ".0002.dpx\t");
    assert_null(strstr(sums, ".part"));
    free(sums);
    free(fr);
}

/* rsync's temp file of a broken frame (R7: cut short) is held without a
 * word; its rename to the frame's name is refused with EINVAL and leaves
 * it where it was, listed; deleted then (as rsync does), it goes to the
 * quarantine instead: nothing refused is lost. */
static void refused_rename_keeps_the_temp_file(void **state)
{
    struct fixture *f = *state;
    struct frame *fr = malloc(sizeof *fr);
    char temp[PATH_LEN], final[PATH_LEN], where[PATH_LEN + 128];

    good_frame(fr, 3);
    fr->len -= 1000; /* cut short */
    frame_path(final, 1, 4);
    snprintf(temp, sizeof temp, "/" SEQ "/." SEQ ".0001.dpx.Ab3xYz");
    assert_int_equal(write_file(f, temp, fr), 0);
    assert_int_equal(stage_rename(f->stage, temp, final, 0), -EINVAL);
    in_backing(f, temp, where);
    assert_true(exists(where));
    in_backing(f, final, where);
    assert_false(exists(where));
    assert_logged(f, SEQ ".0001.dpx", "R7");
    char *rejected = stage_render_rejected(f->stage);
    assert_contains(rejected, "\tR7\t");
    assert_contains(rejected, "held (its rename was refused)");
    free(rejected);
    assert_int_equal(stage_unlink(f->stage, temp), 0);
    in_backing(f, temp, where);
    assert_false(exists(where));
    in_quarantine(f, temp, where);
    assert_true(exists(where));
    free(fr);
}

/* A program's own temp file (tempfile's "tmpXXXX.tmp") is created,
 * written and deleted like anywhere else, and leaves nothing behind. */
static void own_temp_file_comes_and_goes(void **state)
{
    struct fixture *f = *state;
    struct stage_handle h;
    const char *temp = "/" SEQ "/tmpa1b2c3d4.tmp";

    assert_int_equal(open_writer(f, temp, O_CREAT | O_RDWR | O_EXCL, &h), 0);
    assert_int_equal(stage_write(f->stage, &h, temp, "scratch", 7, 0), 7);
    assert_int_equal(stage_flush(f->stage, &h, temp), 0);
    stage_release(f->stage, &h, temp);
    assert_int_equal(stage_unlink(f->stage, temp), 0);
    char *json = stage_render_status_json(f->stage);
    assert_contains(json, "\"held\": []");
    free(json);
    char *rejected = stage_render_rejected(f->stage);
    assert_string_equal(rejected, "");
    free(rejected);
}

/* Two temp files renamed onto one frame number with two paddings: the
 * first lands, the second rename is refused (S5) and stays held. */
static void renames_reserve_the_frame_S5(void **state)
{
    struct fixture *f = *state;
    struct frame *fr = malloc(sizeof *fr);
    char a[PATH_LEN], b[PATH_LEN], a_temp[PATH_LEN], b_temp[PATH_LEN], where[PATH_LEN];

    good_frame(fr, 4);
    frame_path(a, 7, 4);
    frame_path(b, 7, 5);
    snprintf(a_temp, sizeof a_temp, "%s.partial", a);
    snprintf(b_temp, sizeof b_temp, "%s.partial", b);
    assert_int_equal(write_file(f, a_temp, fr), 0);
    assert_int_equal(write_file(f, b_temp, fr), 0);
    assert_int_equal(stage_rename(f->stage, a_temp, a, 0), 0);
    assert_int_equal(stage_rename(f->stage, b_temp, b, 0), -EINVAL);
    in_backing(f, b_temp, where);
    assert_true(exists(where));
    char *why = stage_seal_state(f->stage, "/" SEQ);
    assert_contains(why, ".00007.dpx.partial is held");
    free(why);
    free(fr);
}

/* ---- files in flight (namfs/inflight.h) ---- */

struct creator {
    struct fixture *f;
    const char *path;
    pthread_barrier_t *start;
    struct stage_handle h;
    int rc;
};

static void *create_it(void *arg)
{
    struct creator *c = arg;
    bool cacheable;

    pthread_barrier_wait(c->start);
    c->rc =
        stage_open(c->f->stage, c->path, O_CREAT | O_WRONLY, 0644, &c->f->who, &c->h, &cacheable);
    return NULL;
}

static size_t files_in(const char *folder)
{
    size_t n = 0;
    DIR *d = opendir(folder);
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.' || strncmp(e->d_name, ".namfs~", 7) == 0;
    if (d)
        closedir(d);
    return n;
}

/* Two creates of one new name at once (two farm nodes, say): both open,
 * on one file in flight, never two; it lands once, under its name. */
static void concurrent_creates_share_one_file(void **state)
{
    struct fixture *f = *state;
    char path[PATH_LEN], folder[PATH_LEN];
    pthread_barrier_t start;

    snprintf(folder, sizeof folder, "%s/" SEQ, f->backing);
    for (unsigned round = 1; round <= 20; round++) {
        frame_path(path, round, 4);
        struct creator c[2] = {{f, path, &start, {0}, 0}, {f, path, &start, {0}, 0}};
        pthread_t t[2];
        pthread_barrier_init(&start, NULL, 2);
        for (int i = 0; i < 2; i++)
            pthread_create(&t[i], NULL, create_it, &c[i]);
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        pthread_barrier_destroy(&start);
        assert_int_equal(c[0].rc, 0);
        assert_int_equal(c[1].rc, 0);
        struct stat a, b;
        assert_int_equal(fstat(c[0].h.fd, &a), 0);
        assert_int_equal(fstat(c[1].h.fd, &b), 0);
        assert_true(a.st_ino == b.st_ino);         /* one file */
        assert_int_equal(files_in(folder), round); /* earlier frames, and this one in flight */
        for (int i = 0; i < 2; i++) {
            stage_flush(f->stage, &c[i].h, path);
            stage_release(f->stage, &c[i].h, path);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(frame_lands_with_its_digest, setup, teardown),
        cmocka_unit_test_setup_teardown(digest_is_enodata_while_written, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_header_refused_early_R2, setup, teardown),
        cmocka_unit_test_setup_teardown(two_handles_last_flush_settles, setup, teardown),
        cmocka_unit_test_setup_teardown(truncate_by_path_rejudges_R7, setup, teardown),
        cmocka_unit_test_setup_teardown(truncating_reopen_rejudges_R7, setup, teardown),
        cmocka_unit_test_setup_teardown(truncated_to_empty_keeps_no_stale_digest, setup, teardown),
        cmocka_unit_test_setup_teardown(s5_race_exactly_one_lands, setup, teardown),
        cmocka_unit_test_setup_teardown(rename_of_landed_frame_rejudges_it, setup, teardown),
        cmocka_unit_test_setup_teardown(folder_with_landed_frames_keeps_its_name_N4, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(unlink_forgets_landed_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(seal_complete_asset_then_read_only, setup, teardown),
        cmocka_unit_test_setup_teardown(seal_refused_with_a_gap_S2, setup, teardown),
        cmocka_unit_test_setup_teardown(status_json_counts_the_asset, setup, teardown),
        cmocka_unit_test_setup_teardown(status_json_names_hashed_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(dup_closes_then_a_late_write, setup, teardown),
        cmocka_unit_test_setup_teardown(rename_over_an_open_file, setup, teardown),
        cmocka_unit_test_setup_teardown(unrecorded_landing_is_in_place_at_close, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_catch_up_is_eio, setup, teardown),
        cmocka_unit_test_setup_teardown(temp_file_renamed_into_place, setup, teardown),
        cmocka_unit_test_setup_teardown(refused_rename_keeps_the_temp_file, setup, teardown),
        cmocka_unit_test_setup_teardown(own_temp_file_comes_and_goes, setup, teardown),
        cmocka_unit_test_setup_teardown(renames_reserve_the_frame_S5, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_creates_share_one_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
