/* Where a mount's three folders are, checked before anything is touched:
 * BACKING (the delivery), MOUNTPOINT (where it is shown) and the state
 * folder (catalog and quarantine). Each is resolved with realpath, and none
 * may be inside another: a state folder under the mount point would be
 * judged as delivery and its live catalog quarantined; a mount point under
 * BACKING shows itself inside itself; a state folder in BACKING would be
 * delivered.
 *
 * One BACKING takes one mount on a machine, whatever its -o state: two
 * would keep two catalogs of one tree, each accepting what the other
 * refuses. The claim is an flock(2) on BACKING's own directory, held by
 * the daemon until it exits: exclusive, except for mounts that share one
 * catalog on purpose (-o catalog=postgresql://...), whose claims are
 * shared: they may stand side by side, and no mount with a catalog of its
 * own may join them. */
#ifndef NAMFS_LAYOUT_H
#define NAMFS_LAYOUT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

struct layout {
    char backing[PATH_MAX];
    char mountpoint[PATH_MAX];
    char state[PATH_MAX]; /* where it is, or will be made */
    char mount_id[16];    /* 8 hex digits of BACKING's path: the log's "mount=" */
    int claim;            /* BACKING's directory, flocked; -1 */
};

/* state: -o state=, or NULL for BACKING.namfs beside BACKING. False, with
 * what was expected and found in err, for a missing or unwritable BACKING,
 * a busy mount point or folders inside one another. */
bool layout_resolve(struct layout *l, const char *backing, const char *mountpoint,
                    const char *state, char *err, size_t err_len);
/* Takes the claim on BACKING (shared: the catalog is); false, naming the
 * mount that has it. */
bool layout_claim(struct layout *l, bool shared, char *err, size_t err_len);
void layout_release(struct layout *l);

#endif
