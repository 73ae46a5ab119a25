/* The quarantine: where refused files are kept, with why, outside the
 * delivered tree (nothing a writer sent is lost). A refused file keeps its
 * path relative to the delivery root, QUARANTINE/<rel>, or <rel>.1, .2 ...
 * when an earlier refusal of that name is there: nothing is replaced.
 * Beside it, <target>.reason: "<rel>\t<rule>\t<message>\t<UTC time>\n",
 * written whole or not at all. */
#ifndef NAMFS_QUARANTINE_H
#define NAMFS_QUARANTINE_H

#include "namfs/verdict.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

struct quarantine {
    char dir[PATH_MAX];
};

/* The quarantine at dir, made (0700) when it is not there. */
bool quarantine_open(struct quarantine *q, const char *dir, char *err, size_t err_len);

/* Moves the file `name` of the folder open at dirfd (in BACKING) into the
 * quarantine as rel, and writes its reason. Across filesystems (BACKING a
 * mount point of its own, the quarantine beside it) the file is copied,
 * synced, and only then removed. 0 with where it went in target, or -1
 * with errno: ENOENT when it is not there (moved already), anything else
 * leaves it where it was. */
int quarantine_move(const struct quarantine *q, int dirfd, const char *name, const char *rel,
                    const struct verdict *v, char *target, size_t target_len);

#endif
