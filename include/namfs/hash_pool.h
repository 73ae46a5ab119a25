/* Hashing many files at once: a few worker threads, each reading whole
 * files in large sequential reads, so a folder hashes at disk speed. */
#ifndef NAMFS_HASH_POOL_H
#define NAMFS_HASH_POOL_H

#include "namfs/hash.h"

#include <stdatomic.h>
#include <stdint.h>

struct hash_job {
    const char *path; /* relative to the pool's root fd */
    bool skip;        /* already known: the pool leaves it alone */
    /* filled by the pool: */
    int error;    /* errno, 0 on success */
    bool changed; /* kept changing while it was hashed (error is EAGAIN) */
    uint64_t size;
    int64_t mtime_ns, ctime_ns;
    int64_t hashed_at;
    struct digests digests;
};

/* Live counters, for a progress display from another thread. */
struct hash_progress {
    atomic_size_t files_done;
    atomic_uint_fast64_t bytes_done;
};

/* Hashes every job with `workers` threads (at least 1). Calls tick(ctx)
 * from the calling thread about every 200 ms while it waits, if set.
 * Returns false only when the threads could not run; per-file failures
 * are in each job's error. */
bool hash_pool_run(int root_fd, struct hash_job *jobs, size_t count, uint32_t algos, int workers,
                   struct hash_progress *progress, void (*tick)(void *ctx), void *ctx);

#endif
