/* The catalog's front: which backend a catalog string names (a
 * postgresql:// or postgres:// URL: catalog_pg.c; anything else is a
 * SQLite file: catalog_sqlite.c), every call's error and fault cleared
 * before it runs, and what needs no SQL of its own. */
#include "catalog_backend.h"

#include "namfs/walk.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool catalog_is_shared(const char *where)
{
    return where &&
           (strncmp(where, "postgresql://", 13) == 0 || strncmp(where, "postgres://", 11) == 0);
}

void catalog_describe(const char *where, char *out, size_t len)
{
    if (!where) {
        snprintf(out, len, "SQLite, in the state folder");
        return;
    }
    const char *user = strstr(where, "://");
    const char *at = user ? strchr(user + 3, '@') : NULL;
    const char *colon = at ? memchr(user + 3, ':', (size_t)(at - user - 3)) : NULL;
    if (!colon || !catalog_is_shared(where))
        snprintf(out, len, "%s", where);
    else
        snprintf(out, len, "%.*s:***%s", (int)(colon - where), where, at);
    /* and a password given as a parameter (?password=...&...) */
    char *given = strstr(out, "password=");
    if (given) {
        const char *end = strchr(given, '&');
        char *rest = strdup(end ? end : "");
        snprintf(given + 9, len - (size_t)(given + 9 - out), "***%s", rest ? rest : "");
        free(rest);
    }
}

struct catalog *catalog_open(const char *where, char *err, size_t err_len)
{
    return catalog_is_shared(where) ? catalog_pg_open(where, false, err, err_len)
                                    : catalog_sqlite_open(where, false, err, err_len);
}

struct catalog *catalog_open_view(const char *where, char *err, size_t err_len)
{
    return catalog_is_shared(where) ? catalog_pg_open(where, true, err, err_len)
                                    : catalog_sqlite_open(where, true, err, err_len);
}

void catalog_close(struct catalog *cat)
{
    if (cat)
        cat->ops->close(cat);
}

bool catalog_failed(struct catalog *cat, enum catalog_fault fault, const char *fmt, ...)
{
    va_list args;
    int n = snprintf(cat->error, sizeof cat->error, "catalog: ");

    va_start(args, fmt);
    vsnprintf(cat->error + n, sizeof cat->error - (size_t)n, fmt, args);
    va_end(args);
    cat->fault = fault;
    return false;
}

static void cleared(struct catalog *cat)
{
    cat->error[0] = '\0';
    cat->fault = CATALOG_FAULT_NONE;
}

const char *catalog_error(const struct catalog *cat)
{
    return cat->error;
}

enum catalog_fault catalog_fault(const struct catalog *cat)
{
    return cat->fault;
}

size_t catalog_dir_len(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? (size_t)(slash - path) : 0;
}

void catalog_back_off(int attempt)
{
    long ms = 10L << (attempt < 6 ? attempt : 6);
    nanosleep(&(struct timespec){ms / 1000, ms % 1000 * 1000000}, NULL);
}

bool catalog_probe(struct catalog *cat)
{
    cleared(cat);
    return cat->ops->probe(cat);
}

uint64_t catalog_writes(struct catalog *cat)
{
    cleared(cat);
    return cat->ops->writes(cat);
}

bool catalog_begin(struct catalog *cat)
{
    cleared(cat);
    return cat->ops->begin(cat);
}

bool catalog_commit(struct catalog *cat)
{
    cleared(cat);
    return cat->ops->commit(cat);
}

bool catalog_rollback(struct catalog *cat)
{
    cleared(cat);
    return cat->ops->rollback(cat);
}

bool catalog_put_file(struct catalog *cat, const struct catalog_file *f)
{
    cleared(cat);
    return cat->ops->put_file(cat, f);
}

bool catalog_put_frame(struct catalog *cat, const struct catalog_file *f, char *holder,
                       size_t holder_len)
{
    cleared(cat);
    return cat->ops->put_frame(cat, f, holder, holder_len);
}

bool catalog_get_file(struct catalog *cat, const char *path, struct catalog_file *out)
{
    cleared(cat);
    return cat->ops->get_file(cat, path, out);
}

bool catalog_delete_file(struct catalog *cat, const char *path)
{
    cleared(cat);
    return cat->ops->delete_file(cat, path);
}

bool catalog_rename(struct catalog *cat, const char *from, const char *to)
{
    cleared(cat);
    return cat->ops->rename(cat, from, to);
}

long catalog_count_frames_under(struct catalog *cat, const char *dir)
{
    cleared(cat);
    return cat->ops->count_frames_under(cat, dir);
}

bool catalog_each_file(struct catalog *cat, const char *dir, enum file_state state,
                       catalog_file_fn each, void *ctx)
{
    cleared(cat);
    return cat->ops->each_file(cat, dir, state, each, ctx);
}

bool catalog_each_brief_after(struct catalog *cat, enum file_state state, const char *after,
                              size_t limit, catalog_brief_fn each, void *ctx)
{
    cleared(cat);
    return cat->ops->each_brief_after(cat, state, after, limit, each, ctx);
}

bool catalog_each_tally(struct catalog *cat, catalog_tally_fn each, void *ctx)
{
    cleared(cat);
    return cat->ops->each_tally(cat, each, ctx);
}

bool catalog_folder_tally(struct catalog *cat, const char *dir, struct catalog_folder *out)
{
    cleared(cat);
    return cat->ops->folder_tally(cat, dir, out);
}

bool catalog_each_digest_in(struct catalog *cat, const char *dir, enum hash_algo algo,
                            catalog_brief_fn each, void *ctx)
{
    cleared(cat);
    return cat->ops->each_digest_in(cat, dir, algo, each, ctx);
}

bool catalog_last_change(struct catalog *cat, int64_t *out)
{
    cleared(cat);
    return cat->ops->last_change(cat, out);
}

bool catalog_each_change_in(struct catalog *cat, const char *dir, int64_t after,
                            enum hash_algo algo, catalog_brief_fn each, void *ctx)
{
    cleared(cat);
    return cat->ops->each_change_in(cat, dir, after, algo, each, ctx);
}

bool catalog_snapshot(struct catalog *cat)
{
    cleared(cat);
    return cat->ops->snapshot(cat);
}

bool catalog_each_frame_dir(struct catalog *cat, catalog_dir_fn each, void *ctx)
{
    cleared(cat);
    return cat->ops->each_frame_dir(cat, each, ctx);
}

bool catalog_each_dir_holding(struct catalog *cat, enum file_state state, bool frames_too,
                              catalog_dir_fn each, void *ctx)
{
    cleared(cat);
    return cat->ops->each_dir_holding(cat, state, frames_too, each, ctx);
}

bool catalog_put_asset(struct catalog *cat, const char *key, const char *properties, int padding)
{
    cleared(cat);
    return cat->ops->put_asset(cat, key, properties, padding);
}

bool catalog_seal(struct catalog *cat, const char *folder, int64_t at)
{
    cleared(cat);
    return cat->ops->seal(cat, folder, at);
}

bool catalog_each_sealed(struct catalog *cat, catalog_sealed_fn each, void *ctx)
{
    cleared(cat);
    return cat->ops->each_sealed(cat, each, ctx);
}

bool catalog_seal_listed(struct catalog *cat, const char *folder, int generation)
{
    cleared(cat);
    return cat->ops->seal_listed(cat, folder, generation);
}

bool catalog_each_under(struct catalog *cat, const char *folder, enum file_state state,
                        catalog_file_fn each, void *ctx)
{
    cleared(cat);
    return cat->ops->each_under(cat, folder, state, each, ctx);
}

bool catalog_each_unrecorded(struct catalog *cat, enum file_state state, catalog_file_fn each,
                             void *ctx)
{
    cleared(cat);
    return cat->ops->each_unrecorded(cat, state, each, ctx);
}

bool catalog_set_recorded(struct catalog *cat, const char *path, int generation)
{
    cleared(cat);
    return cat->ops->set_recorded(cat, path, generation);
}

bool catalog_add_generation(struct catalog *cat, const struct catalog_generation *g)
{
    cleared(cat);
    return cat->ops->add_generation(cat, g);
}

bool catalog_last_generation(struct catalog *cat, struct catalog_generation *out)
{
    cleared(cat);
    return cat->ops->last_generation(cat, out);
}

bool catalog_lease(struct catalog *cat, const char *name, bool *held)
{
    cleared(cat);
    return cat->ops->lease(cat, name, held);
}

bool catalog_lease_elsewhere(struct catalog *cat, const char *name, bool *elsewhere)
{
    cleared(cat);
    return cat->ops->lease_elsewhere(cat, name, elsewhere);
}

bool catalog_claim(struct catalog *cat, const char *key, const char *landed_asset, const char *text,
                   char *out, size_t out_len)
{
    cleared(cat);
    return cat->ops->claim(cat, key, landed_asset, text, out, out_len);
}

bool catalog_put_mark(struct catalog *cat, const char *name, int64_t value)
{
    cleared(cat);
    return cat->ops->put_mark(cat, name, value);
}

bool catalog_get_mark(struct catalog *cat, const char *name, int64_t *value)
{
    cleared(cat);
    return cat->ops->get_mark(cat, name, value);
}

bool catalog_transaction(struct catalog *cat, catalog_work_fn work, void *ctx)
{
    for (int attempt = 0;; attempt++) {
        bool done = catalog_begin(cat) && work(cat, ctx) && catalog_commit(cat);
        if (done)
            return true;
        char keep[sizeof cat->error];
        enum catalog_fault fault = cat->fault;
        memcpy(keep, cat->error, sizeof keep);
        if (cat->ops->in_transaction(cat))
            catalog_rollback(cat);
        memcpy(cat->error, keep, sizeof keep);
        cat->fault = fault;
        if (fault != CATALOG_FAULT_BUSY || attempt + 1 >= CATALOG_RETRIES)
            return false;
        catalog_back_off(attempt);
    }
}

struct listed_only {
    catalog_dir_fn each;
    void *ctx;
};

static bool if_listed(void *ctx, const char *folder, int generation)
{
    const struct listed_only *l = ctx;
    return generation == 0 || l->each(l->ctx, folder);
}

bool catalog_each_listed(struct catalog *cat, catalog_dir_fn each, void *ctx)
{
    struct listed_only l = {each, ctx};
    return catalog_each_sealed(cat, if_listed, &l);
}

struct missing {
    const struct walk_list *present;
    char (*paths)[CATALOG_PATH_MAX];
    size_t count;
};

static int compare_entry(const void *key, const void *entry)
{
    return strcmp(key, ((const struct walk_entry *)entry)->relpath);
}

static bool note_missing(void *ctx, const struct catalog_file *f)
{
    struct missing *m = ctx;
    if (m->present->count && bsearch(f->path, m->present->entries, m->present->count,
                                     sizeof *m->present->entries, compare_entry))
        return true;
    char(*grown)[CATALOG_PATH_MAX] = realloc(m->paths, (m->count + 1) * sizeof *grown);
    if (!grown)
        return false;
    m->paths = grown;
    snprintf(m->paths[m->count++], CATALOG_PATH_MAX, "%s", f->path);
    return true;
}

long catalog_drop_missing(struct catalog *cat, const struct walk_list *present, uint32_t states)
{
    struct missing m = {present, NULL, 0};
    bool ok = true;

    for (int state = FILE_WRITING; ok && state <= FILE_CHANGED; state++)
        if (states & (1u << state))
            ok = catalog_each_file(cat, NULL, (enum file_state)state, note_missing, &m);
    ok = ok && catalog_begin(cat);
    for (size_t i = 0; ok && i < m.count; i++)
        ok = catalog_delete_file(cat, m.paths[i]);
    ok = ok && catalog_commit(cat);
    if (!ok && cat->ops->in_transaction(cat)) {
        char keep[sizeof cat->error];
        memcpy(keep, cat->error, sizeof keep);
        cat->ops->rollback(cat);
        memcpy(cat->error, keep, sizeof keep);
    }
    free(m.paths);
    return ok ? (long)m.count : -1;
}
