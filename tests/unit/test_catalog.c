/* Catalog round trips, listing order and filters, generations, the write probe, reopening
 * (persistence, schema version) and a large batch; reservations and leases between
 * connections (hosts). On SQLite, or on PostgreSQL when NAMFS_TEST_PG names a database
 * (tests/with-postgres makes one): each test starts from an empty catalog. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "namfs/catalog.h"
#include "namfs/manifest.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* sqlite3_exec's callback: a row as "a|b|c\n". */
static int counted_line(void *ctx, int columns, char **values, char **names)
{
    (void)names;
    for (int i = 0; i < columns; i++) {
        strcat(ctx, values[i] ? values[i] : "");
        strcat(ctx, i + 1 < columns ? "|" : "\n");
    }
    return 0;
}

static char path[256]; /* the catalog: a SQLite file, or a PostgreSQL URL */
static bool on_pg;

/* SQL run on the catalog's database beside namfs (a test's own edit);
 * rows, if any, appended to out as "a|b|c\n". */
static void raw_sql(const char *sql, char *out)
{
    if (out)
        out[0] = '\0';
    if (on_pg) {
        PGconn *conn = PQconnectdb(path);
        assert_int_equal(PQstatus(conn), CONNECTION_OK);
        PGresult *res = PQexec(conn, sql);
        assert_true(PQresultStatus(res) == PGRES_COMMAND_OK ||
                    PQresultStatus(res) == PGRES_TUPLES_OK);
        for (int r = 0; out && r < PQntuples(res); r++)
            for (int c = 0; c < PQnfields(res); c++) {
                strcat(out, PQgetvalue(res, r, c));
                strcat(out, c + 1 < PQnfields(res) ? "|" : "\n");
            }
        PQclear(res);
        PQfinish(conn);
        return;
    }
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, out ? counted_line : NULL, out, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static int open_fresh(void **state)
{
    static char dir[] = "/tmp/namfs-cat-XXXXXX";
    static bool made;
    char err[300];

    if (on_pg) {
        raw_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public", NULL);
    } else {
        if (!made && !(made = mkdtemp(dir) != NULL))
            return -1;
        snprintf(path, sizeof path, "%s/catalog.db", dir);
        unlink(path);
    }
    *state = catalog_open(path, err, sizeof err);
    if (!*state)
        fprintf(stderr, "%s\n", err);
    return *state ? 0 : -1;
}

static int close_catalog(void **state)
{
    catalog_close(*state);
    return 0;
}

static struct catalog_file *file(const char *p, enum file_state state, int64_t frame)
{
    static struct catalog_file f;

    memset(&f, 0, sizeof f);
    snprintf(f.path, sizeof f.path, "%s", p);
    f.size = 1234;
    f.mtime_ns = 1700000000123456789LL;
    f.hashed_at = 1700000001;
    f.digests.present = HASH_BIT(HASH_XXH128) | HASH_BIT(HASH_MD5);
    strcpy(f.digests.text[HASH_XXH128], "06b05ab6733a618578af5f94892f3950");
    strcpy(f.digests.text[HASH_MD5], "900150983cd24fb0d6963f7d28e17f72");
    f.state = state;
    f.frame = frame;
    snprintf(f.asset, sizeof f.asset, "%s", frame >= 0 ? "seq/seq" : "");
    return &f;
}

static void round_trip(void **state)
{
    struct catalog *cat = *state;
    struct catalog_file got;

    assert_true(catalog_put_file(cat, file("seq/seq.1001.dpx", FILE_LANDED, 1001)));
    assert_true(catalog_get_file(cat, "seq/seq.1001.dpx", &got));
    assert_string_equal(got.path, "seq/seq.1001.dpx");
    assert_int_equal(got.size, 1234);
    assert_true(got.mtime_ns == 1700000000123456789LL);
    assert_int_equal(got.digests.present, HASH_BIT(HASH_XXH128) | HASH_BIT(HASH_MD5));
    assert_string_equal(got.digests.text[HASH_XXH128], "06b05ab6733a618578af5f94892f3950");
    assert_string_equal(got.digests.text[HASH_MD5], "900150983cd24fb0d6963f7d28e17f72");
    assert_int_equal(got.state, FILE_LANDED);
    assert_int_equal(got.frame, 1001);
    assert_string_equal(got.asset, "seq/seq");
    assert_false(catalog_get_file(cat, "seq/missing.dpx", &got));
    assert_string_equal(catalog_error(cat), "");
}

static void replace_and_delete(void **state)
{
    struct catalog *cat = *state;
    struct catalog_file got, *f = file("a/b.exr", FILE_WRITING, 7);

    assert_true(catalog_put_file(cat, f));
    f->state = FILE_REJECTED;
    f->verdict.rule = RULE_R4;
    strcpy(f->verdict.message, "expected every channel HALF, found channel B float");
    assert_true(catalog_put_file(cat, f));
    assert_true(catalog_get_file(cat, "a/b.exr", &got));
    assert_int_equal(got.state, FILE_REJECTED);
    assert_int_equal(got.verdict.rule, RULE_R4);
    assert_string_equal(got.verdict.message, f->verdict.message);
    assert_true(catalog_delete_file(cat, "a/b.exr"));
    assert_false(catalog_get_file(cat, "a/b.exr", &got));
}

struct listing {
    char paths[8][64];
    int count;
};

static bool collect(void *ctx, const struct catalog_file *f)
{
    struct listing *l = ctx;
    snprintf(l->paths[l->count++], sizeof l->paths[0], "%s", f->path);
    return l->count < 8;
}

static bool collect_dir(void *ctx, const char *dir)
{
    struct listing *l = ctx;
    snprintf(l->paths[l->count++], sizeof l->paths[0], "%s", dir);
    return true;
}

static void listing_by_folder_and_state(void **state)
{
    struct catalog *cat = *state;
    struct listing l = {0};

    assert_true(catalog_begin(cat));
    assert_true(catalog_put_file(cat, file("s/s.1002.dpx", FILE_LANDED, 1002)));
    assert_true(catalog_put_file(cat, file("s/s.1001.dpx", FILE_LANDED, 1001)));
    assert_true(catalog_put_file(cat, file("s/s.1003.dpx", FILE_REJECTED, 1003)));
    assert_true(catalog_put_file(cat, file("s/notes.pdf", FILE_LANDED, -1)));
    assert_true(catalog_put_file(cat, file("s/sub/x.0001.exr", FILE_LANDED, 1)));
    assert_true(catalog_put_file(cat, file("readme.txt", FILE_LANDED, -1)));
    assert_true(catalog_commit(cat));
    assert_true(catalog_each_file(cat, "s", FILE_LANDED, collect, &l));
    assert_int_equal(l.count, 3); /* not the rejected frame, not the subfolder */
    assert_string_equal(l.paths[0], "s/notes.pdf");
    assert_string_equal(l.paths[1], "s/s.1001.dpx");
    assert_string_equal(l.paths[2], "s/s.1002.dpx");
    memset(&l, 0, sizeof l);
    assert_true(catalog_each_file(cat, "", FILE_LANDED, collect, &l));
    assert_int_equal(l.count, 1);
    assert_string_equal(l.paths[0], "readme.txt");
    memset(&l, 0, sizeof l);
    assert_true(catalog_each_file(cat, NULL, FILE_REJECTED, collect, &l));
    assert_int_equal(l.count, 1);
    memset(&l, 0, sizeof l);
    assert_true(catalog_each_frame_dir(cat, collect_dir, &l));
    assert_int_equal(l.count, 2);
    assert_string_equal(l.paths[0], "s");
    assert_string_equal(l.paths[1], "s/sub");
}

/* A catalog that cannot grow (RLIMIT_FSIZE standing in for a full disk)
 * fails the probe, and passes it again once it can. */
static void probe_tells_when_nothing_can_be_recorded(void **state)
{
    struct catalog *cat = *state;
    struct rlimit was;

    if (on_pg) {
        skip();
        return;
    }
    assert_true(catalog_probe(cat));
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &was), 0);
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &(struct rlimit){0, was.rlim_max}), 0);
    bool recorded = catalog_probe(cat);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &was), 0);
    assert_false(recorded);
    assert_non_null(strstr(catalog_error(cat), "user_version"));
    /* EFBIG is an I/O error to SQLite (a full disk is CATALOG_FAULT_FULL: faults catalog_full) */
    assert_int_equal(catalog_fault(cat), CATALOG_FAULT_BROKEN);
    assert_true(catalog_probe(cat));
    assert_true(catalog_put_file(cat, file("after.txt", FILE_LANDED, -1)));
}

static void generations_and_reopen(void **state)
{
    struct catalog *cat = *state;
    struct catalog_generation g = {.sequence = 1,
                                   .file = "0001_d_2026-11-24_190000Z.mhl",
                                   .c4 = "c4abc",
                                   .created = 1700000000};
    struct catalog_generation got;
    char err[300];

    assert_false(catalog_last_generation(cat, &got));
    assert_true(catalog_add_generation(cat, &g));
    g.sequence = 2;
    strcpy(g.file, "0002_d_2026-11-24_190500Z.mhl");
    assert_true(catalog_add_generation(cat, &g));
    /* the ascmhl/ folder is the truth: when it was reset, a sequence number
     * is written again and the catalog's record follows it */
    strcpy(g.c4, "c4def");
    assert_true(catalog_add_generation(cat, &g));
    assert_true(catalog_put_file(cat, file("kept.txt", FILE_LANDED, -1)));
    catalog_close(cat);
    *state = cat = catalog_open(path, err, sizeof err);
    assert_non_null(cat);
    assert_true(catalog_last_generation(cat, &got));
    assert_int_equal(got.sequence, 2);
    assert_string_equal(got.file, "0002_d_2026-11-24_190500Z.mhl");
    assert_string_equal(got.c4, "c4def");
    struct catalog_file f;
    assert_true(catalog_get_file(cat, "kept.txt", &f));
}

static bool collect_sealed(void *ctx, const char *folder, int generation)
{
    assert_int_equal(generation, 0); /* no generation listed them yet */
    return collect_dir(ctx, folder);
}

static void seals_persist(void **state)
{
    struct catalog *cat = *state;
    struct listing l = {0};
    char err[300];

    assert_true(catalog_seal(cat, "show/reel2", 1700000000));
    assert_true(catalog_seal(cat, "show/reel1", 1700000001));
    assert_true(catalog_seal(cat, "show/reel1", 1700000002)); /* again: still one row */
    catalog_close(cat);
    *state = cat = catalog_open(path, err, sizeof err);
    assert_non_null(cat);
    assert_true(catalog_each_sealed(cat, collect_sealed, &l));
    assert_int_equal(l.count, 2);
    assert_string_equal(l.paths[0], "show/reel1");
    assert_string_equal(l.paths[1], "show/reel2");
}

static void newer_schema_is_refused(void **state)
{
    char err[300];

    catalog_close(*state);
    *state = NULL;
    raw_sql(on_pg ? "UPDATE namfs_meta SET value = 99 WHERE key = 'schema'"
                  : "PRAGMA user_version = 99",
            NULL);
    assert_null(catalog_open(path, err, sizeof err));
    assert_non_null(strstr(err, "schema version 99 is newer"));
}

static void large_batch(void **state)
{
    struct catalog *cat = *state;
    struct catalog_file got;
    char p[64];

    assert_true(catalog_begin(cat));
    for (int i = 0; i < 10000; i++) {
        snprintf(p, sizeof p, "big/big.%06d.exr", i);
        assert_true(catalog_put_file(cat, file(p, FILE_LANDED, i)));
    }
    assert_true(catalog_commit(cat));
    assert_true(catalog_get_file(cat, "big/big.009999.exr", &got));
    assert_int_equal(got.frame, 9999);
}

static void renames(void **state)
{
    struct catalog *cat = *state;
    struct catalog_file got;
    struct listing l = {0};

    assert_true(catalog_put_file(cat, file("s/a.dpx", FILE_LANDED, 1)));
    assert_true(catalog_put_file(cat, file("s/sub/b.dpx", FILE_LANDED, 2)));
    assert_true(catalog_put_file(cat, file("s2/c.dpx", FILE_LANDED, 3)));
    assert_true(catalog_rename(cat, "s/a.dpx", "s/z.dpx"));
    assert_false(catalog_get_file(cat, "s/a.dpx", &got));
    assert_true(catalog_get_file(cat, "s/z.dpx", &got));
    assert_int_equal(got.frame, 1);
    assert_true(catalog_rename(cat, "s", "t")); /* a folder: everything under it */
    assert_true(catalog_get_file(cat, "t/z.dpx", &got));
    assert_true(catalog_get_file(cat, "t/sub/b.dpx", &got));
    assert_true(catalog_get_file(cat, "s2/c.dpx", &got)); /* a name prefix is not a folder */
    assert_true(catalog_each_file(cat, "t/sub", FILE_LANDED, collect, &l));
    assert_int_equal(l.count, 1); /* the folder column moved too */
}

static void counts_frames_beneath_a_folder(void **state)
{
    struct catalog *cat = *state;

    assert_true(catalog_put_file(cat, file("s/notes.txt", FILE_LANDED, -1)));
    assert_true(catalog_put_file(cat, file("s/a.dpx", FILE_LANDED, 1)));
    assert_true(catalog_put_file(cat, file("s/sub/b.dpx", FILE_LANDED, 2)));
    assert_true(catalog_put_file(cat, file("s/sub/c.dpx", FILE_REJECTED, 3)));
    assert_true(catalog_put_file(cat, file("s2/d.dpx", FILE_LANDED, 4)));
    assert_int_equal(catalog_count_frames_under(cat, "s"), 2);
    assert_int_equal(catalog_count_frames_under(cat, "s/sub"), 1);
    assert_int_equal(catalog_count_frames_under(cat, "s2"), 1);
    assert_int_equal(catalog_count_frames_under(cat, "s/a.dpx"), 0); /* not a folder */
    assert_int_equal(catalog_count_frames_under(cat, "t"), 0);
}

/* The reservation of a frame: of two paths claiming one frame number of
 * one asset, the first holds it, on this connection or another (a second
 * host sharing the catalog); a rewrite of the holder is no conflict. */
static void a_frame_is_reserved_once(void **state)
{
    struct catalog *cat = *state, *other;
    struct catalog_file *f = file("seq/seq.3001.dpx", FILE_LANDED, 3001);
    char holder[CATALOG_PATH_MAX], err[300];

    assert_true(catalog_put_frame(cat, f, holder, sizeof holder));
    assert_int_equal(catalog_fault(cat), CATALOG_FAULT_NONE);
    assert_true(catalog_put_frame(cat, f, holder, sizeof holder)); /* its own rewrite */
    assert_non_null(other = catalog_open(path, err, sizeof err));
    f = file("seq/seq.03001.dpx", FILE_LANDED, 3001);
    assert_false(catalog_put_frame(other, f, holder, sizeof holder));
    assert_int_equal(catalog_fault(other), CATALOG_FAULT_CONFLICT);
    assert_string_equal(holder, "seq/seq.3001.dpx");
    assert_non_null(strstr(catalog_error(other), "seq/seq.3001.dpx"));
    struct catalog_file got;
    assert_false(catalog_get_file(cat, "seq/seq.03001.dpx", &got));
    assert_true(catalog_put_frame(other, file("seq/seq.3002.dpx", FILE_LANDED, 3002), holder,
                                  sizeof holder)); /* another number is free */
    assert_true(catalog_delete_file(cat, "seq/seq.3001.dpx"));
    assert_true(catalog_put_frame(other, f, holder, sizeof holder)); /* freed: taken now */
    f = file("seq/seq.3001.dpx", FILE_QUARANTINED, -1);              /* refusals reserve nothing */
    assert_true(catalog_put_frame(cat, f, holder, sizeof holder));
    catalog_close(other);
}

static bool put_two(struct catalog *cat, void *ctx)
{
    (void)ctx;
    return catalog_put_file(cat, file("a.bin", FILE_LANDED, -1)) &&
           catalog_put_file(cat, file("b.bin", FILE_LANDED, -1));
}

static bool put_then_give_up(struct catalog *cat, void *ctx)
{
    (void)ctx;
    return catalog_put_file(cat, file("c.bin", FILE_LANDED, -1)) && false;
}

static void transactions_commit_whole_or_not_at_all(void **state)
{
    struct catalog *cat = *state;
    struct catalog_file got;

    assert_true(catalog_transaction(cat, put_two, NULL));
    assert_true(catalog_get_file(cat, "a.bin", &got) && catalog_get_file(cat, "b.bin", &got));
    assert_false(catalog_transaction(cat, put_then_give_up, NULL));
    assert_false(catalog_get_file(cat, "c.bin", &got));   /* rolled back */
    assert_true(catalog_transaction(cat, put_two, NULL)); /* and the catalog takes more */
}

/* A transaction meeting a catalog locked by another writer waits and is
 * tried again; it ends once the other lets go. */
static void *hold_the_lock(void *arg)
{
    char err[300];
    struct catalog *holder = catalog_open(path, err, sizeof err);
    assert_non_null(holder);
    assert_true(catalog_begin(holder));
    assert_true(catalog_put_file(holder, file("held.bin", FILE_LANDED, -1)));
    __atomic_store_n((bool *)arg, true, __ATOMIC_RELEASE); /* the lock is held now */
    usleep(300000);
    assert_true(catalog_commit(holder));
    catalog_close(holder);
    return NULL;
}

static void a_busy_catalog_is_waited_for(void **state)
{
    struct catalog *cat = *state;
    bool holding = false;
    pthread_t thread;
    struct catalog_file got;

    assert_int_equal(pthread_create(&thread, NULL, hold_the_lock, &holding), 0);
    while (!__atomic_load_n(&holding, __ATOMIC_ACQUIRE))
        usleep(1000);
    assert_true(catalog_transaction(cat, put_two, NULL));
    pthread_join(thread, NULL);
    assert_true(catalog_get_file(cat, "held.bin", &got) && catalog_get_file(cat, "a.bin", &got));
}

/* A view reads what the writer recorded and cannot change anything. */
/* The tallies (schema 7) as sqlite itself counts the rows. */
static bool tally_line(void *ctx, const struct catalog_tally *t)
{
    char line[256];
    snprintf(line, sizeof line, "%s|%s|%d|%llu|%llu|%llu|%llu\n", t->dir, t->asset, (int)t->state,
             (unsigned long long)t->files, (unsigned long long)t->frames,
             (unsigned long long)t->bytes, (unsigned long long)t->listed);
    strcat(ctx, line);
    return true;
}

static void assert_tallies_count_the_rows(struct catalog *cat)
{
    static char tallied[4096], counted[4096];

    tallied[0] = '\0';
    assert_true(catalog_each_tally(cat, tally_line, tallied));
    raw_sql("SELECT dir, asset, state, count(*), sum(CASE WHEN frame >= 0 THEN 1 ELSE 0 END),"
            " sum(size), sum(CASE WHEN substr(path, length(dir) + 2, 1) <> '.'"
            " AND path NOT LIKE '%checksum.txt' THEN 1 ELSE 0 END)"
            " FROM files GROUP BY dir, asset, state ORDER BY dir, asset, state",
            counted);
    assert_string_equal(tallied, counted);
}

static void tallies_follow_every_change(void **state)
{
    struct catalog *cat = *state;
    char holder[CATALOG_PATH_MAX];

    for (int frame = 1001; frame <= 1005; frame++) {
        char name[64];
        snprintf(name, sizeof name, "seq/seq.%d.dpx", frame);
        assert_true(catalog_put_frame(cat, file(name, FILE_LANDED, frame), holder, sizeof holder));
    }
    assert_true(catalog_put_file(cat, file("seq/notes.txt", FILE_LANDED, -1)));
    assert_true(catalog_put_file(cat, file("seq/seq.1009.dpx", FILE_QUARANTINED, -1)));
    assert_tallies_count_the_rows(cat);
    struct catalog_file *f = file("seq/seq.1003.dpx", FILE_CHANGED, 1003); /* a REPLACE */
    f->size = 99;
    assert_true(catalog_put_file(cat, f));
    assert_false(catalog_put_frame(cat, file("seq/seq.01001.dpx", FILE_LANDED, 1001), holder,
                                   sizeof holder)); /* refused: nothing counted */
    assert_true(catalog_delete_file(cat, "seq/seq.1004.dpx"));
    assert_true(catalog_rename(cat, "seq", "moved"));
    assert_tallies_count_the_rows(cat);
    raw_sql("UPDATE files SET state = 4, size = 7 WHERE frame = 1005", NULL);
    assert_tallies_count_the_rows(cat);
}

/* checksum.txt's length from the tally alone is its rendering's, for
 * every digest, names of any length and sizes of any width; hidden files
 * and checksum.txt itself are not listed. */
static void checksum_length_without_rows(void **state)
{
    struct catalog *cat = *state;
    const char *names[] = {"seq/a.dpx",          "seq/\xc3\xa9t\xc3\xa9.0001.dpx",
                           "seq/.hidden",        "seq/checksum.txt",
                           "seq/sub/deeper.txt", "top.txt"};
    char err[300];

    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        struct catalog_file *f = file(names[i], FILE_LANDED, -1);
        f->size = 7 * (uint64_t)(i + 1) * 1000003;
        f->digests.present = (1u << HASH_ALGO_COUNT) - 1;
        for (int a = 0; a < HASH_ALGO_COUNT; a++)
            memset(f->digests.text[a], 'a',
                   a == HASH_XXH64 || a == HASH_XXH3 ? 16
                   : a == HASH_SHA1                  ? 40
                   : a == HASH_C4                    ? 90
                                                     : 32);
        assert_true(catalog_put_file(cat, f));
    }
    assert_true(catalog_put_file(cat, file("seq/refused.dpx", FILE_QUARANTINED, -1)));
    const char *dirs[] = {"seq", "seq/sub", "", "none"};
    for (size_t d = 0; d < 4; d++)
        for (int a = 0; a < HASH_ALGO_COUNT; a++) {
            char *text = checksum_render(cat, dirs[d], (enum hash_algo)a, err, sizeof err);
            assert_non_null(text);
            assert_int_equal(checksum_length(cat, dirs[d], (enum hash_algo)a), strlen(text));
            free(text);
        }
}

/* A catalog of schema 6 with rows in it gets tallies that count them. */
static void tallies_of_an_older_catalog(void **state)
{
    struct catalog *cat = *state;
    char err[300], holder[CATALOG_PATH_MAX];

    if (on_pg) { /* a SQLite catalog's own history */
        skip();
        return;
    }
    assert_true(
        catalog_put_frame(cat, file("a/seq.1001.dpx", FILE_LANDED, 1001), holder, sizeof holder));
    assert_true(catalog_put_file(cat, file("a/x.txt", FILE_LANDED, -1)));
    catalog_close(cat);
    raw_sql("DROP TRIGGER tally_in; DROP TRIGGER tally_out;"
            " DROP TRIGGER tally_moved; DROP TABLE tally;"
            " DROP INDEX files_aside; ALTER TABLE files DROP COLUMN listed_bytes;"
            " DROP INDEX files_changed; ALTER TABLE files DROP COLUMN changed; DROP TABLE marks;"
            " PRAGMA user_version = 6",
            NULL);
    assert_non_null(*state = cat = catalog_open(path, err, sizeof err));
    assert_tallies_count_the_rows(cat);
    assert_true(catalog_put_file(cat, file("a/y.txt", FILE_LANDED, -1)));
    assert_tallies_count_the_rows(cat);
}

/* The rows catalog_each_change_in yields, "path:state;" each. */
static bool change_line(void *ctx, const struct catalog_brief *b)
{
    char line[CATALOG_PATH_MAX + 16];
    snprintf(line, sizeof line, "%s:%d%s;", b->path, (int)b->state, b->digest ? "" : "?");
    strcat(ctx, line);
    return true;
}

static const char *changes_in(struct catalog *cat, const char *dir, int64_t after)
{
    static char seen[4096];
    seen[0] = '\0';
    assert_true(catalog_each_change_in(cat, dir, after, HASH_XXH128, change_line, seen));
    return seen;
}

/* Schema 8: every write gives a row the next change number, and what
 * changed in a folder since a number reads as those rows only, in path
 * order, without files checksum.txt leaves out; one connection never
 * gives a number twice, and after a reopen numbers go on above every
 * row's. */
static void changes_since_a_number(void **state)
{
    struct catalog *cat = *state;
    char holder[CATALOG_PATH_MAX], err[300];
    int64_t before, renamed, nine, reopened, now;

    assert_true(catalog_put_file(cat, file("a/1.dpx", FILE_LANDED, -1)));
    assert_true(catalog_put_file(cat, file("a/2.dpx", FILE_LANDED, -1)));
    assert_true(catalog_last_change(cat, &before));
    assert_true(before >= 2);
    assert_string_equal(changes_in(cat, "a", before), "");
    assert_true(
        catalog_put_frame(cat, file("a/seq.0003.dpx", FILE_LANDED, 3), holder, sizeof holder));
    assert_true(catalog_put_file(cat, file("a/.hidden", FILE_LANDED, -1)));
    assert_true(catalog_put_file(cat, file("a/checksum.txt", FILE_LANDED, -1)));
    assert_true(catalog_put_file(cat, file("a/2.dpx", FILE_LANDED, -1))); /* written again */
    assert_true(catalog_put_file(cat, file("b/y.dpx", FILE_LANDED, -1)));
    assert_true(catalog_put_file(cat, file("a/6.dpx", FILE_CHANGED, -1)));
    assert_string_equal(changes_in(cat, "a", before), "a/2.dpx:1;a/6.dpx:5;a/seq.0003.dpx:1;");
    assert_true(catalog_last_change(cat, &renamed));
    assert_true(catalog_rename(cat, "a/1.dpx", "a/9.dpx"));
    assert_string_equal(changes_in(cat, "a", renamed), "a/9.dpx:1;");
    assert_true(catalog_last_change(cat, &nine));
    assert_true(catalog_delete_file(cat, "a/9.dpx")); /* a delete leaves no number, */
    assert_true(catalog_put_file(cat, file("a/8.dpx", FILE_LANDED, -1)));
    assert_string_equal(changes_in(cat, "a", nine), "a/8.dpx:1;"); /* nor gives its own again */
    assert_true(catalog_last_change(cat, &reopened));
    catalog_close(cat);
    assert_non_null(*state = cat = catalog_open(path, err, sizeof err));
    assert_true(catalog_put_file(cat, file("a/7.dpx", FILE_LANDED, -1)));
    assert_true(catalog_last_change(cat, &now));
    assert_true(now > reopened);
    assert_string_equal(changes_in(cat, "a", reopened), "a/7.dpx:1;");
}

static void a_view_only_reads(void **state)
{
    struct catalog *cat = *state, *view;
    struct catalog_file got;
    char err[300];

    assert_true(catalog_put_file(cat, file("seen.bin", FILE_LANDED, -1)));
    assert_non_null(view = catalog_open_view(path, err, sizeof err));
    assert_true(catalog_get_file(view, "seen.bin", &got));
    assert_false(catalog_put_file(view, file("written.bin", FILE_LANDED, -1)));
    assert_int_equal(catalog_fault(view), CATALOG_FAULT_READ_ONLY);
    assert_true(catalog_put_file(cat, file("later.bin", FILE_LANDED, -1)));
    assert_true(catalog_get_file(view, "later.bin", &got)); /* sees the writer's commits */
    catalog_close(view);
    assert_null(catalog_open_view("/nonexistent/catalog.sqlite", err, sizeof err));
}

/* Two connections (two hosts) race for one frame number under two names,
 * each in a transaction of its own, many times over: each time exactly
 * one of them holds it (SPEC S5 across hosts). */
struct racer {
    const char *name_format;
    int round;
    int won;
    pthread_barrier_t *start;
};

static bool reserve(struct catalog *cat, void *ctx)
{
    struct racer *r = ctx;
    char name[64], holder[CATALOG_PATH_MAX];

    snprintf(name, sizeof name, r->name_format, r->round);
    bool stored = catalog_put_frame(cat, file(name, FILE_LANDED, r->round), holder, sizeof holder);
    if (!stored && catalog_fault(cat) == CATALOG_FAULT_CONFLICT)
        return true; /* lost: commit the nothing it did */
    r->won += stored;
    return stored;
}

static void *race(void *arg)
{
    struct racer *r = arg;
    char err[300];
    struct catalog *cat = catalog_open(path, err, sizeof err);

    assert_non_null(cat);
    for (r->round = 1; r->round <= 40; r->round++) {
        pthread_barrier_wait(r->start);
        assert_true(catalog_transaction(cat, reserve, r));
        pthread_barrier_wait(r->start);
    }
    catalog_close(cat);
    return NULL;
}

static void a_race_for_one_frame_has_one_winner(void **state)
{
    pthread_barrier_t start;
    struct racer a = {"race/x.%d.dpx", 0, 0, &start}, b = {"race/x.%05d.dpx", 0, 0, &start};
    pthread_t ta, tb;
    struct catalog_folder tally;

    pthread_barrier_init(&start, NULL, 2);
    assert_int_equal(pthread_create(&ta, NULL, race, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, race, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&start);
    assert_int_equal(a.won + b.won, 40);
    assert_true(catalog_folder_tally(*state, "race", &tally));
    assert_int_equal(tally.frames, 40);
}

/* A lease has one holder among the connections sharing a catalog; it is
 * free again when the holder's session ends (a host that died). SQLite:
 * one mount per catalog, always held. */
static void a_lease_has_one_holder(void **state)
{
    struct catalog *cat = *state, *other;
    char err[300];
    bool held;

    assert_true(catalog_lease(cat, "manifests", &held));
    assert_true(held);
    assert_true(catalog_lease(cat, "manifests", &held)); /* still, and asked again */
    assert_true(held);
    assert_non_null(other = catalog_open(path, err, sizeof err));
    assert_true(catalog_lease(other, "manifests", &held));
    assert_int_equal(held, !on_pg);
    bool elsewhere = true;
    assert_true(catalog_lease_elsewhere(cat, "manifests", &elsewhere));
    assert_false(elsewhere); /* its own */
    assert_true(catalog_lease_elsewhere(other, "manifests", &elsewhere));
    assert_int_equal(elsewhere, on_pg);
    assert_true(catalog_lease_elsewhere(other, "nobody's", &elsewhere));
    assert_false(elsewhere);
    assert_true(catalog_lease(other, "manifests", &held)); /* the question took nothing */
    assert_int_equal(held, !on_pg);
    if (!on_pg) {
        catalog_close(other);
        return;
    }
    assert_true(catalog_lease(other, "another", &held));
    assert_true(held);
    catalog_close(cat);
    *state = NULL;
    /* the server lets the lock go as the session's backend exits, a moment
     * after the client hung up */
    for (int tries = 0; tries < 200; tries++) {
        assert_true(catalog_lease(other, "manifests", &held));
        if (held)
            break;
        usleep(10000);
    }
    assert_true(held);
    catalog_close(other);
}

/* A mark put through one connection is read through another; one never
 * put reads 0. */
static void marks_are_read_by_every_connection(void **state)
{
    struct catalog *cat = *state, *other;
    char err[300];
    int64_t value = -1;

    assert_true(catalog_get_mark(cat, "manifests", &value));
    assert_int_equal(value, 0);
    assert_true(catalog_put_mark(cat, "manifests", 1234567890123LL));
    assert_true(catalog_put_mark(cat, "manifests", 1234567890124LL));
    assert_non_null(other = catalog_open(path, err, sizeof err));
    assert_true(catalog_get_mark(other, "manifests", &value));
    assert_true(value == 1234567890124LL);
    assert_true(catalog_get_mark(other, "other", &value));
    assert_int_equal(value, 0);
    catalog_close(other);
}

/* The first claim stands for every connection; an asset's claim stands
 * while the asset has a landed frame, and gives way once it has none. */
static void the_first_claim_stands(void **state)
{
    struct catalog *cat = *state, *other;
    char err[300], out[64], holder[CATALOG_PATH_MAX];

    assert_non_null(other = catalog_open(path, err, sizeof err));
    assert_true(catalog_claim(cat, "title:show", NULL, "0 4", out, sizeof out));
    assert_string_equal(out, "0 4");
    assert_true(catalog_claim(other, "title:show", NULL, "5 0", out, sizeof out));
    assert_string_equal(out, "0 4");
    assert_true(catalog_claim(cat, "asset:seq/seq", "seq/seq", "first", out, sizeof out));
    assert_string_equal(out, "first"); /* no frame yet: the claim is put, no other stood */
    assert_true(
        catalog_put_frame(cat, file("seq/seq.1001.dpx", FILE_LANDED, 1001), holder, sizeof holder));
    assert_true(catalog_claim(other, "asset:seq/seq", "seq/seq", "second", out, sizeof out));
    assert_string_equal(out, "first");
    assert_true(catalog_delete_file(cat, "seq/seq.1001.dpx"));
    assert_true(catalog_claim(other, "asset:seq/seq", "seq/seq", "second", out, sizeof out));
    assert_string_equal(out, "second");
    catalog_close(other);
}

/* PostgreSQL stopped: a write fails as unreachable (the mount turns
 * read-only on it) and the probe fails too; once the server is back the
 * probe connects again and the catalog records as before. */
static void an_unreachable_server_comes_back(void **state)
{
    struct catalog *cat = *state;
    const char *ctl = getenv("NAMFS_TEST_PG_CTL");
    char command[1024];
    struct catalog_file got;

    if (!on_pg || !ctl) {
        skip();
        return;
    }
    assert_true(catalog_put_file(cat, file("before.txt", FILE_LANDED, -1)));
    snprintf(command, sizeof command, "%s stop -m fast >/dev/null", ctl);
    assert_int_equal(system(command), 0);
    assert_false(catalog_put_file(cat, file("during.txt", FILE_LANDED, -1)));
    assert_int_equal(catalog_fault(cat), CATALOG_FAULT_UNREACHABLE);
    assert_false(catalog_probe(cat));
    assert_int_equal(catalog_fault(cat), CATALOG_FAULT_UNREACHABLE);
    snprintf(command, sizeof command, "%s start -w >/dev/null", ctl);
    assert_int_equal(system(command), 0);
    assert_true(catalog_probe(cat));
    assert_true(catalog_put_file(cat, file("after.txt", FILE_LANDED, -1)));
    assert_true(catalog_get_file(cat, "before.txt", &got));
    assert_false(catalog_get_file(cat, "during.txt", &got));
}

/* A catalog as the log shows it: a URL's password never. */
static void a_described_url_hides_its_password(void **state)
{
    char out[200];

    (void)state;
    catalog_describe(NULL, out, sizeof out);
    assert_string_equal(out, "SQLite, in the state folder");
    catalog_describe("postgresql://namfs@db:5432/show", out, sizeof out);
    assert_string_equal(out, "postgresql://namfs@db:5432/show");
    catalog_describe("postgresql://namfs:secret@db:5432/show", out, sizeof out);
    assert_string_equal(out, "postgresql://namfs:***@db:5432/show");
    catalog_describe("postgres://db/show?user=n&password=s3&sslmode=require", out, sizeof out);
    assert_string_equal(out, "postgres://db/show?user=n&password=***&sslmode=require");
    catalog_describe("postgresql://db/show?password=x", out, sizeof out);
    assert_string_equal(out, "postgresql://db/show?password=***");
}

int main(void)
{
    const char *pg = getenv("NAMFS_TEST_PG");
    if ((on_pg = pg && pg[0]))
        snprintf(path, sizeof path, "%s", pg);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(round_trip, open_fresh, close_catalog),
        cmocka_unit_test_setup_teardown(replace_and_delete, open_fresh, close_catalog),
        cmocka_unit_test_setup_teardown(listing_by_folder_and_state, open_fresh, close_catalog),
        cmocka_unit_test_setup_teardown(generations_and_reopen, open_fresh, close_catalog),
        cmocka_unit_test_setup_teardown(probe_tells_when_nothing_can_be_recorded, open_fresh,
                                        close_catalog),
        cmocka_unit_test_setup_teardown(seals_persist, open_fresh, close_catalog),
        cmocka_unit_test_setup_teardown(newer_schema_is_refused, open_fresh, close_catalog),
        cmocka_unit_test_setup_teardown(large_batch, open_fresh, close_catalog),
        cmocka_unit_test_setup_teardown(renames, open_fresh, close_catalog),
        cmocka_unit_test_setup_teardown(counts_frames_beneath_a_folder, open_fresh, close_catalog),
        cmocka_unit_test_setup_teardown(a_frame_is_reserved_once, open_fresh, close_catalog),
        cmocka_unit_test_setup_teardown(changes_since_a_number, open_fresh, close_catalog),
        cmocka_unit_test_setup_teardown(transactions_commit_whole_or_not_at_all, open_fresh,
                                        close_catalog),
        cmocka_unit_test_setup_teardown(a_busy_catalog_is_waited_for, open_fresh, close_catalog),
        cmocka_unit_test_setup_teardown(a_view_only_reads, open_fresh, close_catalog),
        cmocka_unit_test_setup_teardown(tallies_follow_every_change, open_fresh, close_catalog),
        cmocka_unit_test_setup_teardown(tallies_of_an_older_catalog, open_fresh, close_catalog),
        cmocka_unit_test_setup_teardown(checksum_length_without_rows, open_fresh, close_catalog),
        cmocka_unit_test_setup_teardown(a_race_for_one_frame_has_one_winner, open_fresh,
                                        close_catalog),
        cmocka_unit_test_setup_teardown(a_lease_has_one_holder, open_fresh, close_catalog),
        cmocka_unit_test_setup_teardown(marks_are_read_by_every_connection, open_fresh,
                                        close_catalog),
        cmocka_unit_test_setup_teardown(the_first_claim_stands, open_fresh, close_catalog),
        cmocka_unit_test(a_described_url_hides_its_password),
        cmocka_unit_test_setup_teardown(an_unreachable_server_comes_back, open_fresh,
                                        close_catalog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
