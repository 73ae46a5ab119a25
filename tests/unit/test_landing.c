/* The per-inode landing record (include/namfs/landing.h) on a temporary
 * folder: one record per file whatever the handles, the settling claim and
 * its waiters, reopening after a landing, and the digest of the bytes the
 * file holds whatever mix of handles and truncates wrote them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "namfs/landing.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define XXH128 HASH_BIT(HASH_XXH128)

static char dir[] = "/tmp/namfs-landing-XXXXXX";

static int make_dir(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int open_file(const char *name, int flags)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, flags | O_CREAT, 0644);
    assert_true(fd >= 0);
    return fd;
}

/* What a write through the mount does: BACKING and the cursor, under the
 * record's lock. */
static void write_through(struct landing *r, int fd, const char *bytes, size_t n, off_t off)
{
    pthread_mutex_lock(&r->lock);
    landing_reopen(r);
    assert_int_equal(pwrite(fd, bytes, n, off), (ssize_t)n);
    hash_cursor_write(&r->cursor, (uint64_t)off, bytes, n);
    r->written = true;
    pthread_mutex_unlock(&r->lock);
}

static void truncate_through(struct landing *r, int fd, off_t size)
{
    assert_int_equal(ftruncate(fd, size), 0);
    pthread_mutex_lock(&r->lock);
    landing_cut(r, (uint64_t)size);
    pthread_mutex_unlock(&r->lock);
}

static void whole_file_digest(int fd, char *out)
{
    struct hasher *h = hasher_new(XXH128);
    struct digests d;
    assert_true(hasher_read_fd(h, fd, 0, NULL) >= 0);
    hasher_final(h, &d);
    strcpy(out, d.text[HASH_XXH128]);
    hasher_free(h);
}

static void cursor_digest(struct landing *r, int fd, char *out)
{
    struct digests d;
    pthread_mutex_lock(&r->lock);
    assert_true(hash_cursor_finish(&r->cursor, fd, &d) >= 0);
    pthread_mutex_unlock(&r->lock);
    strcpy(out, d.text[HASH_XXH128]);
}

static void one_record_per_inode(void **state)
{
    (void)state;
    struct landing_table *t = landing_table_new();
    int a = open_file("one", O_RDWR), b = open_file("one", O_RDWR), c = open_file("other", O_RDWR);
    struct landing *ra = landing_join(t, a, XXH128), *rb = landing_join(t, b, XXH128);
    struct landing *rc = landing_join(t, c, XXH128);

    assert_ptr_equal(ra, rb);
    assert_ptr_not_equal(ra, rc);
    struct stat st;
    assert_int_equal(fstat(a, &st), 0);
    assert_true(landing_busy(t, &st));
    assert_false(landing_leave(t, ra)); /* b still writes */
    landing_put(t, ra);
    assert_true(landing_leave(t, rb));
    assert_true(landing_busy(t, &st)); /* until its settlement lets go */
    landing_put(t, rb);
    assert_false(landing_busy(t, &st));
    assert_true(landing_any(t)); /* "other" */
    assert_true(landing_leave(t, rc));
    landing_put(t, rc);
    assert_false(landing_any(t));
    landing_table_free(t);
    close(a);
    close(b);
    close(c);
}

/* Two handles, out of order, one rewriting what the other wrote, and a
 * truncate by path in between: the digest is of what the file holds. */
static void digest_of_what_backing_holds(void **state)
{
    (void)state;
    struct landing_table *t = landing_table_new();
    int a = open_file("mixed", O_RDWR | O_TRUNC), b = open_file("mixed", O_RDWR);
    struct landing *r = landing_join(t, a, XXH128);
    assert_ptr_equal(landing_join(t, b, XXH128), r);
    char block[65536], digest[HASH_TEXT_MAX], want[HASH_TEXT_MAX];

    memset(block, 'a', sizeof block);
    write_through(r, a, block, sizeof block, 0);
    memset(block, 'b', 4096);
    write_through(r, b, block, 4096, 8192); /* B rewrites part of A's bytes */
    cursor_digest(r, a, digest);
    whole_file_digest(a, want);
    assert_string_equal(digest, want);

    memset(block, 'c', sizeof block);
    write_through(r, a, block, sizeof block, 0);
    truncate_through(r, b, 0); /* by path, while A writes */
    truncate_through(r, b, 65536);
    cursor_digest(r, a, digest);
    whole_file_digest(a, want);
    assert_string_equal(digest, want); /* 64 KiB of zeros, not A's bytes */

    assert_false(landing_leave(t, r));
    assert_true(landing_leave(t, r));
    landing_put(t, r);
    landing_put(t, r);
    landing_table_free(t);
    close(a);
    close(b);
}

struct waiter {
    struct landing *r;
    enum landing_state seen;
};

static void *await_outcome(void *arg)
{
    struct waiter *w = arg;
    pthread_mutex_lock(&w->r->lock);
    w->seen = landing_await(w->r, LANDING_WAIT_MS);
    pthread_mutex_unlock(&w->r->lock);
    return NULL;
}

static void questions_wait_for_the_outcome(void **state)
{
    (void)state;
    struct landing_table *t = landing_table_new();
    int fd = open_file("settling", O_RDWR);
    struct landing *r = landing_join(t, fd, XXH128);

    pthread_mutex_lock(&r->lock);
    assert_false(landing_begin_settle(r)); /* nothing written: nothing to settle */
    landing_cut(r, 0);                     /* a create or truncating open */
    assert_true(landing_begin_settle(r));
    assert_false(landing_begin_settle(r)); /* one settlement at a time */
    pthread_mutex_unlock(&r->lock);

    struct waiter w = {r, LANDING_WRITING};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, await_outcome, &w), 0);
    usleep(50000);
    pthread_mutex_lock(&r->lock);
    assert_int_equal(r->state, LANDING_SETTLING);
    landing_end_settle(r, LANDING_LANDED);
    pthread_mutex_unlock(&r->lock);
    pthread_join(thread, NULL);
    assert_int_equal(w.seen, LANDING_LANDED);

    pthread_mutex_lock(&r->lock);
    assert_int_equal(landing_await(r, 10), LANDING_LANDED); /* nothing to wait for */
    pthread_mutex_unlock(&r->lock);
    landing_set_unsynced(t, r, true); /* manifests wait for its sync */
    assert_true(landing_any_unsynced(t));
    landing_set_unsynced(t, r, false);
    assert_false(landing_any_unsynced(t));
    landing_set_unsynced(t, r, true);
    assert_true(landing_leave(t, r));
    landing_put(t, r); /* a record that goes lets go of the manifests too */
    assert_false(landing_any_unsynced(t));
    landing_table_free(t);
    close(fd);
}

static void a_wait_ends(void **state)
{
    (void)state;
    struct landing_table *t = landing_table_new();
    int fd = open_file("stuck", O_RDWR);
    struct landing *r = landing_join(t, fd, XXH128);

    pthread_mutex_lock(&r->lock);
    landing_cut(r, 0);
    assert_true(landing_begin_settle(r));
    assert_int_equal(landing_await(r, 30), LANDING_SETTLING); /* timed out, said so */
    landing_end_settle(r, LANDING_REFUSED);
    pthread_mutex_unlock(&r->lock);
    assert_true(landing_leave(t, r));
    landing_put(t, r);
    landing_table_free(t);
    close(fd);
}

static void *write_after_settling(void *arg)
{
    struct waiter *w = arg;
    pthread_mutex_lock(&w->r->lock);
    landing_reopen(w->r); /* waits out the settlement */
    w->seen = w->r->state;
    pthread_mutex_unlock(&w->r->lock);
    return NULL;
}

/* A write after the last flush (mmap, a passed descriptor) reopens a
 * landed file: a new generation, a fresh cursor, settled again. */
static void a_late_write_reopens(void **state)
{
    (void)state;
    struct landing_table *t = landing_table_new();
    int fd = open_file("late", O_RDWR | O_TRUNC);
    struct landing *r = landing_join(t, fd, XXH128);
    char digest[HASH_TEXT_MAX], want[HASH_TEXT_MAX];

    write_through(r, fd, "frame", 5, 0);
    pthread_mutex_lock(&r->lock);
    assert_true(landing_begin_settle(r));
    uint64_t generation = r->generation;
    pthread_mutex_unlock(&r->lock);

    struct waiter w = {r, LANDING_SETTLING};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, write_after_settling, &w), 0);
    usleep(50000);
    pthread_mutex_lock(&r->lock);
    landing_end_settle(r, LANDING_LANDED);
    pthread_mutex_unlock(&r->lock);
    pthread_join(thread, NULL);
    assert_int_equal(w.seen, LANDING_WRITING);
    assert_int_equal(r->generation, generation + 1);
    assert_false(r->written);

    write_through(r, fd, "FR", 2, 0); /* the late write, over the landed bytes */
    cursor_digest(r, fd, digest);
    whole_file_digest(fd, want);
    assert_string_equal(digest, want);

    pthread_mutex_lock(&r->lock);
    r->state = LANDING_REFUSED;
    landing_reopen(r); /* a refused file is not reopened: it stays refused */
    assert_int_equal(r->state, LANDING_REFUSED);
    pthread_mutex_unlock(&r->lock);
    assert_true(landing_leave(t, r));
    landing_put(t, r);
    landing_table_free(t);
    close(fd);
}

static void *sync_soon(void *arg)
{
    struct waiter *w = arg;
    usleep(50000);
    landing_set_unsynced(w->r->table, w->r, false); /* its release synced it */
    return NULL;
}

/* Quiet (namctl seal's condition): nothing WRITING or SETTLING, and every
 * landed file synced; a landed file's sync is waited for, a writer is not. */
static void quiet_waits_for_syncs_not_writers(void **state)
{
    (void)state;
    struct landing_table *t = landing_table_new();
    int fd = open_file("quiet", O_RDWR);

    assert_int_equal(landing_await_quiet(t, 0), LANDING_QUIET);
    struct landing *r = landing_join(t, fd, XXH128);
    assert_int_equal(landing_await_quiet(t, 1000), LANDING_BEING_WRITTEN); /* at once */
    pthread_mutex_lock(&r->lock);
    landing_cut(r, 0);
    assert_true(landing_begin_settle(r));
    pthread_mutex_unlock(&r->lock);
    landing_set_unsynced(t, r, true);
    assert_int_equal(landing_await_quiet(t, 0), LANDING_BEING_WRITTEN); /* settling */
    pthread_mutex_lock(&r->lock);
    landing_end_settle(r, LANDING_LANDED);
    pthread_mutex_unlock(&r->lock);
    assert_int_equal(landing_await_quiet(t, 20), LANDING_STILL_SYNCING);
    struct waiter w = {r, LANDING_LANDED};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, sync_soon, &w), 0);
    assert_int_equal(landing_await_quiet(t, LANDING_WAIT_MS), LANDING_QUIET);
    pthread_join(thread, NULL);
    pthread_mutex_lock(&r->lock);
    landing_reopen(r); /* written again after its close */
    pthread_mutex_unlock(&r->lock);
    assert_int_equal(landing_await_quiet(t, 0), LANDING_BEING_WRITTEN);
    assert_true(landing_leave(t, r));
    landing_put(t, r);
    assert_int_equal(landing_await_quiet(t, 0), LANDING_QUIET); /* it went */
    landing_table_free(t);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_record_per_inode),
        cmocka_unit_test(digest_of_what_backing_holds),
        cmocka_unit_test(questions_wait_for_the_outcome),
        cmocka_unit_test(a_wait_ends),
        cmocka_unit_test(a_late_write_reopens),
        cmocka_unit_test(quiet_waits_for_syncs_not_writers),
    };
    return cmocka_run_group_tests(tests, make_dir, NULL);
}
