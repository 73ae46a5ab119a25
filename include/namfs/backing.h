/* The backing directory: every access is made relative to one directory
 * fd, resolved with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so no
 * path, and no symlink planted in BACKING behind namfs's back, can lead
 * outside it. Paths are the mount's ("/a/b.dpx"; "/" is BACKING). */
#ifndef NAMFS_BACKING_H
#define NAMFS_BACKING_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

struct backing {
    int root; /* BACKING itself; -1 when not open */
};

/* Opens BACKING; -1 with errno set. */
int backing_init(struct backing *b, const char *dir);
void backing_close(struct backing *b);

/* Opens path: returns an fd or -errno. */
int backing_open(const struct backing *b, const char *path, int flags, mode_t mode);

/* Opens path for namfs's own reads (judging, hashing): O_NOATIME where
 * BACKING permits it, so that they never move the access time a writer
 * set (cp -p, utimensat) or that a reader's reads would. */
int backing_open_quietly(const struct backing *b, const char *path, int flags);

/* The same for an fd opened for a writer, before namfs reads through it. */
void backing_read_quietly(int fd);

/* Opens the folder holding path, for an *at() call on *name (never "").
 * Returns an fd or -errno; the root's parent is the root itself, with
 * name ".". */
int backing_parent(const struct backing *b, const char *path, const char **name);

/* lstat of path beneath BACKING: 0 or -errno. */
int backing_stat(const struct backing *b, const char *path, struct stat *st);

/* path's last component is a name libfuse gives a file unlinked or renamed
 * over while open (".fuse_hidden" and 16 hex digits): it stays in BACKING
 * until its last release, and is no part of the delivery. Such names are
 * the mount's own; users cannot create them. */
bool backing_hidden_by_fuse(const char *path);

#endif
