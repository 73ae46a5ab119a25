/* Sealing a folder (namctl seal): an asset folder, or the delivery root
 * (every file of the delivery, those outside asset folders included).
 * Refused while a frame in it was refused and not replaced, a gap (S2)
 * exists, a held (N6) or changed-behind-the-mount file is in it, or a
 * file is being written; otherwise recorded, and the generation that lists
 * its files (namfs/custody.h) written before the seal returns. From then
 * on the folder is read-only (namfs/sealed.h). */
#include "stage_internal.h"

#include "namfs/status.h"
#include "namfs/strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* Gaps in one asset's frames that break S2 (status_judge_s2: not a
 * textless insert's), the first few named. */
static void add_gaps(struct strbuf *why, const struct status_asset *a)
{
    struct verdict v;

    if (!a->count || status_judge_s2(a->textless, a->first, a->last, a->gaps, a->gap_count, &v))
        return;
    for (size_t g = 0; g < a->gap_count && g < 3; g++) {
        const struct status_range *r = &a->gaps[g];
        if (r->first == r->last)
            strbuf_add(why, "S2: %s: frame %lld missing; ", a->key, (long long)r->first);
        else
            strbuf_add(why, "S2: %s: frames %lld-%lld missing; ", a->key, (long long)r->first,
                       (long long)r->last);
    }
    if (a->gap_count > 3)
        strbuf_add(why, "S2: %s: %zu more gap(s); ", a->key, a->gap_count - 3);
}

/* N6: whatever is left under a hidden, system or temp name is reported
 * and stops the seal until it is renamed or deleted. */
static bool add_held(void *ctx, const struct catalog_file *f)
{
    strbuf_add(ctx,
               "N6: %s is held (a hidden, system or temp file): rename it to its final name "
               "or delete it; ",
               f->path);
    return true;
}

static bool add_changed(void *ctx, const struct catalog_file *f)
{
    strbuf_add(ctx,
               "M3: %s changed in BACKING behind the mount (%s); write it again through the "
               "mount or delete it; ",
               f->path, f->verdict.message);
    return true;
}

static bool add_refused(void *ctx, const struct catalog_file *f)
{
    if (inflight_is_name(f->path))
        return true; /* a refused rewrite: the frame it would have replaced stays landed */
    strbuf_add(ctx, "%s: %s refused (%s), not yet replaced by a frame that passes; ", f->path,
               rule_name(f->verdict.rule),
               f->state == FILE_QUARANTINED ? "quarantined" : "kept in place");
    return true;
}

/* What stops the folder rel from being sealed; empty when nothing does.
 * Called with the lock held. */
static void seal_obstacles(struct stage *s, const char *rel, struct strbuf *why)
{
    struct status st = {0};

    if (stage_read_only(s))
        strbuf_add(why, "the mount is read-only: the catalog cannot record changes (%s); ",
                   s->read_only_reason);
    catalog_each_under(s->cat, rel, FILE_LANDED, status_count_landed, &st);
    status_finish(&st);
    if (st.count == 0)
        strbuf_add(why, "no frame has landed in %s; ", *rel ? rel : "the delivery");
    for (size_t i = 0; i < st.count; i++)
        add_gaps(why, &st.assets[i]);
    status_free(&st);
    catalog_each_under(s->cat, rel, FILE_HELD, add_held, why);
    catalog_each_under(s->cat, rel, FILE_CHANGED, add_changed, why);
    catalog_each_under(s->cat, rel, FILE_QUARANTINED, add_refused, why);
    catalog_each_under(s->cat, rel, FILE_REJECTED, add_refused, why);
    if (why->len >= 2)
        why->data[why->len -= 2] = '\0'; /* the last "; " */
}

/* What stops sealing path now, malloc'd ("" when nothing does); NULL out
 * of memory. A file still being written stops it first. */
static char *obstacles(struct stage *s, const char *path, int quiet_ms)
{
    struct strbuf why = {0};

    strbuf_add(&why, "%s", "");
    if (landing_await_quiet(s->landings, quiet_ms) == LANDING_BEING_WRITTEN)
        strbuf_add(&why, "files are still being written in the mount; seal once they are closed");
    pthread_mutex_lock(&s->model);
    if (!why.len)
        seal_obstacles(s, stage_relative(path), &why);
    pthread_mutex_unlock(&s->model);
    return strbuf_take(&why);
}

static bool is_folder(struct stage *s, const char *path)
{
    struct stat st;
    return backing_stat(&s->backing, path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *stage_seal_state(struct stage *s, const char *path)
{
    if (sealed_covers(&s->sealed, path))
        return strdup("sealed");
    char *why = obstacles(s, path, 0);
    if (why && !*why) {
        free(why);
        return strdup("sealable");
    }
    return why;
}

/* A file that landed at its close() is synced at its release, right
 * after: the seal's manifests wait for that (LANDING_WAIT_MS at most),
 * not for files still being written. */
int stage_seal(struct stage *s, const char *path)
{
    const char *rel = stage_relative(path);

    if (!is_folder(s, path))
        return -ENOTDIR;
    if (sealed_covers(&s->sealed, path))
        return 0;
    if (stage_read_only(s))
        return -EROFS; /* the seal state says why */
    if (landing_await_quiet(s->landings, LANDING_WAIT_MS) != LANDING_QUIET)
        return -EBUSY;
    pthread_mutex_lock(&s->model);
    struct strbuf why = {0};
    seal_obstacles(s, rel, &why);
    bool recorded = !why.len && catalog_seal(s->cat, rel, time(NULL));
    bool ok = recorded && sealed_add(&s->sealed, rel);
    if (ok)
        stage_changed_now(s); /* the generation that lists its files is due */
    if (why.len)
        stage_log(s, LOG_WARNING, "%s not sealed: %s", rel, why.data);
    else if (!recorded)
        stage_cannot_record(s, "sealing", rel);
    pthread_mutex_unlock(&s->model);
    free(why.data);
    if (!ok)
        return -EBUSY;
    int synced = stage_sync(s); /* the generation that lists its files */
    if (synced)
        stage_log(s, LOG_ERR, "%s sealed, but its generation is not written yet: %s",
                  *rel ? rel : "the delivery", strerror(-synced));
    stage_log(s, LOG_INFO, "%s sealed: no change is accepted in it any more",
              *rel ? rel : "the delivery");
    return 0;
}
