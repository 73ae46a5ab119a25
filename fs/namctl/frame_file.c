#include "frame_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static ssize_t read_at(void *ctx, void *buf, size_t n, uint64_t off)
{
    return pread(*(int *)ctx, buf, n, (off_t)off);
}

bool frame_file_open(int dirfd, const char *path, struct frame_file *f, char *err, size_t err_len)
{
    struct stat st;
    ssize_t n = -1;

    f->fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (f->fd >= 0 && fstat(f->fd, &st) == 0)
        n = pread(f->fd, f->head, sizeof f->head, 0);
    if (n < 0) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        frame_file_close(f);
        return false;
    }
    f->src = (struct frame_source){.head = f->head,
                                   .head_len = (size_t)n,
                                   .complete = true,
                                   .file_size = (uint64_t)st.st_size,
                                   .read = read_at,
                                   .read_ctx = &f->fd};
    return true;
}

void frame_file_close(struct frame_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
}
