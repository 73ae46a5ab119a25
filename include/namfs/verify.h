/* Verification of a delivery against its own manifests, compared with
 * digests of the files as they are on disk now (SPEC M5):
 *   - the ASC MHL history read as the reference tool reads it
 *     (namfs/mhl.h): each file against its path's first original, a
 *     renamed one against the path it came from, with the newest
 *     generation's ignore patterns matched as the tool matches them
 *     (namfs/ignore.h), so both verifiers check the same files;
 *   - every checksum.txt, which is what covers an asset not sealed yet. */
#ifndef NAMFS_VERIFY_H
#define NAMFS_VERIFY_H

#include "namfs/hash_pool.h"

#include <stddef.h>

enum verify_problem { VERIFY_MISSING, VERIFY_EXTRA, VERIFY_SIZE, VERIFY_HASH };

struct verify_issue {
    enum verify_problem problem;
    const char *path;
    const char *source; /* "a/checksum.txt" or "ascmhl/0003_....mhl" */
    char expected[HASH_TEXT_MAX + 16], found[HASH_TEXT_MAX + 16];
};

struct expectations;

/* Loads the MHL history and the checksum.txt files among paths
 * (relative to root_fd). NULL with err when one cannot be read, or when
 * there is no manifest at all. */
struct expectations *verify_load(int root_fd, const char *root_abs, const char *const *paths,
                                 size_t count, char *err, size_t err_len);
void verify_free(struct expectations *e);

/* The digests the manifests hold, to hash the files with. */
uint32_t verify_algos(const struct expectations *e);

/* The newest generation, "ascmhl/0003_....mhl", or "" without an MHL. */
const char *verify_generation(const struct expectations *e);

/* What a comparison checked, besides the problems it found. */
struct verify_counts {
    size_t issues;
    size_t sealed;      /* files checked against the history */
    size_t unsealed;    /* files the history's patterns leave out (not sealed yet) */
    size_t in_checksum; /* files checked against a checksum.txt */
};

/* Compares the hashed files (sorted by path; not the ascmhl/ folder or
 * hidden files) with the manifests; calls report() per problem and
 * returns how many there were. root_abs is the delivery's absolute path.
 * counts may be NULL. */
typedef void (*verify_report_fn)(void *ctx, const struct verify_issue *issue);
size_t verify_compare(const struct expectations *e, const struct hash_job *files, size_t count,
                      verify_report_fn report, void *ctx, struct verify_counts *counts);

const char *verify_problem_name(enum verify_problem problem);

#endif
