/* The quarantine (namfs/quarantine.h) on temporary folders: a refused file
 * moves with its reason, nothing is replaced, a file gone already says so,
 * and across filesystems it is copied and synced before it leaves BACKING. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "namfs/quarantine.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[] = "/tmp/namfs-quarantine-XXXXXX";
static char backing[PATH_MAX];

static int make_dirs(void **state)
{
    char seq[PATH_MAX + 8];

    (void)state;
    if (!mkdtemp(root))
        return -1;
    snprintf(backing, sizeof backing, "%s/backing", root);
    snprintf(seq, sizeof seq, "%s/seq", backing);
    return mkdir(backing, 0755) == 0 && mkdir(seq, 0755) == 0 ? 0 : -1;
}

static void put(const char *name, const char *bytes)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/seq/%s", backing, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(bytes, f);
    fclose(f);
}

static char *slurp(const char *path)
{
    static char buf[4096];
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static struct verdict eight_bit(void)
{
    struct verdict v;
    verdict_fail(&v, RULE_R2, "expected 16-bit DPX, found 8-bit");
    return v;
}

static void moved_with_its_reason(struct quarantine *q, const char *want_target)
{
    char target[PATH_MAX + 4200], seq[PATH_MAX + 8];
    struct verdict v = eight_bit();

    snprintf(seq, sizeof seq, "%s/seq", backing);
    int dirfd = open(seq, O_RDONLY | O_DIRECTORY);
    assert_true(dirfd >= 0);
    assert_int_equal(
        quarantine_move(q, dirfd, "seq.0001.dpx", "seq/seq.0001.dpx", &v, target, sizeof target),
        0);
    assert_string_equal(target, want_target);
    assert_int_equal(faccessat(dirfd, "seq.0001.dpx", F_OK, 0), -1); /* left BACKING */
    assert_string_equal(slurp(target), "frame bytes");
    char reason[PATH_MAX + 4300];
    snprintf(reason, sizeof reason, "%s.reason", target);
    char *text = slurp(reason);
    assert_non_null(text);
    assert_memory_equal(text, "seq/seq.0001.dpx\tR2\texpected 16-bit DPX, found 8-bit\t", 52);
    assert_non_null(strchr(text + 52, 'Z')); /* the time, UTC */
    close(dirfd);
}

static void refusals_are_kept_never_replaced(void **state)
{
    (void)state;
    struct quarantine q;
    char dir[PATH_MAX + 16], want[PATH_MAX + 64], err[300];

    snprintf(dir, sizeof dir, "%s/quarantine", root);
    assert_true(quarantine_open(&q, dir, err, sizeof err));
    put("seq.0001.dpx", "frame bytes");
    snprintf(want, sizeof want, "%s/seq/seq.0001.dpx", dir);
    moved_with_its_reason(&q, want);
    put("seq.0001.dpx", "frame bytes"); /* refused again under the same name */
    snprintf(want, sizeof want, "%s/seq/seq.0001.dpx.1", dir);
    moved_with_its_reason(&q, want);

    char seq[PATH_MAX + 8], target[PATH_MAX + 4200];
    struct verdict v = eight_bit();
    snprintf(seq, sizeof seq, "%s/seq", backing);
    int dirfd = open(seq, O_RDONLY | O_DIRECTORY);
    errno = 0;
    assert_int_equal(
        quarantine_move(&q, dirfd, "seq.0009.dpx", "seq/seq.0009.dpx", &v, target, sizeof target),
        -1);
    assert_int_equal(errno, ENOENT); /* gone already: the caller knows it was moved */
    close(dirfd);
    assert_false(quarantine_open(&q, "/nonexistent/quarantine", err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/quarantine"));
}

/* /dev/shm is another filesystem than /tmp here: the copy-and-sync path. */
static void across_filesystems(void **state)
{
    (void)state;
    struct stat a, b;
    if (stat("/dev/shm", &b) != 0 || stat(root, &a) != 0 || a.st_dev == b.st_dev)
        skip();
    char dir[] = "/dev/shm/namfs-quarantine-XXXXXX", want[PATH_MAX + 64], err[300];
    struct quarantine q;

    assert_non_null(mkdtemp(dir));
    assert_true(quarantine_open(&q, dir, err, sizeof err));
    put("seq.0001.dpx", "frame bytes");
    snprintf(want, sizeof want, "%s/seq/seq.0001.dpx", dir);
    moved_with_its_reason(&q, want);
    char cleanup[PATH_MAX + 32];
    snprintf(cleanup, sizeof cleanup, "rm -rf '%s'", dir);
    assert_int_equal(system(cleanup), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refusals_are_kept_never_replaced),
        cmocka_unit_test(across_filesystems),
    };
    return cmocka_run_group_tests(tests, make_dirs, NULL);
}
