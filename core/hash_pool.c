#include "namfs/hash_pool.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct pool {
    int root_fd;
    struct hash_job *jobs;
    size_t count;
    uint32_t algos;
    atomic_size_t next;
    atomic_int running;
    struct hash_progress *progress;
};

static int64_t ns(struct timespec t)
{
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static bool same_file_state(const struct stat *a, const struct stat *b)
{
    return a->st_size == b->st_size && ns(a->st_mtim) == ns(b->st_mtim) &&
           ns(a->st_ctim) == ns(b->st_ctim);
}

/* A digest is only good if the file did not change while it was read:
 * try a few times, then report it as changing. */
static void hash_one(struct pool *p, struct hasher *h, struct hash_job *job)
{
    struct stat before, after;
    int fd = openat(p->root_fd, job->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

    job->error = fd < 0 ? errno : 0;
    for (int attempt = 0; !job->error && attempt < 3; attempt++) {
        if (fstat(fd, &before) != 0) {
            job->error = errno;
            break;
        }
        job->hashed_at = time(NULL);
        hasher_reset(h);
        int64_t n = hasher_read_fd(h, fd, 0, &p->progress->bytes_done);
        if (n < 0 || fstat(fd, &after) != 0) {
            job->error = errno;
            break;
        }
        if (!same_file_state(&before, &after) || n != before.st_size)
            continue;
        hasher_final(h, &job->digests);
        job->size = (uint64_t)n;
        job->mtime_ns = ns(after.st_mtim);
        job->ctime_ns = ns(after.st_ctim);
        close(fd);
        return;
    }
    if (!job->error) {
        job->changed = true;
        job->error = EAGAIN;
    }
    if (fd >= 0)
        close(fd);
}

static void *worker(void *arg)
{
    struct pool *p = arg;
    struct hasher *h = hasher_new(p->algos);

    for (size_t i; h && (i = atomic_fetch_add(&p->next, 1)) < p->count;) {
        if (!p->jobs[i].skip)
            hash_one(p, h, &p->jobs[i]);
        atomic_fetch_add(&p->progress->files_done, 1);
    }
    for (size_t i; !h && (i = atomic_fetch_add(&p->next, 1)) < p->count;)
        p->jobs[i].error = ENOMEM;
    hasher_free(h);
    atomic_fetch_sub(&p->running, 1);
    return NULL;
}

bool hash_pool_run(int root_fd, struct hash_job *jobs, size_t count, uint32_t algos, int workers,
                   struct hash_progress *progress, void (*tick)(void *ctx), void *ctx)
{
    struct hash_progress own = {0};
    struct pool p = {.root_fd = root_fd,
                     .jobs = jobs,
                     .count = count,
                     .algos = algos,
                     .progress = progress ? progress : &own};
    pthread_t threads[64];
    int started = 0;

    if (workers < 1)
        workers = 1;
    if (workers > 64)
        workers = 64;
    atomic_store(&p.running, workers);
    for (; started < workers; started++)
        if (pthread_create(&threads[started], NULL, worker, &p) != 0)
            break;
    atomic_fetch_sub(&p.running, workers - started);
    for (int waited = 0; started && atomic_load(&p.running) > 0; waited++) {
        if (tick && waited % 10 == 0)
            tick(ctx);
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    return started > 0;
}
