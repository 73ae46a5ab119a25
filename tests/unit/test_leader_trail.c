/* The chunk leaders caught as an OpenEXR is written: with a trail of
 * in-order writes the R7 check reads no leader back, and gets the verdict
 * reading them would give; writes out of order, rewrites of seen chunks,
 * truncates and punched ranges never leave a stale leader behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "namfs/exr.h"
#include "namfs/leader_trail.h"
#include "namgen_fixture.h"

/* The file as the check sees it: the head, then reads that are counted. */
struct counted {
    const struct generated *g;
    size_t reads;
};

static ssize_t counted_read(void *ctx, void *buf, size_t n, uint64_t off)
{
    struct counted *c = ctx;

    c->reads++;
    if (off >= c->g->len)
        return 0;
    if (n > c->g->len - off)
        n = c->g->len - (size_t)off;
    memcpy(buf, c->g->bytes + off, n);
    return (ssize_t)n;
}

/* Parses g whole with trail (or none); *reads gets the reads past the head. */
static enum completeness judge(const struct generated *g, const struct leader_trail *trail,
                               size_t *reads, char *why, size_t why_len)
{
    struct counted c = {g, 0};
    struct frame_source src = {.head = g->bytes,
                               .head_len = 4096 < g->len ? 4096 : g->len,
                               .complete = true,
                               .file_size = g->len,
                               .read = counted_read,
                               .read_ctx = &c,
                               .trail = trail};
    struct frame_info info;
    struct parse_result res;

    assert_int_equal(exr_parse(&src, &info, &res), PARSE_OK);
    if (reads)
        *reads = c.reads;
    snprintf(why, why_len, "%s", info.incomplete_why);
    return info.completeness;
}

static uint64_t chunks_at(const struct generated *g)
{
    struct frame_source src = {.head = g->bytes, .head_len = g->len};
    struct frame_info info;
    struct parse_result res;

    assert_int_equal(exr_parse(&src, &info, &res), PARSE_OK);
    return info.exr.table_offset + 8 * (uint64_t)info.exr.chunk_count;
}

/* Feeds g to t in writes of piece bytes, in order. */
static void write_in_pieces(struct leader_trail *t, const struct generated *g, size_t piece)
{
    for (size_t off = 0; off < g->len; off += piece)
        leader_trail_write(t, g->bytes + off, off + piece < g->len ? piece : g->len - off, off);
}

static void in_order_writes_read_no_leader(void **state)
{
    /* 64 scanline chunks (ZIPS) of 64 bytes or so: many leaders cut by
     * the 7-byte writes */
    struct generated g = generate("exr", "--size 64x64 --compression zips");
    struct leader_trail t = {0};
    size_t without, with;
    char why[200];

    (void)state;
    assert_int_equal(judge(&g, NULL, &without, why, sizeof why), COMPLETENESS_YES);
    for (size_t piece = 7; piece <= 65536; piece *= 13) {
        leader_trail_start(&t, chunks_at(&g), false);
        write_in_pieces(&t, &g, piece);
        assert_int_equal(t.count, 64);
        assert_int_equal(judge(&g, &t, &with, why, sizeof why), COMPLETENESS_YES);
        assert_true(with < without); /* the table only; no leader */
    }
    leader_trail_reset(&t);
    free(g.bytes);
}

static void tiles_are_followed(void **state)
{
    struct generated g = generate("exr", "--size 96x80 --storage tiled --compression zip");
    struct leader_trail t = {0};
    size_t reads;
    char why[200];

    (void)state;
    leader_trail_start(&t, chunks_at(&g), true);
    write_in_pieces(&t, &g, 4096);
    assert_true(t.count > 1);
    assert_int_equal(judge(&g, &t, &reads, why, sizeof why), COMPLETENESS_YES);
    leader_trail_reset(&t);
    free(g.bytes);
}

/* A leader written zeroed is caught from the trail, as from the file. */
static void damage_seen_in_the_trail(void **state)
{
    struct generated g = generate("exr", "--size 64x48 --compression zip"); /* 3 chunks */
    struct leader_trail t = {0};
    char why[200];

    (void)state;
    uint64_t first = chunks_at(&g);
    leader_trail_start(&t, first, false);
    write_in_pieces(&t, &g, 100);
    uint64_t second = t.seen[1].offset;
    memset(g.bytes + second, 0, 8);
    leader_trail_start(&t, first, false);
    write_in_pieces(&t, &g, 100);
    assert_int_equal(judge(&g, &t, NULL, why, sizeof why), COMPLETENESS_NO);
    assert_string_equal(why, "chunk 1: expected scanline 16 in its leader, found 0");
    leader_trail_reset(&t);
    free(g.bytes);
}

/* The file is good; the trail saw a bad leader that a later write out of
 * order mended. The trail must not keep the stale one. */
static void rewrites_leave_no_stale_leader(void **state)
{
    struct generated g = generate("exr", "--size 64x48 --compression zip");
    struct leader_trail t = {0};
    unsigned char saved[8];
    size_t reads;
    char why[200];

    (void)state;
    uint64_t first = chunks_at(&g);
    leader_trail_start(&t, first, false);
    write_in_pieces(&t, &g, 100);
    uint64_t second = t.seen[1].offset;
    memcpy(saved, g.bytes + second, 8);
    memset(g.bytes + second, 0, 8);
    leader_trail_start(&t, first, false);
    write_in_pieces(&t, &g, 100); /* the trail sees the zeroed leader */
    memcpy(g.bytes + second, saved, 8);
    leader_trail_write(&t, g.bytes + second, 8, second); /* mended, out of order */
    assert_false(t.following);
    assert_null(leader_trail_find(&t, second));
    assert_int_equal(judge(&g, &t, &reads, why, sizeof why), COMPLETENESS_YES);
    /* the same through a punched range, and a truncate */
    leader_trail_start(&t, first, false);
    write_in_pieces(&t, &g, 100);
    leader_trail_changed(&t, second);
    assert_null(leader_trail_find(&t, second));
    assert_non_null(leader_trail_find(&t, first));
    leader_trail_cut(&t, first); /* as ImageMagick's second O_TRUNC open */
    assert_null(leader_trail_find(&t, first));
    assert_true(t.following);
    write_in_pieces(&t, &g, 100);
    assert_int_equal(t.count, 3);
    leader_trail_reset(&t);
    free(g.bytes);
}

/* A writer that leaves a hole and fills it later: the trail stops, and
 * what it lacks is read from the file. */
static void skipping_ahead_stops_the_trail(void **state)
{
    struct generated g = generate("exr", "--size 64x64 --compression zips");
    struct leader_trail t = {0};
    size_t reads, without;
    char why[200];

    (void)state;
    uint64_t first = chunks_at(&g);
    leader_trail_start(&t, first, false);
    size_t half = g.len / 2;
    leader_trail_write(&t, g.bytes, half, 0);
    size_t kept = t.count;
    leader_trail_write(&t, g.bytes + half + 100, g.len - half - 100, half + 100);
    leader_trail_write(&t, g.bytes + half, 100, half);
    assert_false(t.following);
    assert_true(t.count <= kept);
    assert_int_equal(judge(&g, NULL, &without, why, sizeof why), COMPLETENESS_YES);
    assert_int_equal(judge(&g, &t, &reads, why, sizeof why), COMPLETENESS_YES);
    assert_true(reads < without); /* the kept half was not read again */
    leader_trail_reset(&t);
    free(g.bytes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(in_order_writes_read_no_leader),
        cmocka_unit_test(tiles_are_followed),
        cmocka_unit_test(damage_seen_in_the_trail),
        cmocka_unit_test(rewrites_leave_no_stale_leader),
        cmocka_unit_test(skipping_ahead_stops_the_trail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
