/* Runs the project's frame generator (path in $NAMGEN, set by meson) and
 * loads what it wrote, so EXR tests use real OpenEXRCore output. */
#ifndef NAMFS_TEST_NAMGEN_FIXTURE_H
#define NAMFS_TEST_NAMGEN_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct generated {
    unsigned char *bytes;
    size_t len;
};

/* Writes a frame with `namgen KIND FILE ARGS` and reads it back; aborts the
 * test program on failure, since every later assertion would be noise. */
static inline struct generated generate(const char *kind, const char *args)
{
    static char dir[64];
    char cmd[1024], path[128];
    struct generated g = {0};
    const char *namgen = getenv("NAMGEN");

    if (!namgen) {
        fprintf(stderr, "NAMGEN is not set (run through meson test)\n");
        exit(2);
    }
    if (!dir[0]) {
        strcpy(dir, "/tmp/namfs-unit-XXXXXX");
        if (!mkdtemp(dir))
            exit(2);
    }
    snprintf(path, sizeof path, "%s/frame.%s", dir, kind);
    snprintf(cmd, sizeof cmd, "'%s' %s %s %s", namgen, kind, path, args);
    if (system(cmd) != 0) {
        fprintf(stderr, "failed: %s\n", cmd);
        exit(2);
    }
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0)
        exit(2);
    g.len = (size_t)st.st_size;
    g.bytes = malloc(g.len ? g.len : 1);
    if (!g.bytes || fread(g.bytes, 1, g.len, f) != g.len)
        exit(2);
    fclose(f);
    unlink(path);
    return g;
}

#endif
