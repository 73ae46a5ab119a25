#ifndef NAMFS_OPS_H
#define NAMFS_OPS_H

#define FUSE_USE_VERSION 31
#include <fuse.h>

extern const struct fuse_operations namfs_operations;

/* The running filesystem, once mounted (for ending it on a signal). */
extern struct fuse *volatile namfs_running;

#endif
