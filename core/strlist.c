#include "namfs/strlist.h"

#include <stdlib.h>
#include <string.h>

bool strlist_add(struct strlist *l, const char *s)
{
    char *copy = strdup(s);
    char **grown = copy ? realloc(l->items, (l->count + 1) * sizeof *grown) : NULL;

    if (!grown) {
        free(copy);
        return false;
    }
    l->items = grown;
    l->items[l->count++] = copy;
    return true;
}

bool strlist_add_to(void *list, const char *s)
{
    return strlist_add(list, s);
}

void strlist_free(struct strlist *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

bool strlist_has(const struct strlist *l, const char *s)
{
    for (size_t i = 0; i < l->count; i++)
        if (strcmp(l->items[i], s) == 0)
            return true;
    return false;
}

bool strlist_same_set(const struct strlist *a, const struct strlist *b)
{
    for (size_t i = 0; i < a->count; i++)
        if (!strlist_has(b, a->items[i]))
            return false;
    for (size_t i = 0; i < b->count; i++)
        if (!strlist_has(a, b->items[i]))
            return false;
    return true;
}

bool strlist_holds_path(const struct strlist *folders, const char *path)
{
    for (size_t i = 0; i < folders->count; i++) {
        size_t n = strlen(folders->items[i]);
        if (n == 0 ||
            (strncmp(path, folders->items[i], n) == 0 && (path[n] == '\0' || path[n] == '/')))
            return true;
    }
    return false;
}
