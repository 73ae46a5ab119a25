/* Kernel requests onto the backing directory. Every path is resolved by
 * backing.c beneath BACKING without following symlinks; open files are
 * served from their own fd. Symlinks and hard links are refused: a
 * delivery holds regular files and folders only. */
#include "ops.h"

#include "backing.h"

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

struct open_file {
    int fd;
};

static struct open_file *of(const struct fuse_file_info *fi)
{
    return (struct open_file *)(uintptr_t)fi->fh;
}

static int fail_errno(void)
{
    return -errno;
}

/* Runs at(dirfd, name) on path's folder; returns 0 or -errno. */
#define AT_PARENT(path, call)                                                                      \
    do {                                                                                           \
        const char *name;                                                                          \
        int dirfd = backing_parent(path, &name);                                                   \
        if (dirfd < 0)                                                                             \
            return dirfd;                                                                          \
        int rc = (call) < 0 ? -errno : 0;                                                          \
        close(dirfd);                                                                              \
        return rc;                                                                                 \
    } while (0)

static void *namfs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    (void)conn;
    cfg->use_ino = 1;
    cfg->nullpath_ok = 1;
    cfg->hard_remove = 1; /* no .fuse_hidden files left in BACKING */
    return NULL;
}

static int namfs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    if (fi)
        return fstat(of(fi)->fd, st) == 0 ? 0 : fail_errno();
    AT_PARENT(path, fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW));
}

/* Folders are read through their own handle: with nullpath_ok, readdir
 * gets no path. */
static int namfs_opendir(const char *path, struct fuse_file_info *fi)
{
    int fd = backing_open(path, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0)
        return fd;
    DIR *dir = fdopendir(fd);
    if (!dir) {
        close(fd);
        return fail_errno();
    }
    fi->fh = (uintptr_t)dir;
    return 0;
}

static int namfs_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t offset,
                         struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    DIR *dir = (DIR *)(uintptr_t)fi->fh;

    (void)path;
    (void)offset;
    (void)flags;
    rewinddir(dir);
    for (struct dirent *e; (e = readdir(dir));) {
        struct stat st = {.st_ino = e->d_ino, .st_mode = (mode_t)DTTOIF(e->d_type)};
        if (fill(buf, e->d_name, &st, 0, 0))
            break;
    }
    return 0;
}

static int namfs_releasedir(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    closedir((DIR *)(uintptr_t)fi->fh);
    return 0;
}

static int namfs_mkdir(const char *path, mode_t mode)
{
    AT_PARENT(path, mkdirat(dirfd, name, mode));
}

static int namfs_rmdir(const char *path)
{
    AT_PARENT(path, unlinkat(dirfd, name, AT_REMOVEDIR));
}

static int namfs_unlink(const char *path)
{
    AT_PARENT(path, unlinkat(dirfd, name, 0));
}

static int namfs_refuse_link(const char *from, const char *to)
{
    (void)from;
    (void)to;
    return -EPERM; /* a delivery holds regular files, not links */
}

/* A link planted in BACKING behind namfs's back is not followed either. */
static int namfs_readlink(const char *path, char *buf, size_t size)
{
    (void)path;
    (void)buf;
    (void)size;
    return -EPERM;
}

static int namfs_rename(const char *from, const char *to, unsigned int flags)
{
    const char *from_name, *to_name;
    int from_dir = backing_parent(from, &from_name);
    if (from_dir < 0)
        return from_dir;
    int to_dir = backing_parent(to, &to_name);
    if (to_dir < 0) {
        close(from_dir);
        return to_dir;
    }
    int rc = renameat2(from_dir, from_name, to_dir, to_name, flags) == 0 ? 0 : -errno;
    close(from_dir);
    close(to_dir);
    return rc;
}

/* An fd on path for a call that needs one, without following symlinks. */
static int with_fd(const char *path, struct fuse_file_info *fi, int *owned)
{
    *owned = -1;
    if (fi)
        return of(fi)->fd;
    int fd = backing_open(path, O_RDONLY | O_NONBLOCK, 0);
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

static int namfs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    int owned, fd = with_fd(path, fi, &owned);
    return fd < 0 ? fd : done(owned, fchmod(fd, mode));
}

static int namfs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    int owned, fd = with_fd(path, fi, &owned);
    return fd < 0 ? fd : done(owned, fchown(fd, uid, gid));
}

static int namfs_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    int owned, fd = with_fd(path, fi, &owned);
    return fd < 0 ? fd : done(owned, futimens(fd, tv));
}

static int namfs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    if (fi)
        return ftruncate(of(fi)->fd, size) == 0 ? 0 : fail_errno();
    int fd = backing_open(path, O_WRONLY, 0);
    return fd < 0 ? fd : done(fd, ftruncate(fd, size));
}

static int keep_open(struct fuse_file_info *fi, int fd)
{
    struct open_file *f = malloc(sizeof *f);
    if (!f) {
        close(fd);
        return -ENOMEM;
    }
    f->fd = fd;
    fi->fh = (uintptr_t)f;
    return 0;
}

static int namfs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    int fd = backing_open(path, fi->flags | O_CREAT, mode);
    return fd < 0 ? fd : keep_open(fi, fd);
}

static int namfs_open(const char *path, struct fuse_file_info *fi)
{
    int fd = backing_open(path, fi->flags & ~O_CREAT, 0);
    return fd < 0 ? fd : keep_open(fi, fd);
}

static int namfs_read(const char *path, char *buf, size_t size, off_t off,
                      struct fuse_file_info *fi)
{
    (void)path;
    ssize_t n = pread(of(fi)->fd, buf, size, off);
    return n < 0 ? fail_errno() : (int)n;
}

static int namfs_write(const char *path, const char *buf, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
    (void)path;
    ssize_t n = pwrite(of(fi)->fd, buf, size, off);
    return n < 0 ? fail_errno() : (int)n;
}

static int namfs_flush(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    /* close() of a duplicate reports delayed write errors, as close would */
    int dup_fd = dup(of(fi)->fd);
    return dup_fd < 0 ? fail_errno() : close(dup_fd) == 0 ? 0 : fail_errno();
}

static int namfs_release(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    close(of(fi)->fd);
    free(of(fi));
    return 0;
}

static int namfs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    (void)path;
    int rc = datasync ? fdatasync(of(fi)->fd) : fsync(of(fi)->fd);
    return rc == 0 ? 0 : fail_errno();
}

static int namfs_fallocate(const char *path, int mode, off_t off, off_t len,
                           struct fuse_file_info *fi)
{
    (void)path;
    return fallocate(of(fi)->fd, mode, off, len) == 0 ? 0 : fail_errno();
}

static int namfs_statfs(const char *path, struct statvfs *st)
{
    int fd = backing_open(path, O_PATH, 0);
    return fd < 0 ? fd : done(fd, fstatvfs(fd, st));
}

static int namfs_setxattr(const char *path, const char *name, const char *value, size_t size,
                          int flags)
{
    int owned, fd = with_fd(path, NULL, &owned);
    return fd < 0 ? fd : done(owned, fsetxattr(fd, name, value, size, flags));
}

static int size_or_errno(int owned, ssize_t n)
{
    int rc = n < 0 ? -errno : (int)n;
    close(owned);
    return rc;
}

static int namfs_getxattr(const char *path, const char *name, char *value, size_t size)
{
    int owned, fd = with_fd(path, NULL, &owned);
    return fd < 0 ? fd : size_or_errno(owned, fgetxattr(fd, name, value, size));
}

static int namfs_listxattr(const char *path, char *list, size_t size)
{
    int owned, fd = with_fd(path, NULL, &owned);
    return fd < 0 ? fd : size_or_errno(owned, flistxattr(fd, list, size));
}

static int namfs_removexattr(const char *path, const char *name)
{
    int owned, fd = with_fd(path, NULL, &owned);
    return fd < 0 ? fd : done(owned, fremovexattr(fd, name));
}

/* No copy_file_range: the kernel then copies through read and write,
 * where every byte will be hashed, never around them. */
const struct fuse_operations namfs_operations = {
    .init = namfs_init,
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
