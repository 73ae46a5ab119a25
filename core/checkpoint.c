/* Manifests (checksum.txt per sequence folder, an ASC MHL generation at
 * the root) are written off the request path, by the checkpoint thread,
 * once landings pause: as Redis's bio.c keeps slow work off its event
 * loop. A checkpoint never lists a file that is not on disk (M3) or that
 * changed behind the mount's back unjudged. */
#include "stage_internal.h"

#include "namfs/custody.h"
#include "namfs/manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

/* forced: every folder that changed gets its checksum.txt now (sync,
 * unmount, seal); otherwise one rewritten moments ago waits (manifest.h:
 * CHECKSUM_COST_FACTOR), the manifests stay pending, and the checkpoint
 * comes back when it is due. */
static void checkpoint(struct stage *s, bool forced)
{
    struct catalog_generation g;
    char err[4400];

    if (s->bare)
        return;
    if (!stage_recover(s)) {
        char where[PATH_MAX + 64];
        stage_log(s, LOG_ERR,
                  "manifests not written: the catalog %s cannot record "
                  "changes; they are written once it can, at the latest by the next "
                  "mount",
                  stage_catalog_place(s, where, sizeof where));
        return;
    }
    if (landing_any_unsynced(s->landings) || !stage_refresh_landed(s))
        return; /* a landed file is not on disk yet: the next pause writes them */
    pthread_mutex_lock(&s->model);
    if (s->dirty && !stage_writes_manifests(s))
        s->dirty = false; /* another host's mount holds the lease: it writes them */
    if (s->dirty && !stage_read_only(s)) { /* not from a catalog that just missed a change */
        int64_t signature = 0;
        bool ok = stage_shared_signature(s, &signature) &&
                  checksum_write_all(s->cat, s->backing.root, s->profile.checksum_hash, s->algos,
                                     &s->checksums, forced, err, sizeof err) &&
                  custody_update(s->cat, s->backing.root, s->root_name, s->profile.mhl_hashes,
                                 time(NULL), &g, NULL, err, sizeof err);
        if (ok)
            stage_shared_written(s, signature);
        if (!ok)
            stage_log(s, LOG_ERR, "writing manifests: %s", err);
        else if (g.sequence)
            stage_log(s, LOG_INFO, "manifests written, %s/%s", MHL_FOLDER, g.file);
        double deferred = ok ? s->checksums.retry_in : 0;
        s->dirty = !ok || deferred > 0;
        s->checkpoint_failed = !ok;
        clock_gettime(CLOCK_MONOTONIC, &s->checkpoint_due);
        int64_t due_ns = stage_ns(s->checkpoint_due) + (int64_t)(deferred * 1e9);
        s->checkpoint_due = (struct timespec){due_ns / 1000000000, due_ns % 1000000000};
        if (!ok) /* tried again after the next quiet period, not every tick */
            clock_gettime(CLOCK_MONOTONIC, &s->last_change);
    }
    pthread_mutex_unlock(&s->model);
}

void stage_checkpoint(struct stage *s)
{
    checkpoint(s, true);
}

struct timespec stage_changed_at(struct stage *s)
{
    pthread_mutex_lock(&s->model);
    struct timespec at = s->last_change_real;
    pthread_mutex_unlock(&s->model);
    return at;
}

static double seconds_since(const struct timespec *then)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - then->tv_sec) + (double)(now.tv_nsec - then->tv_nsec) / 1e9;
}

/* Polls often enough that a checkpoint follows the pause within 50 ms;
 * every 5 s it also looks for landed files changed behind the mount's
 * back, a slice of them per round (stage_look_out), so that they leave
 * checksum.txt as the mount shows it and the next manifests. */
static void *checkpoint_loop(void *arg)
{
    struct stage *s = arg;
    unsigned ticks = 0;

    while (__atomic_load_n(&s->running, __ATOMIC_ACQUIRE)) {
        nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
        if (++ticks % 100 == 0 && stage_recover(s))
            stage_look_out(s, LOOK_OUT_SLICE);
        if (ticks % (SHARED_ROUND_MS / 50) == 0)
            stage_shared_round(s);
        pthread_mutex_lock(&s->model);
        bool due = s->dirty && seconds_since(&s->last_change) >= s->quiet_after &&
                   seconds_since(&s->checkpoint_due) >= 0 && !stage_read_only(s);
        pthread_mutex_unlock(&s->model);
        if (due)
            checkpoint(s, false);
    }
    return NULL;
}

int stage_sync(struct stage *s)
{
    int shared = s->shared && !s->bare ? stage_shared_sync(s) : 1;
    if (shared <= 0)
        return shared; /* the lease holder wrote them, or could not */
    for (int waited_ms = 0;; waited_ms += 20) {
        stage_checkpoint(s);
        pthread_mutex_lock(&s->model);
        bool dirty = s->dirty, failed = s->checkpoint_failed;
        pthread_mutex_unlock(&s->model);
        if (!dirty || s->bare)
            return 0;
        if (stage_read_only(s))
            return -EROFS;
        if (failed)
            return -EIO; /* the log says why */
        if (waited_ms >= 60000)
            return -EAGAIN;
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
}

const char *stage_state_folder(const struct stage *s)
{
    return s->state_path;
}

/* namfs.pid in the state folder, locked for as long as this process
 * lives: whoever takes the lock after it knows the daemon is gone. */
static void hold_pid(struct stage *s)
{
    char path[PATH_MAX + 16], text[32];

    snprintf(path, sizeof path, "%s/namfs.pid", s->state_path);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
        stage_log(s, LOG_WARNING, "%s: %s: namctl unmount cannot wait for this daemon", path,
                  strerror(errno));
        if (fd >= 0)
            close(fd);
        return;
    }
    int len = snprintf(text, sizeof text, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)len, 0) != len)
        stage_log(s, LOG_WARNING, "%s: %s", path, strerror(errno));
    s->pid_fd = fd;
}

void stage_start(struct stage *s)
{
    if (s->bare)
        return;
    hold_pid(s);
    stage_shared_round(s); /* the first mount of a shared catalog writes its manifests */
    __atomic_store_n(&s->running, true, __ATOMIC_RELEASE);
    if (pthread_create(&s->thread, NULL, checkpoint_loop, s) != 0) {
        __atomic_store_n(&s->running, false, __ATOMIC_RELEASE);
        stage_log(s, LOG_ERR, "no checkpoint thread: manifests are written at unmount");
    }
}

void stage_stop(struct stage *s)
{
    if (__atomic_exchange_n(&s->running, false, __ATOMIC_ACQ_REL))
        pthread_join(s->thread, NULL);
    stage_shared_round(s); /* the lease, if it is free: the last mount writes them */
    stage_checkpoint(s);
}
