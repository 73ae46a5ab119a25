/* Verification of a delivery against its own manifests: every
 * checksum.txt and the ASC MHL history (each file's newest record, see
 * mhl_read_history), compared with digests of the files as they are on
 * disk now. */
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
struct expectations *verify_load(int root_fd, const char *const *paths, size_t count, char *err,
                                 size_t err_len);
void verify_free(struct expectations *e);

/* The digests the manifests hold, to hash the files with. */
uint32_t verify_algos(const struct expectations *e);

/* The newest generation, "ascmhl/0003_....mhl", or "" without an MHL. */
const char *verify_generation(const struct expectations *e);

/* Compares the hashed files (sorted by path; not the ascmhl/ folder or
 * hidden files) with the manifests; calls report() per problem and
 * returns how many there were. */
typedef void (*verify_report_fn)(void *ctx, const struct verify_issue *issue);
size_t verify_compare(const struct expectations *e, const struct hash_job *files, size_t count,
                      verify_report_fn report, void *ctx);

const char *verify_problem_name(enum verify_problem problem);

#endif
