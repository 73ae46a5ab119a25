/* Catalog cost of landing many small files: N rows put in one batched
 * transaction (how namfs lands them), and, for contrast, a tenth of N each
 * in its own transaction. Prints microseconds per file. Run by
 * scripts/bench-catalog. */
#include "namfs/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fill(struct catalog_file *f, int i)
{
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "seq/seq.%07d.exr", i);
    f->size = 49766400 + (uint64_t)i;
    f->mtime_ns = 1700000000000000000LL + i;
    f->hashed_at = 1700000000;
    f->digests.present = HASH_BIT(HASH_XXH128);
    snprintf(f->digests.text[HASH_XXH128], HASH_TEXT_MAX, "%032x", i);
    f->state = FILE_LANDED;
    snprintf(f->asset, sizeof f->asset, "seq/seq");
    f->frame = i;
}

int main(int argc, char **argv)
{
    int n = argc > 2 ? atoi(argv[2]) : 10000;
    char err[300];
    struct catalog_file *f = malloc(sizeof *f);

    if (argc < 2 || n <= 0 || !f) {
        fprintf(stderr, "usage: bench_catalog DB-PATH [FILES]\n");
        return 2;
    }
    unlink(argv[1]);
    struct catalog *cat = catalog_open(argv[1], err, sizeof err);
    if (!cat) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    double start = now();
    bool ok = catalog_begin(cat);
    for (int i = 0; ok && i < n; i++) {
        fill(f, i);
        ok = catalog_put_file(cat, f);
    }
    ok = ok && catalog_commit(cat);
    double batched = now() - start;
    start = now();
    for (int i = n; ok && i < n + n / 10; i++) {
        fill(f, i);
        ok = catalog_begin(cat) && catalog_put_file(cat, f) && catalog_commit(cat);
    }
    double single = now() - start;
    if (!ok) {
        fprintf(stderr, "%s\n", catalog_error(cat));
        return 2;
    }
    printf("%d files in one transaction: %.1f ms (%.2f us per file)\n", n, batched * 1e3,
           batched / n * 1e6);
    printf("%d files one transaction each: %.1f ms (%.2f us per file)\n", n / 10, single * 1e3,
           single / (n / 10) * 1e6);
    catalog_close(cat);
    free(f);
    return 0;
}
