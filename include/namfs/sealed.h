/* The sealed asset folders, asked on every change, so held in memory; the
 * catalog keeps them across mounts. Paths are the mount's ("/a/b") or
 * relative to the delivery root ("a/b"): both mean the same folder. */
#ifndef NAMFS_SEALED_H
#define NAMFS_SEALED_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct sealed_set {
    char **folders; /* relative to the delivery root */
    size_t count;
    pthread_rwlock_t rw; /* read by every changing request, written once per seal */
};

void sealed_init(struct sealed_set *s);
void sealed_destroy(struct sealed_set *s);

/* Adds a folder; false when out of memory. */
bool sealed_add(struct sealed_set *s, const char *folder);

/* path is a sealed folder or lies under one: it cannot change. */
bool sealed_covers(struct sealed_set *s, const char *path);

/* A sealed folder lies in or under path: path cannot move or go. */
bool sealed_within(struct sealed_set *s, const char *path);

#endif
