#include "namfs/sealed.h"

#include <stdlib.h>
#include <string.h>

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

void sealed_init(struct sealed_set *s)
{
    s->folders = NULL;
    s->count = 0;
    pthread_rwlock_init(&s->rw, NULL);
}

void sealed_destroy(struct sealed_set *s)
{
    for (size_t i = 0; i < s->count; i++)
        free(s->folders[i]);
    free(s->folders);
    s->folders = NULL;
    s->count = 0;
    pthread_rwlock_destroy(&s->rw);
}

bool sealed_add(struct sealed_set *s, const char *folder)
{
    char *copy = strdup(relative(folder));
    pthread_rwlock_wrlock(&s->rw);
    char **grown = copy ? realloc(s->folders, (s->count + 1) * sizeof *grown) : NULL;
    if (grown) {
        s->folders = grown;
        s->folders[s->count++] = copy;
    }
    pthread_rwlock_unlock(&s->rw);
    if (!grown)
        free(copy);
    return grown != NULL;
}

/* within: a sealed folder lies in or under path; else path lies in one */
static bool any(struct sealed_set *s, const char *path, bool within)
{
    bool found = false;
    pthread_rwlock_rdlock(&s->rw);
    for (size_t i = 0; i < s->count && !found; i++)
        found =
            within ? inside(s->folders[i], relative(path)) : inside(relative(path), s->folders[i]);
    pthread_rwlock_unlock(&s->rw);
    return found;
}

bool sealed_covers(struct sealed_set *s, const char *path)
{
    return any(s, path, false);
}

bool sealed_within(struct sealed_set *s, const char *path)
{
    return any(s, path, true);
}
