/* The daemon's state beside the mount: its catalog (SQLite, one writer at
 * a time behind a mutex) in a state folder outside the delivered tree. */
#ifndef NAMFS_STAGING_H
#define NAMFS_STAGING_H

#include "namfs/catalog.h"
#include "namfs/profile.h"

#include <stdbool.h>
#include <stddef.h>

/* Opens (creating) the state folder and its catalog. state_dir NULL means
 * "<BACKING>.namfs" beside BACKING. */
bool staging_open(const char *backing, const char *state_dir, const struct profile *p, char *err,
                  size_t err_len);
void staging_close(void);

/* The digests every landed file carries (the profile's manifests). */
uint32_t staging_algos(void);

/* A file finished being written (fd open on it): record it. */
void staging_landed(const char *path, int fd, const struct digests *d);
void staging_removed(const char *path);
void staging_renamed(const char *from, const char *to);

/* The catalogued digest of path in algo; false when there is none. */
bool staging_digest(const char *path, enum hash_algo algo, char *out, size_t len);

#endif
