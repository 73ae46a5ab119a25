#ifndef NAMFS_OPS_H
#define NAMFS_OPS_H

#define FUSE_USE_VERSION 31
#include <fuse.h>
#include <stdbool.h>

extern const struct fuse_operations namfs_operations;

/* The running filesystem, once mounted (for ending it on a signal). */
extern struct fuse *namfs_running; /* set and read with __atomic builtins */

/* Bare mode (-o bare): a plain passthrough with no hashing, judging or
 * manifests, to measure what FUSE itself costs (scripts/bench). */
extern bool namfs_bare;

/* Read-ahead of the mount in KiB (-o readahead=KB; 0 keeps the kernel's
 * 128), applied at the first open, and the absolute mount point it needs. */
extern unsigned namfs_readahead_kb;
extern char namfs_mountpoint[4096];

#endif
