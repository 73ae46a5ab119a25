/* Changes by name (mkdir, rmdir, unlink, rename, truncate, times, mode,
 * owner, attributes) and what may change at all: BACKING and the catalog
 * change together, inside the changes lock, so that the look-out for
 * changes behind the mount's back never takes one half done for its own. */
#include "stage_internal.h"

#include "namfs/manifest.h"
#include "namfs/naming.h"
#include "namfs/walk.h"

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

/* A sealed asset is nobody's to change (on a shared catalog, sealed
 * through any host); nothing is while the catalog cannot record changes. A file deleted while open
 * is no part of either. */
int stage_frozen(struct stage *s, const char *path)
{
    bool deleted = !path || backing_hidden_by_fuse(path);
    if (!deleted && s->shared)
        stage_shared_seals(s); /* sealed through another host a moment ago */
    return !deleted && (sealed_covers(&s->sealed, path) || stage_read_only(s)) ? -EROFS : 0;
}

/* A folder named ascmhl below the delivery root: the reference tool takes
 * it for a nested history and stops when it has no chain (SPEC M2). */
static bool nested_history(const char *path)
{
    const char *rel = stage_relative(path);
    size_t n = strlen(MHL_FOLDER);

    for (const char *c = strchr(rel, '/'); c; c = strchr(c + 1, '/'))
        if (strncmp(c + 1, MHL_FOLDER, n) == 0 && (c[1 + n] == '\0' || c[1 + n] == '/'))
            return true;
    return false;
}

int stage_may_change(struct stage *s, const char *path)
{
    if (stage_is_manifest(path) || backing_hidden_by_fuse(path) || inflight_is_name(path))
        return -EPERM; /* namfs's own files and names */
    if (nested_history(path)) {
        stage_log(s, LOG_WARNING,
                  "%s refused (M2): a folder named %s below the delivery root is a "
                  "nested MHL history to the ASC's tools; name it otherwise",
                  path, MHL_FOLDER);
        return -EPERM;
    }
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

/* The landed row of path takes the times BACKING has for its file now
 * (content unchanged: same size). */
void stage_retimed(struct stage *s, const char *path)
{
    struct stat st;
    struct catalog_file *row;
    char at[PATH_MAX];

    if (backing_stat(&s->backing, stage_locate(s, path, at, sizeof at), &st) != 0 ||
        !S_ISREG(st.st_mode) || !(row = malloc(sizeof *row)))
        return;
    pthread_mutex_lock(&s->model);
    if (catalog_get_file(s->cat, stage_relative(path), row) &&
        (row->state == FILE_LANDED || row->state == FILE_HELD) &&
        row->size == (uint64_t)st.st_size) {
        bool new_mtime = stage_ns(st.st_mtim) != row->mtime_ns; /* the MHL records it */
        row->mtime_ns = stage_ns(st.st_mtim);
        row->ctime_ns = stage_ns(st.st_ctim);
        if (!catalog_put_file(s->cat, row))
            stage_cannot_record(s, "recording", path);
        if (new_mtime && row->state == FILE_LANDED)
            stage_changed_now(s);
    }
    pthread_mutex_unlock(&s->model);
    free(row);
}

/* rsync -a, tar and cp -p set times (and rsync renames) after writing:
 * the content stays as it landed, so the catalog takes the new times
 * instead of a remount judging and hashing the file anew. */
int stage_touched(struct stage *s, const char *path, int rc)
{
    struct stat st;
    char at[PATH_MAX];

    if (rc == 0 && !s->bare && path && !backing_hidden_by_fuse(path) &&
        backing_stat(&s->backing, stage_locate(s, path, at, sizeof at), &st) == 0 &&
        S_ISREG(st.st_mode) && row_is_current(s, &st))
        stage_retimed(s, path);
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

/* A held file whose rename to a final name was refused holds data a
 * rule refused: deleted (rsync gives up on its temp file so), it goes to
 * the quarantine instead, so that nothing refused is lost. */
static bool unlink_held_refusal(struct stage *s, const char *path)
{
    struct catalog_file *row = malloc(sizeof *row);

    pthread_mutex_lock(&s->model);
    bool refused = row && catalog_get_file(s->cat, stage_relative(path), row) &&
                   row->state == FILE_HELD && row->verdict.rule != RULE_NONE;
    pthread_mutex_unlock(&s->model);
    if (refused)
        stage_refused(s, path, &row->verdict, "");
    free(row);
    return refused;
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
    if (stage_unlink_refused(s, path) || unlink_held_refusal(s, path))
        return 0; /* refused data goes to the quarantine, not away */
    char at[PATH_MAX];
    struct stat st;
    bool flying = strcmp(stage_locate(s, path, at, sizeof at), path) != 0;
    int rc = unlink_at(s, at);
    if (rc == 0 && flying) { /* the name goes: its file in flight, and what it would replace */
        inflight_deleted(&s->flights, path, at);
        if (backing_stat(&s->backing, path, &st) == 0)
            rc = unlink_at(s, path);
    }
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
    stage_log_refusal(s, from, &v, "");
    return true;
}

int stage_rename_in_backing(struct stage *s, const char *from, const char *to, unsigned flags)
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

/* A rename of the mount's names: of a file in flight, only the name it
 * will take changes (its BACKING file takes it at its last release); of a
 * folder, the files in flight inside move with it. */
int stage_rename_shown(struct stage *s, const char *from, const char *to, unsigned flags)
{
    char at[PATH_MAX];
    struct stat st;
    bool from_flying = strcmp(stage_locate(s, from, at, sizeof at), from) != 0;
    bool to_flying = strcmp(stage_locate(s, to, at, sizeof at), to) != 0;

    if ((flags & RENAME_EXCHANGE) && (from_flying || to_flying))
        return -EBUSY; /* two files, one of them being written: not both at once */
    if (from_flying) {
        if ((flags & RENAME_NOREPLACE) && (to_flying || backing_stat(&s->backing, to, &st) == 0))
            return -EEXIST;
        inflight_rename(&s->flights, from, to, false);
        return 0;
    }
    int rc = stage_rename_in_backing(s, from, to, flags);
    if (rc == 0)
        inflight_rename(&s->flights, from, to, true); /* files in flight in a folder moved */
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
    if (stage_unlink_refused(s, from) || unlink_held_refusal(s, from))
        return 0;
    char at[PATH_MAX];
    bool flying = strcmp(stage_locate(s, from, at, sizeof at), from) != 0;
    int rc = stage_rename_in_backing(s, at, hidden, 0);
    struct stat st;
    if (rc == 0 && flying) { /* what the rewrite would have replaced goes with the name */
        inflight_deleted(&s->flights, from, hidden);
        if (backing_stat(&s->backing, from, &st) == 0)
            rc = unlink_at(s, from);
    }
    if (rc == 0)
        stage_removed(s, from);
    return rc;
}

/* A file renamed to an N6 name is held from then on: it leaves the
 * sequence memory and the manifests (its row keeps its digests). */
static void hold_renamed(struct stage *s, const char *to)
{
    struct catalog_file *row = malloc(sizeof *row);

    pthread_mutex_lock(&s->model);
    if (row && catalog_get_file(s->cat, stage_relative(to), row) && row->state == FILE_LANDED) {
        stage_forget_frame(s, to);
        row->state = FILE_HELD;
        row->frame = -1;
        row->asset[0] = '\0';
        if (!catalog_put_file(s->cat, row))
            stage_cannot_record(s, "recording", to);
        stage_changed_now(s);
    }
    pthread_mutex_unlock(&s->model);
    free(row);
}

/* Files a folder rename took out of an N6 folder (".work/shot" to
 * "shot") are no longer held: each is judged under its new path. They
 * moved together, so a refusal cannot fail the rename: it quarantines. */
static void judge_released(struct stage *s, const char *folder)
{
    char root[PATH_MAX + 4096], err[300], path[4200];
    struct walk_list files;

    snprintf(root, sizeof root, "%s%s", s->backing_path, folder);
    if (!walk_tree(root, &files, err, sizeof err))
        return;
    for (size_t i = 0; i < files.count; i++) {
        snprintf(path, sizeof path, "%s/%s", folder, files.entries[i].relpath);
        if (!files.entries[i].is_symlink && !naming_is_held(path) && !backing_hidden_by_fuse(path))
            stage_rejudge(s, path);
    }
    walk_free(&files);
}

/* The catalog follows a rename BACKING did without judging it first: an
 * exchange swaps two rows; a move takes the row along (a file still being
 * written settles under its new name; one moved to an N6 name is held). */
static void record_rename(struct stage *s, const char *from, const char *to, unsigned flags)
{
    if (flags & RENAME_EXCHANGE) {
        stage_renamed(s, to, "\x01swap"); /* three moves swap the two catalog records */
        stage_renamed(s, from, to);
        stage_renamed(s, "\x01swap", from);
        stage_touched(s, from, 0); /* a rename changes ctime, not content */
        stage_touched(s, to, 0);
        return;
    }
    stage_removed(s, to); /* what was there is gone */
    stage_renamed(s, from, to);
    if (is_folder(s, to)) {
        if (naming_is_held(from) && !naming_is_held(to) && !s->bare)
            judge_released(s, to);
        return;
    }
    if (naming_is_held(to))
        hold_renamed(s, to);
    stage_touched(s, to, 0);
}

/* A closed regular file renamed to another name that is not held is
 * judged under that name before BACKING moves it (stage_land_renamed). A
 * file still being written is not: its close() judges it where it is
 * then. False when the rename is not of that kind. */
static bool judged_first(struct stage *s, const char *from, const char *to, unsigned flags, int *rc)
{
    struct stat st;

    if (s->bare || (flags & RENAME_EXCHANGE) || naming_is_held(to) || strcmp(from, to) == 0)
        return false;
    char at[PATH_MAX];
    int fd = backing_open_quietly(&s->backing, stage_locate(s, from, at, sizeof at),
                                  O_RDONLY | O_NONBLOCK);
    if (fd < 0)
        return false; /* the rename itself says why */
    bool closed = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && row_is_current(s, &st);
    if (closed)
        *rc = stage_land_renamed(s, from, to, flags, fd);
    close(fd);
    return closed;
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
    int rc;
    if (judged_first(s, from, to, flags, &rc))
        return rc;
    rc = stage_rename_shown(s, from, to, flags);
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

/* A truncate by path is a rewrite like any other: through a handle of
 * its own (on a copy in flight, or joining the file's writers), judged at
 * its close when no other handle writes the file; a refusal is its
 * result, and a landed frame it would have cut stays as it was. */
static int truncate_by_path(struct stage *s, const char *path, off_t size)
{
    struct stage_handle h;
    struct stage_caller nobody = {0, 0, 0}; /* no file is made: the owner stays */
    bool cacheable;

    int rc = stage_open(s, path, O_WRONLY, 0, &nobody, &h, &cacheable);
    if (rc < 0)
        return rc;
    rc = stage_cut_open(h.inode, h.fd, size);
    int closed = stage_flush(s, &h, path);
    stage_release(s, &h, path);
    return rc ? rc : closed;
}

int stage_truncate(struct stage *s, const char *path, off_t size)
{
    int refused = stage_may_change(s, path);
    return refused ? refused : truncate_by_path(s, path, size);
}
