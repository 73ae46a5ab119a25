/* The hashing progress line on stderr (files, bytes, MB/s, ETA), shown
 * only when stderr is a terminal. */
#ifndef NAMCTL_PROGRESS_H
#define NAMCTL_PROGRESS_H

#include "namfs/hash_pool.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct progress {
    struct hash_progress counters;
    size_t files;
    uint64_t bytes;
    double started;
    bool shown;
};

double progress_now(void);
void progress_start(struct progress *p, size_t files, uint64_t bytes);
void progress_tick(void *progress); /* for hash_pool_run */
void progress_end(struct progress *p);

/* Runs the pool over jobs with the progress line; returns false when the
 * threads could not start. */
bool progress_hash(int root_fd, struct hash_job *jobs, size_t count, uint32_t algos, int workers,
                   struct progress *p);

#endif
