#include "sealed.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static char **folders;
static size_t count;
/* read by every changing request, written once per seal */
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;

static const char *relative(const char *path)
{
    return path + strspn(path, "/");
}

/* inner is outer or lies under it */
static bool inside(const char *inner, const char *outer)
{
    size_t n = strlen(outer);
    return n == 0 || (strncmp(inner, outer, n) == 0 && (inner[n] == '\0' || inner[n] == '/'));
}

bool sealed_add(const char *folder)
{
    char *copy = strdup(relative(folder));
    pthread_rwlock_wrlock(&rw);
    char **grown = copy ? realloc(folders, (count + 1) * sizeof *grown) : NULL;
    if (grown) {
        folders = grown;
        folders[count++] = copy;
    }
    pthread_rwlock_unlock(&rw);
    if (!grown)
        free(copy);
    return grown != NULL;
}

static bool any(const char *path, bool (*test)(const char *rel, const char *folder))
{
    bool found = false;
    pthread_rwlock_rdlock(&rw);
    for (size_t i = 0; i < count && !found; i++)
        found = test(relative(path), folders[i]);
    pthread_rwlock_unlock(&rw);
    return found;
}

static bool rel_inside_folder(const char *rel, const char *folder)
{
    return inside(rel, folder);
}

static bool folder_inside_rel(const char *rel, const char *folder)
{
    return inside(folder, rel);
}

bool sealed_covers(const char *path)
{
    return any(path, rel_inside_folder);
}

bool sealed_within(const char *path)
{
    return any(path, folder_inside_rel);
}

void sealed_clear(void)
{
    pthread_rwlock_wrlock(&rw);
    for (size_t i = 0; i < count; i++)
        free(folders[i]);
    free(folders);
    folders = NULL;
    count = 0;
    pthread_rwlock_unlock(&rw);
}
