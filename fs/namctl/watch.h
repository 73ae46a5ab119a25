/* `namctl status --watch`: a live view of a mount, redrawn in place. */
#ifndef NAMCTL_WATCH_H
#define NAMCTL_WATCH_H

/* Runs until q, the end of input or a signal; 0, or 2 when mount is not
 * a namfs mount point. */
int watch_status(const char *mount);

#endif
