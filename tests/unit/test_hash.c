/* Digests against the reference tools (xxhsum, md5sum, sha1sum, and an
 * openssl + base58 computation of C4), and the write-order cursor against
 * hashing the finished file whole, for the orders real writers use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "namfs/hash_cursor.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ALL_ALGOS 0x3fu

static char dir[] = "/tmp/namfs-hash-XXXXXX";

static int make_dir(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static void fill(uint8_t *buf, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        buf[i] = (uint8_t)(seed >> 16);
    }
}

static void write_file(const char *path, const uint8_t *buf, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, n, f), n);
    fclose(f);
}

/* The digest a command prints for path: "HEX  name" or "ALGO (name) = HEX". */
static void tool_digest(const char *command, const char *path, char *out, size_t len)
{
    char cmd[512], line[512];
    snprintf(cmd, sizeof cmd, "%s '%s'", command, path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(line, sizeof line, p));
    pclose(p);
    const char *eq = strstr(line, ") = ");
    snprintf(out, len, "%.*s", (int)strcspn(eq ? eq + 4 : line, " \n"), eq ? eq + 4 : line);
}

static void c4_reference(const char *path, char *out, size_t len)
{
    char cmd[1024], line[256];
    snprintf(cmd, sizeof cmd,
             "openssl dgst -sha512 -binary '%s' | python3 -c \"import sys\n"
             "n = int.from_bytes(sys.stdin.buffer.read(), 'big')\n"
             "a = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'\n"
             "s = ''\nfor _ in range(88):\n    n, r = divmod(n, 58)\n    s = a[r] + s\n"
             "print('c4' + s)\"",
             path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(line, sizeof line, p));
    pclose(p);
    snprintf(out, len, "%.*s", (int)strcspn(line, "\n"), line);
}

static void digests_match_reference_tools(void **state)
{
    static const size_t sizes[] = {0, 1, 3, 240, 1 << 20, (3 << 20) + 7};
    static const struct {
        enum hash_algo algo;
        const char *command;
    } tools[] = {{HASH_XXH128, "xxhsum -H2"},
                 {HASH_XXH64, "xxhsum -H1"},
                 {HASH_XXH3, "xxhsum -H3"},
                 {HASH_MD5, "md5sum"},
                 {HASH_SHA1, "sha1sum"}};
    struct hasher *h = hasher_new(ALL_ALGOS);
    char path[256], want[HASH_TEXT_MAX];
    struct digests d;

    (void)state;
    assert_non_null(h);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        uint8_t *buf = malloc(sizes[s] + 1);
        fill(buf, sizes[s], (uint32_t)s);
        snprintf(path, sizeof path, "%s/file-%zu", dir, sizes[s]);
        write_file(path, buf, sizes[s]);
        int fd = open(path, O_RDONLY);
        assert_int_equal(hasher_read_fd(h, fd, 0, NULL), (int64_t)sizes[s]);
        close(fd);
        hasher_final(h, &d);
        for (size_t t = 0; t < sizeof tools / sizeof tools[0]; t++) {
            tool_digest(tools[t].command, path, want, sizeof want);
            assert_string_equal(d.text[tools[t].algo], want);
        }
        c4_reference(path, want, sizeof want);
        assert_string_equal(d.text[HASH_C4], want);
        assert_int_equal(strlen(d.text[HASH_C4]), 90);
        free(buf);
    }
    hasher_free(h);
}

static void only_requested_algorithms(void **state)
{
    struct hasher *h = hasher_new(HASH_BIT(HASH_XXH128));
    struct digests d;

    (void)state;
    hasher_update(h, "abc", 3);
    hasher_final(h, &d);
    assert_int_equal(d.present, HASH_BIT(HASH_XXH128));
    assert_string_equal(d.text[HASH_XXH128], "06b05ab6733a618578af5f94892f3950");
    assert_string_equal(d.text[HASH_MD5], "");
    hasher_free(h);
}

/* A write pattern: (offset, length) pairs applied in order to a buffer
 * that ends as `final`, then the cursor's digest must equal the file's. */
struct op {
    size_t off, len;
};

/* Or'ed into an op's length: write zeros there instead of the final bytes,
 * as OpenEXR does with its offset table before filling it in. */
#define PLACEHOLDER (1u << 31)

static void run_pattern(const struct op *ops, size_t n_ops, size_t size, bool expect_full_read,
                        size_t expect_read, size_t hold_at)
{
    uint8_t *final = malloc(size), *zeros = calloc(1, size);
    struct hasher *h = hasher_new(HASH_BIT(HASH_XXH128)),
                  *whole = hasher_new(HASH_BIT(HASH_XXH128));
    struct hash_cursor c;
    struct digests got, want;
    char path[256];

    fill(final, size, 7);
    snprintf(path, sizeof path, "%s/pattern", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    hash_cursor_init(&c, h);
    if (hold_at)
        hash_cursor_hold(&c, hold_at);
    for (size_t i = 0; i < n_ops; i++) {
        bool placeholder = ops[i].len & PLACEHOLDER;
        size_t len = ops[i].len & ~(size_t)PLACEHOLDER;
        const uint8_t *src = placeholder ? zeros : final + ops[i].off;
        assert_int_equal(pwrite(fd, src, len, (off_t)ops[i].off), (ssize_t)len);
        hash_cursor_write(&c, ops[i].off, src, len);
    }
    int64_t read = hash_cursor_finish(&c, fd, &got);
    hasher_update(whole, final, size);
    hasher_final(whole, &want);
    assert_string_equal(got.text[HASH_XXH128], want.text[HASH_XXH128]);
    assert_int_equal(read, expect_full_read ? (int64_t)size : (int64_t)expect_read);
    close(fd);
    free(final);
    free(zeros);
    hasher_free(h);
    hasher_free(whole);
}

static void cursor_in_order_reads_nothing(void **state)
{
    const struct op ops[] = {{0, 1000}, {1000, 24}, {1024, 70000}};
    (void)state;
    run_pattern(ops, 3, 71024, false, 0, 0);
}

static void cursor_out_of_order_reads_only_the_missed_tail(void **state)
{
    /* frames split across writers: the tail lands first, then the head */
    const struct op ops[] = {{60000, 11024}, {0, 30000}, {30000, 30000}};
    (void)state;
    run_pattern(ops, 3, 71024, false, 71024 - 60000, 0);
}

static void cursor_exr_pattern_rehashes(void **state)
{
    /* header, zeroed offset table, chunks, then the table filled in */
    const struct op ops[] = {
        {0, 300}, {300, 80 | PLACEHOLDER}, {380, 50000}, {50380, 644}, {300, 80}};
    (void)state;
    run_pattern(ops, 5, 51024, true, 0, 0);
}

static void cursor_exr_pattern_held_reads_from_the_table(void **state)
{
    /* the mount holds the cursor at the zeroed table: every byte hashed once */
    const struct op ops[] = {
        {0, 300}, {300, 80 | PLACEHOLDER}, {380, 50000}, {50380, 644}, {300, 80}};
    (void)state;
    run_pattern(ops, 5, 51024, false, 51024 - 300, 300);
}

static void cursor_dpx_patch_rehashes(void **state)
{
    /* oiiotool patches the DPX header's offset and size fields at the end */
    const struct op ops[] = {{0, 2048}, {2048, 12288}, {4, 4}, {16, 4}};
    (void)state;
    run_pattern(ops, 4, 14336, true, 0, 0);
}

/* A shrink the cursor was not told about is caught at finish. */
static void cursor_unreported_shrink(void **state)
{
    char path[256];
    struct hasher *h = hasher_new(HASH_BIT(HASH_XXH128)),
                  *whole = hasher_new(HASH_BIT(HASH_XXH128));
    struct hash_cursor c;
    struct digests got, want;
    uint8_t buf[4000];

    (void)state;
    fill(buf, sizeof buf, 3);
    snprintf(path, sizeof path, "%s/shrink", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    assert_int_equal(pwrite(fd, buf, sizeof buf, 0), (ssize_t)sizeof buf);
    hash_cursor_init(&c, h);
    hash_cursor_write(&c, 0, buf, sizeof buf);
    assert_int_equal(ftruncate(fd, 1000), 0);
    assert_true(hash_cursor_finish(&c, fd, &got) >= 0);
    hasher_update(whole, buf, 1000);
    hasher_final(whole, &want);
    assert_string_equal(got.text[HASH_XXH128], want.text[HASH_XXH128]);
    close(fd);
    hasher_free(h);
    hasher_free(whole);
}

static void cursor_truncate(void **state)
{
    struct hasher *h = hasher_new(HASH_BIT(HASH_XXH128));
    struct hash_cursor c;

    (void)state;
    hash_cursor_init(&c, h);
    hash_cursor_write(&c, 0, "abcdef", 6);
    hash_cursor_truncate(&c, 10);
    assert_false(c.rewritten);
    hash_cursor_truncate(&c, 3);
    assert_true(c.rewritten);
    hasher_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(digests_match_reference_tools),
        cmocka_unit_test(only_requested_algorithms),
        cmocka_unit_test(cursor_in_order_reads_nothing),
        cmocka_unit_test(cursor_out_of_order_reads_only_the_missed_tail),
        cmocka_unit_test(cursor_exr_pattern_rehashes),
        cmocka_unit_test(cursor_exr_pattern_held_reads_from_the_table),
        cmocka_unit_test(cursor_dpx_patch_rehashes),
        cmocka_unit_test(cursor_truncate),
        cmocka_unit_test(cursor_unreported_shrink),
    };
    return cmocka_run_group_tests(tests, make_dir, NULL);
}
