#include "namfs/inflight.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define PREFIX ".namfs~"
#define NAME_MAX_BYTES 255

void inflight_init(struct inflight_table *t)
{
    pthread_mutex_init(&t->lock, NULL);
    t->list = NULL;
}

static void free_entry(struct inflight *e)
{
    free(e->shown);
    free(e->backing);
    free(e);
}

void inflight_destroy(struct inflight_table *t)
{
    while (t->list) {
        struct inflight *e = t->list;
        t->list = e->next;
        free_entry(e);
    }
    pthread_mutex_destroy(&t->lock);
}

static const char *last_component(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* ".namfs~" OWNER "." TAG "~" NAME; before owners, ".namfs~" TAG "~" NAME */
#define OWNED_PREFIX_LEN (sizeof PREFIX - 1 + 8 + 1 + 8 + 1)
#define OLD_PREFIX_LEN (sizeof PREFIX - 1 + 8 + 1)

static bool hex8(const char *p)
{
    for (int i = 0; i < 8; i++)
        if (!strchr("0123456789abcdef", p[i]) || !p[i])
            return false;
    return true;
}

char *inflight_name_for(const char *path, const char *owner)
{
    uint32_t tag;
    const char *name = last_component(path);
    int folder = (int)(name - path);
    char *out = malloc(strlen(path) + OWNED_PREFIX_LEN + 1);

    if (getrandom(&tag, sizeof tag, 0) != sizeof tag)
        tag = (uint32_t)(uintptr_t)out ^ (uint32_t)rand();
    if (!out)
        return NULL;
    /* the shown name is kept in it for a crash's leftover, when it fits */
    bool fits = OWNED_PREFIX_LEN + strlen(name) <= NAME_MAX_BYTES;
    sprintf(out, "%.*s" PREFIX "%.8s.%08x~%s", folder, path, owner, tag, fits ? name : "");
    return out;
}

/* Where the shown name starts in an in-flight name (its last component);
 * NULL when it is not one. */
static const char *shown_part(const char *name)
{
    if (strncmp(name, PREFIX, sizeof PREFIX - 1) != 0 || strlen(name) < OLD_PREFIX_LEN)
        return NULL;
    const char *p = name + sizeof PREFIX - 1;
    if (!hex8(p))
        return NULL;
    if (p[8] == '.' && strlen(name) >= OWNED_PREFIX_LEN && hex8(p + 9) && p[17] == '~')
        return p + 18;
    return p[8] == '~' ? p + 9 : NULL;
}

bool inflight_is_name(const char *path)
{
    return shown_part(last_component(path)) != NULL;
}

void inflight_shown_name(const char *name, char *out, size_t len)
{
    const char *shown = shown_part(last_component(name));
    snprintf(out, len, "%s", shown ? shown : "");
}

void inflight_owner(const char *name, char *out, size_t len)
{
    const char *last = last_component(name), *shown = shown_part(last);
    bool owned = shown && shown - last == (long)OWNED_PREFIX_LEN;
    snprintf(out, len, "%.8s", owned ? last + sizeof PREFIX - 1 : "");
}

/* Table lock held. */
static struct inflight *lookup(struct inflight_table *t, const char *shown)
{
    struct inflight *e = t->list;
    while (e && (e->placed || !e->shown || e->handles == 0 || strcmp(e->shown, shown) != 0))
        e = e->next;
    return e;
}

void inflight_locate(struct inflight_table *t, const char *path, char *out, size_t len)
{
    pthread_mutex_lock(&t->lock);
    struct inflight *e = path ? lookup(t, path) : NULL;
    snprintf(out, len, "%s", e ? e->backing : path ? path : "");
    pthread_mutex_unlock(&t->lock);
}

struct inflight *inflight_join(struct inflight_table *t, const char *shown, char *backing,
                               size_t len)
{
    pthread_mutex_lock(&t->lock);
    struct inflight *e = lookup(t, shown);
    if (e) {
        e->handles++;
        snprintf(backing, len, "%s", e->backing);
    }
    pthread_mutex_unlock(&t->lock);
    return e;
}

struct inflight *inflight_add(struct inflight_table *t, const char *shown, const char *backing,
                              char *theirs, size_t len, bool *raced)
{
    struct inflight *fresh = calloc(1, sizeof *fresh);
    if (fresh && (!(fresh->shown = strdup(shown)) || !(fresh->backing = strdup(backing)))) {
        free_entry(fresh);
        fresh = NULL;
    }
    pthread_mutex_lock(&t->lock);
    struct inflight *e = lookup(t, shown);
    *raced = e != NULL;
    if (!e && fresh) {
        fresh->next = t->list;
        t->list = e = fresh;
        fresh = NULL;
    }
    if (e)
        e->handles++;
    if (e && *raced)
        snprintf(theirs, len, "%s", e->backing);
    pthread_mutex_unlock(&t->lock);
    if (fresh)
        free_entry(fresh);
    return e;
}

bool inflight_leave(struct inflight_table *t, struct inflight *e)
{
    pthread_mutex_lock(&t->lock);
    bool last = --e->handles == 0;
    pthread_mutex_unlock(&t->lock);
    return last;
}

int inflight_place(struct inflight_table *t, struct inflight *e,
                   int (*place)(void *ctx, const char *backing, const char *shown), void *ctx)
{
    int rc = 0;
    pthread_mutex_lock(&t->lock);
    if (!e->placed && e->shown) {
        rc = place(ctx, e->backing, e->shown);
        char *now = rc == 0 ? strdup(e->shown) : NULL;
        if (now) {
            free(e->backing);
            e->backing = now;
        }
    }
    e->placed = e->placed || rc == 0;
    pthread_mutex_unlock(&t->lock);
    return rc;
}

void inflight_free(struct inflight_table *t, struct inflight *e)
{
    pthread_mutex_lock(&t->lock);
    for (struct inflight **p = &t->list; *p; p = &(*p)->next)
        if (*p == e) {
            *p = e->next;
            break;
        }
    pthread_mutex_unlock(&t->lock);
    free_entry(e);
}

/* path under the folder from (or from itself): the same under to. */
static bool moved(char **path, const char *from, const char *to)
{
    size_t n = strlen(from);
    if (!*path || strncmp(*path, from, n) != 0 || ((*path)[n] != '/' && (*path)[n] != '\0'))
        return false;
    char *now = malloc(strlen(to) + strlen(*path + n) + 1);
    if (!now)
        return false;
    sprintf(now, "%s%s", to, *path + n);
    free(*path);
    *path = now;
    return true;
}

bool inflight_rename(struct inflight_table *t, const char *from, const char *to, bool folder)
{
    bool found = false;

    pthread_mutex_lock(&t->lock);
    for (struct inflight *e = t->list; e; e = e->next) {
        if (folder) {
            moved(&e->shown, from, to);
            moved(&e->backing, from, to);
        } else if (e->shown && strcmp(e->shown, from) == 0) {
            char *now = strdup(to);
            if (now) {
                free(e->shown);
                e->shown = now;
                found = true;
            }
        }
    }
    pthread_mutex_unlock(&t->lock);
    return found;
}

void inflight_deleted(struct inflight_table *t, const char *shown, const char *hidden)
{
    pthread_mutex_lock(&t->lock);
    struct inflight *e = lookup(t, shown);
    char *now = e ? strdup(hidden) : NULL;
    if (now) {
        free(e->backing);
        e->backing = now;
        free(e->shown);
        e->shown = NULL;
    }
    pthread_mutex_unlock(&t->lock);
}

void inflight_each_in(struct inflight_table *t, const char *folder,
                      void (*each)(void *ctx, const char *name), void *ctx)
{
    size_t n = strlen(folder);
    while (n > 0 && folder[n - 1] == '/')
        n--;
    pthread_mutex_lock(&t->lock);
    for (struct inflight *e = t->list; e; e = e->next) {
        const char *slash = e->shown && !e->placed ? strrchr(e->shown, '/') : NULL;
        if (slash && (size_t)(slash - e->shown) == n && strncmp(e->shown, folder, n) == 0)
            each(ctx, slash + 1);
    }
    pthread_mutex_unlock(&t->lock);
}
