/* failfs: a passthrough FUSE filesystem over ROOT whose fsync and
 * fdatasync fail with EIO while the file CONTROL exists. The fault suite
 * puts namfs's BACKING on it to prove that a frame whose sync to disk
 * fails never lands (docs/reliability.md).
 *   failfs ROOT CONTROL MOUNTPOINT [FUSE options] */
#define FUSE_USE_VERSION 31

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static int root;
static const char *control;

static const char *rel(const char *path)
{
    return path[1] ? path + 1 : ".";
}

static int result(int rc)
{
    return rc < 0 ? -errno : 0;
}

static int ff_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    return fi ? result(fstat((int)fi->fh, st))
              : result(fstatat(root, rel(path), st, AT_SYMLINK_NOFOLLOW));
}

static int ff_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    (void)off, (void)fi, (void)flags;
    int fd = openat(root, rel(path), O_RDONLY | O_DIRECTORY);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (!dir) {
        int error = errno;
        if (fd >= 0)
            close(fd);
        return -error;
    }
    for (struct dirent *e; (e = readdir(dir));)
        fill(buf, e->d_name, NULL, 0, 0);
    closedir(dir);
    return 0;
}

static int ff_mkdir(const char *path, mode_t mode)
{
    return result(mkdirat(root, rel(path), mode));
}

static int ff_unlink(const char *path)
{
    return result(unlinkat(root, rel(path), 0));
}

static int ff_rmdir(const char *path)
{
    return result(unlinkat(root, rel(path), AT_REMOVEDIR));
}

static int ff_rename(const char *from, const char *to, unsigned int flags)
{
    return result(renameat2(root, rel(from), root, rel(to), flags));
}

static int ff_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    return fi ? result(fchmod((int)fi->fh, mode)) : result(fchmodat(root, rel(path), mode, 0));
}

static int ff_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    return fi ? result(fchown((int)fi->fh, uid, gid))
              : result(fchownat(root, rel(path), uid, gid, AT_SYMLINK_NOFOLLOW));
}

static int ff_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    if (fi)
        return result(ftruncate((int)fi->fh, size));
    int fd = openat(root, rel(path), O_WRONLY);
    int rc = fd < 0 ? -errno : result(ftruncate(fd, size));
    if (fd >= 0)
        close(fd);
    return rc;
}

static int ff_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    return fi ? result(futimens((int)fi->fh, tv))
              : result(utimensat(root, rel(path), tv, AT_SYMLINK_NOFOLLOW));
}

static int ff_open_as(const char *path, int flags, mode_t mode, struct fuse_file_info *fi)
{
    int fd = openat(root, rel(path), flags, mode);
    if (fd < 0)
        return -errno;
    fi->fh = (uint64_t)fd;
    return 0;
}

static int ff_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    return ff_open_as(path, fi->flags | O_CREAT, mode, fi);
}

static int ff_open(const char *path, struct fuse_file_info *fi)
{
    return ff_open_as(path, fi->flags, 0, fi);
}

static int ff_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    (void)path;
    ssize_t n = pread((int)fi->fh, buf, size, off);
    return n < 0 ? -errno : (int)n;
}

static int ff_write(const char *path, const char *buf, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    (void)path;
    ssize_t n = pwrite((int)fi->fh, buf, size, off);
    return n < 0 ? -errno : (int)n;
}

static int ff_statfs(const char *path, struct statvfs *st)
{
    (void)path;
    return result(fstatvfs(root, st));
}

static int ff_release(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    close((int)fi->fh);
    return 0;
}

/* The fault: while CONTROL exists, nothing reaches the disk. */
static int ff_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    (void)path;
    if (access(control, F_OK) == 0)
        return -EIO;
    return result(datasync ? fdatasync((int)fi->fh) : fsync((int)fi->fh));
}

static const struct fuse_operations failfs = {
    .getattr = ff_getattr,
    .readdir = ff_readdir,
    .mkdir = ff_mkdir,
    .unlink = ff_unlink,
    .rmdir = ff_rmdir,
    .rename = ff_rename,
    .chmod = ff_chmod,
    .chown = ff_chown,
    .truncate = ff_truncate,
    .utimens = ff_utimens,
    .create = ff_create,
    .open = ff_open,
    .read = ff_read,
    .write = ff_write,
    .statfs = ff_statfs,
    .release = ff_release,
    .fsync = ff_fsync,
};

int main(int argc, char **argv)
{
    if (argc < 4) {
        fputs("usage: failfs ROOT CONTROL MOUNTPOINT [FUSE options]\n", stderr);
        return 2;
    }
    root = open(argv[1], O_RDONLY | O_DIRECTORY);
    if (root < 0) {
        perror(argv[1]);
        return 2;
    }
    control = argv[2];
    argv[2] = argv[0];
    return fuse_main(argc - 2, argv + 2, &failfs, NULL);
}
