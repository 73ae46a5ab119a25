/* A growable list of strings (copies, in the order added): ignore
 * patterns, folder lists. */
#ifndef NAMFS_STRLIST_H
#define NAMFS_STRLIST_H

#include <stdbool.h>
#include <stddef.h>

struct strlist {
    char **items;
    size_t count;
};

/* Adds a copy of s; false when out of memory (the list as it was). */
bool strlist_add(struct strlist *l, const char *s);
/* The same as a callback (catalog_dir_fn): list is a struct strlist. */
bool strlist_add_to(void *list, const char *s);
void strlist_free(struct strlist *l);
bool strlist_has(const struct strlist *l, const char *s);

/* Both hold the same strings, order and repeats aside. */
bool strlist_same_set(const struct strlist *a, const struct strlist *b);

/* path is one of the folders of l or lies beneath one ("" holds every
 * path); '/'-separated paths relative to one root. */
bool strlist_holds_path(const struct strlist *folders, const char *path);

#endif
