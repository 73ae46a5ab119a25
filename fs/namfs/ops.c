/* Kernel requests onto the staging engine (namfs/stage.h): each operation
 * finds its stage in the request's context, names the caller, and makes
 * one stage call; what namfs decides lives there. Here: the handles the
 * kernel holds, the virtual .namfs/ folder and checksum.txt views, and
 * libfuse's settings. Symlinks and hard links are refused: a delivery
 * holds regular files and folders only. */
#include "ops.h"

#include "log.h"
#include "readahead.h"
#include "virtual.h"

#include "namfs/manifest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

/* An open file, folder or text: a handle on a file of BACKING (fd -1 for
 * a .namfs/ file or checksum.txt served from a text, and for folders). */
struct open_file {
    struct stage_handle h;
    char *text;                    /* a .namfs/ file's text */
    int view_fd;                   /* checksum.txt's text, in a file; -1 */
    size_t text_len;               /* either's length */
    DIR *dir;                      /* an open folder of BACKING; NULL for .namfs/ */
    struct open_file *prev, *next; /* every handle, for unmount */
};

#define NAMFS_XATTR "user.namfs."

/* The largest request the kernel sends (libfuse 3.14's buffer): cp sizes
 * its writes by st_blksize, so one request per MiB instead of per 128 KiB. */
#define IO_SIZE (1 << 20)

static struct namfs *ctx(void)
{
    return fuse_get_context()->private_data;
}

static struct stage *stage(void)
{
    return ctx()->stage;
}

static struct stage_caller caller(void)
{
    struct fuse_context *c = fuse_get_context();
    return (struct stage_caller){.uid = c->uid, .gid = c->gid, .pid = c->pid};
}

static struct open_file *of(const struct fuse_file_info *fi)
{
    return (struct open_file *)(uintptr_t)fi->fh;
}

static const struct backing *backing(void)
{
    return stage_backing(stage());
}

/* ---- handles ---- */

static void track_open(struct namfs *n, struct open_file *f, bool opened)
{
    pthread_mutex_lock(&n->open_lock);
    if (opened) {
        f->next = n->open_files;
        if (n->open_files)
            n->open_files->prev = f;
        n->open_files = f;
    } else {
        if (f->prev)
            f->prev->next = f->next;
        else
            n->open_files = f->next;
        if (f->next)
            f->next->prev = f->prev;
    }
    pthread_mutex_unlock(&n->open_lock);
}

static struct open_file *new_handle(struct fuse_file_info *fi)
{
    struct open_file *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->h.fd = f->view_fd = -1;
    track_open(ctx(), f, true);
    fi->fh = (uintptr_t)f;
    return f;
}

/* Every handle is tracked, so that what the kernel never released when
 * the mount ends is closed and freed all the same. */
static void free_handle(struct namfs *n, struct open_file *f)
{
    track_open(n, f, false);
    if (f->h.fd >= 0)
        close(f->h.fd);
    if (f->view_fd >= 0)
        close(f->view_fd);
    if (f->dir)
        closedir(f->dir);
    free(f->text);
    free(f);
}

/* Files still open when the mount ends (SIGTERM, or the kernel gone) get
 * no release. */
static void abandon_handles(struct namfs *n)
{
    while (n->open_files) {
        struct open_file *f = n->open_files;
        if (f->h.inode || f->h.fd >= 0)
            stage_abandon(n->stage, &f->h);
        free_handle(n, f);
    }
}

/* ---- the mount's life ---- */

static void *namfs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    struct namfs *n = ctx();

    /* The kernel would drop what it cached of a file on seeing the mtime
     * its own writes caused; namfs decides at each open instead (keep the
     * cache of a frame that landed and has not changed since). Bare mode
     * shares the setting, so it measures FUSE as namfs sets it up. */
    conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
    /* namfs hashes every byte written, so it needs them in its own memory:
     * splicing a write into a pipe first only adds a copy (cp of 40 UHD
     * frames, 4 writers: 10 % slower, 15 % more daemon CPU with it). */
    conn->want &= ~FUSE_CAP_SPLICE_READ;
    cfg->use_ino = 1;
    cfg->nullpath_ok = 0; /* paths on fh calls too: release records the current name */
    /* A file unlinked (or renamed over) while open keeps a hidden name in
     * BACKING until its last release, so that fstat of it still works
     * (libfuse 3.14 answers ESTALE for a nameless node before asking
     * namfs); to the delivery it is gone at once (backing_hidden_by_fuse). */
    cfg->hard_remove = 0;
    /* Names are looked up afresh each time: namfs moves refused files to the
     * quarantine behind the kernel's back, and libfuse 3.14's high-level
     * invalidation drops the inode, not the name. */
    cfg->entry_timeout = 0;
    stage_start(n->stage);
    return n;
}

/* Unmount: the last checkpoint, so BACKING alone is a valid delivery. */
static void namfs_destroy(void *private_data)
{
    struct namfs *n = private_data;

    abandon_handles(n);
    stage_stop(n->stage);
}

/* ---- questions ---- */

static int io_sized(int rc, struct stat *st)
{
    if (rc == 0 && S_ISREG(st->st_mode))
        st->st_blksize = IO_SIZE; /* cp and friends size their buffers by it */
    return rc;
}

/* An open file is answered from its own fd, also once it has lost its
 * name (unlinked or renamed over while open); the rest by path. */
static int namfs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    if (fi && of(fi)->h.fd >= 0)
        return io_sized(fstat(of(fi)->h.fd, st) == 0 ? 0 : -errno, st);
    if (fi && of(fi)->view_fd >= 0 && path) /* the length of the text this open reads */
        return virtual_checksum_getattr(stage(), path, (long)of(fi)->text_len, st);
    if (!path)
        return -ESTALE; /* neither a name nor an fd to answer from */
    enum virtual_kind kind = virtual_kind(path);
    if (kind != NOT_VIRTUAL)
        return virtual_getattr(stage(), kind, st);
    if (virtual_is_checksum(path) && virtual_checksum_getattr(stage(), path, -1, st) == 0)
        return 0;
    return io_sized(stage_stat(stage(), path, st), st);
}

/* Folders are read through their own handle, opened once; the virtual
 * .namfs/ folder has none. */
static int namfs_opendir(const char *path, struct fuse_file_info *fi)
{
    enum virtual_kind kind = virtual_kind(path);
    if (kind != NOT_VIRTUAL)
        return kind != VIRTUAL_DIR ? -ENOTDIR : new_handle(fi) ? 0 : -ENOMEM;
    int fd = backing_open(backing(), path, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0)
        return fd;
    DIR *dir = fdopendir(fd);
    struct open_file *f = dir ? new_handle(fi) : NULL;
    if (!f) {
        int error = dir ? ENOMEM : errno;
        if (dir)
            closedir(dir);
        else
            close(fd);
        return -error;
    }
    f->dir = dir;
    return 0;
}

/* Files in flight are listed under the names they will take (when BACKING
 * holds no file there yet, and they have not been refused meanwhile). */
struct listing {
    const char *folder;
    int dirfd;
    void *buf;
    fuse_fill_dir_t fill;
    char (*names)[256];
    size_t count;
};

static void note_in_flight(void *ctx, const char *name)
{
    struct listing *l = ctx;
    char(*grown)[256] = realloc(l->names, (l->count + 1) * sizeof *grown);
    if (grown) {
        l->names = grown;
        snprintf(grown[l->count++], sizeof *grown, "%s", name);
    }
}

static void list_in_flight(struct listing *l)
{
    char shown[4096 + 256];
    struct stat st;

    stage_each_in_flight(stage(), l->folder, note_in_flight, l);
    for (size_t i = 0; i < l->count; i++) {
        snprintf(shown, sizeof shown, "%s/%s", strcmp(l->folder, "/") ? l->folder : "",
                 l->names[i]);
        if (fstatat(l->dirfd, l->names[i], &st, AT_SYMLINK_NOFOLLOW) != 0 &&
            stage_stat(stage(), shown, &st) == 0)
            l->fill(l->buf, l->names[i], NULL, 0, 0);
    }
    free(l->names);
}

static int namfs_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t offset,
                         struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    DIR *dir = of(fi)->dir;

    (void)offset;
    (void)flags;
    if (!dir) {
        fill(buf, ".", NULL, 0, 0);
        fill(buf, "..", NULL, 0, 0);
        fill(buf, "status", NULL, 0, 0);
        fill(buf, "status.json", NULL, 0, 0);
        fill(buf, "rejected", NULL, 0, 0);
        return 0;
    }
    bool listed_checksum = false;
    struct stat folder;
    if (fstat(dirfd(dir), &folder) != 0)
        return -errno;
    rewinddir(dir);
    for (struct dirent *e; (e = readdir(dir));) {
        struct stat st = {
            .st_dev = folder.st_dev, .st_ino = e->d_ino, .st_mode = (mode_t)DTTOIF(e->d_type)};
        if ((strcmp(path, "/") == 0 && strcmp(e->d_name, STATUS_DIR + 1) == 0) ||
            backing_hidden_by_fuse(e->d_name) || stage_is_in_flight_name(e->d_name) ||
            !stage_entry_listed(stage(), dirfd(dir), e->d_name, &st))
            continue; /* shadowed by the virtual folder; deleted while open; in flight; refused */
        listed_checksum = listed_checksum || strcmp(e->d_name, CHECKSUM_NAME) == 0;
        if (fill(buf, e->d_name, &st, 0, 0))
            return 0;
    }
    struct listing flying = {path, dirfd(dir), buf, fill, NULL, 0};
    list_in_flight(&flying);
    /* shown before its first checkpoint writes it to BACKING */
    if (!listed_checksum && stage_folder_has_frames(stage(), path))
        fill(buf, CHECKSUM_NAME, NULL, 0, 0);
    if (strcmp(path, "/") == 0)
        fill(buf, STATUS_DIR + 1, NULL, 0, 0);
    return 0;
}

static int namfs_releasedir(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    free_handle(ctx(), of(fi));
    return 0;
}

/* A link planted in BACKING behind namfs's back is not followed either. */
static int namfs_readlink(const char *path, char *buf, size_t size)
{
    (void)path;
    (void)buf;
    (void)size;
    return -EPERM;
}

static int namfs_statfs(const char *path, struct statvfs *st)
{
    int fd = backing_open(backing(), path, O_PATH, 0);
    if (fd < 0)
        return fd;
    int rc = fstatvfs(fd, st) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

/* ---- changes by name ---- */

/* .namfs/ is namfs's, read-only: EPERM, as for manifests. */
static int not_virtual(const char *path)
{
    return virtual_kind(path) != NOT_VIRTUAL ? -EPERM : 0;
}

static int namfs_mkdir(const char *path, mode_t mode)
{
    struct stage_caller who = caller();
    return not_virtual(path) ?: stage_mkdir(stage(), path, mode, &who);
}

static int namfs_rmdir(const char *path)
{
    return not_virtual(path) ?: stage_rmdir(stage(), path);
}

static int namfs_unlink(const char *path)
{
    return not_virtual(path) ?: stage_unlink(stage(), path);
}

static int namfs_refuse_link(const char *from, const char *to)
{
    (void)from;
    (void)to;
    return -EPERM; /* a delivery holds regular files, not links */
}

static int namfs_rename(const char *from, const char *to, unsigned int flags)
{
    return not_virtual(from) ?: not_virtual(to) ?: stage_rename(stage(), from, to, flags);
}

/* An fd on path for a call that needs one, without following symlinks:
 * the handle's, or one opened for the call (*owned). */
static int with_fd(const char *path, struct fuse_file_info *fi, int *owned)
{
    *owned = -1;
    if (fi && of(fi)->h.fd >= 0)
        return of(fi)->h.fd;
    int fd = stage_open_path(stage(), path, O_RDONLY | O_NONBLOCK);
    if (fd >= 0)
        *owned = fd;
    return fd;
}

static int done(int owned, int result)
{
    int rc = result < 0 ? -errno : 0;
    if (owned >= 0)
        close(owned);
    return rc;
}

/* Times, mode, owner and attributes: BACKING's, through an fd; a landed
 * file's row takes the new times (stage_touched). */
#define CHANGE_METADATA(path, fi, call)                                                            \
    do {                                                                                           \
        int refused_ = not_virtual(path) ?: stage_frozen(stage(), path);                           \
        if (refused_)                                                                              \
            return refused_;                                                                       \
        int owned, fd = with_fd(path, fi, &owned);                                                 \
        return fd < 0 ? fd : stage_touched(stage(), path, done(owned, (call)));                    \
    } while (0)

static int namfs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    CHANGE_METADATA(path, fi, fchmod(fd, mode));
}

static int namfs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    CHANGE_METADATA(path, fi, fchown(fd, uid, gid));
}

static int namfs_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    CHANGE_METADATA(path, fi, futimens(fd, tv));
}

static int namfs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    if (fi && of(fi)->h.inode)
        return stage_ftruncate(stage(), &of(fi)->h, path, size);
    return not_virtual(path) ?: stage_truncate(stage(), path, size);
}

/* ---- files ---- */

/* An open file served from text (taken over), not from BACKING. */
static int serve_text(char *text, struct fuse_file_info *fi)
{
    struct open_file *f = text ? new_handle(fi) : NULL;
    if (!f) {
        free(text);
        return -ENOMEM;
    }
    f->text = text;
    f->text_len = strlen(text);
    fi->direct_io = 1; /* always the text of this open, whatever getattr said */
    return 0;
}

/* checksum.txt as the mount shows it; BACKING's own when it shows none
 * (open_file then). */
static int open_checksum(const char *path, struct fuse_file_info *fi)
{
    struct checksum_open view;
    int rc = stage_open_checksum(stage(), path, &view);
    if (rc < 0)
        return rc;
    struct open_file *f = new_handle(fi);
    if (!f) {
        close(view.fd);
        return -ENOMEM;
    }
    f->view_fd = view.fd;
    f->text_len = view.len;
    fi->direct_io = view.direct;
    fi->keep_cache = view.keep_cache;
    return 0;
}

static int open_virtual(enum virtual_kind kind, struct fuse_file_info *fi)
{
    if (!virtual_is_file(kind))
        return -ENOENT;
    if ((fi->flags & O_ACCMODE) != O_RDONLY)
        return -EROFS;
    return serve_text(virtual_render(stage(), kind), fi);
}

static int open_file(const char *path, int flags, mode_t mode, struct fuse_file_info *fi)
{
    struct stage_caller who = caller();
    struct open_file *f = new_handle(fi);
    bool cacheable;

    if (!f)
        return -ENOMEM;
    int rc = stage_open(stage(), path, flags, mode, &who, &f->h, &cacheable);
    if (rc < 0) {
        f->h.fd = -1;
        free_handle(ctx(), f);
        return rc;
    }
    fi->keep_cache = cacheable;
    return 0;
}

static int namfs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    return not_virtual(path) ?: open_file(path, fi->flags | O_CREAT, mode, fi);
}

/* 1 MiB of read-ahead (one READ request as large as the kernel sends)
 * instead of the kernel's 128 KiB: cold reads of UHD frames, 1 reader,
 * ~900 -> ~1300 MB/s. Done at the first open because by then the kernel
 * has the INIT reply, which would set it back. */
static void widen_readahead(struct namfs *n)
{
    if (!n->readahead_kb || __atomic_exchange_n(&n->readahead_done, true, __ATOMIC_ACQ_REL))
        return;
    if (!readahead_set(n->mountpoint, n->readahead_kb))
        namfs_log(n->log, LOG_NOTICE, "read-ahead stays at the kernel's (%s)", strerror(errno));
}

static int namfs_open(const char *path, struct fuse_file_info *fi)
{
    widen_readahead(ctx());
    if (virtual_kind(path) != NOT_VIRTUAL)
        return open_virtual(virtual_kind(path), fi);
    if (virtual_is_checksum(path) && (fi->flags & O_ACCMODE) == O_RDONLY) {
        int rc = open_checksum(path, fi);
        if (rc != -ENOENT)
            return rc;
    }
    return open_file(path, fi->flags & ~O_CREAT, 0, fi);
}

/* What of a text of len bytes a read of size at off gets. */
static size_t within(size_t len, off_t off, size_t size)
{
    return (size_t)off >= len ? 0 : len - (size_t)off < size ? len - (size_t)off : size;
}

static int namfs_read(const char *path, char *buf, size_t size, off_t off,
                      struct fuse_file_info *fi)
{
    struct open_file *f = of(fi);

    (void)path;
    if (f->text || f->view_fd >= 0) /* the text as it was at the open, not lines added since */
        size = within(f->text_len, off, size);
    if (f->text) {
        memcpy(buf, f->text + off, size);
        return (int)size;
    }
    ssize_t n = size ? pread(f->view_fd >= 0 ? f->view_fd : f->h.fd, buf, size, off) : 0;
    return n < 0 ? -errno : (int)n;
}

static int namfs_write(const char *path, const char *buf, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
    return stage_write(stage(), &of(fi)->h, path, buf, size, off);
}

/* The close() that leaves no handle writing the file decides its fate:
 * 0 landed, EINVAL refused, EIO unreadable (namfs/stage.h). */
static int namfs_flush(const char *path, struct fuse_file_info *fi)
{
    return stage_flush(stage(), &of(fi)->h, path);
}

static int namfs_release(const char *path, struct fuse_file_info *fi)
{
    struct open_file *f = of(fi);

    stage_release(stage(), &f->h, path);
    free_handle(ctx(), f);
    return 0;
}

static int namfs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    (void)path;
    int rc = datasync ? fdatasync(of(fi)->h.fd) : fsync(of(fi)->h.fd);
    return rc == 0 ? 0 : -errno;
}

static int namfs_fallocate(const char *path, int mode, off_t off, off_t len,
                           struct fuse_file_info *fi)
{
    (void)path;
    return stage_fallocate(stage(), &of(fi)->h, mode, off, len);
}

/* ---- extended attributes: BACKING's, and namfs's own user.namfs.* ---- */

static bool is_namfs_xattr(const char *name)
{
    return strncmp(name, NAMFS_XATTR, strlen(NAMFS_XATTR)) == 0;
}

/* The kernel asks for a file's capabilities before every write (to drop
 * them); a delivery holds no executables and namfs refuses to set any, so
 * the answer needs no trip to BACKING (one per write otherwise). */
static bool is_capability(const char *name)
{
    return strcmp(name, "security.capability") == 0;
}

static int namfs_setxattr(const char *path, const char *name, const char *value, size_t size,
                          int flags)
{
    if (strcmp(name, NAMFS_XATTR "seal") == 0)
        return not_virtual(path) ?: stage_seal(stage(), path); /* namctl seal */
    if (strcmp(name, NAMFS_XATTR "sync") == 0)
        return strcmp(path, "/") == 0 ? stage_sync(stage()) : -EPERM; /* namctl sync */
    if (is_namfs_xattr(name) || is_capability(name))
        return -EPERM; /* namfs's own, read-only; no capabilities in a delivery */
    CHANGE_METADATA(path, NULL, fsetxattr(fd, name, value, size, flags));
}

static int size_or_errno(int owned, ssize_t n)
{
    int rc = n < 0 ? -errno : (int)n;
    close(owned);
    return rc;
}

/* Copies value into the caller's buffer as getxattr(2) does. */
static int xattr_value(const char *value, char *out, size_t size)
{
    size_t n = strlen(value);
    if (size == 0)
        return (int)n;
    if (size < n)
        return -ERANGE;
    memcpy(out, value, n);
    return (int)n;
}

/* "sealed", "sealable" or what stops sealing, for an asset folder. */
static int seal_state(const char *path, char *value, size_t size)
{
    struct stat st;
    if (backing_stat(backing(), path, &st) != 0 || !S_ISDIR(st.st_mode))
        return -ENODATA;
    char *state = stage_seal_state(stage(), path);
    if (!state)
        return -ENOMEM;
    if (strlen(state) > 4000)
        strcpy(state + 3990, " ...");
    int rc = xattr_value(state, value, size);
    free(state);
    return rc;
}

/* user.namfs.verdict and user.namfs.<algo>, once current
 * (stage_digest_current: ENODATA while written, EAGAIN past the wait). */
static int namfs_value(const char *path, const char *name, char *value, size_t size)
{
    char text[VERDICT_MESSAGE_MAX + 16];
    int current = stage_digest_current(stage(), path);

    if (current)
        return current;
    if (strcmp(name, NAMFS_XATTR "verdict") == 0)
        return stage_verdict(stage(), path, text, sizeof text) ? xattr_value(text, value, size)
                                                               : -ENODATA;
    const char *algo = name + strlen(NAMFS_XATTR);
    for (int a = 0; a < HASH_ALGO_COUNT; a++)
        if (strcmp(algo, hash_algo_name((enum hash_algo)a)) == 0 &&
            stage_digest(stage(), path, (enum hash_algo)a, text, sizeof text))
            return xattr_value(text, value, size);
    return -ENODATA;
}

static int namfs_getxattr(const char *path, const char *name, char *value, size_t size)
{
    if (virtual_kind(path) != NOT_VIRTUAL || is_capability(name))
        return -ENODATA;
    if (strcmp(name, NAMFS_XATTR "seal") == 0)
        return seal_state(path, value, size);
    if (strcmp(name, NAMFS_XATTR "state") == 0) /* namctl unmount */
        return strcmp(path, "/") == 0 ? xattr_value(stage_state_folder(stage()), value, size)
                                      : -ENODATA;
    if (is_namfs_xattr(name))
        return namfs_value(path, name, value, size);
    int owned, fd = with_fd(path, NULL, &owned);
    return fd < 0 ? fd : size_or_errno(owned, fgetxattr(fd, name, value, size));
}

static int namfs_listxattr(const char *path, char *list, size_t size)
{
    if (virtual_kind(path) != NOT_VIRTUAL)
        return 0;
    static const char ours[] = NAMFS_XATTR "xxh128\0" NAMFS_XATTR "verdict";
    char digest[HASH_TEXT_MAX];
    int owned, fd = with_fd(path, NULL, &owned);

    if (fd < 0)
        return fd;
    ssize_t n = flistxattr(fd, list, size);
    close(owned);
    if (n < 0)
        return -errno;
    int current = stage_digest_current(stage(), path);
    if (current == -EAGAIN)
        return current;
    if (current || !stage_digest(stage(), path, HASH_XXH128, digest, sizeof digest))
        return (int)n;
    if (size && (size_t)n + sizeof ours > size)
        return -ERANGE;
    if (size)
        memcpy(list + n, ours, sizeof ours);
    return (int)(n + (ssize_t)sizeof ours);
}

static int namfs_removexattr(const char *path, const char *name)
{
    if (is_namfs_xattr(name))
        return -EPERM;
    CHANGE_METADATA(path, NULL, fremovexattr(fd, name));
}

/* No copy_file_range: the kernel then copies through read and write,
 * where every byte will be hashed, never around them. */
const struct fuse_operations namfs_operations = {
    .init = namfs_init,
    .destroy = namfs_destroy,
    .getattr = namfs_getattr,
    .opendir = namfs_opendir,
    .readdir = namfs_readdir,
    .releasedir = namfs_releasedir,
    .mkdir = namfs_mkdir,
    .rmdir = namfs_rmdir,
    .unlink = namfs_unlink,
    .symlink = namfs_refuse_link,
    .readlink = namfs_readlink,
    .link = namfs_refuse_link,
    .rename = namfs_rename,
    .chmod = namfs_chmod,
    .chown = namfs_chown,
    .utimens = namfs_utimens,
    .truncate = namfs_truncate,
    .create = namfs_create,
    .open = namfs_open,
    .read = namfs_read,
    .write = namfs_write,
    .flush = namfs_flush,
    .release = namfs_release,
    .fsync = namfs_fsync,
    .fallocate = namfs_fallocate,
    .statfs = namfs_statfs,
    .setxattr = namfs_setxattr,
    .getxattr = namfs_getxattr,
    .listxattr = namfs_listxattr,
    .removexattr = namfs_removexattr,
};
