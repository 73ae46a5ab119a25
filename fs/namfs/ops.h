#ifndef NAMFS_OPS_H
#define NAMFS_OPS_H

#define FUSE_USE_VERSION 31
#include <fuse.h>

extern const struct fuse_operations namfs_operations;

#endif
