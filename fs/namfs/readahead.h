/* How far the kernel reads ahead on the mount. A FUSE mount starts at
 * 128 KiB and no INIT reply can ask for more; its backing device info's
 * read_ahead_kb in sysfs (writable by root) can. */
#ifndef NAMFS_READAHEAD_H
#define NAMFS_READAHEAD_H

#include <stdbool.h>

/* Sets read-ahead of the FUSE mount at mountpoint (an absolute path, as
 * /proc/self/mountinfo shows it) to kb KiB. Returns false with errno set
 * (ENOENT: not mounted there; EACCES: not root). Call only after the
 * kernel has the INIT reply, which would narrow it again. */
bool readahead_set(const char *mountpoint, unsigned kb);

#endif
