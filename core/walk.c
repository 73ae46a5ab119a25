/* Directory walk with openat/fdopendir relative to the root, never
 * following symlinks, so a link cannot lead the check outside the tree. */
#include "namfs/walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool walk_add(struct walk_list *out, const char *relpath, bool is_symlink)
{
    if (out->count == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 256;
        struct walk_entry *grown = realloc(out->entries, cap * sizeof *grown);
        if (!grown)
            return false;
        out->entries = grown;
        out->cap = cap;
    }
    char *copy = strdup(relpath);
    if (!copy)
        return false;
    out->entries[out->count++] = (struct walk_entry){copy, is_symlink};
    return true;
}

/* Far deeper than any delivery (N2 caps paths at 256 characters); it
 * bounds the recursion and the open folders. */
#define WALK_MAX_DEPTH 128

static bool walk_dir(int dirfd, const char *prefix, int depth, struct walk_list *out, char *err,
                     size_t err_len);

static bool visit(int dirfd, const char *prefix, int depth, const char *name, unsigned char type,
                  struct walk_list *out, char *err, size_t err_len)
{
    char rel[4096];
    struct stat st;

    snprintf(rel, sizeof rel, "%s%s%s", prefix, *prefix ? "/" : "", name);
    if (type == DT_UNKNOWN) {
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            snprintf(err, err_len, "%s: %s", rel, strerror(errno));
            return false;
        }
        type = S_ISDIR(st.st_mode)   ? DT_DIR
               : S_ISLNK(st.st_mode) ? DT_LNK
               : S_ISREG(st.st_mode) ? DT_REG
                                     : DT_UNKNOWN;
    }
    if (type == DT_DIR && depth >= WALK_MAX_DEPTH) {
        snprintf(err, err_len, "%s: more than %d folders deep", rel, WALK_MAX_DEPTH);
        return false;
    }
    if (type == DT_DIR) {
        int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            snprintf(err, err_len, "%s: %s", rel, strerror(errno));
            return false;
        }
        return walk_dir(fd, rel, depth + 1, out, err, err_len);
    }
    if (type == DT_REG || type == DT_LNK)
        return walk_add(out, rel, type == DT_LNK) ||
               (snprintf(err, err_len, "%s: out of memory", rel), false);
    return true; /* devices, sockets, fifos: not delivery content */
}

/* Takes ownership of dirfd. */
static bool walk_dir(int dirfd, const char *prefix, int depth, struct walk_list *out, char *err,
                     size_t err_len)
{
    DIR *dir = fdopendir(dirfd);
    bool ok = true;

    if (!dir) {
        snprintf(err, err_len, "%s: %s", *prefix ? prefix : ".", strerror(errno));
        close(dirfd);
        return false;
    }
    for (struct dirent *e; ok && (errno = 0, e = readdir(dir));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        ok = visit(dirfd, prefix, depth, e->d_name, e->d_type, out, err, err_len);
    }
    if (ok && errno) {
        snprintf(err, err_len, "%s: %s", *prefix ? prefix : ".", strerror(errno));
        ok = false;
    }
    closedir(dir);
    return ok;
}

static int compare_paths(const void *a, const void *b)
{
    return strcmp(((const struct walk_entry *)a)->relpath, ((const struct walk_entry *)b)->relpath);
}

bool walk_tree(const char *root, struct walk_list *out, char *err, size_t err_len)
{
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    memset(out, 0, sizeof *out);
    if (fd < 0) {
        snprintf(err, err_len, "%s: %s", root, strerror(errno));
        return false;
    }
    if (!walk_dir(fd, "", 0, out, err, err_len))
        return false;
    if (out->count)
        qsort(out->entries, out->count, sizeof *out->entries, compare_paths);
    return true;
}

void walk_free(struct walk_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->entries[i].relpath);
    free(list->entries);
    memset(list, 0, sizeof *list);
}

/* dir_fd is the folder at rel; depth 0 is the root. */
static bool find_below(int dir_fd, const char *rel, int depth, const char *name, char *found,
                       size_t len)
{
    DIR *dir = fdopendir(dir_fd);
    struct dirent *e;
    bool hit = false;

    if (!dir) {
        close(dir_fd);
        return false;
    }
    while (!hit && (e = readdir(dir))) {
        if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        if (depth > 0 && strcmp(e->d_name, name) == 0) {
            snprintf(found, len, "%s", sub);
            hit = true;
        } else if (depth > 0 || strcmp(e->d_name, name) != 0) {
            int fd = openat(dirfd(dir), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            hit = fd >= 0 && find_below(fd, sub, depth + 1, name, found, len);
        }
    }
    closedir(dir);
    return hit;
}

bool walk_find_folder_below(const char *root, const char *name, char *found, size_t len)
{
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return fd >= 0 && find_below(fd, "", 0, name, found, len);
}
