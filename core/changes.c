/* Changes by name (mkdir, rmdir, unlink, rename, truncate, times, mode,
 * owner, attributes) and what may change at all: BACKING and the catalog
 * change together, inside the changes lock, so that the look-out for
 * changes behind the mount's back never takes one half done for its own. */
#include "stage_internal.h"

#include "namfs/manifest.h"
#include "namfs/naming.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Runs at(dirfd, name) on path's folder; returns 0 or -errno. */
#define AT_PARENT(s, path, call)                                                                   \
    do {                                                                                           \
        const char *name;                                                                          \
        int dirfd = backing_parent(&(s)->backing, path, &name);                                    \
        if (dirfd < 0)                                                                             \
            return dirfd;                                                                          \
        int rc = (call) < 0 ? -errno : 0;                                                          \
        close(dirfd);                                                                              \
        return rc;                                                                                 \
    } while (0)

bool stage_is_manifest(const char *path)
{
    const char *rel = stage_relative(path);
    const char *slash = strrchr(rel, '/');
    size_t n = strlen(MHL_FOLDER);
    return strcmp(slash ? slash + 1 : rel, CHECKSUM_NAME) == 0 ||
           (strncmp(rel, MHL_FOLDER, n) == 0 && (rel[n] == '\0' || rel[n] == '/'));
}

/* A sealed asset is nobody's to change; nothing is while the catalog
 * cannot record changes. A file deleted while open is no part of either. */
int stage_frozen(struct stage *s, const char *path)
{
    bool deleted = !path || backing_hidden_by_fuse(path);
    return !deleted && (sealed_covers(&s->sealed, path) || stage_read_only(s)) ? -EROFS : 0;
}

int stage_may_change(struct stage *s, const char *path)
{
    if (stage_is_manifest(path) || backing_hidden_by_fuse(path))
        return -EPERM;
    return stage_frozen(s, path);
}

/* A file being written takes its times with it when it settles; one that
 * landed and has not been written since (touch(1) sets the time through a
 * descriptor still open after an earlier close() settled the file) takes
 * them now, like a closed one. */
static bool row_is_current(struct stage *s, const struct stat *st)
{
    struct landing *r = landing_find(s->landings, st);
    if (!r)
        return true;
    pthread_mutex_lock(&r->lock);
    landing_await(r, LANDING_WAIT_MS);
    bool current = r->state == LANDING_LANDED && !r->written;
    pthread_mutex_unlock(&r->lock);
    landing_put(s->landings, r);
    return current;
}

/* rsync -a, tar and cp -p set times (and rsync renames) after writing:
 * the content stays as it landed, so the catalog takes the new times
 * instead of a remount judging and hashing the file anew. */
int stage_touched(struct stage *s, const char *path, int rc)
{
    struct stat st;
    struct catalog_file *row;

    if (rc != 0 || s->bare || !path || backing_hidden_by_fuse(path) ||
        backing_stat(&s->backing, path, &st) != 0 || !S_ISREG(st.st_mode) ||
        !row_is_current(s, &st) || !(row = malloc(sizeof *row)))
        return rc;
    pthread_mutex_lock(&s->model);
    if (catalog_get_file(s->cat, stage_relative(path), row) && row->state == FILE_LANDED &&
        row->size == (uint64_t)st.st_size) {
        bool new_mtime = stage_ns(st.st_mtim) != row->mtime_ns; /* the MHL records it */
        row->mtime_ns = stage_ns(st.st_mtim);
        row->ctime_ns = stage_ns(st.st_ctim);
        if (!catalog_put_file(s->cat, row))
            stage_cannot_record(s, "recording", path);
        if (new_mtime)
            stage_changed_now(s);
    }
    pthread_mutex_unlock(&s->model);
    free(row);
    return rc;
}

static int make_folder(int dirfd, const char *name, mode_t mode, const struct stage_caller *who)
{
    if (mkdirat(dirfd, name, mode) != 0)
        return -1;
    return fchownat(dirfd, name, who->uid, stage_new_group(dirfd, who), AT_SYMLINK_NOFOLLOW);
}

int stage_mkdir(struct stage *s, const char *path, mode_t mode, const struct stage_caller *who)
{
    int refused = stage_may_change(s, path);
    if (refused)
        return refused;
    AT_PARENT(s, path, make_folder(dirfd, name, mode, who));
}

int stage_rmdir(struct stage *s, const char *path)
{
    int refused = stage_may_change(s, path);
    if (refused)
        return refused;
    if (sealed_within(&s->sealed, path))
        return -EROFS;
    AT_PARENT(s, path, unlinkat(dirfd, name, AT_REMOVEDIR));
}

static int unlink_at(struct stage *s, const char *path)
{
    AT_PARENT(s, path, unlinkat(dirfd, name, 0));
}

/* The last release of a file deleted while open removes its hidden name
 * (libfuse does), whatever has been sealed or frozen since the delete. */
static int unlink_through(struct stage *s, const char *path)
{
    if (backing_hidden_by_fuse(path))
        return unlink_at(s, path);
    int refused = stage_may_change(s, path);
    if (refused)
        return refused;
    if (stage_unlink_refused(s, path))
        return 0; /* refused data goes to the quarantine, not away */
    int rc = unlink_at(s, path);
    if (rc == 0)
        stage_removed(s, path);
    return rc;
}

int stage_unlink(struct stage *s, const char *path)
{
    pthread_rwlock_rdlock(&s->changes);
    int rc = unlink_through(s, path);
    pthread_rwlock_unlock(&s->changes);
    return rc;
}

static bool is_folder(struct stage *s, const char *path)
{
    struct stat st;
    return backing_stat(&s->backing, path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Frames are judged under their path (N2-N4: a frame is named after its
 * folder), so a folder holding landed frames keeps its name: renaming it
 * would break every frame at once. Moving the frames one by one judges
 * each under its new name. */
static bool carries_landed_frames(struct stage *s, const char *from, const char *to)
{
    if (!is_folder(s, from))
        return false;
    long count = stage_frames_beneath(s, from);
    if (count == 0)
        return false;
    struct verdict v = {.rule = RULE_N4};
    snprintf(v.message, sizeof v.message,
             "rename to %s refused: expected a folder without landed frames, found %ld; move its "
             "frames one by one under their new names",
             to, count);
    stage_log_refusal(s, from, &v);
    return true;
}

static int rename_in_backing(struct stage *s, const char *from, const char *to, unsigned flags)
{
    const char *from_name, *to_name;
    int from_dir = backing_parent(&s->backing, from, &from_name);
    if (from_dir < 0)
        return from_dir;
    int to_dir = backing_parent(&s->backing, to, &to_name);
    if (to_dir < 0) {
        close(from_dir);
        return to_dir;
    }
    int rc = renameat2(from_dir, from_name, to_dir, to_name, flags) == 0 ? 0 : -errno;
    close(from_dir);
    close(to_dir);
    return rc;
}

/* libfuse hides a file unlinked (or about to be renamed over) while open
 * under a hidden name until its last release: to the delivery that is the
 * delete, and refused data still goes to the quarantine, not away. */
static int hide_deleted(struct stage *s, const char *from, const char *hidden)
{
    int refused = stage_may_change(s, from);
    if (refused)
        return refused;
    if (stage_unlink_refused(s, from))
        return 0;
    int rc = rename_in_backing(s, from, hidden, 0);
    if (rc == 0)
        stage_removed(s, from);
    return rc;
}

/* The catalog follows a rename BACKING did: an exchange swaps two rows;
 * a move may replace the target's row, and a new name that judges
 * differently (another frame, asset, or a temp file's final name) is
 * judged and hashed anew. */
static void record_rename(struct stage *s, const char *from, const char *to, unsigned flags)
{
    char before[4096], after[4096];

    if (flags & RENAME_EXCHANGE) {
        stage_renamed(s, to, "\x01swap"); /* three moves swap the two catalog records */
        stage_renamed(s, from, to);
        stage_renamed(s, "\x01swap", from);
        stage_touched(s, from, 0); /* a rename changes ctime, not content */
        stage_touched(s, to, 0);
        return;
    }
    stage_replaced(s, to, from);
    stage_renamed(s, from, to);
    if (is_folder(s, to))
        return;
    if (strcmp(stage_judged_name(from, before, sizeof before),
               stage_judged_name(to, after, sizeof after)) != 0 &&
        !s->bare)
        stage_rejudge(s, to); /* the name decides naming and sequence rules */
    else
        stage_touched(s, to, 0);
}

static int rename_through(struct stage *s, const char *from, const char *to, unsigned flags)
{
    if (backing_hidden_by_fuse(to) && !(flags & RENAME_EXCHANGE))
        return hide_deleted(s, from, to);
    int refused = stage_may_change(s, from);
    refused = refused ? refused : stage_may_change(s, to);
    if (refused)
        return refused;
    if (sealed_within(&s->sealed, from) || sealed_within(&s->sealed, to))
        return -EROFS;
    if (carries_landed_frames(s, from, to) ||
        ((flags & RENAME_EXCHANGE) && carries_landed_frames(s, to, from)))
        return -EPERM;
    int rc = rename_in_backing(s, from, to, flags);
    if (rc == 0)
        record_rename(s, from, to, flags);
    return rc;
}

int stage_rename(struct stage *s, const char *from, const char *to, unsigned flags)
{
    pthread_rwlock_rdlock(&s->changes);
    int rc = rename_through(s, from, to, flags);
    pthread_rwlock_unlock(&s->changes);
    return rc;
}

/* Of a file being written, its record hears of it (its last writer's
 * close() settles it); of a closed file, judged and hashed anew now. */
static int truncate_by_path(struct stage *s, const char *path, off_t size)
{
    struct hash_cursor cursor;
    struct stat st;
    int fd = backing_open_quietly(&s->backing, path, O_RDWR);

    if (fd < 0)
        return fd;
    struct landing *r = fstat(fd, &st) == 0 ? landing_find(s->landings, &st) : NULL;
    if (r) {
        int rc = stage_cut_open(r, fd, size);
        landing_put(s->landings, r);
        close(fd);
        return rc;
    }
    int rc = ftruncate(fd, size) == 0 ? 0 : -errno;
    struct hasher *h = rc == 0 && !s->bare ? hasher_new(s->algos) : NULL;
    if (h) {
        hash_cursor_init(&cursor, h);
        stage_settle(s, path, fd, &cursor, NULL);
    }
    hasher_free(h);
    close(fd);
    return rc;
}

int stage_truncate(struct stage *s, const char *path, off_t size)
{
    int refused = stage_may_change(s, path);
    if (refused)
        return refused;
    pthread_rwlock_rdlock(&s->changes);
    int rc = truncate_by_path(s, path, size);
    pthread_rwlock_unlock(&s->changes);
    return rc;
}
