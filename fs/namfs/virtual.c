#include "virtual.h"

#include "namfs/manifest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum virtual_kind virtual_kind(const char *path)
{
    if (!path || strncmp(path, STATUS_DIR, strlen(STATUS_DIR)) != 0)
        return NOT_VIRTUAL;
    const char *rest = path + strlen(STATUS_DIR);
    if (!*rest)
        return VIRTUAL_DIR;
    if (strcmp(rest, "/status") == 0)
        return VIRTUAL_STATUS;
    if (strcmp(rest, "/status.json") == 0)
        return VIRTUAL_STATUS_JSON;
    if (strcmp(rest, "/rejected") == 0)
        return VIRTUAL_REJECTED;
    return rest[0] == '/' ? VIRTUAL_MISSING : NOT_VIRTUAL;
}

bool virtual_is_file(enum virtual_kind kind)
{
    return kind == VIRTUAL_STATUS || kind == VIRTUAL_STATUS_JSON || kind == VIRTUAL_REJECTED;
}

char *virtual_render(struct stage *s, enum virtual_kind kind)
{
    return kind == VIRTUAL_STATUS        ? stage_render_status(s)
           : kind == VIRTUAL_STATUS_JSON ? stage_render_status_json(s)
                                         : stage_render_rejected(s);
}

/* Attributes of something namfs shows but BACKING does not hold; inode
 * numbers far above BACKING's. */
static void shown_attr(struct stat *st, ino_t ino, mode_t mode, off_t size)
{
    memset(st, 0, sizeof *st);
    st->st_ino = ino;
    st->st_mode = mode;
    st->st_nlink = S_ISDIR(mode) ? 2 : 1;
    st->st_size = size;
    st->st_uid = getuid();
    st->st_gid = getgid();
    clock_gettime(CLOCK_REALTIME, &st->st_mtim);
    st->st_ctim = st->st_atim = st->st_mtim;
}

int virtual_getattr(struct stage *s, enum virtual_kind kind, struct stat *st)
{
    ino_t ino = ((ino_t)1 << 62) + kind;

    if (kind == VIRTUAL_DIR) {
        shown_attr(st, ino, S_IFDIR | 0555, 0);
        return 0;
    }
    if (!virtual_is_file(kind))
        return -ENOENT;
    char *text = virtual_render(s, kind);
    shown_attr(st, ino, S_IFREG | 0444, text ? (off_t)strlen(text) : 0);
    free(text);
    return 0;
}

bool virtual_is_checksum(const char *path)
{
    const char *slash = strrchr(path, '/');
    return strcmp(slash ? slash + 1 : path, CHECKSUM_NAME) == 0;
}

int virtual_checksum_getattr(struct stage *s, const char *path, long len, struct stat *st)
{
    if (len < 0)
        len = stage_checksum_length(s, path);
    if (len < 0)
        return -ENOENT;
    struct stat real;
    int rc = backing_stat(stage_backing(s), path, &real);
    shown_attr(st, rc == 0 ? real.st_ino : ((ino_t)1 << 61), S_IFREG | 0444, (off_t)len);
    st->st_mtim = st->st_ctim = stage_changed_at(s); /* stable while nothing lands */
    return 0;
}
