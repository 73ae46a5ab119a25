/* Manifests rendered from the catalog (SPEC.md M1-M3): checksum.txt in
 * every sequence folder and the ASC MHL v2 history at the delivery root.
 * Everything is written atomically (temp file + rename) relative to a
 * directory fd of the delivery root. */
#ifndef NAMFS_MANIFEST_H
#define NAMFS_MANIFEST_H

#include "namfs/catalog.h"
#include "namfs/hash.h"

#include <stdbool.h>
#include <stddef.h>

#define CHECKSUM_NAME "checksum.txt"
#define MHL_FOLDER "ascmhl"
#define MHL_CHAIN "ascmhl_chain.xml"
/* Temp files of manifest_write_atomic start with this. */
#define MANIFEST_TEMP_PREFIX ".namfs-tmp."

/* "xxh128", "xxh64be" or "md5": the label checksum.txt writes. */
const char *checksum_label(enum hash_algo algo);

/* The checksum.txt text for folder dir ("" = root): one line per landed
 * file, sorted by name, hidden files and the manifest itself excluded:
 * "<name>\t<size>\t<label>\t<hex>\n". malloc'd; NULL with err when a file
 * lacks the digest. */
char *checksum_render(struct catalog *cat, const char *dir, enum hash_algo algo, char *err,
                      size_t err_len);
/* The length checksum_render's text has, from the catalog's tally of the
 * folder (no row read); -1 when the catalog cannot tell. */
long checksum_length(struct catalog *cat, const char *dir, enum hash_algo algo);

/* The same, with only the files keep() returns true for. */
char *checksum_render_if(struct catalog *cat, const char *dir, enum hash_algo algo,
                         catalog_brief_fn keep, void *keep_ctx, char *err, size_t err_len);

/* A rendering written as it is made, a block at a time, into fd; hashed
 * when h is set; compared with the file at old as it goes (same stays
 * true while the bytes so far are old's; set it, and old_size, to
 * compare; old -1 and same false otherwise). checksum_out_emit is a
 * checksum_emit_fn; checksum_out_flush writes what is left (failed, with
 * errno, when a write failed). */
struct checksum_out {
    int fd, old;
    uint64_t old_size;
    bool same, failed;
    struct hasher *h;
    size_t used;
    uint64_t total; /* bytes emitted */
    char block[65536], theirs[65536];
};
bool checksum_out_emit(void *ctx, const char *bytes, size_t len);
bool checksum_out_flush(struct checksum_out *o);

/* One line of checksum.txt (SPEC: name, size, algorithm, digest) in out;
 * its length, or -1 when it does not fit. */
int checksum_line(char *out, size_t len, const char *name, uint64_t size, enum hash_algo algo,
                  const char *digest);

/* The same text, passed to emit() a line at a time instead of kept
 * (emit sets errno when it fails, or leaves it 0 when out of memory). */
typedef bool (*checksum_emit_fn)(void *ctx, const char *bytes, size_t len);
bool checksum_render_to(struct catalog *cat, const char *dir, enum hash_algo algo,
                        catalog_brief_fn keep, void *keep_ctx, checksum_emit_fn emit,
                        void *emit_ctx, char *err, size_t err_len);

/* Writes dir's checksum.txt (only when its content changes) and records
 * it as a landed file in the catalog with its digests in `algos`. */
bool checksum_write_dir(struct catalog *cat, int root_fd, const char *dir, enum hash_algo algo,
                        uint32_t algos, char *err, size_t err_len);

/* What each folder's checksum.txt was last written from, and what that
 * cost: the mount's checkpoints rewrite a folder's file only when the
 * folder changed since (its tally's version), and not within
 * CHECKSUM_COST_FACTOR times the last rewrite's duration of it (a
 * 150,000-line file is rewritten whole: at most a tenth of the time goes
 * to rewriting it while frames keep landing). */
#define CHECKSUM_COST_FACTOR 10.0
struct checksum_written {
    char *dir;
    uint64_t version; /* UINT64_MAX: not known */
    double at, cost;  /* CLOCK_MONOTONIC seconds */
};
struct checksum_memory {
    struct checksum_written *folders;
    size_t count;
    double retry_in; /* after checksum_write_all: seconds until a deferred folder is due; 0 none */
};
void checksum_memory_free(struct checksum_memory *m);

/* checksum_write_dir for every folder holding a landed frame, but those
 * under a sealed folder that a generation already lists (final). With
 * memory m, only those due (all changed ones when forced); NULL: all. */
bool checksum_write_all(struct catalog *cat, int root_fd, enum hash_algo algo, uint32_t algos,
                        struct checksum_memory *m, bool force, char *err, size_t err_len);

/* Writes all of bytes to fd, EINTR retried; false with errno (EIO for a
 * write that wrote nothing). */
bool manifest_write_fd(int fd, const void *bytes, size_t len);

/* Writes bytes to path (relative to dir_fd) via a temp file, fsync and
 * rename, so readers see the old or the new file, never a part. Without
 * replace, an existing path is an error (EEXIST) and stays as it was. */
bool manifest_write_atomic(int dir_fd, const char *path, const void *bytes, size_t len,
                           bool replace, char *err, size_t err_len);

#endif
