/* namfs as mount(8)'s helper: /sbin/mount.fuse.namfs, a link to namfs.
 * mount(8) finds a helper for type fuse.namfs there by its fixed search
 * path, not by PATH, so an fstab line works wherever namfs is installed.
 * It runs
 *   mount.fuse.namfs BACKING MOUNTPOINT [-sfnv] [-N NS] [-o OPTIONS] [-t TYPE]
 * which becomes namfs's own command line, in the background:
 *   namfs -o OPTIONS' BACKING MOUNTPOINT
 * OPTIONS' drops what is mount(8)'s alone (defaults, auto, noauto, user,
 * users, nouser, owner, group, nofail, _netdev, comment=, x-*); the rest,
 * namfs's and libfuse's, stay. */
#ifndef NAMFS_MOUNT_HELPER_H
#define NAMFS_MOUNT_HELPER_H

#include <stdbool.h>
#include <stddef.h>

/* Called as mount.fuse.namfs (or any mount.* name)? */
bool mount_helper_called(const char *argv0);

enum helper_outcome {
    HELPER_MOUNT, /* *out_argv is namfs's command line */
    HELPER_FAKE,  /* -f: mount(8) asks for everything but the mount */
    HELPER_WRONG, /* a command line mount(8) would not give: err says why */
};

/* *out_argv (out_argc entries, NULL-terminated) is malloc'd, one block. */
enum helper_outcome mount_helper_args(int argc, char **argv, int *out_argc, char ***out_argv,
                                      char *err, size_t err_len);

#endif
