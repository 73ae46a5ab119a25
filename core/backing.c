#include "namfs/backing.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RESOLVE_FLAGS (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)

int backing_init(struct backing *b, const char *dir)
{
    b->root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return b->root;
}

void backing_close(struct backing *b)
{
    if (b->root >= 0)
        close(b->root);
    b->root = -1;
}

static int open_beneath(const struct backing *b, const char *relative, int flags, mode_t mode)
{
    struct open_how how = {.flags = (uint64_t)flags | O_CLOEXEC,
                           .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode & 07777 : 0,
                           .resolve = RESOLVE_FLAGS};
    long fd = syscall(SYS_openat2, b->root, *relative ? relative : ".", &how, sizeof how);
    return fd < 0 ? -errno : (int)fd;
}

int backing_open(const struct backing *b, const char *path, int flags, mode_t mode)
{
    return open_beneath(b, path + strspn(path, "/"), flags, mode);
}

int backing_open_quietly(const struct backing *b, const char *path, int flags)
{
    int fd = backing_open(b, path, flags | O_NOATIME, 0);
    return fd == -EPERM ? backing_open(b, path, flags, 0) : fd; /* not its owner, not root */
}

void backing_read_quietly(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0)
        fcntl(fd, F_SETFL, flags | O_NOATIME); /* EPERM: reads move atime, as they would */
}

int backing_parent(const struct backing *b, const char *path, const char **name)
{
    char parent[4096];
    const char *relative = path + strspn(path, "/");
    const char *slash = strrchr(relative, '/');

    if (!*relative) {
        *name = ".";
        return open_beneath(b, "", O_PATH | O_DIRECTORY, 0);
    }
    *name = slash ? slash + 1 : relative;
    if (!slash)
        return open_beneath(b, "", O_PATH | O_DIRECTORY, 0);
    if ((size_t)(slash - relative) >= sizeof parent)
        return -ENAMETOOLONG;
    memcpy(parent, relative, (size_t)(slash - relative));
    parent[slash - relative] = '\0';
    return open_beneath(b, parent, O_PATH | O_DIRECTORY, 0);
}

int backing_stat(const struct backing *b, const char *path, struct stat *st)
{
    const char *name;
    int dirfd = backing_parent(b, path, &name);

    if (dirfd < 0)
        return dirfd;
    int rc = fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
    close(dirfd);
    return rc;
}

bool backing_hidden_by_fuse(const char *path)
{
    static const char prefix[] = ".fuse_hidden";
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;

    if (strncmp(name, prefix, sizeof prefix - 1) != 0 || strlen(name) != sizeof prefix - 1 + 16)
        return false;
    for (const char *c = name + sizeof prefix - 1; *c; c++)
        if (!isxdigit((unsigned char)*c))
            return false;
    return true;
}
