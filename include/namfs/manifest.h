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
/* The same, with only the files keep() returns true for. */
char *checksum_render_if(struct catalog *cat, const char *dir, enum hash_algo algo,
                         catalog_file_fn keep, void *keep_ctx, char *err, size_t err_len);

/* Writes dir's checksum.txt (only when its content changes) and records
 * it as a landed file in the catalog with its digests in `algos`. */
bool checksum_write_dir(struct catalog *cat, int root_fd, const char *dir, enum hash_algo algo,
                        uint32_t algos, char *err, size_t err_len);

/* checksum_write_dir for every folder holding a landed frame. */
bool checksum_write_all(struct catalog *cat, int root_fd, enum hash_algo algo, uint32_t algos,
                        char *err, size_t err_len);

/* Writes bytes to path (relative to dir_fd) via a temp file, fsync and
 * rename, so readers see the old or the new file, never a part. Without
 * replace, an existing path is an error (EEXIST) and stays as it was. */
bool manifest_write_atomic(int dir_fd, const char *path, const void *bytes, size_t len,
                           bool replace, char *err, size_t err_len);

/* One file as the history lists it. */
struct mhl_item {
    char *path;
    char *generation; /* "ascmhl/NNNN_....mhl" the record comes from */
    uint64_t size;
    char modified[32]; /* lastmodificationdate as written */
    struct digests digests;
};

struct mhl_list {
    struct mhl_item *items; /* sorted by path */
    size_t count;
};

/* ascmhl/ read as one history (ASC MHL 5.6.5: a generation may list only
 * the files it added or changed): for each file the record of the newest
 * generation listing it, except files the newest generation names as
 * gone. namfs names them as root-anchored ignore patterns without
 * wildcards ("/seq/a.0001.dpx"), one for every file an earlier generation
 * listed that has left the delivery. */
struct mhl_history {
    struct mhl_list files;
    struct mhl_list gone; /* paths only */
    char newest[256];     /* newest generation file; "" when there is none */
    int sequence;         /* its number, 0 when none */
};

bool mhl_read_history(int root_fd, struct mhl_history *out, char *err, size_t err_len);
void mhl_history_free(struct mhl_history *h);
const struct mhl_item *mhl_find(const struct mhl_list *list, const char *path);

/* Writes the next generation and the chain file, and records the
 * generation in the catalog. It lists landed files with size,
 * modification date and digests in `algos`, each original (new to the
 * history), verified (same digest) or failed (changed). With changes_only
 * (the mount, at each pause) it lists only those the history does not
 * already record as they are, and a changed one is original (the mount
 * saw it written); when there are none and nothing left, no generation is
 * written and out->sequence is 0. Otherwise (namctl manifest: every file
 * checked) it lists them all. `started` (unix seconds) names
 * and dates it. Earlier generations are never touched; concurrent writers
 * take turns (flock on ascmhl/). */
bool mhl_write_generation(struct catalog *cat, int root_fd, const char *root_name, uint32_t algos,
                          bool changes_only, int64_t started, struct catalog_generation *out,
                          char *err, size_t err_len);

#endif
