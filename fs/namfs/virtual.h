/* What the mount shows that BACKING does not hold as such: the read-only
 * .namfs/ folder at the root (status, status.json, rejected), and each
 * sequence folder's checksum.txt as the catalog has it now, between the
 * checkpoints that write it to BACKING. */
#ifndef NAMFS_VIRTUAL_H
#define NAMFS_VIRTUAL_H

#include "namfs/stage.h"

#include <stdbool.h>
#include <sys/stat.h>

#define STATUS_DIR "/.namfs"

enum virtual_kind {
    NOT_VIRTUAL,
    VIRTUAL_DIR,
    VIRTUAL_STATUS,
    VIRTUAL_STATUS_JSON,
    VIRTUAL_REJECTED,
    VIRTUAL_MISSING /* a name under .namfs/ that is none of these */
};

enum virtual_kind virtual_kind(const char *path);

/* One of the three texts of .namfs/. */
bool virtual_is_file(enum virtual_kind kind);

/* Its text now (malloc'd; NULL out of memory). */
char *virtual_render(struct stage *s, enum virtual_kind kind);

/* getattr of a .namfs/ path: 0 or -ENOENT. */
int virtual_getattr(struct stage *s, enum virtual_kind kind, struct stat *st);

/* The last component of path is checksum.txt. */
bool virtual_is_checksum(const char *path);

/* getattr of path's checksum.txt as the mount shows it, len bytes long (-1:
 * as long as the stage says): 0, or -ENOENT when no frame landed in its
 * folder (BACKING's file, if any, is shown then). */
int virtual_checksum_getattr(struct stage *s, const char *path, long len, struct stat *st);

#endif
