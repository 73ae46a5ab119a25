/* bench_exrwrite SOURCE.exr OUT...
 * Writes each OUT in the pattern of OpenEXR's writers: the header one
 * attribute at a time and each chunk as its 8-byte leader then its data
 * (one write each, as OpenEXRCore does), with a zeroed offset table first
 * and a seek back at the end to fill it in (as the C++ library, which
 * oiiotool uses, does; OpenEXRCore leaves a hole there instead). The bytes
 * come from SOURCE (a single-part scanline file), so the run measures the
 * write pattern, not compression. Prints the seconds the writes took
 * (reading SOURCE excluded). */
#include <openexr.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct frame {
    uint8_t *bytes;
    size_t size;
    size_t table;           /* offset of the chunk offset table */
    int32_t chunks;         /* entries in it */
    uint64_t *chunk_starts; /* leader offset of each chunk, in file order */
    uint64_t *chunk_ends;
};

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "bench_exrwrite: %s: %s\n", what, detail);
    exit(2);
}

static void load(const char *path, struct frame *f)
{
    int fd = open(path, O_RDONLY);
    struct stat st;

    if (fd < 0 || fstat(fd, &st) != 0)
        die(path, "cannot open");
    f->size = (size_t)st.st_size;
    f->bytes = malloc(f->size);
    if (!f->bytes || read(fd, f->bytes, f->size) != (ssize_t)f->size)
        die(path, "cannot read");
    close(fd);
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Where the table and each chunk are, from OpenEXRCore's own reading. */
static void locate_chunks(const char *path, struct frame *f)
{
    exr_context_t ctx;
    exr_attr_box2i_t dw;
    int32_t lines;

    if (exr_start_read(&ctx, path, NULL) != EXR_ERR_SUCCESS)
        die(path, "not an OpenEXR file");
    if (exr_get_chunk_count(ctx, 0, &f->chunks) != EXR_ERR_SUCCESS ||
        exr_get_data_window(ctx, 0, &dw) != EXR_ERR_SUCCESS ||
        exr_get_scanlines_per_chunk(ctx, 0, &lines) != EXR_ERR_SUCCESS)
        die(path, "expected a single-part scanline file");
    f->chunk_starts = malloc(sizeof(uint64_t) * (size_t)f->chunks);
    f->chunk_ends = malloc(sizeof(uint64_t) * (size_t)f->chunks);
    for (int32_t i = 0; i < f->chunks; i++) {
        exr_chunk_info_t c;
        if (exr_read_scanline_chunk_info(ctx, 0, dw.min.y + i * lines, &c) != EXR_ERR_SUCCESS)
            die(path, "unreadable chunk");
        f->chunk_starts[i] = c.data_offset - 8; /* leader: y, packed size */
        f->chunk_ends[i] = c.data_offset + c.packed_size;
    }
    exr_finish(&ctx);
    qsort(f->chunk_starts, (size_t)f->chunks, sizeof(uint64_t), compare_u64);
    qsort(f->chunk_ends, (size_t)f->chunks, sizeof(uint64_t), compare_u64);
    f->table = f->chunk_starts[0] - 8 * (uint64_t)f->chunks;
}

static void put(int fd, const void *buf, size_t n, uint64_t off, const char *out)
{
    if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n)
        die(out, "write failed");
}

/* The header, one attribute (name, type, size, value) per write. */
static void write_header(int fd, const struct frame *f, const char *out)
{
    size_t at = 8;

    put(fd, f->bytes, 8, 0, out); /* magic and version */
    while (at < f->table && f->bytes[at] != 0) {
        size_t name = strnlen((char *)f->bytes + at, f->table - at) + 1;
        size_t type = strnlen((char *)f->bytes + at + name, f->table - at - name) + 1;
        uint32_t len;
        memcpy(&len, f->bytes + at + name + type, 4);
        size_t whole = name + type + 4 + len;
        put(fd, f->bytes + at, whole, at, out);
        at += whole;
    }
    put(fd, f->bytes + at, f->table - at, at, out); /* the closing NUL */
}

static void write_frame(const struct frame *f, const char *out)
{
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    size_t table_len = 8 * (size_t)f->chunks;
    uint8_t *zeros = calloc(1, table_len);

    if (fd < 0 || !zeros)
        die(out, "cannot create");
    write_header(fd, f, out);
    put(fd, zeros, table_len, f->table, out);
    for (int32_t i = 0; i < f->chunks; i++) {
        uint64_t start = f->chunk_starts[i];
        put(fd, f->bytes + start, 8, start, out);
        put(fd, f->bytes + start + 8, f->chunk_ends[i] - start - 8, start + 8, out);
    }
    put(fd, f->bytes + f->table, table_len, f->table, out);
    if (close(fd) != 0)
        die(out, "close failed (refused?)");
    free(zeros);
}

int main(int argc, char **argv)
{
    struct frame f = {0};
    struct timespec t0, t1;

    if (argc < 3)
        die("usage", "bench_exrwrite SOURCE.exr OUT...");
    load(argv[1], &f);
    locate_chunks(argv[1], &f);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 2; i < argc; i++)
        write_frame(&f, argv[i]);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%.6f\n", (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    free(f.bytes);
    free(f.chunk_starts);
    free(f.chunk_ends);
    return 0;
}
