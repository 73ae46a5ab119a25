#include "backing.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RESOLVE_FLAGS (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)

static int root_fd = -1;

int backing_init(const char *dir)
{
    root_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return root_fd;
}

int backing_root(void)
{
    return root_fd;
}

static int open_beneath(const char *relative, int flags, mode_t mode)
{
    struct open_how how = {.flags = (uint64_t)flags | O_CLOEXEC,
                           .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode & 07777 : 0,
                           .resolve = RESOLVE_FLAGS};
    long fd = syscall(SYS_openat2, root_fd, *relative ? relative : ".", &how, sizeof how);
    return fd < 0 ? -errno : (int)fd;
}

int backing_open(const char *path, int flags, mode_t mode)
{
    return open_beneath(path + strspn(path, "/"), flags, mode);
}

int backing_open_quietly(const char *path, int flags)
{
    int fd = backing_open(path, flags | O_NOATIME, 0);
    return fd == -EPERM ? backing_open(path, flags, 0) : fd; /* not its owner, not root */
}

void backing_read_quietly(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0)
        fcntl(fd, F_SETFL, flags | O_NOATIME); /* EPERM: reads move atime, as they would */
}

int backing_parent(const char *path, const char **name)
{
    char parent[4096];
    const char *relative = path + strspn(path, "/");
    const char *slash = strrchr(relative, '/');

    if (!*relative) {
        *name = ".";
        return open_beneath("", O_PATH | O_DIRECTORY, 0);
    }
    *name = slash ? slash + 1 : relative;
    if (!slash)
        return open_beneath("", O_PATH | O_DIRECTORY, 0);
    if ((size_t)(slash - relative) >= sizeof parent)
        return -ENAMETOOLONG;
    memcpy(parent, relative, (size_t)(slash - relative));
    parent[slash - relative] = '\0';
    return open_beneath(parent, O_PATH | O_DIRECTORY, 0);
}

int backing_stat(const char *path, struct stat *st)
{
    const char *name;
    int dirfd = backing_parent(path, &name);

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
