#include "progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

double progress_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_start(struct progress *p, size_t files, uint64_t bytes)
{
    atomic_store(&p->counters.files_done, 0);
    atomic_store(&p->counters.bytes_done, 0);
    p->files = files;
    p->bytes = bytes;
    p->started = progress_now();
    p->shown = false;
}

void progress_tick(void *arg)
{
    struct progress *p = arg;
    double elapsed = progress_now() - p->started;
    uint64_t done = atomic_load(&p->counters.bytes_done);
    double rate = elapsed > 0 ? (double)done / elapsed : 0;
    double eta = rate > 0 && p->bytes > done ? (double)(p->bytes - done) / rate : 0;

    if (!isatty(STDERR_FILENO))
        return;
    fprintf(stderr, "\rhashing: %zu/%zu files, %.1f/%.1f GB, %.0f MB/s, ETA %d:%02d\033[K",
            atomic_load(&p->counters.files_done), p->files, (double)done / 1e9,
            (double)p->bytes / 1e9, rate / 1e6, (int)eta / 60, (int)eta % 60);
    p->shown = true;
}

void progress_end(struct progress *p)
{
    if (p->shown)
        fputs("\r\033[K", stderr);
}

bool progress_hash(int root_fd, struct hash_job *jobs, size_t count, uint32_t algos, int workers,
                   struct progress *p)
{
    bool ok = hash_pool_run(root_fd, jobs, count, algos, workers, &p->counters, progress_tick, p);
    progress_end(p);
    return ok;
}
