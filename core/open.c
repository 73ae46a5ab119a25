/* Opening files of BACKING for a request. A change goes to a file in
 * flight (namfs/inflight.h): the one already in flight under that name,
 * or a new one beside it, empty (a new file, O_TRUNC) or a copy of the
 * file it rewrites. The last release puts it in place (stage_place). */
#include "stage_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* New files and folders belong to whoever made them, as on a local
 * filesystem: the request's uid, and its gid unless the folder they are
 * made in is setgid (then the folder's group, which BACKING gave them). */
gid_t stage_new_group(int dirfd, const struct stage_caller *who)
{
    struct stat parent;
    bool inherits = fstat(dirfd, &parent) == 0 && (parent.st_mode & S_ISGID);
    return inherits ? (gid_t)-1 : who->gid;
}

/* Written files are opened for reading too: the digest catches up at
 * close by reading what the write stream skipped. */
static int open_for_hashing(struct stage *s, const char *path, int flags, mode_t mode)
{
    /* the kernel gives an appending write its offset (the end of the file
     * as it knows it); the digest follows that offset, so BACKING must too.
     * O_DIRECT is the kernel's business on the mount (it sends such I/O
     * past its cache); namfs's buffers are not aligned for BACKING's, and
     * the release syncs what was written anyway. */
    flags &= ~(O_APPEND | O_DIRECT);
    if ((flags & O_ACCMODE) != O_WRONLY)
        return backing_open(&s->backing, path, flags, mode);
    int fd = backing_open(&s->backing, path, (flags & ~O_ACCMODE) | O_RDWR, mode);
    return fd == -EACCES ? backing_open(&s->backing, path, flags, mode) : fd;
}

static int unlink_in_backing(struct stage *s, const char *path)
{
    const char *name;
    int dirfd = backing_parent(&s->backing, path, &name);
    if (dirfd < 0)
        return dirfd;
    int rc = unlinkat(dirfd, name, 0) == 0 ? 0 : -errno;
    close(dirfd);
    return rc;
}

/* The owner of a new file: its maker (with a setgid folder's group), or,
 * for the copy a rewrite works on, the owner of the file it rewrites. A
 * chown clears set-id bits, so the mode is set again. */
static int own(struct stage *s, const char *path, int fd, mode_t mode,
               const struct stage_caller *who, const struct stat *was)
{
    const char *name;
    int dirfd = backing_parent(&s->backing, path, &name);
    if (dirfd < 0)
        return dirfd;
    gid_t group = was ? was->st_gid : stage_new_group(dirfd, who);
    close(dirfd);
    uid_t uid = was ? was->st_uid : who->uid;
    mode = was ? was->st_mode & 07777 : mode;
    if (fchown(fd, uid, group) != 0 || ((mode & (S_ISUID | S_ISGID) || was) && fchmod(fd, mode)))
        return -errno;
    return 0;
}

/* The bytes of the file at from, into fd (a rewrite in place works on a
 * copy, so BACKING keeps the landed frame until the new bytes land). */
static int copy_bytes(struct stage *s, const char *from, int fd)
{
    int src = backing_open_quietly(&s->backing, from, O_RDONLY);
    if (src < 0)
        return src;
    ssize_t n;
    while ((n = copy_file_range(src, NULL, fd, NULL, 1 << 30, 0)) > 0)
        ;
    int rc = n < 0 ? -errno : 0;
    close(src);
    return rc;
}

/* A new file in flight for path: empty, or (copy) with the bytes, mode and
 * owner of the file at path it rewrites (was). Returns its fd and its
 * BACKING path in *backing (malloc'd), or -errno. */
static int new_in_flight(struct stage *s, const char *path, int flags, mode_t mode,
                         const struct stage_caller *who, const struct stat *was, bool copy,
                         char **backing)
{
    char *name = inflight_name_for(path, s->owner);
    if (!name)
        return -ENOMEM;
    /* read-write whatever the caller asked: namfs copies into it and reads
     * it back to hash it (the kernel keeps the caller to its own mode) */
    int fd = open_for_hashing(s, name, (flags & ~(O_TRUNC | O_ACCMODE)) | O_RDWR | O_CREAT | O_EXCL,
                              mode);
    int rc = fd < 0 ? fd : own(s, name, fd, mode, who, was);
    if (rc == 0 && copy)
        rc = copy_bytes(s, path, fd);
    if (rc < 0) {
        if (fd >= 0) {
            close(fd);
            unlink_in_backing(s, name); /* nothing half made stays */
        }
        free(name);
        return rc;
    }
    *backing = name;
    return fd;
}

/* Joins the file in flight as path, if any: its fd, 0 when none, or
 * -errno (EEXIST for O_EXCL: it exists as far as anyone can see). */
static int join_in_flight(struct stage *s, const char *path, int flags, struct stage_handle *h)
{
    char at[PATH_MAX];
    struct inflight *e = inflight_join(&s->flights, path, at, sizeof at);
    if (!e)
        return 0;
    int fd = (flags & O_CREAT) && (flags & O_EXCL)
                 ? -EEXIST
                 : open_for_hashing(s, at, flags & ~(O_CREAT | O_EXCL), 0);
    if (fd < 0) {
        h->flight = e;
        stage_let_go(s, h); /* let go of it again */
        return fd;
    }
    h->flight = e;
    return fd;
}

/* The file a change through the mount writes: in flight, joined or new. */
static int open_in_flight(struct stage *s, const char *path, int flags, mode_t mode,
                          const struct stage_caller *who, struct stage_handle *h, bool *created)
{
    struct stat was;
    char *backing;

    int fd = join_in_flight(s, path, flags, h);
    if (fd != 0)
        return fd;
    bool exists = backing_stat(&s->backing, path, &was) == 0;
    if (!exists && !(flags & O_CREAT))
        return -ENOENT;
    if (exists && (flags & O_CREAT) && (flags & O_EXCL))
        return -EEXIST;
    if (exists && !S_ISREG(was.st_mode)) /* a folder, or what BACKING says it is */
        return open_for_hashing(s, path, flags & ~O_CREAT, 0);
    bool copy = exists && !(flags & O_TRUNC);
    *created = !exists;
    fd = new_in_flight(s, path, flags, mode, who, exists ? &was : NULL, copy, &backing);
    if (fd < 0)
        return fd;
    bool raced;
    char theirs[PATH_MAX];
    h->flight = inflight_add(&s->flights, path, backing, theirs, sizeof theirs, &raced);
    if (!h->flight || raced) { /* another open got there first: use its file */
        close(fd);
        unlink_in_backing(s, backing);
        fd = !h->flight ? -ENOMEM
             : (flags & O_CREAT) && (flags & O_EXCL)
                 ? -EEXIST
                 : open_for_hashing(s, theirs, flags & ~O_CREAT, 0);
        if (fd < 0 && h->flight)
            stage_let_go(s, h);
    }
    free(backing);
    return fd;
}

/* Bare mode writes BACKING in place, as a plain passthrough does. */
static int open_in_place(struct stage *s, const char *path, int flags, mode_t mode,
                         const struct stage_caller *who, bool *created)
{
    int fd = open_for_hashing(s, path, flags | (flags & O_CREAT ? O_EXCL : 0), mode);
    if (fd == -EEXIST && !(flags & O_EXCL))
        return open_for_hashing(s, path, flags & ~O_CREAT, mode);
    *created = fd >= 0 && (flags & O_CREAT);
    int rc = fd >= 0 && (flags & O_CREAT) ? own(s, path, fd, mode, who, NULL) : 0;
    if (rc < 0) {
        close(fd);
        unlink_in_backing(s, path);
        return rc;
    }
    return fd;
}

/* Inside the changes lock, so that the way back from read-only finds
 * either this writer open or its refusal to come. A file created or
 * truncated by the open has changed before any write: its record hears of
 * it, so even an empty new file lands. A handle that creates a file writes
 * it, whatever its access mode (flock(1) creates its lock file
 * O_RDONLY). */
static int open_for_change(struct stage *s, const char *path, int flags, mode_t mode,
                           const struct stage_caller *who, struct stage_handle *h)
{
    bool created = false;
    pthread_rwlock_rdlock(&s->changes);
    int rc = stage_may_change(s, path);
    int fd = rc        ? rc
             : s->bare ? open_in_place(s, path, flags, mode, who, &created)
                       : open_in_flight(s, path, flags, mode, who, h, &created);
    rc = fd < 0 ? fd : stage_join(s, h, fd, who);
    if (rc != 0 && h->flight)
        stage_let_go(s, h);
    if (rc == 0 && (created || (flags & O_TRUNC))) {
        pthread_mutex_lock(&h->inode->lock);
        landing_reopen(h->inode);
        landing_cut(h->inode, 0);
        pthread_mutex_unlock(&h->inode->lock);
    }
    pthread_rwlock_unlock(&s->changes);
    return rc;
}

int stage_open(struct stage *s, const char *path, int flags, mode_t mode,
               const struct stage_caller *who, struct stage_handle *h, bool *cacheable)
{
    char at[PATH_MAX];

    *cacheable = false;
    h->inode = NULL;
    h->flight = NULL;
    h->closed = false;
    if ((flags & O_ACCMODE) == O_ACCMODE)
        return -EINVAL; /* neither reading nor writing: nothing namfs can serve */
    if ((flags & (O_ACCMODE | O_TRUNC | O_CREAT)) != O_RDONLY)
        return open_for_change(s, path, flags, mode, who, h);
    h->fd = open_for_hashing(s, stage_locate(s, path, at, sizeof at), flags, 0);
    if (h->fd < 0)
        return h->fd;
    /* A landed frame that has not changed since may be read from the
     * kernel's cache of it (written or read through the mount before). */
    *cacheable = !s->bare && stage_landed_as_is(s, path, h->fd);
    return 0;
}

/* Renames the file in flight to the name the mount shows, replacing what
 * BACKING had there (a file refused meanwhile has left for the quarantine:
 * nothing to move). ctx keeps the name, for the folder's sync. */
struct placing {
    struct stage *s;
    char shown[PATH_MAX];
};

static int put_in_place(void *ctx, const char *backing, const char *shown)
{
    struct placing *p = ctx;
    snprintf(p->shown, sizeof p->shown, "%s", shown);
    int rc = stage_rename_in_backing(p->s, backing, shown, 0);
    return rc == -ENOENT ? 0 : rc;
}

/* The folder's own sync, so that the new name is durable too. */
static void sync_folder(struct stage *s, const char *path)
{
    const char *name;
    int dirfd = backing_parent(&s->backing, path, &name);
    if (dirfd >= 0) {
        int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY);
        if (fd >= 0 && fsync(fd) != 0 && errno != EINVAL)
            stage_log(s, LOG_ERR, "syncing the folder of %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        close(dirfd);
    }
}

int stage_place(struct stage *s, struct stage_handle *h)
{
    struct placing p = {.s = s};

    if (!h->flight)
        return 0;
    int rc = inflight_place(&s->flights, h->flight, put_in_place, &p);
    if (rc != 0)
        stage_log(s, LOG_ERR, "%s: cannot take its name in BACKING (%s): left in flight", p.shown,
                  strerror(-rc));
    else if (*p.shown) {
        sync_folder(s, p.shown);
        stage_retimed(s, p.shown); /* the rename moved its ctime */
    }
    return rc;
}

void stage_let_go(struct stage *s, struct stage_handle *h)
{
    struct inflight *e = h->flight;

    if (e && inflight_leave(&s->flights, e)) {
        stage_place(s, h); /* not landed (an empty frame, a failed hash): BACKING judges it */
        inflight_free(&s->flights, e);
    }
    h->flight = NULL;
}
