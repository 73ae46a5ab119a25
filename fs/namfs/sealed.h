/* The sealed asset folders, asked on every change, so held in memory; the
 * catalog keeps them across mounts. Paths are the mount's ("/a/b"). */
#ifndef NAMFS_SEALED_H
#define NAMFS_SEALED_H

#include <stdbool.h>

/* Adds a folder, relative to the delivery root ("a/b"). */
bool sealed_add(const char *folder);

/* path is a sealed folder or lies under one: it cannot change. */
bool sealed_covers(const char *path);

/* A sealed folder lies in or under path: path cannot move or go. */
bool sealed_within(const char *path);

void sealed_clear(void);

#endif
