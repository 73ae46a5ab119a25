/* Running in the background, started the way a user can follow: namfs
 * forks before it takes anything (the claim on BACKING, the catalog), so
 * the process that holds them is the daemon from the start and the pid in
 * /proc/locks is the one to signal. The parent waits on a pipe until the
 * child is serving or has failed, and exits with the child's status; until
 * then the child still writes to the terminal, so every start-up error is
 * seen by whoever typed the command. */
#ifndef NAMFS_DETACH_H
#define NAMFS_DETACH_H

#include <stdbool.h>

struct detach {
    int report; /* the child's end of the pipe; -1 in the foreground */
};

/* In the child (or with foreground, in the only process): returns true.
 * The parent never returns. False when fork fails (errno). */
bool detach_begin(struct detach *d, bool foreground);
/* The child is serving: the parent exits 0, and the child leaves the
 * terminal (setsid, standard streams to /dev/null, working folder /). */
void detach_ready(struct detach *d);

#endif
