/* Lists the regular files under a delivery root, relative paths, sorted. */
#ifndef NAMFS_WALK_H
#define NAMFS_WALK_H

#include <stdbool.h>
#include <stddef.h>

struct walk_entry {
    char *relpath;
    bool is_symlink; /* listed so the check can refuse it */
};

struct walk_list {
    struct walk_entry *entries;
    size_t count, cap;
};

/* Walks root without following symbolic links. On error returns false and
 * writes the path and reason into err. */
bool walk_tree(const char *root, struct walk_list *out, char *err, size_t err_len);

void walk_free(struct walk_list *list);

/* Appends relpath (copied) to list; false when out of memory. */
bool walk_add(struct walk_list *list, const char *relpath, bool is_symlink);

/* Finds a folder named `name` anywhere below root's own level (root/name
 * itself does not count): its path relative to root in found, true. For
 * "ascmhl": a nested history to the ASC's tools (SPEC M2). */
bool walk_find_folder_below(const char *root, const char *name, char *found, size_t len);

#endif
