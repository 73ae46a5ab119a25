#ifndef NAMFS_OPS_H
#define NAMFS_OPS_H

#define FUSE_USE_VERSION 312
#include "log.h"
#include "namfs/stage.h"

#include <fuse.h>
#include <pthread.h>
#include <stdbool.h>

/* One mount: handed to fuse_main as its user data, found by every
 * operation in its request's context. */
struct namfs {
    struct stage *stage;
    /* Read-ahead of the mount in KiB (-o readahead=KB; 0 keeps the
     * kernel's 128), applied at the first open, and the absolute mount
     * point it needs. */
    unsigned readahead_kb;
    bool readahead_done; /* __atomic */
    char mountpoint[4096];
    struct namfs_logger *log;
    pthread_mutex_t open_lock;
    struct open_file *open_files; /* every handle the kernel holds */
};

extern const struct fuse_operations namfs_operations;

#endif
