/* The mounts this process sees (/proc/self/mountinfo), one at a time, in
 * the order they were mounted. */
#ifndef NAMFS_MOUNTINFO_H
#define NAMFS_MOUNTINFO_H

#include <stdbool.h>

struct mount_entry {
    const char *device;     /* "major:minor" */
    const char *mountpoint; /* absolute, unescaped */
    const char *fstype;     /* "ext4", "fuse.namfs" */
    const char *source;     /* what it mounts: a device, or a FUSE fsname */
};

/* Calls each(ctx, entry) for every mount until it returns false. False
 * (errno set) when mountinfo cannot be read. */
bool mountinfo_each(bool (*each)(void *ctx, const struct mount_entry *m), void *ctx);

#endif
